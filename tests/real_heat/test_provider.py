"""The project's OpenStack provider, unchanged, on a real Heat: a stack's
whole life, and what Heat answers to actions in the wrong state."""

import time
import uuid

import pytest

from hastexo_lab.providers import PermanentProviderError, StackConflict

from ..helpers import wait_until

pytestmark = [pytest.mark.real_heat, pytest.mark.timeout(600)]

PARAMETERS = {"run": "course-v1:Org+Heat+2026"}


def new_name():
    return f"hastexo-lab-test-{uuid.uuid4().hex[:10]}"


def wait_for(provider, ref, *statuses, timeout=90):
    """The stack once its status is one of ``statuses`` (Heat's X_COMPLETE or
    X_FAILED); fails if it settles elsewhere or takes too long."""
    deadline = time.monotonic() + timeout
    while True:
        info = provider.get_stack(ref)
        if info.status in statuses:
            return info
        assert info.in_progress, f"{ref} settled at {info.status} ({info.reason}), not {statuses}"
        assert time.monotonic() < deadline, f"{ref} still {info.status} after {timeout} s"
        time.sleep(0.5)


def timed(real_heat, what, provider, call, ref, *statuses):
    """Call an action, wait for it to settle; record how long the whole took."""
    started = time.monotonic()
    call(ref)
    info = wait_for(provider, ref, *statuses)
    real_heat.record(what, time.monotonic() - started)
    return info


@pytest.fixture
def stack(real_heat, real_provider, lab_template):
    """A stack of the lab template, CREATE_COMPLETE; deleted after the test."""
    name = new_name()
    started = time.monotonic()
    created = real_provider.create_stack(name, lab_template, parameters=PARAMETERS)
    info = wait_for(real_provider, created.identifier, "CREATE_COMPLETE")
    real_heat.record("create (a call, then CREATE_COMPLETE)", time.monotonic() - started)
    yield info
    real_provider.delete_stack(info.identifier)


def test_validate_names_the_parameters_and_refuses_an_unknown_type(real_provider, lab_template):
    parameters = real_provider.validate_template(lab_template, parameters=PARAMETERS)
    assert {"run", "address", "create_wait"} <= set(parameters)
    with pytest.raises(PermanentProviderError) as refused:
        real_provider.validate_template("heat_template_version: 2016-10-14\n"
                                        "resources: {x: {type: OS::No::Such}}\n")
    assert refused.value.status == 400


def test_a_stack_lives_and_goes(real_heat, real_provider, stack):
    assert stack.status == "CREATE_COMPLETE" and stack.id
    assert stack.outputs["public_ip"] == "127.0.0.1"
    assert len(stack.outputs["password"]) == 16
    assert stack.outputs["run"] == PARAMETERS["run"]
    listed = {info.name: info for info in real_provider.list_stacks(prefix="hastexo-lab-test-")}
    assert listed[stack.name].id == stack.id
    assert real_provider.get_stacks([stack.id])[stack.id].status == "CREATE_COMPLETE"

    ref = stack.identifier
    timed(real_heat, "suspend (a call, then SUSPEND_COMPLETE)", real_provider, real_provider.suspend_stack, ref,
          "SUSPEND_COMPLETE")
    resumed = timed(real_heat, "resume (a call, then RESUME_COMPLETE)", real_provider, real_provider.resume_stack,
                    ref, "RESUME_COMPLETE")
    assert resumed.outputs == stack.outputs
    timed(real_heat, "delete (a call, then gone)", real_provider, real_provider.delete_stack, ref, "GONE")
    assert real_provider.get_stack(stack.name).gone
    assert stack.name not in {info.name for info in real_provider.list_stacks()}
    real_provider.delete_stack(ref)  # deleting it again is fine


def test_the_same_name_again_is_a_conflict(real_provider, stack, lab_template):
    with pytest.raises(StackConflict):
        real_provider.create_stack(stack.name, lab_template, parameters=PARAMETERS)


def test_suspend_while_a_resource_is_being_created_is_taken_then_fails(real_provider, lab_template):
    """Heat takes the call (200) and the suspend fails: SUSPEND_FAILED, a
    state the lab must get out of."""
    created = real_provider.create_stack(new_name(), lab_template, parameters=dict(PARAMETERS, create_wait=10))
    ref = created.identifier
    try:
        wait_until(lambda: real_provider.heat.resources.get(ref, "machine").resource_status == "CREATE_IN_PROGRESS",
                   30, interval=0.3, what="the machine resource to be in its create")
        real_provider.suspend_stack(ref)
        info = wait_for(real_provider, ref, "SUSPEND_FAILED", "SUSPEND_COMPLETE")
        assert info.status == "SUSPEND_FAILED" and info.failed and info.action == "SUSPEND"
        assert "State ('CREATE', 'IN_PROGRESS') invalid for suspend" in info.reason
    finally:
        real_provider.delete_stack(ref)
    assert wait_for(real_provider, ref, "GONE").gone


def test_suspend_right_after_the_create_call_may_complete_with_nothing_created(real_provider, lab_template):
    """Where no resource is in its create at that moment, Heat suspends the
    stack (SUSPEND_COMPLETE) and the create never finishes: the resources
    that had not started are never made, and a resume ends in RESUME_COMPLETE
    or RESUME_FAILED (a resource never created), the outputs empty either
    way. Which of these happens is a race inside Heat; none brings the
    stack up."""
    created = real_provider.create_stack(new_name(), lab_template, parameters=dict(PARAMETERS, create_wait=5))
    ref = created.identifier
    try:
        real_provider.suspend_stack(ref)
        info = wait_for(real_provider, ref, "SUSPEND_FAILED", "SUSPEND_COMPLETE")
        if info.status == "SUSPEND_COMPLETE":
            assert info.outputs["public_ip"] is None and info.outputs["password"] is None
            real_provider.resume_stack(ref)
            resumed = wait_for(real_provider, ref, "RESUME_COMPLETE", "RESUME_FAILED")
            assert resumed.outputs["public_ip"] is None
    finally:
        real_provider.delete_stack(ref)
    assert wait_for(real_provider, ref, "GONE").gone


def test_resume_of_a_running_stack_is_taken_then_fails(real_provider, stack):
    """Heat takes the call (200) and the resume fails: RESUME_FAILED, although
    the stack's resources still run."""
    real_provider.resume_stack(stack.identifier)
    info = wait_for(real_provider, stack.identifier, "RESUME_FAILED", "RESUME_COMPLETE")
    assert info.status == "RESUME_FAILED" and info.failed and info.action == "RESUME"
    assert info.reason
    # Such a stack still suspends (and resumes) as usual.
    real_provider.suspend_stack(stack.identifier)
    assert wait_for(real_provider, stack.identifier, "SUSPEND_COMPLETE").status == "SUSPEND_COMPLETE"
    real_provider.resume_stack(stack.identifier)
    assert wait_for(real_provider, stack.identifier, "RESUME_COMPLETE").outputs["public_ip"] == "127.0.0.1"


def test_delete_during_create_removes_the_stack(real_provider, lab_template):
    created = real_provider.create_stack(new_name(), lab_template, parameters=dict(PARAMETERS, create_wait=10))
    wait_for(real_provider, created.identifier, "CREATE_IN_PROGRESS")
    real_provider.delete_stack(created.identifier)
    assert wait_for(real_provider, created.identifier, "GONE").gone


def test_a_revoked_token_is_replaced_by_a_new_login(real_heat, real_provider, stack):
    """Keystone revokes the provider's token (as when it expires early): Heat
    refuses it, and the provider logs in again and goes on."""
    token = real_provider.heat.http_client.get_token()
    real_heat.admin_session().delete(real_heat.auth_url + "/auth/tokens", headers={"X-Subject-Token": token})
    assert real_provider.get_stack(stack.identifier).status == "CREATE_COMPLETE"
    assert real_provider.heat.http_client.get_token() != token
