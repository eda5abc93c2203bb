"""Which labs of a course share a learner's stack: those that mean the same
environment (same shared environment name, or same template and providers).
Read-only, protocol and ports always follow the block the learner is on."""

import pytest

from hastexo_lab.models import Stack

from .test_block import RDP, SSH, TWO, call


@pytest.fixture
def lab(client, workbench, workbench_settings):
    return client


def launch(client, scenario, student="alice"):
    return call(client, scenario, "status", {"launch": True}, student=student).json()


def save(client, scenario, **values):
    response = call(client, scenario, "submit_studio_edits", {"values": values, "defaults": []}, student="author")
    assert response.status_code == 200, response.content


def test_a_lab_with_other_providers_gets_its_own_stack(lab):
    launch(lab, SSH)
    launch(lab, TWO)
    assert Stack.objects.filter(anonymous_student_id="alice").count() == 2


def test_labs_with_the_same_template_and_providers_share_the_learners_stack(lab):
    launch(lab, SSH)
    launch(lab, RDP)
    stack = Stack.objects.get(anonymous_student_id="alice")
    assert stack.name.startswith("hxl-course-v1-edX-Demo-2020-alice-env")
    # Each block still decides how the learner connects.
    ssh = call(lab, SSH, "set_port", {"port": 22}, student="alice")
    assert ssh.status_code == 400  # the SSH lab offers no port choice
    rdp = call(lab, RDP, "set_port", {"port": 3389}, student="alice").json()
    assert rdp["port"] == 3389  # what its terminal tickets carry (tests/test_terminal.py)


def test_a_shared_environment_name_joins_labs_and_keeps_others_apart(lab):
    save(lab, SSH, shared_environment="ceph-cluster")
    save(lab, TWO, shared_environment="ceph-cluster")
    save(lab, RDP, shared_environment="desktop")
    for scenario in (SSH, TWO, RDP):
        launch(lab, scenario)
    names = sorted(Stack.objects.filter(anonymous_student_id="alice").values_list("name", flat=True))
    assert len(names) == 2
    assert any("ceph-cluster" in name for name in names) and any("desktop" in name for name in names)


def test_learners_never_share(lab):
    launch(lab, SSH, student="bob%20bob")  # "bob bob"
    launch(lab, SSH, student="bob%2Bbob")  # "bob+bob"
    assert sorted(Stack.objects.values_list("anonymous_student_id", flat=True)) == ["bob bob", "bob+bob"]


@pytest.mark.parametrize("value", ["has space", "x" * 41, "-leading"])
def test_a_bad_shared_environment_name_is_named(lab, value):
    response = call(lab, SSH, "submit_studio_edits", {"values": {"shared_environment": value}, "defaults": []},
                    student="author")
    assert response.status_code == 400
    assert "Shared environment" in response.content.decode()
