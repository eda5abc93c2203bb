"""The race of a learner's keepalive against the suspend of their lab, aimed
at the moment between the suspend's last look at the deadline and its Heat
call. Used by tests/test_keepalive_race.py and bench/keepalive_race.py.

Each round puts one stack where the suspender leaves it (SUSPEND_PENDING,
deadline passed), then starts the suspend and, a few milliseconds later (a
different offset each round), a keepalive, each in its own thread with its
own database connection. It records when the keepalive had committed and
when the fake cloud received the suspend request, lets a real worker finish
whatever follows, and judges the round:

- ``kept``: the lab was never suspended, and is up;
- ``resumed``: the keepalive committed before the Heat suspend request, the
  suspend went ahead, and the lab was resumed right after it;
- ``after``: the keepalive committed after the Heat request (outside the
  property), and the lab was resumed;
- ``lost``: the learner was active and the lab stayed suspended;
- ``misinformed``: the keepalive's reply told the learner something other
  than "ready" (never suspended) or "resuming" (suspended).
"""

import random
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

from django.db import connection
from django.utils import timezone

from hastexo_lab import api, clouds, operations, tasks
from hastexo_lab import lifecycle as lc
from hastexo_lab.models import Stack, StackLog

SUSPEND_TIMEOUT = 120


@dataclass
class Results:
    outcomes: Counter = field(default_factory=Counter)
    # Keepalives that committed between the suspend's deadline re-check and
    # its Heat call, the window where keepalives used to be lost.
    in_window: int = 0
    misinformed: int = 0
    rounds: int = 0

    @property
    def lost(self):
        return self.outcomes["lost"]

    def line(self):
        parts = ", ".join(f"{name} {self.outcomes[name]}" for name in ("kept", "resumed", "after", "lost"))
        return (f"{self.rounds} rounds: {parts}; {self.in_window} keepalives committed inside the window "
                f"between the re-check and the Heat call; {self.misinformed} replies that told the learner "
                f"something untrue")


def make_lab(provider_name, template, name="hxl-race-lab"):
    """One stack, up at the cloud, and its row."""
    provider = clouds.get_provider(provider_name)
    info = provider.create_stack(name, template, parameters={"run": "race"})
    _wait(lambda: provider.get_stack(info.identifier).status == "CREATE_COMPLETE", 30)
    address = provider.get_stack(info.identifier).outputs["public_ip"]
    now = timezone.now()
    return Stack.objects.create(
        name=name, course_id="race", anonymous_student_id="learner", status=lc.CREATE_COMPLETE,
        previous_status=lc.LAUNCH_PENDING, status_changed_at=now, provider=provider_name,
        provider_stack_id=info.id, ip=address, reachable_at=now, last_activity=now,
        suspend_timeout=SUSPEND_TIMEOUT, delete_age=0, suspend_by=now)


def run(stack, cloud, rounds, max_offset_ms=6.0, seed=1, settle=5.0):
    """``rounds`` rounds on ``stack``; returns Results."""
    chance = random.Random(seed)
    results = Results()
    for _ in range(rounds):
        _one_round(stack, cloud, chance.uniform(0, max_offset_ms) / 1000, settle, results)
    return results


def _one_round(stack, cloud, offset, settle, results):
    _bring_back(stack)
    now = timezone.now()
    Stack.objects.filter(pk=stack.pk).update(
        status=lc.SUSPEND_PENDING, previous_status=lc.CREATE_COMPLETE, status_changed_at=now,
        suspend_by=now - timezone.timedelta(seconds=1), last_activity=now - timezone.timedelta(seconds=121),
        resume_requested=False, reachable_at=now)
    heat_before = cloud.last_request_at("suspend")
    barrier, seen = threading.Barrier(2), {}

    def suspender():
        try:
            barrier.wait()
            tasks.enqueue(operations.suspend(stack.pk))
        finally:
            connection.close()

    def learner():
        try:
            barrier.wait()
            _sleep_exactly(offset)
            reply = api.keepalive_by_name(stack.name, SUSPEND_TIMEOUT, 0)
            seen["committed"] = time.time()
            seen["phase"] = reply["phase"]
        finally:
            connection.close()

    threads = [threading.Thread(target=suspender), threading.Thread(target=learner)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    heat_at = cloud.last_request_at("suspend")
    suspended = heat_at != heat_before
    up = _wait(lambda: _is_up(stack), settle)
    results.rounds += 1
    if not suspended:
        outcome, truthful = ("kept" if up else "lost"), seen["phase"] == api.READY
    else:
        before_heat = seen["committed"] < heat_at
        outcome = ("resumed" if before_heat else "after") if up else "lost"
        truthful = seen["phase"] == api.RESUMING
        checked = (StackLog.objects.filter(stack=stack, to_status=lc.SUSPEND_IN_PROGRESS)
                   .values_list("created_at", flat=True).last())
        if checked and checked.timestamp() <= seen["committed"] <= heat_at:
            results.in_window += 1
    results.outcomes[outcome] += 1
    results.misinformed += 0 if truthful else 1


def _is_up(stack):
    return Stack.objects.filter(pk=stack.pk, status__in=list(lc.UP)).exists()


def _bring_back(stack):
    """Start each round with the lab up at the cloud (a lost round leaves it suspended)."""
    stack.refresh_from_db()
    provider = clouds.get_provider(stack.provider)
    _wait(lambda: not provider.get_stack(stack.provider_ref).in_progress, 30)
    status = provider.get_stack(stack.provider_ref).status
    if status == "SUSPEND_COMPLETE":
        provider.resume_stack(stack.provider_ref)
        _wait(lambda: provider.get_stack(stack.provider_ref).status == "RESUME_COMPLETE", 30)


def _sleep_exactly(seconds):
    """time.sleep() overshoots by a millisecond or more; the window is a few."""
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


def _wait(predicate, timeout, interval=0.01):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return False
