"""Resource signals (wait condition handles, scaling policies) and
mark-unhealthy, through the unmodified heatclient and the openstack CLI."""

import json

import pytest
from hastexo_cloudsim import signals
from hastexo_cloudsim.testing import stack_outputs as outputs
from hastexo_cloudsim.testing import wait_for_status, wait_until
from heatclient import exc as heat_exc
from test_resource_api import cli_json, run_cli

WAIT = """heat_template_version: 2016-10-14
resources:
  handle: {type: OS::Heat::WaitConditionHandle}
  wait:
    type: OS::Heat::WaitCondition
    properties: {handle: {get_resource: handle}, timeout: 600}
  value: {type: OS::Heat::Value, properties: {value: plain}}
outputs:
  data: {value: {get_attr: [wait, data]}}
"""



def stack_id(heat, name):
    stack = heat.stacks.get(name)
    return f"{stack.stack_name}/{stack.id}"


def test_a_wait_condition_handle_records_its_signals(heat):
    heat.stacks.create(stack_name="wait", template=WAIT)
    wait_for_status(heat, "wait", "CREATE_COMPLETE")
    sid = stack_id(heat, "wait")
    heat.resources.signal(sid, "handle", data={"status": "SUCCESS", "reason": "booted", "data": "node-1"})
    heat.resources.signal(sid, "handle")
    metadata = heat.resources.metadata(sid, "handle")
    assert metadata == {"1": {"status": "SUCCESS", "reason": "booted", "data": "node-1"},
                        "2": {"status": "SUCCESS", "reason": "Signal 2 received", "data": None}}
    assert json.loads(outputs(heat, "wait")["data"]) == {"1": "node-1", "2": None}
    events = [e for e in heat.events.list(sid, resource_name="handle") if e.resource_status.startswith("SIGNAL")]
    assert [e.resource_status for e in events] == ["SIGNAL_COMPLETE", "SIGNAL_COMPLETE"]
    assert [e.resource_status_reason for e in events] == ["Signal: status:SUCCESS reason:booted",
                                                          "Signal: status:SUCCESS reason:Signal 2 received"]
    # A signal leaves the resource's own state alone.
    assert heat.resources.get(sid, "handle").resource_status == "CREATE_COMPLETE"


@pytest.mark.parametrize("resource, data, status, message", [
    ("value", None, 400, "signal is not supported for resource."),
    ("nothing", None, 404, "The Resource (nothing) could not be found in Stack wait."),
    ("handle", {"unset_hook": "pre-create"}, 400,
     'The "pre-create" hook is not defined on OS::Heat::WaitConditionHandle "handle"'),
    ("handle", {"unset_hook": "sometime"}, 400, 'Invalid hook type "sometime"'),
])
def test_signals_heat_refuses(heat, resource, data, status, message):
    heat.stacks.create(stack_name="wait", template=WAIT)
    wait_for_status(heat, "wait", "CREATE_COMPLETE")
    with pytest.raises(heat_exc.HTTPException) as error:
        heat.resources.signal(stack_id(heat, "wait"), resource, data=data)
    assert error.value.code == status and message in str(error.value)


@pytest.mark.parametrize("data", [{"status": "MAYBE"}, {"status": "SUCCESS", "colour": "red"}, ["a", "list"],
                                  "a string"])
def test_a_handle_signal_in_the_wrong_form_changes_nothing(heat, data):
    """Heat answers first and handles the signal after: one in the wrong
    form is only logged, and nothing changes."""
    heat.stacks.create(stack_name="wait", template=WAIT)
    wait_for_status(heat, "wait", "CREATE_COMPLETE")
    sid = stack_id(heat, "wait")
    heat.resources.signal(sid, "handle", data=data)
    assert heat.resources.metadata(sid, "handle") == {}
    assert not [e for e in heat.events.list(sid, resource_name="handle") if e.resource_status.startswith("SIGNAL")]


CFN = """heat_template_version: 2016-10-14
resources:
  handle: {type: OS::Heat::UpdateWaitConditionHandle}
  other: {type: OS::Heat::WaitConditionHandle}
  value: {type: OS::Heat::Value, properties: {value: {get_param: "OS::stack_name"}}}
"""


def test_an_update_handle_takes_cloudformations_form_and_is_new_after_each_update(heat):
    heat.stacks.create(stack_name="cfn", template=CFN)
    wait_for_status(heat, "cfn", "CREATE_COMPLETE")
    sid = stack_id(heat, "cfn")
    heat.resources.signal(sid, "handle", data={"status": "SUCCESS"})  # not its form: ignored
    heat.resources.signal(sid, "handle")  # nothing: ignored, but reported
    heat.resources.signal(sid, "handle", data={"Status": "SUCCESS", "Reason": "up", "Data": "x", "UniqueId": "n1"})
    heat.resources.signal(sid, "other", data={"data": "kept"})
    assert heat.resources.metadata(sid, "handle") == {"n1": {"Status": "SUCCESS", "Reason": "up", "Data": "x"}}
    before = heat.resources.get(sid, "handle").physical_resource_id
    heat.stacks.update(sid, existing=True)
    wait_for_status(heat, "cfn", "UPDATE_COMPLETE")
    # The update handle is replaced (unsignalled); the other keeps what it had.
    assert heat.resources.metadata(sid, "handle") == {}
    assert heat.resources.get(sid, "handle").physical_resource_id != before
    assert heat.resources.metadata(sid, "other") == {"1": {"status": "SUCCESS", "reason": "Signal 1 received",
                                                            "data": "kept"}}


def test_no_signal_while_suspended(heat):
    heat.stacks.create(stack_name="wait", template=WAIT)
    wait_for_status(heat, "wait", "CREATE_COMPLETE")
    heat.actions.suspend("wait")
    wait_for_status(heat, "wait", "SUSPEND_COMPLETE")
    with pytest.raises(heat_exc.HTTPBadRequest) as error:
        heat.resources.signal(stack_id(heat, "wait"), "handle")
    assert "Signal resource during SUSPEND is not supported." in str(error.value)


SCALING = """heat_template_version: 2016-10-14
parameters:
  kind: {type: string, default: change_in_capacity}
  step: {type: number, default: 1}
  cooldown: {type: number, default: 0}
resources:
  group:
    type: OS::Heat::AutoScalingGroup
    properties:
      min_size: 1
      max_size: 4
      resource:
        type: OS::Nova::Server
        properties: {image: ubuntu, flavor: m1.small}
  up:
    type: OS::Heat::ScalingPolicy
    properties:
      auto_scaling_group_id: {get_resource: group}
      adjustment_type: {get_param: kind}
      scaling_adjustment: {get_param: step}
      cooldown: {get_param: cooldown}
  down:
    type: OS::Heat::ScalingPolicy
    properties: {auto_scaling_group_id: {get_resource: group}, adjustment_type: change_in_capacity,
                 scaling_adjustment: -1}
outputs:
  size: {value: {get_attr: [group, current_size]}}
  url: {value: {get_attr: [up, signal_url]}}
"""


def machines_of(cloud, sid):
    return sorted((m["server"], m["listen_addresses"][0]) for m in cloud.machines.describe()
                  if m["stack_id"] == sid.split("/")[1])


def test_a_scaling_policy_resizes_its_group_and_the_machines_follow(heat, cloud):
    heat.stacks.create(stack_name="scale", template=SCALING)
    wait_for_status(heat, "scale", "CREATE_COMPLETE")
    sid = stack_id(heat, "scale")
    first = wait_until(lambda: machines_of(cloud, sid), timeout=5)
    assert len(first) == 1 and outputs(heat, "scale")["size"] == 1
    group_id = heat.resources.get(sid, "group").physical_resource_id
    heat.resources.signal(sid, "up")
    heat.resources.signal(sid, "up")
    assert outputs(heat, "scale")["size"] == 3
    grown = wait_until(lambda: len(machines_of(cloud, sid)) == 3 and machines_of(cloud, sid), timeout=5)
    assert first[0] in grown  # the first member is kept as it was
    heat.resources.signal(sid, "down")
    assert outputs(heat, "scale")["size"] == 2
    shrunk = wait_until(lambda: len(machines_of(cloud, sid)) == 2 and machines_of(cloud, sid), timeout=5)
    assert first[0] not in shrunk and set(shrunk) < set(grown)  # the oldest goes first
    # The stack itself stays as it was; the group shows the updates, the policy the signals.
    assert heat.stacks.get("scale").stack_status == "CREATE_COMPLETE"
    assert heat.resources.get(sid, "group").resource_status == "UPDATE_COMPLETE"
    assert heat.resources.get(sid, "group").physical_resource_id == group_id  # the same group, resized
    reasons = [e.resource_status_reason for e in heat.events.list(sid, resource_name="up")
               if e.resource_status == "SIGNAL_COMPLETE"]
    assert reasons == ["No signal details provided"] * 2


@pytest.mark.parametrize("kind, step, signals_sent, size", [
    ("exact_capacity", 3, 1, 3),
    ("exact_capacity", 9, 1, 4),  # within max_size
    ("percent_change_in_capacity", 50, 1, 2),  # 1 * 50 % rounds away from zero, to one more
    ("percent_change_in_capacity", 100, 2, 4),
    ("change_in_capacity", 10, 1, 4),
])
def test_adjustment_types_as_heat_computes_them(heat, kind, step, signals_sent, size):
    heat.stacks.create(stack_name="kinds", template=SCALING, parameters={"kind": kind, "step": step})
    wait_for_status(heat, "kinds", "CREATE_COMPLETE")
    for _ in range(signals_sent):
        heat.resources.signal(stack_id(heat, "kinds"), "up", data={"current": "alarm", "previous": "ok",
                                                                   "reason": "cpu"})
    assert outputs(heat, "kinds")["size"] == size


def test_within_the_cooldown_a_signal_does_nothing(heat):
    heat.stacks.create(stack_name="cool", template=SCALING, parameters={"cooldown": 600})
    wait_for_status(heat, "cool", "CREATE_COMPLETE")
    sid = stack_id(heat, "cool")
    heat.resources.signal(sid, "up", data={"current": "alarm", "previous": "ok", "reason": "cpu"})
    heat.resources.signal(sid, "up")
    assert outputs(heat, "cool")["size"] == 2
    reasons = [e.resource_status_reason for e in heat.events.list(sid, resource_name="up")
               if e.resource_status == "SIGNAL_COMPLETE"]
    assert reasons == ["alarm state changed from ok to alarm (cpu)"]
    # The cooldown is the group's: a policy without one waits for it too.
    heat.resources.signal(sid, "down")
    assert outputs(heat, "cool")["size"] == 2


@pytest.mark.parametrize("data", [["not", "a", "map"], "a string", {"current": 3}])
def test_a_policy_signal_in_the_wrong_form_scales_nothing(heat, data):
    heat.stacks.create(stack_name="odd", template=SCALING)
    wait_for_status(heat, "odd", "CREATE_COMPLETE")
    heat.resources.signal(stack_id(heat, "odd"), "up", data=data)
    assert outputs(heat, "odd")["size"] == 1


def test_a_busy_or_unhealthy_group_is_not_scaled(clocked_cloud, clock):
    from hastexo_cloudsim.testing import heat_for
    heat = heat_for(clocked_cloud)
    heat.stacks.create(stack_name="busy", template=SCALING)
    clock.advance(60)
    wait_for_status(heat, "busy", "CREATE_COMPLETE")
    sid = stack_id(heat, "busy")
    heat.stacks.update(sid, existing=True, parameters={"step": 2})
    heat.resources.signal(sid, "up")  # the stack is being updated
    clock.advance(60)
    wait_for_status(heat, "busy", "UPDATE_COMPLETE")
    assert outputs(heat, "busy")["size"] == 1
    heat.resources.mark_unhealthy(sid, "group", True, "sick")
    heat.resources.signal(sid, "up")
    assert outputs(heat, "busy")["size"] == 1
    heat.resources.mark_unhealthy(sid, "group", False, "")
    heat.resources.signal(sid, "up")
    assert outputs(heat, "busy")["size"] == 3


@pytest.mark.parametrize("current, adjustment, kind, step, size", [
    (4, -10, "percent_change_in_capacity", None, 3),
    (10, 15, "percent_change_in_capacity", None, 11),
    (10, 5, "percent_change_in_capacity", 3, 13),
    (2, -5, "change_in_capacity", None, 1),
])
def test_new_capacity(current, adjustment, kind, step, size):
    assert signals.new_capacity(current, adjustment, kind, step, 1, 20) == size


def test_mark_unhealthy_and_the_update_that_replaces(heat):
    heat.stacks.create(stack_name="health", template=WAIT)
    wait_for_status(heat, "health", "CREATE_COMPLETE")
    sid = stack_id(heat, "health")
    before = heat.resources.get(sid, "value").physical_resource_id
    heat.resources.mark_unhealthy(sid, "value", True, "it broke")
    shown = heat.resources.get(sid, "value")
    assert (shown.resource_status, shown.resource_status_reason) == ("CHECK_FAILED", "it broke")
    heat.resources.mark_unhealthy(sid, "value", False, "")
    assert heat.resources.get(sid, "value").resource_status == "CHECK_COMPLETE"
    heat.resources.mark_unhealthy(sid, "value", True, "")
    assert heat.resources.get(sid, "value").resource_status_reason == \
        "state changed by resource_mark_unhealthy api"
    heat.stacks.update(sid, existing=True)
    wait_for_status(heat, "health", "UPDATE_COMPLETE")
    assert heat.resources.get(sid, "value").physical_resource_id != before
    assert heat.resources.get(sid, "handle").resource_status != "UPDATE_COMPLETE"  # the others are left alone


@pytest.mark.parametrize("body, message", [
    ({"mark_unhealthy": True, "colour": "red"}, "Invalid keys in resource mark unhealthy {'colour'}"),
    ({"resource_status_reason": "x"}, "Missing mandatory (mark_unhealthy) key from mark unhealthy request"),
    ({"mark_unhealthy": "perhaps"}, 'Unrecognized value "perhaps"'),
])
def test_mark_unhealthy_refuses_bad_bodies(heat, body, message):
    heat.stacks.create(stack_name="health", template=WAIT)
    wait_for_status(heat, "health", "CREATE_COMPLETE")
    with pytest.raises(heat_exc.HTTPBadRequest) as error:
        heat.http_client.patch(f"/stacks/{stack_id(heat, 'health')}/resources/value", data=body)
    assert message in str(error.value)


@pytest.mark.timeout(300)
def test_the_openstack_cli_signals_and_marks(cloud, heat, tmp_path):
    template = tmp_path / "scale.yaml"
    template.write_text(SCALING)
    cli_json(cloud, "stack", "create", "-t", str(template), "--wait", "cli")
    run_cli(cloud, "stack", "resource", "signal", "cli", "up", "--data", '{"current": "alarm"}')
    assert outputs(heat, "cli")["size"] == 2
    run_cli(cloud, "stack", "resource", "mark", "unhealthy", "cli", "down", "gone wrong")
    shown = cli_json(cloud, "stack", "resource", "show", "cli", "down")
    assert (shown["resource_status"], shown["resource_status_reason"]) == ("CHECK_FAILED", "gone wrong")
    # A stack check checks every resource, and clears the mark.
    run_cli(cloud, "stack", "check", "cli")
    wait_for_status(heat, "cli", "CHECK_COMPLETE")
    assert cli_json(cloud, "stack", "resource", "show", "cli", "down")["resource_status"] == "CHECK_COMPLETE"
    assert len(machines_of(cloud, stack_id(heat, "cli"))) == 2  # the lab is still up


def test_no_check_while_suspended(heat):
    heat.stacks.create(stack_name="wait", template=WAIT)
    wait_for_status(heat, "wait", "CREATE_COMPLETE")
    heat.actions.suspend("wait")
    wait_for_status(heat, "wait", "SUSPEND_COMPLETE")
    with pytest.raises(heat_exc.HTTPConflict):
        heat.actions.check("wait")


def test_new_members_get_addresses_nobody_has(heat, cloud):
    template = """heat_template_version: 2016-10-14
resources:
  fixed:
    type: OS::Heat::ResourceGroup
    properties: {count: 2, resource_def: {type: OS::Nova::Server, properties: {image: x, flavor: y}}}
  group:
    type: OS::Heat::AutoScalingGroup
    properties:
      min_size: 1
      max_size: 3
      resource: {type: OS::Nova::Server, properties: {image: x, flavor: y}}
  up:
    type: OS::Heat::ScalingPolicy
    properties: {auto_scaling_group_id: {get_resource: group}, adjustment_type: change_in_capacity,
                 scaling_adjustment: 2}
"""
    heat.stacks.create(stack_name="many", template=template)
    wait_for_status(heat, "many", "CREATE_COMPLETE")
    sid = stack_id(heat, "many")
    heat.resources.signal(sid, "up")
    described = wait_until(lambda: len(cloud.machines.describe()) == 5 and cloud.machines.describe(), timeout=5)
    private = [a for m in described for a in m["private_addresses"]]
    assert len(private) == 5 and len(set(private)) == 5
