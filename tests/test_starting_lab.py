"""A lab still starting is never suspended: its learner is waiting for it.

A lab is up at the cloud (CREATE_COMPLETE) a while before its machine
accepts connections; a slow one may take longer than the suspend timeout.
The suspender leaves it alone, a keepalive while it starts counts as the
learner's activity, and its deadline starts once it is ready.
"""

import socket
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from hastexo_lab import api, operations, sweeps
from hastexo_lab import lifecycle as lc

from .factories import make_stack
from .helpers import sample_template, wait_until


class Outbox(list):
    """Collects what a sweep would send."""

    def __call__(self, follow_ups):
        self.extend(follow_ups)


def ago(seconds):
    return timezone.now() - timedelta(seconds=seconds)


def near(moment, expected, slack=10):
    return abs((moment - expected).total_seconds()) < slack


def at_cloud_a():
    return [{"name": "cloud-a", "capacity": -1, "template": sample_template(), "environment": ""}]


def wait_for(stack, condition, what):
    def reached():
        stack.refresh_from_db()
        return condition(stack)
    wait_until(reached, 15, what=f"{stack.name} {what}")
    return stack


def created(stack):
    return wait_for(stack, lambda s: s.status == lc.CREATE_COMPLETE, "to be created")


def ready(stack):
    return wait_for(stack, lambda s: s.status in lc.UP and s.reachable_at is not None, "to be ready")


@pytest.mark.django_db
@pytest.mark.parametrize("status", [lc.CREATE_COMPLETE, lc.RESUME_COMPLETE])
def test_the_suspender_never_claims_a_lab_that_is_not_ready_yet(status):
    waiting = make_stack(status, reachable_at=None, suspend_by=ago(3600), last_activity=ago(3700), provider="p")
    idle = make_stack(status, suspend_by=ago(10), provider="p")
    outbox = Outbox()
    assert sweeps.suspend_idle(send=outbox) == [idle.pk]
    assert [f.stack_id for f in outbox] == [idle.pk]
    assert sweeps.suspend_idle(now=timezone.now() + timedelta(days=1), send=outbox) == []
    waiting.refresh_from_db()
    assert waiting.status == status and waiting.log.count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize("status", [lc.LAUNCH_PENDING, lc.CREATE_IN_PROGRESS, lc.CREATE_COMPLETE,
                                    lc.RESUME_PENDING, lc.RESUME_IN_PROGRESS, lc.RESUME_COMPLETE])
def test_a_keepalive_while_the_lab_starts_is_the_learners_activity(status):
    stack = make_stack(status, reachable_at=None, suspend_timeout=300, delete_age=3600, last_activity=ago(600),
                       suspend_by=ago(300), delete_by=ago(-3000))
    reply = api.keepalive_by_name(stack.name, 300, 3600)
    assert reply["phase"] == api.phase_of(stack) != api.READY
    stack.refresh_from_db()
    now = timezone.now()
    assert near(stack.last_activity, now)
    assert near(stack.suspend_by, now + timedelta(seconds=300))
    assert near(stack.delete_by, now + timedelta(seconds=3600))
    assert stack.status == status and stack.log.count() == 1  # activity, not a transition
    assert sweeps.suspend_idle(send=Outbox()) == []


@pytest.fixture
def listening():
    """A port on loopback that accepts connections (a lab's RDP server)."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        yield server.getsockname()[1]


@pytest.mark.django_db
def test_the_deadline_starts_when_the_lab_is_ready_not_when_the_cloud_made_it(listening):
    """A machine that took longer to boot than the suspend timeout: once it
    answers, the learner has their whole suspend timeout from that moment."""
    stack = make_stack(lc.CREATE_COMPLETE, reachable_at=None, protocol="rdp", ip="127.0.0.1", port=listening,
                       suspend_timeout=120, delete_age=7200, launch_timeout=900, status_changed_at=ago(400),
                       last_activity=ago(400), suspend_by=ago(280), delete_by=ago(-6800))
    assert operations.poll(stack.pk, stack.poll_seq) is None
    stack.refresh_from_db()
    assert stack.reachable_at is not None and near(stack.reachable_at, timezone.now())
    assert stack.suspend_by == stack.reachable_at + timedelta(seconds=120)
    assert stack.delete_by == stack.reachable_at + timedelta(seconds=7200)
    assert sweeps.suspend_idle(now=stack.reachable_at + timedelta(seconds=119), send=Outbox()) == []
    assert sweeps.suspend_idle(now=stack.reachable_at + timedelta(seconds=121), send=Outbox()) == [stack.pk]


@pytest.mark.django_db
def test_the_wait_for_the_machine_goes_on_while_a_suspend_is_chosen_and_a_keepalive_cancels_it(listening):
    """An operator chose to suspend a lab whose machine still boots, and its
    learner is active: the suspend is cancelled, and the poll chain that
    waits for the machine is still there to see it ready."""
    stack = make_stack(lc.CREATE_COMPLETE, reachable_at=None, protocol="rdp", ip="127.0.0.1", port=listening,
                       suspend_timeout=120)
    assert api.suspend(stack, "an operator's suspend")
    follow = operations.poll(stack.pk, stack.poll_seq)
    assert (follow.kind, follow.seq) == ("poll", stack.poll_seq + 1)
    assert api.keepalive_by_name(stack.name, 120, 0)["phase"] == api.WAITING
    stack.refresh_from_db()
    assert stack.status == lc.CREATE_COMPLETE and stack.reachable_at is None
    assert operations.poll(stack.pk, follow.seq) is None
    stack.refresh_from_db()
    assert stack.reachable_at is not None
    assert stack.suspend_by == stack.reachable_at + timedelta(seconds=120)


# -- end to end: a real worker, the fake cloud's slow machine ------------------

@pytest.mark.django_db(transaction=True)
def test_a_slow_lab_is_not_suspended_while_it_boots(worker, lab_settings, cloud):
    cloud.config.boot_time = 3.0  # seconds after its stack is complete
    stack = api.launch("c", "learner1", at_cloud_a(), suspend_timeout=60)
    created(stack)
    assert stack.reachable_at is None and api.status_for(stack)["phase"] == api.WAITING
    # The suspender looks long after the deadline set when the cloud was done.
    assert sweeps.suspend_idle(now=timezone.now() + timedelta(hours=1), send=Outbox()) == []
    assert api.keepalive_by_name(stack.name, 60, 0)["phase"] == api.WAITING
    ready(stack)
    assert stack.status == lc.CREATE_COMPLETE
    assert stack.suspend_by == stack.reachable_at + timedelta(seconds=60)
    assert [e.to_status for e in stack.log.all()] == [lc.LAUNCH_PENDING, lc.CREATE_IN_PROGRESS, lc.CREATE_COMPLETE]


@pytest.mark.django_db(transaction=True)
def test_a_keepalive_saves_a_lab_chosen_for_a_suspend_while_it_booted(worker, lab_settings, cloud):
    cloud.config.boot_time = 8.0
    stack = api.launch("c", "learner1", at_cloud_a())
    created(stack)
    # Chosen (no task sent: the keepalive comes first), and left so for
    # longer than the poll chain takes to look again.
    assert lc.transition(stack, lc.CREATE_COMPLETE, lc.SUSPEND_PENDING, "an operator's suspend")
    time.sleep(3)
    assert api.keepalive_by_name(stack.name, 120, 0)["phase"] == api.WAITING
    ready(stack)
    assert stack.status == lc.CREATE_COMPLETE
    assert stack.suspend_by == stack.reachable_at + timedelta(seconds=120)
