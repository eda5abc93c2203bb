"""Actions real Heat accepts in states where they cannot work, and how the lab
comes out of each: a real Celery worker, the unchanged heatclient, the fake
cloud answering as real Heat's convergence engine was measured to answer
(suspend while creating: 200, then SUSPEND_FAILED; resume of a running stack:
200, then RESUME_FAILED; suspend of a suspended stack: 200, suspends again;
delete during create: 204, the create abandoned). Each ends in a state the
learner can act on."""

from datetime import timedelta

import pytest
from django.utils import timezone

from hastexo_lab import api, clouds, sweeps
from hastexo_lab import lifecycle as lc
from hastexo_lab.models import Stack

from .helpers import wait_until
from .test_tasks import providers, story, wait_ready, wait_status

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _settings(lab_settings):
    """The two fake clouds as cloud-a and cloud-b, polled fast."""


def heat_status(stack):
    return clouds.get_provider(stack.provider).get_stack(stack.provider_ref).status


def own_events(cloud, name, stack_id):
    """The stack's own events at the cloud, as ACTION_STATUS."""
    found = cloud.heat.get(cloud.config.project_id, name, stack_id)
    return [f"{e['resource_action']}_{e['resource_status']}" for e in cloud.heat.events(found, {})
            if e["resource_name"] == name]


def creating_at_the_cloud(stack):
    """Wait until the row knows the id of the stack Heat is still creating."""
    def known():
        stack.refresh_from_db()
        return stack.status == lc.CREATE_IN_PROGRESS and stack.provider_stack_id
    wait_until(known, 10, what=f"{stack.name} to be created at its cloud")
    return stack


def test_a_suspend_during_the_create_leaves_the_lab_ready_and_suspendable(worker, cloud):
    """An operator suspends the stack at the cloud while Heat creates it: Heat
    fails the suspend and goes on creating. The lab does not take
    SUSPEND_FAILED for a failed create: it waits for the resources, is
    ready, and the suspender suspends it later as any other."""
    cloud.config.durations["create"] = 1.5
    stack = creating_at_the_cloud(api.launch("c", "learner1", providers("cloud-a")))
    clouds.get_provider("cloud-a").suspend_stack(stack.provider_ref)
    assert heat_status(stack) == "SUSPEND_FAILED"
    wait_ready(stack, timeout=15)
    assert stack.status == lc.CREATE_COMPLETE and stack.ip and stack.secrets()["password"]
    assert api.status_for(stack)["phase"] == api.READY
    assert Stack.objects.count() == 1 and cloud.heat.stack_count() == 1  # no second lab, nothing failed over

    Stack.objects.filter(pk=stack.pk).update(suspend_by=timezone.now())
    sweeps.suspend_idle()
    wait_status(stack, lc.SUSPEND_COMPLETE)
    assert heat_status(stack) == "SUSPEND_COMPLETE"
    api.launch("c", "learner1", providers("cloud-a"))
    wait_ready(stack)
    assert stack.status == lc.RESUME_COMPLETE


def test_a_resume_after_a_lost_suspend_finds_the_lab_running(worker, cloud):
    """The suspend never reached Heat (the cloud answered 503 until the task
    gave up): the row says SUSPEND_FAILED, the lab runs. The learner sees a
    kept lab, and their return asks for a resume, which Heat accepts and
    fails (RESUME_FAILED). Its resources are all running: the lab is ready."""
    stack = api.launch("c", "learner1", providers("cloud-a"))
    wait_ready(stack)
    cloud.faults.add("suspend", "error", status=503, count=20)
    assert api.suspend(stack)
    wait_status(stack, lc.SUSPEND_FAILED, timeout=20)
    assert heat_status(stack) == "CREATE_COMPLETE"
    assert api.status_for(stack)["phase"] == api.SUSPENDED

    cloud.faults.clear()
    reply = api.launch_within_limit("c", "learner1", providers("cloud-a"))
    assert reply["phase"] == api.RESUMING
    wait_ready(stack)
    assert heat_status(stack) == "RESUME_FAILED"  # Heat's verdict; the lab knows better
    assert stack.status == lc.RESUME_COMPLETE and not stack.error_message
    assert (lc.RESUME_IN_PROGRESS, lc.RESUME_COMPLETE) in story(stack)
    assert api.status_for(stack)["phase"] == api.READY

    # Heat suspends a RESUME_FAILED stack: the next idle suspend works.
    Stack.objects.filter(pk=stack.pk).update(suspend_by=timezone.now())
    sweeps.suspend_idle()
    wait_status(stack, lc.SUSPEND_COMPLETE)
    assert heat_status(stack) == "SUSPEND_COMPLETE"


def test_a_keepalive_racing_a_resume_of_a_running_lab_keeps_it_ready(worker, cloud):
    """The row says the suspend failed while Heat never suspended (its call
    was lost); the learner's keepalive resumes a lab that runs, which Heat
    fails: the lab ends ready, not failed."""
    stack = api.launch("c", "learner1", providers("cloud-a"))
    wait_ready(stack)
    # The row's view: suspended; Heat's: it never was.
    lc.transition(stack, lc.CREATE_COMPLETE, lc.SUSPEND_PENDING, "claimed")
    lc.transition(stack, lc.SUSPEND_PENDING, lc.SUSPEND_IN_PROGRESS, "suspending")
    lc.transition(stack, lc.SUSPEND_IN_PROGRESS, lc.SUSPEND_FAILED, "the suspend was lost")
    assert api.keepalive_by_name(stack.name, 120, 0)["phase"] == api.RESUMING
    wait_ready(stack)
    assert heat_status(stack) == "RESUME_FAILED"
    assert stack.status == lc.RESUME_COMPLETE


def test_a_suspend_of_a_lab_suspended_at_the_cloud_suspends_it_again(worker, cloud):
    """An operator suspended the stack at the cloud; the lab did not know.
    Its idle suspend reaches a SUSPEND_COMPLETE stack, which Heat suspends
    again: the lab is suspended, and resumes when the learner is back."""
    stack = api.launch("c", "learner1", providers("cloud-a"))
    wait_ready(stack)
    provider = clouds.get_provider("cloud-a")
    provider.suspend_stack(stack.provider_ref)
    wait_until(lambda: heat_status(stack) == "SUSPEND_COMPLETE", 10, what="the cloud to suspend it")

    Stack.objects.filter(pk=stack.pk).update(suspend_by=timezone.now())
    sweeps.suspend_idle()
    wait_status(stack, lc.SUSPEND_COMPLETE)
    assert own_events(cloud, stack.name, stack.provider_stack_id).count("SUSPEND_COMPLETE") == 2
    assert api.status_for(stack)["phase"] == api.SUSPENDED
    api.launch("c", "learner1", providers("cloud-a"))
    wait_ready(stack)
    assert (stack.status, heat_status(stack)) == (lc.RESUME_COMPLETE, "RESUME_COMPLETE")


def test_a_failed_suspend_retried_by_the_reconciler_suspends_the_lab(worker, cloud):
    """Heat failed a suspend (a hypervisor error): the lab is kept and shown
    as suspended; the reconciler's retry suspends it, from SUSPEND_FAILED."""
    stack = api.launch("c", "learner1", providers("cloud-a"))
    wait_ready(stack)
    cloud.faults.add("suspend", "fail", count=1, reason="hypervisor error")
    assert api.suspend(stack)
    wait_status(stack, lc.SUSPEND_FAILED)
    assert heat_status(stack) == "SUSPEND_FAILED"
    assert api.status_for(stack)["phase"] == api.SUSPENDED
    sweeps.reconcile(now=timezone.now() + timedelta(hours=2))
    wait_status(stack, lc.SUSPEND_COMPLETE)
    assert heat_status(stack) == "SUSPEND_COMPLETE"


def test_a_delete_during_the_create_leaves_no_stack_and_offers_a_fresh_lab(worker, cloud):
    """Heat answers a delete during the create with 204 and abandons the
    create: the lab is gone, and the learner's next launch builds a fresh one."""
    cloud.config.durations["create"] = 3.0
    stack = creating_at_the_cloud(api.launch("c", "learner1", providers("cloud-a")))
    assert api.delete(stack, "the learner reset it")
    wait_status(stack, lc.DELETE_COMPLETE)
    assert api.status_for(stack)["phase"] == api.ABSENT
    wait_until(lambda: cloud.heat.stack_count() == 0, 10, what="the cloud to drop the stack")
    cloud.config.durations["create"] = 0.15
    api.launch("c", "learner1", providers("cloud-a"))
    wait_ready(stack)
    assert stack.status == lc.CREATE_COMPLETE and cloud.heat.stack_count() == 1


def test_a_reset_during_a_create_heat_failed_a_suspend_of_builds_a_fresh_lab(worker, cloud):
    """A suspend reached Heat during the create (SUSPEND_FAILED, the create
    going on behind it), then the learner resets the lab: the delete ends the
    create, and the fresh lab is ready."""
    cloud.config.durations["create"] = 2.0
    stack = creating_at_the_cloud(api.launch("c", "learner1", providers("cloud-a")))
    first = stack.provider_stack_id
    clouds.get_provider("cloud-a").suspend_stack(stack.provider_ref)
    assert api.delete(stack, "the learner reset it", relaunch=True)
    cloud.config.durations["create"] = 0.15
    wait_ready(stack, timeout=15)
    assert stack.status == lc.CREATE_COMPLETE and stack.provider_stack_id != first
    assert cloud.heat.stack_count() == 1
