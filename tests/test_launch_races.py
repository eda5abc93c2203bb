"""A launch raced by a reset, and a launch message delivered twice: a real
worker, real heatclient, the fake cloud holding requests where the race is."""

import time

import pytest

from hastexo_lab import api, tasks
from hastexo_lab import lifecycle as lc
from hastexo_lab.models import Stack
from hastexo_lab.providers.openstack import OpenStackProvider

from .helpers import wait_until
from .test_tasks import providers, wait_status

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _settings(lab_settings):
    """The two fake clouds as cloud-a and cloud-b, fast polling."""


def _reset_and_wait_for_the_delete_call(cloud, settle=0.0):
    """The learner resets; wait until the delete task has asked the cloud,
    and then up to ``settle`` seconds for the delete to conclude."""
    stack = Stack.objects.get()
    deletes = cloud.request_counts().get("delete", 0)
    assert api.delete(stack, reason="reset by the learner")
    wait_until(lambda: cloud.request_counts().get("delete", 0) > deletes, timeout=10,
               what="the delete task to call the cloud")
    deadline = time.monotonic() + settle
    while time.monotonic() < deadline and Stack.objects.get().status != lc.DELETE_COMPLETE:
        time.sleep(0.02)


def _around_create(monkeypatch, before=None, after=None):
    """Run ``before`` / ``after`` in the worker, next to its create call."""
    create = OpenStackProvider.create_stack

    def wrapped(self, *args, **kwargs):
        if before:
            before()
        info = create(self, *args, **kwargs)
        if after:
            after()
        return info
    monkeypatch.setattr(OpenStackProvider, "create_stack", wrapped)


def _assert_nothing_left(cloud, stack):
    wait_status(stack, lc.DELETE_COMPLETE, timeout=15)
    # A create that was on its way must not land afterwards.
    time.sleep(1.5)
    assert cloud.heat.stack_count() == 0, "a stack outlived its row"
    stack.refresh_from_db()
    assert stack.status == lc.DELETE_COMPLETE
    assert cloud.request_counts()["create"] == 1


def test_reset_before_the_create_call(worker, cloud, monkeypatch):
    _around_create(monkeypatch, before=lambda: _reset_and_wait_for_the_delete_call(cloud, settle=1.0))
    stack = api.launch("c", "learner1", providers("cloud-a"))
    _assert_nothing_left(cloud, stack)


def test_reset_while_the_cloud_holds_the_create_request(worker, cloud):
    cloud.faults.add("create", "slow", delay=1.0)
    stack = api.launch("c", "learner1", providers("cloud-a"))
    wait_until(lambda: cloud.request_counts().get("create") == 1, timeout=10, what="the create request")
    _reset_and_wait_for_the_delete_call(cloud)
    _assert_nothing_left(cloud, stack)


def test_reset_right_after_the_create_returns(worker, cloud, monkeypatch):
    _around_create(monkeypatch, after=lambda: _reset_and_wait_for_the_delete_call(cloud))
    stack = api.launch("c", "learner1", providers("cloud-a"))
    _assert_nothing_left(cloud, stack)


def test_reset_while_polling(worker, cloud):
    cloud.config.durations["create"] = 1.0
    stack = api.launch("c", "learner1", providers("cloud-a"))
    wait_until(lambda: Stack.objects.get().provider_stack_id, timeout=10, what="the stack's id")
    _reset_and_wait_for_the_delete_call(cloud)
    _assert_nothing_left(cloud, stack)


def test_a_launch_message_delivered_again_mid_create_creates_once(worker, cloud):
    """The broker hands out the same message (same task id) again while the
    first copy is still in its create call."""
    cloud.faults.add("create", "slow", delay=1.5)
    stack, _ = lc.create("launch requested", name="hxl-c-learner1", course_id="c",
                         anonymous_student_id="learner1", providers=providers("cloud-a"), parameters={"run": "c"})
    tasks.launch_stack.apply_async((stack.pk,), task_id="the-same-message", queue="hastexo_lab")
    wait_until(lambda: cloud.request_counts().get("create") == 1, timeout=10, what="the first copy's create")
    tasks.launch_stack.apply_async((stack.pk,), task_id="the-same-message", queue="hastexo_lab")
    wait_status(stack, lc.CREATE_COMPLETE, timeout=15)
    time.sleep(0.5)
    assert cloud.request_counts()["create"] == 1
    assert cloud.heat.stack_count() == 1
