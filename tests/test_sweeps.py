"""The suspender, reaper and reconciler, called directly with a movable clock."""

import os
import threading
from datetime import timedelta

import pytest
from django.db import OperationalError, connection
from django.utils import timezone

from hastexo_lab import api, sweeps, tasks
from hastexo_lab import lifecycle as lc
from hastexo_lab.models import Stack, StackLog

from .factories import make_stack

pytestmark = pytest.mark.django_db
# A database server (PostgreSQL, MySQL) takes the full harness; SQLite serializes writers.
ON_SERVER_DB = os.environ.get("HASTEXO_LAB_TEST_DB") in ("postgresql", "mysql")


class Outbox(list):
    """Collects what a sweep would send."""

    def __call__(self, follow_ups):
        self.extend(follow_ups)


def ago(seconds):
    return timezone.now() - timedelta(seconds=seconds)


def test_suspender_claims_only_running_stacks_past_their_deadline():
    idle = [make_stack(lc.CREATE_COMPLETE, suspend_by=ago(10), provider="p"),
            make_stack(lc.RESUME_COMPLETE, suspend_by=ago(1), provider="p")]
    make_stack(lc.CREATE_COMPLETE, suspend_by=ago(-60), provider="p")  # active
    make_stack(lc.SUSPEND_COMPLETE, suspend_by=ago(600), provider="p")  # already suspended
    make_stack(lc.CREATE_IN_PROGRESS, suspend_by=ago(600), provider="p")  # not up yet
    outbox = Outbox()
    claimed = sweeps.suspend_idle(send=outbox)
    assert sorted(claimed) == sorted(s.pk for s in idle)
    assert sorted(f.stack_id for f in outbox) == sorted(claimed) and {f.kind for f in outbox} == {"suspend"}
    for stack in idle:
        stack.refresh_from_db()
        assert stack.status == lc.SUSPEND_PENDING
        assert stack.log.last().reason == "no keepalive before the suspend deadline"
    assert sweeps.suspend_idle(send=outbox) == []


def test_suspender_respects_per_provider_concurrency(settings):
    settings.XBLOCK_SETTINGS = {"hastexo_lab": {"suspend_concurrency": 3}}
    make_stack(lc.SUSPEND_IN_PROGRESS, provider="p")
    make_stack(lc.SUSPEND_PENDING, provider="p")
    for _ in range(5):
        make_stack(lc.CREATE_COMPLETE, suspend_by=ago(10), provider="p")
    for _ in range(4):
        make_stack(lc.CREATE_COMPLETE, suspend_by=ago(10), provider="q")
    claimed = Stack.objects.filter(pk__in=sweeps.suspend_idle(send=Outbox()))
    assert claimed.filter(provider="p").count() == 1
    assert claimed.filter(provider="q").count() == 3


def test_the_suspender_with_a_moved_clock():
    stack = make_stack(lc.CREATE_COMPLETE, suspend_by=timezone.now() + timedelta(seconds=120))
    assert sweeps.suspend_idle(now=timezone.now() + timedelta(seconds=60), send=Outbox()) == []
    assert sweeps.suspend_idle(now=timezone.now() + timedelta(seconds=121), send=Outbox()) == [stack.pk]


def _two_suspenders_at_once():
    """Two suspender ticks started together, each on its own connection;
    returns the ids each claimed."""
    results, barrier = [None, None], threading.Barrier(2)

    def run(i):
        try:
            barrier.wait()
            results[i] = sweeps.suspend_idle(send=Outbox())
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads), "a suspender hung (deadlock?)"
    return results


@pytest.mark.django_db(transaction=True)
def test_two_suspenders_at_once_never_claim_a_stack_twice():
    ids = {make_stack(lc.CREATE_COMPLETE, suspend_by=ago(5), provider="p").pk for _ in range(300)}
    results = _two_suspenders_at_once()
    assert not set(results[0]) & set(results[1])
    assert set(results[0]) | set(results[1]) == ids
    assert StackLog.objects.filter(to_status=lc.SUSPEND_PENDING).count() == 300


@pytest.mark.django_db(transaction=True)
def test_overlapping_suspender_ticks_keep_the_concurrency_limit(settings):
    """Two beat schedulers started by mistake, or a tick that overran: the
    ticks overlap, and together still claim no more than the limit."""
    settings.XBLOCK_SETTINGS = {"hastexo_lab": {"suspend_concurrency": 40}}
    ids = [make_stack(lc.CREATE_COMPLETE, suspend_by=ago(5), provider="p").pk for _ in range(200)]
    over = []
    for round_ in range(20):
        Stack.objects.filter(pk__in=ids).update(status=lc.CREATE_COMPLETE)
        results = _two_suspenders_at_once()
        suspending = Stack.objects.filter(status=lc.SUSPEND_PENDING).count()
        if suspending > 40:
            over.append((round_, len(results[0]), len(results[1])))
    assert over == [], f"rounds that claimed past the limit (round, first, second): {over}"


def _keepalive(name, barrier, result):
    try:
        barrier.wait()
        api.keepalive_by_name(name, 120, 0)
        result["committed"] = timezone.now()
    finally:
        connection.close()


def _suspender(barrier, result):
    try:
        barrier.wait()
        result["claimed"] = sweeps.suspend_idle(send=Outbox())
    finally:
        connection.close()


@pytest.mark.django_db(transaction=True)
def test_keepalive_racing_the_suspender_at_the_deadline():
    """A keepalive that commits before the claim always saves the stack; one
    that comes after it cancels the suspend. Either way the learner keeps it."""
    rounds = 1000 if ON_SERVER_DB else 200
    violations, barrier = [], threading.Barrier(2)
    stack = make_stack(lc.CREATE_COMPLETE, suspend_timeout=120, provider="p")
    claims = 0
    for _ in range(rounds):
        Stack.objects.filter(pk=stack.pk).update(status=lc.CREATE_COMPLETE, suspend_by=timezone.now(),
                                                 last_activity=ago(60))
        result = {}
        threads = [threading.Thread(target=_keepalive, args=(stack.name, barrier, result)),
                   threading.Thread(target=_suspender, args=(barrier, result))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=30)
        row = Stack.objects.get(pk=stack.pk)
        if result["claimed"]:
            claims += 1
            claim_time = StackLog.objects.filter(stack=stack, to_status=lc.SUSPEND_PENDING).latest("id").created_at
            if result["committed"] < claim_time:
                violations.append("claimed after a committed keepalive")
        if row.status != lc.CREATE_COMPLETE:
            violations.append(f"left in {row.status} although the learner is active")
    assert violations == []
    print(f"{rounds} rounds, {claims} claims that a later keepalive cancelled")


def test_reaper_deletes_only_unused_stacks():
    old = make_stack(lc.SUSPEND_COMPLETE, delete_age=3600, delete_by=ago(1))
    make_stack(lc.CREATE_COMPLETE, delete_age=3600, delete_by=ago(-600))  # in use
    make_stack(lc.SUSPEND_COMPLETE, delete_age=0, delete_by=ago(10 ** 6))  # never
    make_stack(lc.DELETE_IN_PROGRESS, delete_age=3600, delete_by=ago(10))
    outbox = Outbox()
    assert sweeps.reap_unused(send=outbox) == [old.pk]
    assert [(f.kind, f.stack_id) for f in outbox] == [("delete", old.pk)]
    old.refresh_from_db()
    assert old.status == lc.DELETE_PENDING


def test_a_resumed_stack_restarts_the_reaper_clock():
    stack = make_stack(lc.CREATE_COMPLETE, delete_age=3600, delete_by=ago(-30), last_activity=ago(60))
    api.keepalive_by_name(stack.name, 120, 3600)  # keepalives move the delete deadline too
    assert sweeps.reap_unused(now=timezone.now() + timedelta(seconds=60), send=Outbox()) == []


def test_zombies_are_listed_and_deleted_when_configured(settings, cloud, provider):
    settings.XBLOCK_SETTINGS = {"hastexo_lab": {"providers": {"p": cloud.provider_config()}}}
    template = "heat_template_version: 2016-10-14\n"
    for name in ("hxl-orphan", "hxl-deleted-row", "hxl-live", "other-stack"):
        provider.create_stack(name, template)
    make_stack(lc.DELETE_COMPLETE, name="hxl-deleted-row", provider="p")
    make_stack(lc.CREATE_COMPLETE, name="hxl-live", provider="p")
    assert sorted(sweeps.find_zombies()) == [("p", "hxl-deleted-row"), ("p", "hxl-orphan")]
    assert cloud.heat.stack_count() == 4
    sweeps.find_zombies(delete=True)
    from .helpers import wait_until
    wait_until(lambda: cloud.heat.stack_count() == 2, what="the zombies to go")


def test_reconciler_resends_lost_messages_and_restarts_quiet_polls():
    stale, fresh = ago(1000), ago(1)
    lost = {status: make_stack(status, status_changed_at=stale)
            for status in (lc.LAUNCH_PENDING, lc.SUSPEND_PENDING, lc.RESUME_PENDING, lc.DELETE_PENDING)}
    make_stack(lc.SUSPEND_PENDING, status_changed_at=fresh)
    quiet = make_stack(lc.CREATE_IN_PROGRESS, status_changed_at=stale, polled_at=stale, poll_seq=4)
    make_stack(lc.CREATE_IN_PROGRESS, status_changed_at=stale, polled_at=fresh)
    waiting = make_stack(lc.CREATE_COMPLETE, status_changed_at=stale, reachable_at=None)
    outbox = Outbox()
    sweeps.reconcile(send=outbox)
    sent = {(f.kind, f.stack_id) for f in outbox}
    assert sent == {("launch", lost[lc.LAUNCH_PENDING].pk), ("suspend", lost[lc.SUSPEND_PENDING].pk),
                    ("resume", lost[lc.RESUME_PENDING].pk), ("delete", lost[lc.DELETE_PENDING].pk),
                    ("poll", quiet.pk), ("poll", waiting.pk)}
    quiet.refresh_from_db()
    assert quiet.poll_seq == 5  # the old chain, if it wakes up, stops


def test_failed_suspends_are_retried_with_growing_pauses_then_flagged(settings):
    settings.XBLOCK_SETTINGS = {"hastexo_lab": {"reconcile_after": 60, "failed_retries": 2}}
    stack = make_stack(lc.SUSPEND_FAILED, suspend_by=ago(600), status_changed_at=ago(30))
    assert sweeps.reconcile(send=Outbox()) == []  # too soon
    Stack.objects.filter(pk=stack.pk).update(status_changed_at=ago(61))
    assert [f.kind for f in sweeps.reconcile(send=Outbox())] == ["suspend"]
    stack.refresh_from_db()
    assert (stack.status, stack.attempts) == (lc.SUSPEND_PENDING, 1)
    # It failed again: the next pause is twice as long.
    Stack.objects.filter(pk=stack.pk).update(status=lc.SUSPEND_FAILED, status_changed_at=ago(100))
    assert sweeps.reconcile(send=Outbox()) == []
    Stack.objects.filter(pk=stack.pk).update(status_changed_at=ago(121))
    assert len(sweeps.reconcile(send=Outbox())) == 1
    Stack.objects.filter(pk=stack.pk).update(status=lc.SUSPEND_FAILED, status_changed_at=ago(10 ** 5))
    assert sweeps.reconcile(send=Outbox()) == []  # out of retries
    assert list(sweeps.failed_for_good()) == [Stack.objects.get(pk=stack.pk)]


def test_a_failed_suspend_of_an_active_stack_is_not_retried(settings):
    make_stack(lc.SUSPEND_FAILED, suspend_by=ago(-600), status_changed_at=ago(10 ** 5))
    assert sweeps.reconcile(send=Outbox()) == []


@pytest.mark.django_db(transaction=True)
def test_a_broken_run_is_logged_and_the_next_tick_works(monkeypatch, caplog):
    def broken(*args, **kwargs):
        raise OperationalError("server closed the connection unexpectedly")
    monkeypatch.setattr(sweeps, "suspend_idle", broken)
    assert tasks.suspender() is None
    assert "the next one will try again" in caplog.text
    monkeypatch.undo()
    assert tasks.suspender() == 0


def test_beat_schedule_follows_the_settings(settings):
    settings.XBLOCK_SETTINGS = {"hastexo_lab": {"suspend_interval": 30, "delete_interval": 7200}}
    schedule = tasks.beat_schedule()
    assert schedule["hastexo_lab.suspender"]["schedule"] == 30.0
    assert schedule["hastexo_lab.reaper"]["schedule"] == 7200.0
    assert schedule["hastexo_lab.reconciler"]["options"]["queue"] == "hastexo_lab"


def test_a_keepalive_after_the_claim_saves_the_stack_in_a_batch():
    from hastexo_lab import operations
    saved = make_stack(lc.SUSPEND_PENDING, previous_status=lc.RESUME_COMPLETE, suspend_by=ago(-100))
    assert operations.suspend_many([saved.pk]) == []
    saved.refresh_from_db()
    assert saved.status == lc.RESUME_COMPLETE
    assert saved.log.last().reason == "a keepalive arrived before the suspend started"


@pytest.mark.django_db(transaction=True)
def test_a_broker_outage_loses_no_stack(monkeypatch, settings):
    settings.XBLOCK_SETTINGS = {"hastexo_lab": {"reconcile_after": 60}}
    stack = make_stack(lc.CREATE_COMPLETE, suspend_by=ago(5), provider="p")

    def broker_down(follow_ups):
        raise ConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")
    monkeypatch.setattr(tasks, "enqueue_many", broker_down)
    assert tasks.suspender() is None  # logged; the claim stands
    stack.refresh_from_db()
    assert stack.status == lc.SUSPEND_PENDING
    monkeypatch.undo()
    outbox = Outbox()
    sweeps.reconcile(now=timezone.now() + timedelta(seconds=61), send=outbox)
    assert [(f.kind, f.stack_id) for f in outbox] == [("suspend", stack.pk)]
