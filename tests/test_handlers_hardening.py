"""The block's handlers as another web site can reach them: a form of any
site can POST to the LMS's handler view (CSRF-exempt, the session cookie
SameSite=None), so state-changing handlers take only JSON bodies; bad bodies
and unknown handlers are clear 4xx; author-only handlers refuse learners."""

import json

import pytest
from django.contrib.auth import get_user_model

from hastexo_lab import lifecycle as lc
from hastexo_lab.models import Stack

from .test_block import SSH, usage_id
from .test_grading import handle, learner, make_block

STATE_CHANGING = ("status", "keepalive", "reset", "set_port", "check_progress", "check_result", "check_template")


@pytest.fixture
def lab(client, workbench, workbench_settings):
    return client


def post(client, handler, body, content_type, student="alice"):
    url = f"/handler/{usage_id(client, SSH, student)}/{handler}/?student={student}"
    return client.post(url, body, content_type=content_type)


@pytest.mark.django_db
@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data"])
def test_a_cross_site_form_cannot_reset_or_launch_a_lab(lab, content_type):
    assert post(lab, "status", json.dumps({"launch": True}), "application/json").json()["phase"] == "queued"
    stack = Stack.objects.get()
    for handler in STATE_CHANGING:
        response = post(lab, handler, json.dumps({"confirm": True, "launch": True, "port": 22}), content_type)
        assert response.status_code == 415, (handler, response.status_code)
        assert "application/json" in response.json()["error"]
    assert Stack.objects.get().status == stack.status, "nothing was reset"
    assert not stack.log.filter(to_status=lc.DELETE_PENDING).exists()
    assert Stack.objects.count() == 1, "nothing else was launched"


@pytest.mark.django_db
@pytest.mark.parametrize("handler", [*STATE_CHANGING, "leave", "submit_studio_edits"])
def test_deep_or_huge_json_is_a_400_not_a_server_error(lab, handler):
    deep = "[" * 20_000 + "]" * 20_000
    response = post(lab, handler, deep, "application/json")
    assert response.status_code == 400, (handler, response.status_code)
    nested = json.dumps({"values": {"display_name": _nested(40)}})
    assert post(lab, handler, nested, "application/json").status_code == 400


def _nested(depth):
    value = "x"
    for _ in range(depth):
        value = [value]
    return value


@pytest.mark.django_db
def test_an_unknown_handler_is_a_404(lab):
    response = post(lab, "no_such_handler", "{}", "application/json")
    assert response.status_code == 404


@pytest.mark.django_db
def test_learners_cannot_call_the_authors_handlers(workbench_settings):
    block = make_block(learner())  # a learner in the LMS: not course staff
    for handler, data in (("check_template", {}), ("submit_studio_edits", {"values": {"display_name": "x"}})):
        assert handle(block, handler, data).status_code == 403, handler
    # Studio: its preview runtime is in author mode.
    block.runtime.is_author_mode = True
    assert handle(block, "check_template", {}).status_code == 200
    # Course staff in the LMS.
    staff = make_block(get_user_model().objects.create(username="teacher"), staff=True)
    assert handle(staff, "check_template", {}).status_code == 200
