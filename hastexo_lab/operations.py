"""What the lab tasks do, as plain functions with no Celery inside.

Each function takes a stack id, reads the row, talks to the provider, moves
the stack with ``lifecycle.transition()`` and returns the follow-up work (a
:class:`FollowUp`, or None). The tasks module turns follow-ups into Celery
messages, so waiting on the cloud never holds a worker: a poll looks once,
then asks to be run again later.

Every function is safe to run twice for the same stack (a redelivered task):
transitions are compare-and-set, and a create that already happened is found
(409) and adopted instead of being made again.
"""

import logging
import math
import socket
from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_noop as _

from . import clouds, conf
from . import heat_outcomes as outcomes
from . import lifecycle as lc
from .heat_outcomes import output_problem, secret_fields
from .models import ProviderUsage, Stack
from .providers import (
    GONE,
    PermanentProviderError,
    ProviderError,
    StackConflict,
    StackInfo,
    StackNotFound,
    TransientProviderError,
)

log = logging.getLogger(__name__)

# Seconds one connection attempt to a lab may take.
PROBE_TIMEOUT = 2.0
# Heat states in which a stack is up and usable.
HEAT_UP = {"CREATE_COMPLETE", "RESUME_COMPLETE", "CHECK_COMPLETE", "UPDATE_COMPLETE"}


@dataclass(frozen=True)
class FollowUp:
    """A task to run next: ``kind`` is launch, poll, suspend, resume or delete."""

    kind: str
    stack_id: int
    seq: int = 0
    countdown: float = 0.0
    # For "watch": the stacks one message looks at together.
    stack_ids: tuple = ()


class NoCapacity(Exception):
    pass


def now():
    return timezone.now()


def _load(stack_id):
    return Stack.objects.filter(pk=stack_id).first()


# Seconds between looks while something is due (Heat's work, a machine's boot).
FAST_POLL = 0.25


def _poll_after(stack, elapsed=0.0):
    """The next poll. Where this provider's history says how long the work
    (or the machine's boot) takes, when it is due, then often for a short
    while; otherwise, and for outliers, soon at first, then a quarter of the
    time waited, capped."""
    from . import estimates
    settings = conf.get_settings()
    delay = min(settings.poll_max, max(settings.poll_initial, elapsed / 4))
    since = _elapsed(stack)
    usual = estimates.expected(stack.provider, estimates.BOOT if stack.status in lc.UP else stack.status)
    if usual is not None:
        # A quarter second early: the history records when we saw it done,
        # so looking only when it is due would keep any lateness for good.
        if usual - since > 2 * FAST_POLL:
            delay = min(settings.poll_max, usual - since - FAST_POLL)
        elif since < 1.5 * usual + 3:
            delay = FAST_POLL
    elif since < 10:
        delay = min(delay, FAST_POLL)  # no history yet (the first labs here): look often at first
    return FollowUp("poll", stack.pk, seq=stack.poll_seq, countdown=delay)


def _elapsed(stack):
    return (now() - stack.status_changed_at).total_seconds()


def _best_effort_delete(provider_name, ref):
    try:
        clouds.get_provider(provider_name).delete_stack(ref)
    except ProviderError as err:
        log.warning("could not clean up stack %s at %s (the reaper will): %s", ref, provider_name, err)


def _deadlines(stack, t):
    """The suspend and delete deadlines of a lab in use from ``t`` on."""
    return {"suspend_by": t + timedelta(seconds=stack.suspend_timeout),
            "delete_by": t + timedelta(seconds=stack.delete_age) if stack.delete_age else None}


def _running_fields(stack):
    t = now()
    return {
        # Known to accept connections only once probed (unless we do not wait);
        # the probe that finds it ready starts its deadlines again.
        "reachable_at": None if conf.get_settings().wait_for_port else t,
        "last_activity": t,
        **_deadlines(stack, t),
        "error_message": "",
        "attempts": 0,
        "resume_requested": False,
    }


# -- launch ---------------------------------------------------------------------

class LaunchBusy(Exception):
    """Another copy of this launch message is still in its create call: try
    again in ``retry_in`` seconds, when that call has answered or can no
    longer land."""

    def __init__(self, retry_in):
        super().__init__(f"another copy's create call may still land; retrying in {retry_in:.1f} s")
        self.retry_in = retry_in


def launch(stack_id, task_id=""):
    """Place a LAUNCH_PENDING stack at a provider with capacity and create it there.

    The stack moves to CREATE_IN_PROGRESS, recording this task's id and a
    lease on the create call, before the call, so a duplicate launch message
    finds it taken and stops. Only the same task run again (a retry, or a
    redelivery) calls create for a stack that has no provider id yet, and
    only once the lease has ended: a redelivered copy that arrives while the
    first copy's create may still land waits (:class:`LaunchBusy`); one that
    arrives after the first copy died creates, and a 409 (the dead copy's
    create got through) is adopted.
    """
    stack = _load(stack_id)
    if stack is None:
        return None
    rerun = (stack.status == lc.CREATE_IN_PROGRESS and not stack.provider_stack_id
             and task_id and stack.launch_task_id == task_id)
    if rerun:
        if not _take_lease(stack, task_id):
            return None
    else:
        if stack.status != lc.LAUNCH_PENDING:
            return None
        if not _place(stack, task_id):
            return None
    candidate = _candidate(stack, stack.provider)
    provider = clouds.get_provider(stack.provider)
    try:
        try:
            info = provider.create_stack(
                stack.name, candidate.get("template", ""), environment=candidate.get("environment") or None,
                parameters=stack.parameters, timeout_mins=math.ceil(stack.launch_timeout / 60))
        except StackConflict:
            info = _adopt(provider, stack)
    except PermanentProviderError as err:
        _end_lease(stack, task_id, None)
        reason = f"{stack.provider} refused to create the stack: {err.message}"
        if lc.transition(stack, lc.CREATE_IN_PROGRESS, lc.CREATE_FAILED, reason, task_id=task_id):
            return _fail_over(stack, reason, task_id, from_states=(lc.CREATE_FAILED,))
        return None
    except BaseException:
        # Transient errors, time limits: the call is over, and whatever it
        # made is found by name now (a retry adopts it on 409).
        _end_lease(stack, task_id, None)
        raise
    if not _end_lease(stack, task_id, info):
        return None
    return _poll_after(stack)


# The states in which a row still wants to know what a create made.
_WAITING_FOR_CREATE = (lc.CREATE_IN_PROGRESS, lc.DELETE_PENDING, lc.DELETE_IN_PROGRESS)


def _create_may_land(stack):
    """A create call for this stack is on its way and may still make it."""
    return stack.create_lease_until is not None and stack.create_lease_until > now()


def _lease_fields(provider_name):
    """A create lease: until when the create call about to be made may land."""
    seconds = clouds.get_provider(provider_name).request_timeout
    return {"create_lease_until": now() + timedelta(seconds=seconds)}


def _take_lease(stack, task_id):
    """A rerun of the launch task may create only when no other copy's create
    call can still land; raises LaunchBusy while one can."""
    lease = Stack.objects.filter(pk=stack.pk, status=lc.CREATE_IN_PROGRESS, provider_stack_id="",
                                 launch_task_id=task_id)
    free = Q(create_lease_until__isnull=True) | Q(create_lease_until__lte=now())
    if lease.filter(free).update(**_lease_fields(stack.provider)):
        stack.refresh_from_db()
        return True
    held = lease.values_list("create_lease_until", flat=True).first()
    if held is None:
        return False  # the stack moved on (created, deleted): nothing to do
    raise LaunchBusy(max(0.5, (held - now()).total_seconds()))


def _end_lease(stack, task_id, info):
    """The create call has answered (``info``, or None if it failed): record
    the stack's id and end the lease, whatever happened to the row meanwhile.

    Returns True if the row is still this launch's and waits for the stack.
    If the row was deleted (or relaunched) while the create ran, the stack
    just made is deleted: by the delete already watching the row, which now
    knows its id, or else here.
    """
    mine = Stack.objects.filter(pk=stack.pk, launch_task_id=task_id or "")
    made = (info.id or "") if info is not None else ""
    if made:
        mine.filter(provider_stack_id="", status__in=_WAITING_FOR_CREATE).update(provider_stack_id=made)
    mine.update(create_lease_until=None)
    if info is None:
        return False
    row = Stack.objects.filter(pk=stack.pk).values("status", "provider_stack_id", "launch_task_id").first()
    if row and row["launch_task_id"] == (task_id or "") and row["status"] == lc.CREATE_IN_PROGRESS:
        stack.refresh_from_db()
        return True
    deleting = (row and row["launch_task_id"] == (task_id or "") and row["provider_stack_id"] == made
                and row["status"] in (lc.DELETE_PENDING, lc.DELETE_IN_PROGRESS))
    if made and not deleting:
        log.warning("stack %s: deleted while its create ran; deleting what the create made", stack.name)
        _best_effort_delete(stack.provider, f"{stack.name}/{made}")
    return False


def _place(stack, task_id):
    """Choose a provider and claim the launch; False if there is nothing to do."""
    if not stack.providers:
        lc.transition(stack, lc.LAUNCH_PENDING, lc.LAUNCH_ERROR, "the lab lists no providers", task_id=task_id,
                      error_message=_("This lab has no cloud configured; please tell the course team."))
        return False
    if not stack.provider:
        try:
            if _claim_provider(stack) is None:
                return False  # another task placed it first
        except NoCapacity:
            lc.transition(stack, lc.LAUNCH_PENDING, lc.LAUNCH_ERROR, "no provider has capacity left",
                          task_id=task_id, error_message=_("All lab environments are in use right now. "
                                                           "Please try again in a few minutes."))
            return False
    candidate = _candidate(stack, stack.provider)
    return lc.transition(stack, lc.LAUNCH_PENDING, lc.CREATE_IN_PROGRESS, f"creating at {stack.provider}",
                         task_id=task_id, launch_task_id=task_id or "", provider_stack_id="",
                         poll_seq=F("poll_seq") + 1, template=candidate.get("template", ""),
                         environment=candidate.get("environment") or "", **_lease_fields(stack.provider))


def _adopt(provider, stack):
    """A stack of this name exists already: ours from before a crash, or a leftover."""
    info = provider.get_stack(stack.name)
    if info.gone:
        raise TransientProviderError(f"stack {stack.name} conflicted but is gone now; trying again")
    if info.action == "DELETE":
        raise TransientProviderError(f"an earlier stack {stack.name} is still being deleted")
    if info.failed:
        provider.delete_stack(info.identifier)
        raise TransientProviderError(f"cleaning up a failed earlier stack {stack.name} first")
    log.info("stack %s: adopting the existing stack %s (%s)", stack.name, info.id, info.status)
    return info


def _candidate(stack, name):
    for candidate in stack.providers:
        if candidate.get("name") == name:
            return candidate
    return {"name": name}


def _claim_provider(stack):
    """Assign the first untried provider with a free slot; None if another task won.

    The provider's usage row is locked (by an UPDATE, which locks on every
    database) while its stacks are counted, so concurrent launches cannot
    overshoot a capacity.
    """
    for candidate in stack.providers:
        name, capacity = candidate.get("name"), int(candidate.get("capacity", -1))
        if not name or name in stack.providers_tried or capacity == 0:
            continue
        ProviderUsage.objects.get_or_create(name=name)
        with transaction.atomic():
            ProviderUsage.objects.filter(name=name).update(launches=F("launches") + 1)
            if capacity > 0 and Stack.objects.holding(name).count() >= capacity:
                continue
            won = Stack.objects.filter(pk=stack.pk, status=lc.LAUNCH_PENDING, provider="").update(provider=name)
        if not won:
            return None
        stack.provider = name
        log.info("stack %s: placed at provider %s", stack.name, name)
        return name
    raise NoCapacity()


def _fail_over(stack, reason, task_id, from_states):
    """Clean up at the failed provider and try the next one, or give up."""
    tried = list(stack.providers_tried) + [stack.provider]
    if stack.provider and stack.provider_stack_id:
        _best_effort_delete(stack.provider, stack.provider_ref)
    remaining = [c for c in stack.providers
                 if c.get("name") not in tried and int(c.get("capacity", -1)) != 0]
    if remaining:
        if lc.transition(stack, from_states, lc.LAUNCH_PENDING, f"{reason}; trying the next provider",
                         task_id=task_id, provider="", provider_stack_id="", providers_tried=tried):
            return FollowUp("launch", stack.pk)
        return None
    lc.transition(stack, from_states, lc.LAUNCH_ERROR, reason, task_id=task_id, providers_tried=tried,
                  error_message=_("Your lab environment could not be created. Please try again later; "
                                  "if this keeps happening, contact the course team."))
    return None


# -- suspend, resume, delete ----------------------------------------------------

def suspend(stack_id, task_id=""):
    """Suspend a stack the suspender claimed, unless a keepalive got in first."""
    stack = _load(stack_id)
    if stack is None:
        return None
    if stack.status == lc.SUSPEND_PENDING:
        if not _start_suspend(stack, task_id):
            return None
        stack.refresh_from_db()  # its new poll_seq
    elif stack.status != lc.SUSPEND_IN_PROGRESS:
        return None
    return _ask_cloud(stack, "suspend", lc.SUSPEND_FAILED, task_id)


def _start_suspend(stack, task_id):
    """SUSPEND_PENDING -> SUSPEND_IN_PROGRESS if the deadline has still passed:
    the last look at the learner's activity, made right before the Heat call.
    A keepalive that commits after it asks for a resume instead
    (``api.learner_is_back``)."""
    deadline_passed = Q(suspend_by__lte=now()) | Q(suspend_by__isnull=True)
    # A claim of one row: on PostgreSQL one statement moves it and logs it.
    if lc.claim(Stack.objects.filter(pk=stack.pk).filter(deadline_passed), lc.SUSPEND_PENDING,
                lc.SUSPEND_IN_PROGRESS, "suspending", limit=1, task_id=task_id):
        stack.status = lc.SUSPEND_IN_PROGRESS
        return True
    cancel_suspend(stack, task_id=task_id)
    return False


def _ask_cloud(stack, action, failed_state, task_id):
    """Ask the cloud to suspend or resume, then watch. A 409 means the cloud is
    already on it (or done): the poll will see which."""
    try:
        getattr(clouds.get_provider(stack.provider), f"{action}_stack")(stack.provider_ref)
    except StackConflict as err:
        log.info("stack %s: %s answered 409 (%s); watching its state", stack.name, action, err.message)
    except StackNotFound:
        vanished(stack, task_id=task_id)
        return None
    return _poll_after(stack)


def vanished(stack, reason="the cloud no longer has the stack", task_id="", where=None):
    """The row says the lab exists, the cloud says it does not: mark it so the
    learner is offered a fresh lab, and free its slot."""
    return lc.transition(stack, lc.MAY_VANISH, lc.VANISHED, reason, task_id=task_id, where=where,
                         ip="", private_key_encrypted="", password_encrypted="", resume_requested=False)


def suspend_many(stack_ids, task_id=""):
    """Suspend many claimed stacks (what the suspender sends).

    Each stack's deadline is checked again right before its own Heat call,
    not once for the whole batch, so a keepalive sent while the batch works
    through the stacks before it still saves it. Returns the follow-ups: one
    watch of the whole batch, and single suspend tasks to retry calls that
    failed for now.
    """
    follow, watched = [], []
    for stack in Stack.objects.filter(pk__in=stack_ids, status=lc.SUSPEND_PENDING).order_by("suspend_by"):
        if not _start_suspend(stack, task_id):
            continue
        try:
            clouds.get_provider(stack.provider).suspend_stack(stack.provider_ref)
        except StackConflict:
            pass  # already suspending or suspended: the poll will see
        except StackNotFound:
            vanished(stack, task_id=task_id)
            continue
        except ProviderError as err:
            log.warning("stack %s: suspend failed for now (%s); retrying it on its own", stack.name, err)
            follow.append(FollowUp("suspend", stack.pk, countdown=_backoff(0)))
            continue
        watched.append(stack.pk)
    if watched:
        follow.append(FollowUp("watch", 0, countdown=conf.get_settings().poll_initial, stack_ids=tuple(watched)))
    return follow


def watch_many(stack_ids, task_id=""):
    """Look at many stacks the cloud is suspending, resuming or deleting, with
    one bulk query per provider instead of one request per stack; keep
    watching those still in progress. (A create needs its outputs, so a
    creating stack gets a poll of its own.)"""
    settings = conf.get_settings()
    stacks = list(Stack.objects.filter(pk__in=stack_ids, status__in=list(lc.IN_PROGRESS)))
    follow, remaining, oldest = [], [], 0.0
    by_provider = {}
    for stack in stacks:
        if stack.status == lc.CREATE_IN_PROGRESS or not stack.provider_stack_id:
            # A create needs its outputs; a stack known only by name cannot
            # be looked up by id (and its create may still land).
            follow.append(_poll_after(stack))
        else:
            by_provider.setdefault(stack.provider, []).append(stack)
    timeouts = {lc.RESUME_IN_PROGRESS: None, lc.SUSPEND_IN_PROGRESS: settings.suspend_task_timeout,
                lc.DELETE_IN_PROGRESS: settings.delete_task_timeout}
    for provider_name, group in by_provider.items():
        infos = clouds.get_provider(provider_name).get_stacks([s.provider_stack_id for s in group])
        for stack in group:
            elapsed = _elapsed(stack)
            if elapsed > (timeouts[stack.status] or stack.launch_timeout):
                result = _timed_out(stack, task_id)
            else:
                info = infos.get(stack.provider_stack_id) or StackInfo(stack.name, None, GONE)
                result = _WATCHERS[stack.status](stack, info, task_id)
            if result is _KEEP_POLLING:
                remaining.append(stack.pk)
                oldest = max(oldest, elapsed)
            elif result is not None:
                follow.append(result)
    if remaining:
        Stack.objects.filter(pk__in=remaining).update(polled_at=now())
        delay = min(settings.poll_max, max(settings.poll_initial, oldest / 4))
        follow.append(FollowUp("watch", 0, countdown=delay, stack_ids=tuple(remaining)))
    return follow


def cancel_suspend(stack, reason="a keepalive arrived before the suspend started", task_id=""):
    """A suspend was chosen but has not started, and the learner is active:
    put the stack back in the running state it came from."""
    stack.refresh_from_db()
    if stack.status == lc.SUSPEND_PENDING:
        back = stack.previous_status if stack.previous_status in lc.UP else lc.RESUME_COMPLETE
        # Running again: nothing to resume from.
        lc.transition(stack, lc.SUSPEND_PENDING, back, reason, task_id=task_id, resume_requested=False)
    return None


def resume(stack_id, task_id=""):
    stack = _load(stack_id)
    if stack is None:
        return None
    if stack.status == lc.RESUME_PENDING:
        if not lc.transition(stack, lc.RESUME_PENDING, lc.RESUME_IN_PROGRESS, "resuming", task_id=task_id,
                             poll_seq=F("poll_seq") + 1, resume_requested=False):
            return None
    elif stack.status != lc.RESUME_IN_PROGRESS:
        return None
    return _ask_cloud(stack, "resume", lc.RESUME_FAILED, task_id)


def delete(stack_id, task_id=""):
    stack = _load(stack_id)
    if stack is None:
        return None
    if stack.status == lc.DELETE_PENDING:
        if not stack.provider:
            lc.transition(stack, lc.DELETE_PENDING, lc.DELETE_COMPLETE, "nothing was created", task_id=task_id)
            return _relaunch(stack, task_id)
        if not lc.transition(stack, lc.DELETE_PENDING, lc.DELETE_IN_PROGRESS, "deleting", task_id=task_id,
                             poll_seq=F("poll_seq") + 1):
            return None
    elif stack.status != lc.DELETE_IN_PROGRESS:
        return None
    clouds.get_provider(stack.provider).delete_stack(stack.provider_ref)
    return _poll_after(stack)


# -- waiting on the cloud -------------------------------------------------------

def poll(stack_id, seq, task_id=""):
    """Look at a stack in ``*_IN_PROGRESS`` once; move it on, or poll again later.

    A stack that is up but not yet known to accept connections is probed
    instead, until it does (or its launch timeout says to stop waiting).
    """
    stack = _load(stack_id)
    if stack is None or stack.poll_seq != seq:
        return None  # a newer poll chain owns this stack
    settings = conf.get_settings()
    elapsed = _elapsed(stack)
    if stack.status in lc.UP and stack.reachable_at is None:
        follow = _probe(stack, elapsed)
    elif stack.status == lc.SUSPEND_PENDING and stack.reachable_at is None:
        # Chosen for a suspend before its machine was ready (an operator's
        # suspend): if the learner cancels it, this chain probes again. (A
        # suspend that starts takes the chain over, with a new poll_seq.)
        follow = _KEEP_POLLING
    elif stack.status in lc.IN_PROGRESS:
        follow = _watch(stack, settings, elapsed, task_id)
    else:
        return None  # nothing to wait for
    if follow is not _KEEP_POLLING:
        return follow
    if Stack.objects.filter(pk=stack.pk, poll_seq=seq).update(poll_seq=seq + 1, polled_at=now()):
        stack.poll_seq = seq + 1
        return _poll_after(stack, elapsed)
    return None


def _probe(stack, elapsed):
    """Does the lab accept connections on its port yet? For SSH, an SSH
    server must greet us: a port that is open but silent (a machine still
    booting behind a forwarder) is not ready."""
    port = clouds.lab_port(stack)
    try:
        with socket.create_connection((stack.ip, port), timeout=PROBE_TIMEOUT) as conn:
            if stack.protocol == "ssh" and not conn.recv(64).startswith(b"SSH-"):
                raise OSError("no SSH server greeting")
        if stack.protocol == "ssh" and stack.username and stack.private_key_encrypted:
            _log_in(stack, port)
    except OSError as exc:
        if elapsed <= stack.launch_timeout:
            return _KEEP_POLLING
        log.warning("stack %s: %s:%s still refuses connections after %d s (%s); showing it anyway",
                    stack.name, stack.ip, port, elapsed, exc)
    # Ready now: the learner could not use the lab while its machine booted,
    # so its idle time (and the suspender's deadline) starts from here; a lab
    # chosen for a suspend meanwhile keeps the deadline that chose it.
    t = now()
    ready = Stack.objects.filter(pk=stack.pk, reachable_at__isnull=True)
    if not ready.filter(status__in=list(lc.UP)).update(reachable_at=t, **_deadlines(stack, t)):
        ready.update(reachable_at=t)
    return None


def _log_in(stack, port):
    """An SSH login as the lab's user with the stack's key: a lab whose
    machine answers but does not take the login yet (cloud-init still
    creating the user) is not ready. The first login records the host key."""
    import asyncio

    import asyncssh

    from . import labssh
    login = labssh.login_for(stack, stack.username, port)

    async def attempt():
        conn, seen = await labssh.connect(login, timeout=PROBE_TIMEOUT)
        conn.close()
        return seen
    try:
        labssh.remember_host_key(login, asyncio.run(asyncio.wait_for(attempt(), PROBE_TIMEOUT * 2)))
    except labssh.HostKeyChanged:
        return  # the terminal and the checks say so; the lab itself is up
    except (TimeoutError, asyncssh.Error) as exc:
        raise OSError(f"no SSH login yet ({exc.__class__.__name__})") from None


def _watch(stack, settings, elapsed, task_id):
    timeouts = {lc.CREATE_IN_PROGRESS: stack.launch_timeout, lc.RESUME_IN_PROGRESS: stack.launch_timeout,
                lc.SUSPEND_IN_PROGRESS: settings.suspend_task_timeout,
                lc.DELETE_IN_PROGRESS: settings.delete_task_timeout}
    if elapsed > timeouts[stack.status]:
        return _timed_out(stack, task_id)
    info = clouds.get_provider(stack.provider).get_stack(stack.provider_ref)
    return _WATCHERS[stack.status](stack, info, task_id)


_KEEP_POLLING = object()


def _watch_create(stack, info, task_id):
    if info.status in HEAT_UP:
        return _ready(stack, info, task_id)
    if info.status == "SUSPEND_COMPLETE":
        # Adopted a stack that was suspended: record it, then bring it back.
        problem = output_problem(info.outputs)
        if problem:
            return _misconfigured(stack, problem, task_id)
        fields = secret_fields(info)
        if lc.transition(stack, lc.CREATE_IN_PROGRESS, lc.SUSPEND_COMPLETE, "adopted a suspended stack",
                         task_id=task_id, **fields):
            return request_resume(stack, "resuming the adopted stack", task_id)
        return None
    if info.gone and not stack.provider_stack_id:
        return _KEEP_POLLING  # the create call is still on its way
    if info.status in outcomes.REFUSED_DURING_CREATE:
        # A suspend (an operator's, a race's) reached Heat during the create:
        # Heat failed it and the create goes on; its resources say when it is done.
        verdict = outcomes.verdict(stack, info)
        if verdict == outcomes.UP:
            return _ready(stack, info, task_id)
        if verdict == outcomes.BUSY:
            return _KEEP_POLLING
    if info.gone or info.action == "DELETE" or info.failed:
        reason = f"{stack.provider}: {info.status}" + (f": {info.reason}" if info.reason else "")
        if lc.transition(stack, lc.CREATE_IN_PROGRESS, lc.CREATE_FAILED, reason, task_id=task_id):
            return _fail_over(stack, reason, task_id, from_states=(lc.CREATE_FAILED,))
        return None
    return _KEEP_POLLING


def _misconfigured(stack, reason, task_id):
    """The template is wrong for a lab: clean up, and say so."""
    if lc.transition(stack, lc.CREATE_IN_PROGRESS, lc.CREATE_FAILED, reason, task_id=task_id):
        _best_effort_delete(stack.provider, stack.provider_ref)
        lc.transition(stack, lc.CREATE_FAILED, lc.LAUNCH_ERROR, reason, task_id=task_id,
                      error_message=_("This lab is misconfigured; please tell the course team."))
    return None


def _ready(stack, info, task_id):
    problem = output_problem(info.outputs)
    if problem:
        return _misconfigured(stack, problem, task_id)
    if lc.transition(stack, lc.CREATE_IN_PROGRESS, lc.CREATE_COMPLETE, f"created at {stack.provider}",
                     task_id=task_id, **secret_fields(info), **_running_fields(stack)):
        return _probe(stack, 0)
    return None


def _watch_suspend(stack, info, task_id):
    if info.status == "SUSPEND_COMPLETE":
        if lc.transition(stack, lc.SUSPEND_IN_PROGRESS, lc.SUSPEND_COMPLETE, "suspended", task_id=task_id,
                         attempts=0):
            if stack.resume_requested:
                return request_resume(stack, "the learner came back during the suspend", task_id)
        return None
    if info.gone:
        vanished(stack, task_id=task_id)
        return None
    if info.failed and info.status != "RESUME_FAILED":
        # Refused while resources were still being worked on: wait for them
        # (the timeout decides). Otherwise the lab is kept, suspended or not:
        # the learner's input resumes it, the reconciler tries the suspend again.
        if info.status == "SUSPEND_FAILED" and outcomes.verdict(stack, info) == outcomes.BUSY:
            return _KEEP_POLLING
        if lc.transition(stack, lc.SUSPEND_IN_PROGRESS, lc.SUSPEND_FAILED,
                         f"{info.status}: {info.reason}".rstrip(": "), task_id=task_id) and stack.resume_requested:
            return request_resume(stack, "the learner came back during the failed suspend", task_id)
        return None
    if info.status in HEAT_UP or info.status == "RESUME_FAILED":
        # The suspend call was lost (a crash between our transition and the
        # call), or Heat has not started it yet: ask again (a 409 says it has).
        try:
            clouds.get_provider(stack.provider).suspend_stack(stack.provider_ref)
        except StackConflict:
            pass
    return _KEEP_POLLING


def _watch_resume(stack, info, task_id):
    if info.status in HEAT_UP:
        if lc.transition(stack, lc.RESUME_IN_PROGRESS, lc.RESUME_COMPLETE, "resumed", task_id=task_id,
                         **_running_fields(stack)):
            return _probe(stack, 0)
        return None
    if info.gone:
        vanished(stack, task_id=task_id)
        return None
    verdict = outcomes.verdict(stack, info) if info.failed else outcomes.DOWN
    if verdict == outcomes.UP:
        # Heat failed a resume of a stack that was running (a lost suspend, a
        # keepalive's race): it runs; the probe confirms the machine answers.
        if lc.transition(stack, lc.RESUME_IN_PROGRESS, lc.RESUME_COMPLETE, f"running ({info.status})",
                         task_id=task_id, **_running_fields(stack)):
            return _probe(stack, 0)
        return None
    if verdict == outcomes.BUSY:
        return _KEEP_POLLING
    if info.failed:
        lc.transition(stack, lc.RESUME_IN_PROGRESS, lc.RESUME_FAILED,
                      f"{info.status}: {info.reason}".rstrip(": "), task_id=task_id,
                      error_message=_("Your lab environment could not be resumed."))
        return None
    if info.status == "SUSPEND_COMPLETE":
        clouds.get_provider(stack.provider).resume_stack(stack.provider_ref)
    return _KEEP_POLLING


def _relaunch(stack, task_id):
    """After a reset's delete: the fresh lab, launched from the row's own
    launch settings, without waiting for the page to ask."""
    if stack.status != lc.DELETE_COMPLETE or not stack.relaunch_after_delete:
        return None
    if lc.transition(stack, lc.DELETE_COMPLETE, lc.LAUNCH_PENDING, "relaunched after a reset", task_id=task_id,
                     provider="", provider_stack_id="", providers_tried=[], error_message="", attempts=0,
                     host_key="", relaunch_after_delete=False, launch_task_id=""):
        return FollowUp("launch", stack.pk)
    return None


def _watch_delete(stack, info, task_id):
    if info.status == GONE and _create_may_land(stack):
        return _KEEP_POLLING  # not found yet; the create on its way may still make it
    if info.status == GONE:
        lc.transition(stack, lc.DELETE_IN_PROGRESS, lc.DELETE_COMPLETE, "deleted", task_id=task_id,
                      ip="", private_key_encrypted="", password_encrypted="", provider_stack_id="",
                      attempts=0, suspend_by=None, delete_by=None)
        return _relaunch(stack, task_id)
    if info.status == "DELETE_FAILED":
        return _delete_failed(stack, f"DELETE_FAILED: {info.reason}", task_id)
    if info.action != "DELETE":
        clouds.get_provider(stack.provider).delete_stack(stack.provider_ref)
    return _KEEP_POLLING


_WATCHERS = {
    lc.CREATE_IN_PROGRESS: _watch_create,
    lc.SUSPEND_IN_PROGRESS: _watch_suspend,
    lc.RESUME_IN_PROGRESS: _watch_resume,
    lc.DELETE_IN_PROGRESS: _watch_delete,
}


def _delete_failed(stack, reason, task_id, from_state=lc.DELETE_IN_PROGRESS):
    attempts = stack.attempts + 1
    if not lc.transition(stack, from_state, lc.DELETE_FAILED, reason, task_id=task_id, attempts=attempts):
        return None
    if attempts < conf.get_settings().delete_attempts:
        if lc.transition(stack, lc.DELETE_FAILED, lc.DELETE_PENDING, f"trying again (attempt {attempts + 1})",
                         task_id=task_id):
            return FollowUp("delete", stack.pk, countdown=_backoff(attempts))
    else:
        log.error("stack %s: delete failed %d times; an operator must look at it", stack.name, attempts)
    return None


def _timed_out(stack, task_id):
    minutes = round(_elapsed(stack) / 60, 1)
    if stack.status == lc.CREATE_IN_PROGRESS:
        if lc.transition(stack, lc.CREATE_IN_PROGRESS, lc.LAUNCH_TIMEOUT,
                         f"not created after {minutes} minutes", task_id=task_id,
                         error_message=_("Your lab environment took too long to start. Please try again.")):
            _best_effort_delete(stack.provider, stack.provider_ref)
        return None
    if stack.status == lc.RESUME_IN_PROGRESS:
        lc.transition(stack, lc.RESUME_IN_PROGRESS, lc.RESUME_FAILED, f"not resumed after {minutes} minutes",
                      task_id=task_id, error_message=_("Your lab environment took too long to resume."))
        return None
    if stack.status == lc.SUSPEND_IN_PROGRESS:
        lc.transition(stack, lc.SUSPEND_IN_PROGRESS, lc.SUSPEND_FAILED, f"not suspended after {minutes} minutes",
                      task_id=task_id)
        return None
    return _delete_failed(stack, f"not deleted after {minutes} minutes", task_id)


def _backoff(attempt):
    settings = conf.get_settings()
    return min(settings.poll_max * 4, settings.poll_initial * 2 ** attempt)


# -- requests from the API, and giving up -----------------------------------------

def request_resume(stack, reason, task_id=""):
    if lc.transition(stack, (lc.SUSPEND_COMPLETE, lc.SUSPEND_FAILED, lc.RESUME_FAILED), lc.RESUME_PENDING,
                     reason, task_id=task_id):
        return FollowUp("resume", stack.pk)
    return None


def give_up(kind, stack_id, error, seq=None, task_id=""):
    """A task ran out of retries (or hit a permanent error): put the stack in a
    state that says so, instead of leaving it pending."""
    if kind == "watch":
        # The cloud cannot be asked right now: look again later. Timeouts still apply.
        return FollowUp("watch", 0, countdown=conf.get_settings().poll_max, stack_ids=tuple(stack_id))
    stack = _load(stack_id)
    if stack is None:
        return None
    message = getattr(error, "message", None) or str(error)
    if kind == "launch" and stack.status == lc.LAUNCH_PENDING:
        if not stack.provider:
            lc.transition(stack, lc.LAUNCH_PENDING, lc.LAUNCH_ERROR, message, task_id=task_id,
                          error_message=_("Your lab environment could not be created. Please try again later."))
            return None
        return _fail_over(stack, message, task_id, from_states=(lc.LAUNCH_PENDING,))
    if kind == "launch" and stack.status == lc.CREATE_IN_PROGRESS and not stack.provider_stack_id:
        if lc.transition(stack, lc.CREATE_IN_PROGRESS, lc.CREATE_FAILED, message, task_id=task_id):
            return _fail_over(stack, message, task_id, from_states=(lc.CREATE_FAILED,))
        return None
    if kind == "suspend" and stack.status in (lc.SUSPEND_PENDING, lc.SUSPEND_IN_PROGRESS):
        lc.transition(stack, stack.status, lc.SUSPEND_FAILED, message, task_id=task_id)
    elif kind == "resume" and stack.status in (lc.RESUME_PENDING, lc.RESUME_IN_PROGRESS):
        lc.transition(stack, stack.status, lc.RESUME_FAILED, message, task_id=task_id,
                      error_message=_("Your lab environment could not be resumed. Please try again later."))
    elif kind == "delete" and stack.status in (lc.DELETE_PENDING, lc.DELETE_IN_PROGRESS):
        return _delete_failed(stack, message, task_id, from_state=stack.status)
    elif kind == "poll" and stack.status in lc.IN_PROGRESS and stack.poll_seq == seq:
        # The cloud is unreachable for now; keep watching, slowly. Timeouts still apply.
        return FollowUp("poll", stack.pk, seq=stack.poll_seq, countdown=conf.get_settings().poll_max)
    return None
