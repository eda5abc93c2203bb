"""The lab block in the xblock-sdk workbench: views and handlers over HTTP."""

import json
import re

import pytest

from hastexo_lab import lifecycle as lc
from hastexo_lab.models import Stack

from .test_tasks import wait_ready, wait_status

SSH, RDP, READ_ONLY, TWO, CHECKED = ("hastexo_lab.0", "hastexo_lab.1", "hastexo_lab.2", "hastexo_lab.3",
                                    "hastexo_lab.4")


def usage_id(client, scenario, student="alice"):
    page = client.get(f"/scenario/{scenario}/?student={student}")
    assert page.status_code == 200
    return re.search(r"data-usage=['\"]([^'\"]+\.hastexo_lab\.[^'\"]+)['\"]", page.content.decode()).group(1)


def call(client, scenario, handler, data, student="alice", raw=None):
    url = f"/handler/{usage_id(client, scenario, student)}/{handler}/?student={student}"
    body = raw if raw is not None else json.dumps(data)
    return client.post(url, body, content_type="application/json")


@pytest.fixture
def lab(client, workbench, workbench_settings):
    return client


def test_student_view_renders_accessible_markup(lab):
    page = lab.get(f"/scenario/{SSH}/?student=alice").content.decode()
    assert 'class="hastexo-lab"' in page
    assert 'role="status" aria-live="polite"' in page
    assert "ceph status" in page  # the instructions child
    assert "HastexoLabBlock" in page
    assert '"keepalive": 30000' in page


@pytest.mark.django_db(transaction=True)
def test_first_status_launches_and_ready_brings_the_terminal(client, workbench, workbench_settings, worker, cloud):
    reply = call(client, SSH, "status", {"launch": True}).json()
    assert reply["phase"] == "queued"
    stack = Stack.objects.get()
    wait_ready(stack)
    reply = call(client, SSH, "status", {}).json()
    assert reply["phase"] == "ready"
    # The terminal's page names no stack: what it opens comes with a ticket.
    assert reply["terminal_url"] == "/hastexo-lab-terminal/"
    text = json.dumps(reply)
    secrets = stack.secrets()
    assert secrets["password"] not in text and "PRIVATE" not in text
    # A double click, a second tab: still one stack, one create.
    call(client, SSH, "status", {"launch": True})
    assert Stack.objects.count() == 1 and cloud.request_counts()["create"] == 1


@pytest.mark.django_db(transaction=True)
def test_each_learner_gets_their_own_stack(client, workbench, workbench_settings, worker):
    call(client, SSH, "status", {"launch": True}, student="alice")
    call(client, SSH, "status", {"launch": True}, student="bob")
    names = sorted(Stack.objects.values_list("name", flat=True))
    assert len(names) == 2 and "alice" in names[0] and "bob" in names[1]
    # Bob's keepalive and reset touch only Bob's stack.
    alice = Stack.objects.get(anonymous_student_id="alice")
    wait_status(alice, lc.CREATE_COMPLETE)
    call(client, SSH, "reset", {"confirm": True}, student="bob")
    alice.refresh_from_db()
    assert alice.status == lc.CREATE_COMPLETE


def test_status_without_launch_does_not_create(lab):
    assert call(lab, SSH, "status", {}).json()["phase"] == "absent"
    assert Stack.objects.count() == 0


@pytest.mark.parametrize("handler, body, message", [
    ("status", "[1, 2]", "JSON object"),
    ("status", '{"launch": "yes"}', "launch must be true or false"),
    ("status", "{not json", ""),
    ("reset", "{}", "confirm"),
    ("set_port", '{"port": 8080}', "port must be one of"),
    ("set_port", '{"port": "22"}', "port must be one of"),
    ("keepalive", '"hello"', "JSON object"),
])
def test_malformed_requests_get_400(lab, handler, body, message):
    response = call(lab, RDP, handler, None, raw=body)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert "Traceback" not in response.content.decode()


def test_port_selection(lab):
    reply = call(lab, RDP, "set_port", {"port": 22}).json()
    assert reply["port"] == 22


def test_keepalive_on_absent_stack(lab):
    assert call(lab, SSH, "keepalive", {}).json()["phase"] == "absent"


def test_misconfigured_lab_tells_the_learner_not_a_traceback(lab, workbench_settings):
    workbench_settings.XBLOCK_SETTINGS["hastexo_lab"]["template_dir"] = "/nonexistent"
    workbench_settings.XBLOCK_SETTINGS = dict(workbench_settings.XBLOCK_SETTINGS)
    reply = call(lab, SSH, "status", {"launch": True}).json()
    assert reply["phase"] == "failed"
    assert "template could not be found" in reply["message"]
    assert Stack.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_two_providers_scenario_spills_over(client, workbench, workbench_settings, worker):
    call(client, TWO, "status", {"launch": True}, student="alice")
    first = Stack.objects.get(anonymous_student_id="alice")
    wait_status(first, lc.CREATE_COMPLETE)
    call(client, TWO, "status", {"launch": True}, student="bob")
    second = Stack.objects.get(anonymous_student_id="bob")
    wait_status(second, lc.CREATE_COMPLETE)
    assert (first.provider, second.provider) == ("default", "backup")


@pytest.mark.django_db(transaction=True)
def test_keepalive_cancels_a_chosen_suspend_and_resumes_a_suspended_lab(client, workbench, workbench_settings,
                                                                        worker, cloud):
    from hastexo_lab import api
    call(client, SSH, "status", {"launch": True})
    stack = Stack.objects.get()
    wait_ready(stack)
    lc.transition(stack, lc.CREATE_COMPLETE, lc.SUSPEND_PENDING, "idle (as the suspender would)")
    assert call(client, SSH, "keepalive", {}).json()["phase"] == "ready"
    stack.refresh_from_db()
    assert stack.status == lc.CREATE_COMPLETE
    assert api.suspend(stack)
    wait_status(stack, lc.SUSPEND_COMPLETE)
    assert call(client, SSH, "keepalive", {}).json()["phase"] == "resuming"
    wait_status(stack, lc.RESUME_COMPLETE)
    assert cloud.request_counts()["suspend"] == 1


def _stack_in(client, status, **fields):
    """The learner's stack, put in ``status`` (no worker needed)."""
    from django.utils import timezone
    call(client, SSH, "status", {"launch": True})
    now = timezone.now()
    values = dict(status=status, provider="default", provider_stack_id="some-id", reachable_at=now,
                  last_activity=now, suspend_by=now + timezone.timedelta(seconds=120))
    values.update(fields)
    Stack.objects.update(**values)
    return Stack.objects.get()


def leave(client, **kwargs):
    url = f"/handler/{usage_id(client, SSH)}/leave/?student=alice"
    kwargs.setdefault("data", json.dumps({"leaving": True}))
    kwargs.setdefault("content_type", "application/json")
    return client.post(url, **kwargs)


def test_leaving_brings_the_suspend_forward_and_never_later(lab):
    from django.utils import timezone
    stack = _stack_in(lab, lc.CREATE_COMPLETE)
    assert leave(lab).status_code == 204
    stack.refresh_from_db()
    assert (stack.suspend_by - timezone.now()).total_seconds() <= 30
    soon = stack.suspend_by
    assert leave(lab).status_code == 204
    stack.refresh_from_db()
    assert stack.suspend_by == soon
    assert stack.status == lc.CREATE_COMPLETE


@pytest.mark.parametrize("status", [lc.SUSPEND_COMPLETE, lc.SUSPEND_FAILED, lc.SUSPEND_PENDING,
                                    lc.SUSPEND_IN_PROGRESS, lc.DELETE_COMPLETE])
def test_leaving_never_resumes_launches_or_keeps_alive(lab, status):
    from django.utils import timezone
    stack = _stack_in(lab, status, suspend_by=timezone.now())
    logged = stack.log.count()
    assert leave(lab).status_code == 204
    after = Stack.objects.get()
    assert (after.status, after.suspend_by, after.resume_requested) == (status, stack.suspend_by, False)
    assert after.log.count() == logged


@pytest.mark.parametrize("kwargs", [
    {"data": {"csrfmiddlewaretoken": "x"}, "content_type": "application/x-www-form-urlencoded"},
    {"data": "", "content_type": "text/plain"},
    {"data": json.dumps({"leaving": True}), "content_type": "text/plain"},
    {"data": "[true]"},
    {"data": "{not json"},
])
def test_leave_takes_only_the_pages_own_body(lab, kwargs):
    stack = _stack_in(lab, lc.CREATE_COMPLETE)
    response = leave(lab, **kwargs)
    assert response.status_code == 400 and "leaving" in response.content.decode()
    assert Stack.objects.get().suspend_by == stack.suspend_by


@pytest.mark.parametrize("handler", ["status", "keepalive", "leave", "reset", "set_port",
                                     "submit_studio_edits"])
@pytest.mark.parametrize("status", [lc.CREATE_COMPLETE, lc.SUSPEND_COMPLETE])
def test_no_handler_changes_state_on_a_get(lab, handler, status):
    """An <img src=".../handler"> in course or forum HTML must do nothing."""
    from django.utils import timezone
    stack = _stack_in(lab, status, last_activity=timezone.now() - timezone.timedelta(seconds=60))
    response = lab.get(f"/handler/{usage_id(lab, SSH)}/{handler}/?student=alice")
    assert response.status_code == 405
    after = Stack.objects.get()
    assert (after.status, after.suspend_by, after.last_activity, after.resume_requested) == (
        stack.status, stack.suspend_by, stack.last_activity, stack.resume_requested)
