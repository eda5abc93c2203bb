"""Stacks knocked off track (failed calls, lost messages, lost polls) all end
up suspended, with a real worker, the fake cloud's faults and the sweeps."""

from datetime import timedelta

import pytest
from django.db.models import F
from django.utils import timezone

from hastexo_lab import api, clouds, sweeps
from hastexo_lab import lifecycle as lc
from hastexo_lab.models import Stack

from .helpers import wait_until
from .test_tasks import providers, wait_ready, wait_status

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _settings(lab_settings):
    pass


def test_every_stack_converges(worker, cloud):
    stacks = [api.launch("c", f"learner{i}", providers("cloud-a")) for i in range(6)]
    for stack in stacks:
        wait_ready(stack)
    lost_message, lost_poll = stacks[0], stacks[1]
    # A suspend whose task message was lost: claimed, never sent.
    Stack.objects.filter(pk=lost_message.pk).update(suspend_by=timezone.now())
    lc.transition(lost_message, lc.CREATE_COMPLETE, lc.SUSPEND_PENDING, "claimed; message lost")
    # A suspend whose poll chain was lost: Heat is suspending, nobody watches.
    lc.transition(lost_poll, lc.CREATE_COMPLETE, lc.SUSPEND_PENDING, "claimed")
    lc.transition(lost_poll, lc.SUSPEND_PENDING, lc.SUSPEND_IN_PROGRESS, "suspending; poll lost",
                  poll_seq=F("poll_seq") + 1)
    clouds.get_provider("cloud-a").suspend_stack(lost_poll.provider_ref)
    # The rest go idle, and the cloud misbehaves for some of them.
    Stack.objects.filter(pk__in=[s.pk for s in stacks[2:]]).update(suspend_by=timezone.now())
    cloud.faults.add("suspend", "fail", count=1, reason="hypervisor error")
    cloud.faults.add("suspend", "error", status=503, count=2)
    sweeps.suspend_idle()

    def all_suspended():
        later = timezone.now() + timedelta(days=1)
        sweeps.reconcile(now=later)
        return Stack.objects.filter(status=lc.SUSPEND_COMPLETE).count() == 6
    wait_until(all_suspended, timeout=60, interval=0.5, what="every stack to be suspended")
    assert cloud.heat.stack_count() == 6
    assert [s.state for s in cloud.heat.list(cloud.config.project_id, {})] == ["SUSPEND_COMPLETE"] * 6
    failed_once = [s for s in Stack.objects.all() if s.log.filter(to_status=lc.SUSPEND_FAILED).exists()]
    assert len(failed_once) == 1


def test_a_keepalive_after_the_suspend_started_brings_the_lab_back(worker, cloud):
    cloud.config.durations["suspend"] = 0.5
    stack = api.launch("c", "learner1", providers("cloud-a"))
    wait_ready(stack)
    Stack.objects.filter(pk=stack.pk).update(suspend_by=timezone.now())
    sweeps.suspend_idle()
    wait_status(stack, lc.SUSPEND_IN_PROGRESS)
    assert api.keepalive_by_name(stack.name, 120, 0)["phase"] == "resuming"
    wait_status(stack, lc.RESUME_COMPLETE)
