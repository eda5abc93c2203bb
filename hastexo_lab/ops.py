"""What operators do to stacks, from the admin and from ``manage.py hastexo_lab``:
find them by filter, and act on them through the lifecycle. An action never
edits a status column: it makes the transition a learner's click or a sweep
would, and queues the task that does the work.

The tasks must reach a worker: ``check_broker`` says whether the broker can
be reached, and whether it is this process's own (``memory://``), which no
worker elsewhere reads; then ``WorkerHere`` runs the tasks in this process.
"""

import collections
import difflib
import threading
import time
from dataclasses import dataclass, field

from celery.signals import after_task_publish, task_postrun
from celery.worker import WorkController
from django.db.models import Q

from . import api, clouds, conf, operations, sweeps, tasks
from . import lifecycle as lc
from .models import Stack
from .providers import ProviderError

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


# -- where the tasks go ------------------------------------------------------------

class BrokerError(RuntimeError):
    """The broker the lab tasks go to cannot be reached: nothing would be done."""


# Transports whose messages stay in the process that sent them.
IN_PROCESS_TRANSPORTS = frozenset({"memory"})


def check_broker():
    """Can the lab tasks be sent? Raises BrokerError (with the broker's
    address, no password) when the broker does not answer. Returns the
    transport's name (``"memory"``) when the broker lives in this process
    only, so that no worker elsewhere will ever see what is sent to it; else
    None."""
    app = tasks.suspend_stack.app
    with app.connection_for_write() as connection:
        try:
            connection.ensure_connection(max_retries=1, interval_start=0.5, interval_step=0.5, timeout=10)
        except Exception as exc:
            raise BrokerError(f"cannot reach the broker {connection.as_uri()}: {exc}") from None
        transport = connection.transport.driver_type
        return transport if transport in IN_PROCESS_TRANSPORTS else None


class _Worker(WorkController):
    """A worker that says when it has begun to consume."""

    def __init__(self, *args, ready, **kwargs):
        self.ready = ready
        super().__init__(*args, **kwargs)

    def on_consumer_ready(self, consumer):
        self.ready.set()


class WorkerHere:
    """A Celery worker in this process, on the lab queue, for a broker no
    other process reads: the tasks an action sends (and those they send in
    turn: polls, retries) run here. ``wait()`` returns once every task sent
    since the start has run, or the time is up."""

    def __init__(self, concurrency=4):
        self._sent = collections.Counter()
        self._lock = threading.Lock()
        self._concurrency = concurrency
        self._worker, self._ready = None, threading.Event()
        self._thread = None

    def __enter__(self):
        after_task_publish.connect(self._published, weak=False)
        task_postrun.connect(self._ran, weak=False)
        # Made in its own thread: a worker's start-up closes the database
        # connection of the thread it is made in (Celery's Django fixup).
        self._thread = threading.Thread(target=self._run, name="hastexo-lab-worker-here", daemon=True)
        self._thread.start()
        if not self._ready.wait(60):
            self.__exit__()
            raise BrokerError("the worker in this process did not start")
        return self

    def _run(self):
        self._worker = _Worker(app=tasks.suspend_stack.app, pool="threads", concurrency=self._concurrency,
                               queues=[conf.get_settings().task_queue], without_heartbeat=True,
                               without_mingle=True, without_gossip=True, loglevel="WARNING", ready=self._ready)
        self._worker.start()

    def __exit__(self, *exc_info):
        after_task_publish.disconnect(self._published)
        task_postrun.disconnect(self._ran)
        if self._worker is not None:
            self._worker.stop(in_sighandler=False)
        self._thread.join(30)

    def _published(self, sender=None, headers=None, **kwargs):
        task_id = (headers or {}).get("id")
        if task_id:
            with self._lock:
                self._sent[task_id] += 1

    def _ran(self, sender=None, task_id=None, **kwargs):
        with self._lock:
            if self._sent[task_id] > 0:
                self._sent[task_id] -= 1

    def pending(self):
        """How many of the tasks sent since the start have not run yet."""
        with self._lock:
            return sum(self._sent.values())

    def wait(self, timeout):
        """True once every task sent has run; False when ``timeout`` seconds passed first."""
        deadline = time.monotonic() + timeout
        while self.pending():
            if time.monotonic() > deadline:
                return False
            time.sleep(0.2)
        return True


# States an action leaves a stack in when it did not get done.
UNDONE = lc.FAILED | lc.PENDING | lc.IN_PROGRESS


def results(outcome):
    """After the work ran: each acted-on stack's status now, and its error
    if the action left it failed or unfinished. [(name, status, error)]"""
    names = [name for name, _ in outcome.queued]
    rows = {s.name: s for s in Stack.objects.filter(name__in=names)}
    found = []
    for name in names:
        stack = rows.get(name)
        if stack is None:  # a delete done for a retired learner renames the stack
            found.append((name, "gone", ""))
            continue
        error = (stack.error_message or stack.status_reason) if stack.status in UNDONE else ""
        found.append((name, stack.status, error))
    return found


# -- zombies -----------------------------------------------------------------------

@dataclass
class Zombies:
    """What a zombie search found, and what it could not do."""

    found: list = field(default_factory=list)  # [(provider, stack name)]
    unreachable: list = field(default_factory=list)  # [(provider, why)]
    not_deleted: list = field(default_factory=list)  # [(provider, stack name, its status at the cloud)]


def zombies(delete=False):
    """Stacks at a cloud that no row accounts for (``sweeps.find_zombies``),
    and, unlike the reaper's run of it, what could not be looked at: the
    providers that did not answer, the zombies still there after a delete."""
    prefix = api.NAME_PREFIX + "-"
    result = Zombies()
    for name in conf.get_settings().providers:
        try:
            clouds.get_provider(name).list_stacks(prefix=prefix)
        except ProviderError as exc:
            result.unreachable.append((name, str(exc)))
    result.found = sweeps.find_zombies(delete=delete)
    if not (delete and result.found):
        return result
    for provider_name in sorted({p for p, _ in result.found}):
        wanted = {n for p, n in result.found if p == provider_name}
        try:
            now = clouds.get_provider(provider_name).list_stacks(prefix=prefix)
        except ProviderError as exc:
            result.unreachable.append((provider_name, f"the delete could not be checked: {exc}"))
            continue
        for info in now:
            # A delete under way, or done, is what was asked for.
            if info.name in wanted and not info.gone and (info.action != "DELETE" or info.failed):
                result.not_deleted.append((provider_name, info.name, info.status))
    return result
