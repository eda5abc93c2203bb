"""What operators do to stacks, from the admin and from ``manage.py hastexo_lab``:
find them by filter, and act on them through the lifecycle. An action never
edits a status column: it makes the transition a learner's click or a sweep
would, and queues the task that does the work.
"""

import difflib
from dataclasses import dataclass, field

from django.db.models import Q

from . import api, conf, operations, sweeps, tasks
from . import lifecycle as lc
from .models import Stack

ACTIONS = ("suspend", "resume", "delete", "reconcile")
# The states each action starts from (reconcile: see sweeps.reconcile_plan).
_FROM = {
    "suspend": lc.UP,
    "resume": frozenset({lc.SUSPEND_COMPLETE, lc.SUSPEND_FAILED, lc.RESUME_FAILED}),
    "delete": lc.DELETABLE,
}


class FilterError(ValueError):
    """A filter an operator gave names no status, provider or stack we know."""


def select(*, names=(), course=None, learner=None, status=(), provider=None, needs_operator_only=False):
    """Stacks matching every filter given; a bad filter raises FilterError."""
    stacks = Stack.objects.all()
    if names:
        stacks = stacks.filter(name__in=list(names))
        missing = sorted(set(names) - set(stacks.values_list("name", flat=True)))
        if missing:
            raise FilterError("no stack named " + ", ".join(repr(n) for n in missing))
    if course:
        stacks = stacks.filter(course_id=course)
    if learner:
        stacks = stacks.filter(Q(anonymous_student_id=learner) | Q(learner__username=learner))
    if status:
        for state in status:
            if state not in lc.STATES:
                raise FilterError(f"unknown status {state!r}" + _hint(state, lc.STATES))
        stacks = stacks.filter(status__in=list(status))
    if provider:
        known = set(conf.get_settings().providers) | set(
            Stack.objects.exclude(provider="").values_list("provider", flat=True).distinct())
        if provider not in known:
            raise FilterError(f"unknown provider {provider!r}" + _hint(provider, sorted(known)))
        stacks = stacks.filter(provider=provider)
    if needs_operator_only:
        stacks = stacks.filter(sweeps.gave_up())
    return stacks.order_by("name")


def _hint(value, choices):
    close = difflib.get_close_matches(value, list(choices), n=1)
    return f" (did you mean {close[0]}?)" if close else f"; one of: {', '.join(choices)}" if choices else ""


@dataclass
class Outcome:
    """What an action did (or, in a dry run, would do) to each stack."""

    action: str
    dry_run: bool = False
    queued: list = field(default_factory=list)  # [(name, what)]
    skipped: list = field(default_factory=list)  # [(name, why)]

    def as_dict(self):
        return {"action": self.action, "dry_run": self.dry_run,
                "queued": [{"stack": n, "what": w} for n, w in self.queued],
                "skipped": [{"stack": n, "why": w} for n, w in self.skipped]}


def act(action, stacks, who, dry_run=False):
    """Do ``action`` to each of ``stacks`` (a queryset or list) for operator
    ``who``; returns an Outcome. Stacks in a state the action cannot start
    from are skipped, with the reason."""
    if action not in ACTIONS:
        raise FilterError(f"unknown action {action!r}; one of: {', '.join(ACTIONS)}")
    outcome = Outcome(action, dry_run)
    reconcile = []
    for stack in stacks:
        what = _what(action, stack)
        if what is None:
            outcome.skipped.append((stack.name, f"nothing to {action} in {stack.status}"))
            continue
        if dry_run:
            outcome.queued.append((stack.name, what))
            continue
        if action == "reconcile":
            reconcile.append(stack.pk)
            done = True
        else:
            done = _do(action, stack, who)
        if done:
            outcome.queued.append((stack.name, what))
        else:
            stack.refresh_from_db()
            outcome.skipped.append((stack.name, f"it moved on to {stack.status} meanwhile"))
    if reconcile:
        tasks.enqueue_reconcile(reconcile, who)
    return outcome


def _what(action, stack):
    if action == "reconcile":
        return sweeps.reconcile_plan(stack)
    if stack.status not in _FROM[action]:
        return None
    return {"suspend": "suspend", "resume": "resume", "delete": "delete at the cloud"}[action]


def _do(action, stack, who):
    reason = f"{action} by operator {who}"
    if action == "suspend":
        return api.suspend(stack, reason=reason)
    if action == "delete":
        return api.delete(stack, reason=reason)
    follow = operations.request_resume(stack, reason)
    tasks.enqueue(follow)
    return follow is not None


def describe(stack):
    """One stack as plain data, for ``show`` and ``--json``: no secrets."""
    return {
        "name": stack.name, "course_id": stack.course_id, "learner": stack.anonymous_student_id,
        "username": stack.learner.username if stack.learner_id else "", "status": stack.status,
        "status_changed_at": stack.status_changed_at.isoformat(), "status_reason": stack.status_reason,
        "error_message": stack.error_message, "provider": stack.provider,
        "provider_stack_id": stack.provider_stack_id, "protocol": stack.protocol, "ip": stack.ip,
        "attempts": stack.attempts,
        "last_activity": stack.last_activity.isoformat() if stack.last_activity else None,
        "suspend_by": stack.suspend_by.isoformat() if stack.suspend_by else None,
        "delete_by": stack.delete_by.isoformat() if stack.delete_by else None,
    }


def history(stack):
    return [{"at": e.created_at.isoformat(), "from": e.from_status, "to": e.to_status, "reason": e.reason,
             "task_id": e.task_id} for e in stack.log.order_by("created_at", "id")]
