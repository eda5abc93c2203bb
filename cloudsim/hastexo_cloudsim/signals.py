"""Heat's resource signals and mark-unhealthy, as its API and engine answer
them.

A signal (``POST .../resources/<name>/signal``, ``openstack stack resource
signal``) goes to a resource that takes one:

- a wait condition handle records it in its metadata (``status``,
  ``reason``, ``data``, by ``id``; an ``OS::Heat::UpdateWaitConditionHandle``
  takes CloudFormation's ``Status``, ``Reason``, ``Data`` and ``UniqueId``),
  and the wait conditions on that handle show it in their ``data``;
- a scaling policy resizes its scaling group (by a change, to an exact
  size, or by a percentage), within the group's bounds, and not while the
  group is busy or cooling down; new members are built as the group builds
  them and the oldest go first;
- a software deployment takes it as Heat takes a signal for a deployment
  that is no longer in progress: the fake cloud's deployments are done at
  once, so it changes nothing.

Each signal leaves a ``SIGNAL`` event with Heat's reason. A resource that
takes no signals, a suspended or deleted one, an unknown one, or a hook
that is not there to unset is refused with Heat's message. Heat handles the
signal itself after it has answered: what goes wrong then (a handle's
metadata in the wrong form, a policy whose group is gone) changes nothing
and is only logged, and the client has its 200.

Mark-unhealthy (``PATCH .../resources/<name>``) puts a resource in
CHECK_FAILED (or back to CHECK_COMPLETE); the next stack update replaces it.
"""

import json
import logging
import math

from . import schemas
from .errors import bad_request, conflict, extract_bool, not_found
from .registry import Registry

log = logging.getLogger(__name__)

# Wait condition handles -> the keys of one signal (data, reason, status, id).
HANDLES = {"OS::Heat::WaitConditionHandle": ("data", "reason", "status", "id"),
           "OS::Heat::UpdateWaitConditionHandle": ("Data", "Reason", "Status", "UniqueId")}
DEPLOYMENTS = ("OS::Heat::SoftwareDeployment", "OS::Heat::StructuredDeployment",
               "OS::Heat::SoftwareDeploymentGroup", "OS::Heat::StructuredDeploymentGroup")
POLICY = "OS::Heat::ScalingPolicy"
# Heat refuses signals while a resource is being suspended or deleted, or is.
NO_SIGNAL_ACTIONS = ("SUSPEND", "DELETE")
HOOKS = ("pre-create", "pre-update", "pre-delete", "post-create", "post-update", "post-delete")


class NoActionRequired(Exception):
    """Heat's: nothing to do, and no event for it."""


class Failed(Exception):
    """What goes wrong once Heat has answered: logged, nothing changes."""


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


class _Signal:
    """One signal to one resource of a stack (the engine's lock held)."""

    def __init__(self, engine, stack, name, details, now):
        self.engine, self.stack, self.name, self.details, self.now = engine, stack, name, details, now
        self.registry = Registry((stack.environment or {}).get("resource_registry"))

    def type_of(self, name):
        return self.registry.target(self.stack.resources[name]["type"], name)

    def state_of(self, name):
        return self.stack.resource_state(name)[:2]

    def deliver(self):
        stack, name = self.stack, self.name
        if stack.deleted_at is not None:
            raise not_found(f"The Stack ({stack.name}) could not be found.")
        if name not in stack.resources:
            raise not_found(f"The Resource ({name}) could not be found in Stack {stack.name}.", "ResourceNotFound")
        rtype = self.type_of(name)
        action, status = self.state_of(name)
        if action in NO_SIGNAL_ACTIONS:
            self.event(action, status, f"Cannot signal resource during {action}")
            raise bad_request(f"Signal resource during {action} is not supported.", "NotSupported")
        self.check_hook(rtype)
        if rtype in HANDLES:
            handle = self.record
        elif rtype == POLICY:
            handle = self.scale
        elif rtype in DEPLOYMENTS:
            handle = self.deployment
        else:
            raise bad_request("signal is not supported for resource.", "ResourceActionNotSupported")
        try:
            result = handle(rtype)
        except NoActionRequired:
            return
        except Failed as why:
            log.info("signal to %s of stack %s: %s", name, stack.name, why)
            return
        self.event("SIGNAL", status, f"Signal: {result}" if result else details_text(self.details))

    def event(self, action, status, reason):
        self.engine._resource_event(self.stack, self.name, action, status, reason, self.now, None,
                                    record_state=False)

    def check_hook(self, rtype):
        """Unsetting a breakpoint hook: none is set here (no environment
        sets hooks in the fake cloud), so Heat's 400s."""
        if not isinstance(self.details, dict) or "unset_hook" not in self.details:
            return
        hook = self.details["unset_hook"]
        if hook not in HOOKS:
            raise bad_request(f'Invalid hook type "{hook}" for {rtype} "{self.name}"', "InvalidBreakPointHook")
        raise bad_request(f'The "{hook}" hook is not defined on {rtype} "{self.name}"', "InvalidBreakPointHook")

    # -- what each kind of resource does with a signal ----------------------------

    def deployment(self, rtype):
        return None  # done already: Heat ignores a signal for a deployment no longer in progress

    def record(self, rtype):
        """A wait condition handle's signal, into its metadata (by id); the
        wait conditions on this handle show what came."""
        data, reason, status, unique = HANDLES[rtype]
        stack, details = self.stack, self.details
        if details is None and rtype == "OS::Heat::UpdateWaitConditionHandle":
            return None  # CloudFormation's handle ignores an empty signal
        metadata = dict(stack.metadata.get(self.name) or {})
        entry = dict(details) if isinstance(details, dict) else details
        if rtype == "OS::Heat::WaitConditionHandle":
            if entry is not None and not isinstance(entry, dict):
                raise Failed("Metadata format invalid")
            entry = dict(entry or {})
            entry.setdefault(reason, f"Signal {len(metadata) + 1} received")
            entry.setdefault(data, None)
            entry.setdefault(unique, len(metadata) + 1)
            entry.setdefault(status, "SUCCESS")
        if not isinstance(entry, dict) or set(entry) != {data, reason, status, unique} \
                or entry[status] not in ("SUCCESS", "FAILURE"):
            raise Failed("Metadata format invalid")
        metadata[str(entry.pop(unique))] = entry
        stack.metadata[self.name] = metadata
        handle = stack.resources[self.name]["reference"]
        for other, built in stack.resources.items():
            if self.type_of(other) == "OS::Heat::WaitCondition" and \
                    (built.get("properties") or {}).get("handle") == handle:
                built["attributes"]["data"] = json.dumps({k: v[data] for k, v in metadata.items()})
        self.engine._refresh_outputs(stack)
        return f"status:{entry[status]} reason:{entry[reason]}"

    def scale(self, rtype):
        stack, details = self.stack, self.details
        if details is not None:
            state = details.get("current", details.get("state", "alarm")) if isinstance(details, dict) else None
            if not isinstance(state, str):
                raise Failed(f"the alarm's state is not a string: {details!r}"[:300])
        policy = schemas.check(self.name, POLICY, stack.resources[self.name].get("properties") or {})
        wanted = policy["auto_scaling_group_id"]
        group = next((n for n, b in stack.resources.items() if b["reference"] == wanted), None)
        if group is None:
            raise Failed(f'Alarm {self.name} could not find scaling group named "{wanted}"')
        group_type = self.type_of(group)
        if group_type not in schemas.SIZED_GROUPS or schemas.SIZED_GROUPS[group_type][1] is None:
            raise Failed(f"{group} is a {group_type}, which no policy scales")
        # Not while the group, or the stack around it, is busy (or marked unhealthy).
        if stack.status == "IN_PROGRESS" or self.state_of(group)[1] != "COMPLETE":
            raise NoActionRequired()
        _, low_key, high_key, cooldown_key = schemas.SIZED_GROUPS[group_type]
        props = schemas.check(group, group_type, stack.resources[group].get("properties") or {})
        members = (stack.resources[group].get("hidden") or {}).get("members") or {}
        size = new_capacity(len(members), policy["scaling_adjustment"], policy["adjustment_type"],
                            policy["min_adjustment_step"], props[low_key], props[high_key])
        if size == len(members):
            raise NoActionRequired()
        # One cooldown per group: until the latest end any resize has set.
        if self.now < stack.cooldown_end.get(group, float("-inf")):
            raise NoActionRequired()
        cooldown = policy["cooldown"] if policy["cooldown"] is not None else props[cooldown_key]
        self.engine._resize(stack, group, size, self.now)
        stack.cooldown_end[group] = max(stack.cooldown_end.get(group, float("-inf")),
                                        self.now + max(0, cooldown or 0))
        return None


def signal(engine, stack, name, details, now):
    """Deliver a signal (the engine's lock held); Heat's errors as ApiErrors."""
    _Signal(engine, stack, name, details, now).deliver()


def mark_unhealthy(engine, stack, name, body, now):
    """Heat's resource mark-unhealthy (the engine's lock held)."""
    if not isinstance(body, dict):
        raise bad_request("The request body must be a JSON object.", "HTTPBadRequest")
    invalid = set(body) - {"mark_unhealthy", "resource_status_reason"}
    if invalid:
        raise bad_request(f"Invalid keys in resource mark unhealthy {invalid}", "HTTPBadRequest")
    if "mark_unhealthy" not in body:
        raise bad_request("Missing mandatory (mark_unhealthy) key from mark unhealthy request", "HTTPBadRequest")
    unhealthy = extract_bool("mark_unhealthy", body["mark_unhealthy"])
    if stack.deleted_at is not None:
        raise not_found(f"The Stack ({stack.name}) could not be found.")
    found = next((n for n, b in stack.resources.items() if name in (n, b["reference"])), None)
    if found is None:
        raise not_found(f"The Resource ({name}) could not be found in Stack {stack.name}.", "ResourceNotFound")
    if stack.status == "IN_PROGRESS":
        raise conflict(f"Stack {stack.name} already has an action ({stack.action}) in progress.",
                       "ActionInProgress")
    reason = str(body.get("resource_status_reason") or "state changed by resource_mark_unhealthy api")
    action, status = stack.resource_state(found)[:2]
    if unhealthy and action != "DELETE":
        engine._resource_event(stack, found, "CHECK", "FAILED", reason, now, None)
    elif not unhealthy and (action, status) == ("CHECK", "FAILED"):
        engine._resource_event(stack, found, "CHECK", "COMPLETE", reason, now, None)


def unhealthy(stack):
    """The resources marked unhealthy: a stack update replaces them."""
    return {n for n, state in stack.resource_states.items() if tuple(state[:2]) == ("CHECK", "FAILED")}
