"""The lab block in the xblock-sdk workbench: views and handlers over HTTP."""

import json
import re

import pytest

from hastexo_lab import lifecycle as lc
from hastexo_lab.models import Stack

from .test_tasks import wait_status

SSH, RDP, TWO = "hastexo_lab.0", "hastexo_lab.1", "hastexo_lab.2"


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
    wait_status(stack, lc.CREATE_COMPLETE)
    reply = call(client, SSH, "status", {}).json()
    assert reply["phase"] == "ready"
    assert reply["terminal_url"].startswith("/terminal/?stack=hxl-")
    assert "port=22" in reply["terminal_url"] and "protocol=ssh" in reply["terminal_url"]
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
    assert reply["port"] == 22 and "port=22" in reply["terminal_url"]


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
    wait_status(stack, lc.CREATE_COMPLETE)
    lc.transition(stack, lc.CREATE_COMPLETE, lc.SUSPEND_PENDING, "idle (as the suspender would)")
    assert call(client, SSH, "keepalive", {}).json()["phase"] == "ready"
    stack.refresh_from_db()
    assert stack.status == lc.CREATE_COMPLETE
    assert api.suspend(stack)
    wait_status(stack, lc.SUSPEND_COMPLETE)
    assert call(client, SSH, "keepalive", {}).json()["phase"] == "resuming"
    wait_status(stack, lc.RESUME_COMPLETE)
    assert cloud.request_counts()["suspend"] == 1


@pytest.mark.django_db(transaction=True)
def test_leave_beacon_records_the_moment(client, workbench, workbench_settings, worker):
    call(client, SSH, "status", {"launch": True})
    stack = Stack.objects.get()
    wait_status(stack, lc.CREATE_COMPLETE)
    before = stack.last_activity
    import time
    time.sleep(5.1)  # keepalives closer together than 5 s are not written
    url = f"/handler/{usage_id(client, SSH)}/leave/?student=alice"
    assert client.post(url, {"csrfmiddlewaretoken": "x"}).status_code == 204
    stack.refresh_from_db()
    assert stack.last_activity > before
