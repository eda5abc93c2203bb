"""What a stack really is when Heat's own status says an action failed.

Real Heat (its convergence engine, the default) accepts a suspend while the
stack is still being created and a resume of a stack that is running, answers
200, and fails the action afterwards: SUSPEND_FAILED, RESUME_FAILED. Such a
refused action touches no resource, and a create it interrupted goes on. So
the stack's status alone cannot tell a lab that is broken from one that is
running, or still being created: its resources can.

Also here: what a stack's outputs must be for a lab, and the row's fields
taken from them.
"""

import logging
import re

from . import clouds, crypto

log = logging.getLogger(__name__)

# A resource in one of these states is up: created, updated, checked or resumed.
RUNNING = frozenset({"CREATE_COMPLETE", "UPDATE_COMPLETE", "CHECK_COMPLETE", "RESUME_COMPLETE"})

# What a stack being created shows when an action was accepted, and failed, beside the create.
REFUSED_DURING_CREATE = frozenset({"SUSPEND_FAILED", "RESUME_FAILED"})

# What the resources say the stack is.
UP = "up"  # every resource is running: the failed action left the lab usable
BUSY = "busy"  # some resource is still being worked on (a create going on)
DOWN = "down"  # suspended, failed or unknown: the failure is real


def resources_say(provider, ref):
    """UP, BUSY or DOWN for the stack ``ref`` at ``provider``, from the state
    of each of its resources. A stack without resources, or a provider that
    cannot tell, is DOWN: only evidence makes a failed stack usable."""
    states = set((provider.resource_states(ref) or {}).values())
    if not states:
        return DOWN
    if states <= RUNNING:
        return UP
    working = any(state.endswith("_IN_PROGRESS") for state in states)
    return BUSY if working and not any(state.endswith("_FAILED") for state in states) else DOWN


def verdict(stack, info):
    """UP, BUSY or DOWN for a lab whose stack Heat reports as ``info`` (a
    *_FAILED status), from its resources; logged when they disagree."""
    said = resources_say(clouds.get_provider(stack.provider), stack.provider_ref)
    if said != DOWN:
        log.info("stack %s: Heat says %s (%s), but its resources are %s", stack.name, info.status,
                 info.reason or "no reason", "all running" if said == UP else "still being worked on")
    return said


# An address to connect to: an IPv4 or IPv6 address, or a host name.
_HOST_RE = re.compile(r"^[A-Za-z0-9:][A-Za-z0-9.:%_-]*$")


def output_problem(outputs):
    """What is wrong with a stack's outputs, naming the output; None if nothing.

    Outputs come from the author's template: they are checked where they
    enter, so a wrong shape fails the launch with a message instead of a
    value that does not fit the database, or a list stored as its repr."""
    address = outputs.get("public_ip")
    if address is None or address == "":
        return "the template has no public_ip output, so there is nothing to connect to"
    if not isinstance(address, str) or len(address) > 255 or not _HOST_RE.match(address):
        shown = repr(address)
        shown = shown if len(shown) <= 60 else shown[:57] + "..."
        return f"the public_ip output must be an IP address or host name, not {type(address).__name__} {shown}"
    for key in ("private_key", "password"):
        value = outputs.get(key)
        if value is not None and not isinstance(value, str):
            return f"the {key} output must be a string, not a {type(value).__name__}"
    return None


def secret_fields(info):
    """The row's fields from a stack's outputs: its address and (encrypted) secrets."""
    return {
        "ip": str(info.outputs.get("public_ip") or ""),
        "private_key_encrypted": crypto.encrypt(info.outputs.get("private_key") or ""),
        "password_encrypted": crypto.encrypt(info.outputs.get("password") or ""),
    }
