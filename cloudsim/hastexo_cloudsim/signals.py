"""Heat's resource signals and mark-unhealthy, as its API and engine answer
them.

A signal (``POST .../resources/<name>/signal``, ``openstack stack resource
signal``) goes to a resource that takes one:

- a wait condition handle records it in its metadata (``status``,
  ``reason``, ``data``, by ``id``), and the wait conditions on that handle
  show it in their ``data``;
- a scaling policy resizes its scaling group (by a change, to an exact
  size, or by a percentage), within the group's bounds, and not again
  within its cooldown; new members are built as the group builds them and
  the oldest go first;
- a software deployment takes it as Heat takes a signal for a deployment
  that is no longer in progress: the fake cloud's deployments are done at
  once, so it changes nothing.

Each signal leaves a ``SIGNAL`` event with Heat's reason. A resource that
takes no signals, a suspended or deleted one, or an unknown one is refused
with Heat's message.

Mark-unhealthy (``PATCH .../resources/<name>``) puts a resource in
CHECK_FAILED (or back to CHECK_COMPLETE); the next stack update replaces it.
"""

import json
import math

from . import schemas
from .errors import ApiError, bad_request, conflict, not_found
from .registry import Registry

HANDLES = ("OS::Heat::WaitConditionHandle", "OS::Heat::UpdateWaitConditionHandle")
DEPLOYMENTS = ("OS::Heat::SoftwareDeployment", "OS::Heat::StructuredDeployment",
               "OS::Heat::SoftwareDeploymentGroup", "OS::Heat::StructuredDeploymentGroup")
POLICY = "OS::Heat::ScalingPolicy"
SCALING_GROUPS = {"OS::Heat::AutoScalingGroup": ("min_size", "max_size", "cooldown"),
                  "AWS::AutoScaling::AutoScalingGroup": ("MinSize", "MaxSize", "Cooldown")}
# Heat refuses signals while a resource is being suspended or deleted, or is.
NO_SIGNAL_ACTIONS = ("SUSPEND", "DELETE")


class NoActionRequired(Exception):
    """Heat's: nothing to do, and no event for it."""


def details_text(details):
    """The reason Heat's SIGNAL event gives for a signal's details."""
    if details is None:
        return "No signal details provided"
    if isinstance(details, str):
        return details
    if isinstance(details, dict) and all(k in details for k in ("previous", "current", "reason")):
        return f"alarm state changed from {details['previous']} to {details['current']} ({details['reason']})"
    return "Unknown"


def new_capacity(current, adjustment, adjustment_type, min_step, low, high):
    """A scaling group's size after an adjustment, kept within [low, high]."""
    if adjustment_type in ("change_in_capacity", "ChangeInCapacity"):
        size = current + adjustment
    elif adjustment_type in ("exact_capacity", "ExactCapacity"):
        size = adjustment
    else:  # a percentage: rounded away from zero below one, towards it above
        delta = current * adjustment / 100.0
        if math.fabs(delta) < 1.0:
            rounded = int(math.ceil(delta) if delta > 0.0 else math.floor(delta))
        else:
            rounded = int(math.floor(delta) if delta > 0.0 else math.ceil(delta))
        if min_step and min_step > abs(rounded):
            rounded = min_step if rounded > 0 else -min_step
        size = current + rounded
    return int(max(low, min(high, size)))


def resource_type(stack, name):
    """What the stack's resource ``name`` is, after the registry."""
    registry = Registry((stack.environment or {}).get("resource_registry"))
    return registry.target(stack.resources[name]["type"], name)


def signal(engine, stack, name, details, now):
    """Deliver a signal (the engine's lock held); Heat's errors as ApiErrors."""
    if name not in stack.resources:
        raise not_found(f"The Resource ({name}) could not be found in Stack {stack.name}.", "ResourceNotFound")
    action, status = (stack.resource_states.get(name) or [stack.action, stack.status])[:2]
    if action in NO_SIGNAL_ACTIONS:
        _event(engine, stack, name, action, status, f"Cannot signal resource during {action}", now)
        raise bad_request(f"Signal resource during {action} is not supported.", "NotSupported")
    rtype = resource_type(stack, name)
    if rtype in HANDLES:
        _record(engine, stack, name, details)
        result = None
    elif rtype == POLICY:
        try:
            _scale(engine, stack, name, now)
        except NoActionRequired:
            return
        result = None
    elif rtype in DEPLOYMENTS:
        result = None  # done already: Heat ignores a signal for a deployment no longer in progress
    else:
        raise bad_request("signal is not supported for resource.", "ResourceActionNotSupported")
    reason = f"Signal: {result}" if result else details_text(details)
    _event(engine, stack, name, "SIGNAL", status, reason, now)


def _event(engine, stack, name, action, status, reason, now):
    """An event that leaves the resource's state as it was (Heat's _add_event)."""
    before = stack.resource_states.get(name)
    engine._resource_event(stack, name, action, status, reason, now, None)
    if before is None:
        del stack.resource_states[name]
    else:
        stack.resource_states[name] = before


def _failure(name, message):
    return bad_request(f"ValueError: resources.{name}: {message}", "ResourceFailure")


def _record(engine, stack, name, details):
    """A wait condition handle's signal, into its metadata (by id)."""
    if details is not None and not isinstance(details, dict):
        raise _failure(name, "Metadata format invalid")
    metadata = dict(stack.metadata.get(name) or {})
    entry = dict(details or {})
    entry.setdefault("reason", f"Signal {len(metadata) + 1} received")
    entry.setdefault("data", None)
    entry.setdefault("id", len(metadata) + 1)
    entry.setdefault("status", "SUCCESS")
    if set(entry) != {"reason", "data", "id", "status"} or entry["status"] not in ("SUCCESS", "FAILURE"):
        raise _failure(name, "Metadata format invalid")
    metadata[str(entry.pop("id"))] = entry
    stack.metadata[name] = metadata
    # The wait conditions on this handle show what came.
    handle = stack.resources[name]["reference"]
    for other, built in stack.resources.items():
        if resource_type(stack, other) == "OS::Heat::WaitCondition" and \
                (built.get("properties") or {}).get("handle") == handle:
            built["attributes"]["data"] = json.dumps({k: v["data"] for k, v in metadata.items()})
    engine._refresh_outputs(stack)


def _scale(engine, stack, name, now):
    policy = schemas.check(name, POLICY, stack.resources[name].get("properties") or {})
    wanted = policy["auto_scaling_group_id"]
    group = next((n for n, b in stack.resources.items() if b["reference"] == wanted or n == wanted), None)
    if group is None or resource_type(stack, group) not in SCALING_GROUPS:
        raise ApiError(404, "NotFound", f'Alarm {name} could not find scaling group named "{wanted}"')
    group_type = resource_type(stack, group)
    props = schemas.check(group, group_type, stack.resources[group].get("properties") or {})
    low_key, high_key, cooldown_key = SCALING_GROUPS[group_type]
    cooldown = policy["cooldown"] if policy["cooldown"] is not None else props[cooldown_key]
    last = stack.scaled_at.get(group)
    if cooldown and last is not None and now - last < cooldown:
        raise NoActionRequired()
    members = (stack.resources[group].get("hidden") or {}).get("members") or {}
    size = new_capacity(len(members), policy["scaling_adjustment"], policy["adjustment_type"],
                        policy["min_adjustment_step"], props[low_key], props[high_key])
    if size == len(members):
        raise NoActionRequired()
    engine._resize(stack, group, size, now)
    stack.scaled_at[group] = now


def mark_unhealthy(engine, stack, name, body, now):
    """Heat's resource mark-unhealthy (the engine's lock held)."""
    if not isinstance(body, dict):
        raise bad_request("The request body must be a JSON object.", "HTTPBadRequest")
    invalid = set(body) - {"mark_unhealthy", "resource_status_reason"}
    if invalid:
        raise bad_request(f"Invalid keys in resource mark unhealthy {invalid}", "HTTPBadRequest")
    if "mark_unhealthy" not in body:
        raise bad_request("Missing mandatory (mark_unhealthy) key from mark unhealthy request", "HTTPBadRequest")
    from .heat import extract_bool
    unhealthy = extract_bool("mark_unhealthy", body["mark_unhealthy"])
    found = next((n for n, b in stack.resources.items() if name in (n, b["reference"])), None)
    if found is None:
        raise not_found(f"The Resource ({name}) could not be found in Stack {stack.name}.", "ResourceNotFound")
    if stack.status == "IN_PROGRESS":
        raise conflict(f"Stack {stack.name} already has an action ({stack.action}) in progress.",
                       "ActionInProgress")
    reason = body.get("resource_status_reason") or "state changed by resource_mark_unhealthy api"
    action, status = (stack.resource_states.get(found) or [stack.action, stack.status])[:2]
    if unhealthy and action != "DELETE":
        engine._resource_event(stack, found, "CHECK", "FAILED", reason, now, None)
    elif not unhealthy and (action, status) == ("CHECK", "FAILED"):
        engine._resource_event(stack, found, "CHECK", "COMPLETE", reason, now, None)


def unhealthy(stack):
    """The resources marked unhealthy: a stack update replaces them."""
    return {n for n, state in stack.resource_states.items() if tuple(state[:2]) == ("CHECK", "FAILED")}
