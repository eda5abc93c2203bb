"""A lab that vanished at the cloud (an operator deleted it, the cloud lost
it) is marked so, its learner is offered a fresh lab, and the reconciler
finds such labs on its own. Real worker, real heatclient, the fake cloud."""

import pytest

from hastexo_lab import api, sweeps
from hastexo_lab import lifecycle as lc
from hastexo_lab.models import Stack

from .helpers import heat_for, wait_for_gone
from .test_tasks import providers, wait_status

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _settings(lab_settings):
    """The two fake clouds as cloud-a and cloud-b, fast polling."""


def _launch_then_lose(cloud):
    stack = api.launch("c", "learner1", providers("cloud-a"))
    wait_status(stack, lc.CREATE_COMPLETE)
    heat = heat_for(cloud)
    heat.stacks.delete(stack.provider_ref)  # behind our back
    wait_for_gone(heat, stack.provider_ref)
    return stack


def _offered_a_fresh_lab(stack):
    reply = api.status_for(stack)
    assert reply["phase"] == api.LOST, reply
    assert "no longer exists" in reply["message"] and "fresh" in reply["message"]
    # Coming back (the page's launch request) does not make a new lab on its own...
    api.launch("c", "learner1", providers("cloud-a"))
    stack.refresh_from_db()
    assert stack.status == lc.VANISHED
    assert not Stack.objects.holding("cloud-a").filter(pk=stack.pk).exists(), "a vanished lab holds no slot"
    # ...the learner's go-ahead (the reset, with its confirmation) does.
    assert api.delete(stack, reason="reset by the learner")
    wait_status(stack, lc.DELETE_COMPLETE)
    api.launch("c", "learner1", providers("cloud-a"))
    wait_status(stack, lc.CREATE_COMPLETE)


def test_a_suspend_finds_the_lab_gone(worker, cloud):
    stack = _launch_then_lose(cloud)
    assert api.suspend(stack)
    wait_status(stack, lc.VANISHED)
    _offered_a_fresh_lab(stack)


def test_a_resume_finds_the_lab_gone(worker, cloud):
    stack = api.launch("c", "learner1", providers("cloud-a"))
    wait_status(stack, lc.CREATE_COMPLETE)
    assert api.suspend(stack)
    wait_status(stack, lc.SUSPEND_COMPLETE)
    heat = heat_for(cloud)
    heat.stacks.delete(stack.provider_ref)
    wait_for_gone(heat, stack.provider_ref)
    api.launch("c", "learner1", providers("cloud-a"))  # the learner is back
    wait_status(stack, lc.VANISHED)
    _offered_a_fresh_lab(stack)


def test_the_reconciler_finds_vanished_labs_on_its_own(worker, cloud):
    lost = _launch_then_lose(cloud)
    kept = api.launch("c", "learner2", providers("cloud-a"))
    wait_status(kept, lc.CREATE_COMPLETE)
    sweeps.reconcile(send=lambda follow: None)
    lost.refresh_from_db()
    kept.refresh_from_db()
    assert (lost.status, kept.status) == (lc.VANISHED, lc.CREATE_COMPLETE)
    assert "no longer has the stack" in lost.status_reason
    assert lost.secrets() == {"private_key": "", "password": ""}
    _offered_a_fresh_lab(lost)


def test_the_reconciler_leaves_labs_alone_when_the_cloud_cannot_be_asked(worker, cloud):
    stack = api.launch("c", "learner1", providers("cloud-a"))
    wait_status(stack, lc.CREATE_COMPLETE)
    cloud.faults.add("list", "error", status=503, count=10)
    sweeps.reconcile(send=lambda follow: None)
    stack.refresh_from_db()
    assert stack.status == lc.CREATE_COMPLETE
