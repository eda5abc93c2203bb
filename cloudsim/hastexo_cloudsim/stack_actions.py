"""Suspend and resume where the stack's resources cannot take them, as Heat's
convergence engine answers them: the request is accepted (200) and the action
fails afterwards, naming the first resource that refused.

Measured on real Heat: a suspend while CREATE_IN_PROGRESS ends SUSPEND_FAILED;
a resume of a CREATE_COMPLETE stack ends RESUME_FAILED; a suspend of a
SUSPEND_COMPLETE or RESUME_FAILED stack suspends again. The rules are Heat's
own, per resource (``Resource.suspend`` and ``Resource.resume``): a resource
may be suspended unless it is being deleted or its last action other than a
suspend did not complete; it may be resumed only from a suspend (or a failed
resume). A refused action touches no resource, so the machines stay as they
were, and a create it interrupted goes on behind it (convergence runs the
create's resources on their own): they are created when the create would
have ended, while the stack keeps the refused action's status.
"""

# Stack states from which each action may start (the stack's own check; the
# resources' rules below decide whether it then completes). A resume of a
# stack that was updated, checked or resumed is refused as one of a created
# stack is (measured: CREATE_COMPLETE): its resources are in the same state.
STARTS_FROM = {
    "suspend": {"CREATE_COMPLETE", "RESUME_COMPLETE", "SUSPEND_COMPLETE", "SUSPEND_FAILED", "RESUME_FAILED",
                "CHECK_COMPLETE", "UPDATE_COMPLETE"},
    "resume": {"SUSPEND_COMPLETE", "SUSPEND_FAILED", "RESUME_FAILED", "CREATE_COMPLETE", "RESUME_COMPLETE",
               "CHECK_COMPLETE", "UPDATE_COMPLETE"},
}
# In progress, only a create lets a suspend in beside it (it holds no lock).
RUNS_BESIDE = {"suspend": {"CREATE_IN_PROGRESS"}}
# Resource states a resume accepts. (Heat refuses a resume of a resource whose
# suspend failed too; the fake lets it resume, as it always has.)
RESUMABLE = {("SUSPEND", "COMPLETE"), ("SUSPEND", "FAILED"), ("RESUME", "FAILED")}


def may_start(stack, action):
    """Whether Heat accepts ``action`` (suspend, resume) on the stack now."""
    return stack.state in STARTS_FROM.get(action, ()) or stack.state in RUNS_BESIDE.get(action, ())


def refusal(stack, action):
    """Heat's reason for failing ``action`` (SUSPEND, RESUME) on the stack's
    resources, or None when every resource can take it. Heat visits them in
    the action's order (a suspend in reverse) and stops at the first."""
    names = list(stack.resources)
    for name in reversed(names) if action == "SUSPEND" else names:
        res_action, res_status = stack.resource_state(name)[:2]
        if action == "SUSPEND":
            refused = res_action == "DELETE" or (res_action != "SUSPEND" and res_status != "COMPLETE")
        else:
            refused = (res_action, res_status) not in RESUMABLE
        if refused:
            return (f"Resource {action} failed: Error: resources.{name}: "
                    f"State ('{res_action}', '{res_status}') invalid for {action.lower()}")
    return None


def set_aside(stack):
    """Before a refused action starts: the machines as they are now, and a
    create still running, which goes on behind the action."""
    op = stack.operation
    if op is not None and op.action == "CREATE" and stack.status == "IN_PROGRESS":
        stack.background, stack.operation = op, None
    stack.kept_machines = machine_state(stack) if stack.background is None else "pending"


def forget(stack):
    """An action that does its work (a suspend, a resume, a delete) ends a
    create left behind and what a refused action kept."""
    stack.background = None
    stack.kept_machines = None


def finish_background(stack, now, record):
    """The create behind a refused action, once it would have ended: its
    resources created (or failed), ``record(name, action, status, reason,
    when, plan)`` making each one's event."""
    op = stack.background
    if op is None or op.ends is None or now < op.ends:
        return
    stack.background = None
    status = "FAILED" if op.failed else "COMPLETE"
    for name, res_action in op.changes or []:
        record(name, res_action, status, op.reason if op.failed else "state changed", op.ends, op.plan)
    stack.settled_at = op.ends
    if stack.kept_machines == "pending" and not op.failed:
        stack.kept_machines = "up"


def machine_state(stack):
    """What the stack's machines should be: "up" (created, updated or
    resumed), "frozen" (suspending, suspended or resuming), "gone" (deleting
    or deleted) or "pending" (being created, or failed). After a refused
    action, as they were before it."""
    if stack.action == "DELETE" or stack.deleted_at is not None:
        return "gone"
    if stack.kept_machines is not None:
        return stack.kept_machines
    if stack.action in ("SUSPEND", "RESUME") and stack.state != "RESUME_COMPLETE":
        return "frozen"
    if stack.state in ("CREATE_COMPLETE", "RESUME_COMPLETE", "UPDATE_COMPLETE", "UPDATE_IN_PROGRESS") \
            or stack.action == "CHECK":
        return "up"
    return "pending"
