"""Suspend, resume and delete in states where real Heat accepts the request and
the action then fails, or goes on (facts measured on real Heat's convergence
engine: "Actions in the wrong state"), driven by the unmodified heatclient."""

import time

from hastexo_cloudsim.testing import stack_outputs, wait_for_gone, wait_for_status, wait_until


def machine_states(cloud, heat, ref):
    stack_id = heat.stacks.get(ref).id
    return [m["state"] for m in cloud.machines.describe() if m["stack_id"] == stack_id]


def resource_states(heat, ref):
    return {r.resource_name: r.resource_status for r in heat.resources.list(ref)}


def test_suspend_during_create_is_accepted_then_fails_and_the_create_goes_on(cloud, heat, template):
    """Real Heat: "suspend while CREATE_IN_PROGRESS | 200, then SUSPEND_FAILED".
    The refused suspend touches no resource: the create finishes behind it,
    its machines boot, and a later suspend works."""
    cloud.config.durations["create"] = 1.0
    heat.stacks.create(stack_name="lab1", template=template, parameters={"run": "r1"})
    heat.actions.suspend("lab1")
    stack = heat.stacks.get("lab1")
    assert stack.stack_status == "SUSPEND_FAILED"
    assert "invalid for suspend" in stack.stack_status_reason
    assert "('CREATE', 'IN_PROGRESS')" in stack.stack_status_reason
    assert set(resource_states(heat, "lab1").values()) == {"CREATE_IN_PROGRESS"}
    # While the create goes on, its outputs are not there yet.
    assert stack_outputs(heat, "lab1")["public_ip"] is None
    wait_until(lambda: set(resource_states(heat, "lab1").values()) == {"CREATE_COMPLETE"}, 5,
               what="the create to finish behind the failed suspend")
    assert heat.stacks.get("lab1").stack_status == "SUSPEND_FAILED"
    assert stack_outputs(heat, "lab1")["public_ip"].startswith("127.")
    wait_until(lambda: set(machine_states(cloud, heat, "lab1")) == {"up"}, 5, what="the machine to boot")
    heat.actions.suspend("lab1")
    wait_for_status(heat, "lab1", "SUSPEND_COMPLETE")
    wait_until(lambda: set(machine_states(cloud, heat, "lab1")) == {"frozen"}, 5, what="the machines to freeze")


def test_resume_of_a_running_stack_is_accepted_then_fails_and_it_keeps_running(cloud, heat, template):
    """Real Heat: "resume a CREATE_COMPLETE stack | 200, then RESUME_FAILED"."""
    heat.stacks.create(stack_name="lab1", template=template, parameters={"run": "r1"})
    wait_for_status(heat, "lab1", "CREATE_COMPLETE")
    wait_until(lambda: set(machine_states(cloud, heat, "lab1")) == {"up"}, 5, what="the machine to boot")
    heat.actions.resume("lab1")
    stack = heat.stacks.get("lab1")
    assert stack.stack_status == "RESUME_FAILED"
    assert "('CREATE', 'COMPLETE') invalid for resume" in stack.stack_status_reason
    assert set(resource_states(heat, "lab1").values()) == {"CREATE_COMPLETE"}
    assert stack_outputs(heat, "lab1")["public_ip"].startswith("127.")
    assert set(machine_states(cloud, heat, "lab1")) == {"up"}
    # "suspend a ... RESUME_FAILED stack | 200, suspends again"
    heat.actions.suspend("lab1")
    wait_for_status(heat, "lab1", "SUSPEND_COMPLETE")
    wait_until(lambda: set(machine_states(cloud, heat, "lab1")) == {"frozen"}, 5, what="the machine to freeze")
    heat.actions.resume("lab1")
    wait_for_status(heat, "lab1", "RESUME_COMPLETE")


def test_suspend_of_a_suspended_stack_suspends_again(heat):
    """Real Heat: "suspend a SUSPEND_COMPLETE ... stack | 200, suspends again"."""
    heat.stacks.create(stack_name="lab1", template=_MINIMAL)
    wait_for_status(heat, "lab1", "CREATE_COMPLETE")
    heat.actions.suspend("lab1")
    wait_for_status(heat, "lab1", "SUSPEND_COMPLETE")
    heat.actions.suspend("lab1")
    wait_for_status(heat, "lab1", "SUSPEND_COMPLETE")
    own = [e.resource_status for e in heat.events.list("lab1") if e.resource_name == "lab1"]
    assert own[-4:] == ["SUSPEND_IN_PROGRESS", "SUSPEND_COMPLETE", "SUSPEND_IN_PROGRESS", "SUSPEND_COMPLETE"]
    heat.actions.resume("lab1")
    wait_for_status(heat, "lab1", "RESUME_COMPLETE")


def test_delete_during_create_abandons_the_create(cloud, heat):
    """Real Heat: "delete during create | 204; the create is abandoned and the stack goes"."""
    cloud.config.durations["create"] = 5.0
    heat.stacks.create(stack_name="lab1", template=_MINIMAL)
    heat.stacks.delete("lab1")
    wait_for_gone(heat, "lab1")


def test_delete_after_a_suspend_during_create_ends_the_create_behind_it(cloud, heat):
    cloud.config.durations["create"] = 0.3
    heat.stacks.create(stack_name="lab1", template=_MINIMAL)
    heat.actions.suspend("lab1")
    heat.stacks.delete("lab1")
    wait_for_gone(heat, "lab1")
    time.sleep(0.5)  # past the end of the abandoned create: nothing comes back
    assert list(heat.stacks.list()) == []
    assert cloud.heat.stack_count() == 0


_MINIMAL = """
heat_template_version: 2016-10-14
resources:
  pw: {type: OS::Heat::RandomString, properties: {length: 8}}
"""
