"""The periodic sweeps: suspender, reaper and reconciler, as plain functions.

The Celery beat tasks in ``tasks`` only call these. Each sweep takes ``now``
(so tests can move the clock), works in bounded batches, and never lets one
bad stack stop the others: every item gets its own try/except, and a database
or broker hiccup fails this tick, not the next.
"""

import logging
from datetime import timedelta

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from . import clouds, conf
from . import lifecycle as lc
from .models import ProviderUsage, Stack
from .operations import FollowUp
from .providers import ProviderError

log = logging.getLogger(__name__)

# Rows claimed per transaction; a sweep repeats until there is nothing left.
BATCH_SIZE = 1000
SUSPENDING = (lc.SUSPEND_PENDING, lc.SUSPEND_IN_PROGRESS)


def suspend_idle(now=None, send=None):
    """Claim running stacks whose suspend deadline has passed, and send their
    suspend tasks after the claim commits. Returns the claimed ids.

    A lab whose machine is not ready yet is never claimed: its learner is
    waiting for it, not idle (its deadline starts again once it is ready).
    Per provider, at most ``suspend_concurrency`` stacks suspend at once.
    """
    now = now or timezone.now()
    send = _send if send is None else send
    settings = conf.get_settings()
    idle = Stack.objects.filter(status__in=list(lc.UP), suspend_by__lte=now, reachable_at__isnull=False)
    claimed = []
    for provider in idle.values_list("provider", flat=True).distinct():
        claimed += _suspend_idle_at(provider, idle.filter(provider=provider).order_by("suspend_by"),
                                    settings.suspend_concurrency, send)
    if claimed:
        log.info("suspender: %d stacks to suspend", len(claimed))
    return claimed


def _suspend_idle_at(provider, idle, limit, send):
    """Claim up to ``limit`` minus those suspending already, for one provider.

    The count and the claim happen under a lock on the provider's usage row,
    so two suspender ticks that overlap (a second beat started by mistake, a
    tick that overran) take turns and the second counts what the first
    claimed. Tasks are sent once the claim has committed (if sending fails,
    the reconciler sends them later)."""
    claimed = []
    ProviderUsage.objects.get_or_create(name=provider)
    with transaction.atomic():
        list(ProviderUsage.objects.select_for_update().filter(name=provider))
        room = limit - Stack.objects.filter(provider=provider, status__in=SUSPENDING).count()
        while room > 0:
            ids = lc.claim(idle, lc.UP, lc.SUSPEND_PENDING, "no keepalive before the suspend deadline",
                           limit=min(room, BATCH_SIZE))
            claimed += ids
            room -= len(ids)
            if len(ids) < BATCH_SIZE:
                break  # that was all of them
    if claimed:
        send([FollowUp("suspend", pk) for pk in claimed])
    return claimed


def reap_unused(now=None, send=None):
    """Claim stacks unused (no keepalive, no resume) for their delete age, and
    send their delete tasks. A delete age of 0 means never."""
    now = now or timezone.now()
    send = _send if send is None else send
    reapable = [lc.CREATE_COMPLETE, lc.RESUME_COMPLETE, lc.SUSPEND_COMPLETE, lc.SUSPEND_FAILED,
                lc.RESUME_FAILED, lc.LAUNCH_ERROR, lc.LAUNCH_TIMEOUT, lc.VANISHED]
    old = Stack.objects.filter(status__in=reapable, delete_age__gt=0, delete_by__lte=now).order_by("delete_by")
    claimed = []
    while True:
        ids = lc.claim(old, reapable, lc.DELETE_PENDING, "not used for its delete age", limit=BATCH_SIZE,
                       attempts=0)
        if not ids:
            break
        send([FollowUp("delete", pk) for pk in ids])
        claimed += ids
        if len(ids) < BATCH_SIZE:
            break
    if claimed:
        log.info("reaper: %d stacks to delete", len(claimed))
    return claimed


def forget_old_tickets(now=None):
    """Delete terminal tickets that can no longer be redeemed."""
    from .terminal import tickets
    return tickets.forget_old(now)


def find_zombies(delete=None):
    """Stacks at a provider, named like ours, that no live row accounts for:
    the row says deleted, or failed, or places the stack elsewhere, or there is
    no row. Deleted when ``reap_zombies`` is on (or ``delete`` says so).
    Returns [(provider, stack name)]."""
    from .api import NAME_PREFIX

    settings = conf.get_settings()
    delete = settings.reap_zombies if delete is None else delete
    zombies = []
    for provider_name in settings.providers:
        try:
            provider = clouds.get_provider(provider_name)
            found = provider.list_stacks(prefix=NAME_PREFIX + "-")
        except ProviderError as exc:
            log.warning("reaper: cannot list stacks at %s: %s", provider_name, exc)
            continue
        rows = dict(Stack.objects.filter(name__in=[s.name for s in found]).values_list("name", "provider"))
        dead = dict(Stack.objects.filter(name__in=[s.name for s in found], status__in=list(lc.ABSENT))
                    .values_list("name", "status"))
        for info in found:
            if info.action == "DELETE" and info.in_progress:
                continue
            if info.name in rows and rows[info.name] == provider_name and info.name not in dead:
                continue
            zombies.append((provider_name, info.name))
            log.warning("reaper: zombie stack %s at %s (%s)", info.name, provider_name, info.status)
            if delete:
                try:
                    provider.delete_stack(info.identifier)
                except ProviderError as exc:
                    log.warning("reaper: could not delete zombie %s at %s: %s", info.name, provider_name, exc)
    return zombies


def reconcile(now=None, send=None):
    """Put stuck stacks back on track. Returns the FollowUps it sent.

    - pending for longer than ``reconcile_after`` (its task message was lost):
      send the task again; every task is safe to repeat;
    - working (``*_IN_PROGRESS``, or up but not yet answering) with no poll for
      that long (the poll chain was lost): start a new chain, which compares
      with the cloud and moves the stack to its true state;
    - a failed suspend or delete: try again after a pause that doubles with
      each attempt, ``failed_retries`` times; then leave it for operators.
    """
    now = now or timezone.now()
    send = _send if send is None else send
    settings = conf.get_settings()
    cutoff = now - timedelta(seconds=settings.reconcile_after)
    follow = []
    kinds = {lc.LAUNCH_PENDING: "launch", lc.SUSPEND_PENDING: "suspend", lc.RESUME_PENDING: "resume",
             lc.DELETE_PENDING: "delete"}
    for pk, status in (Stack.objects.filter(status__in=list(kinds), status_changed_at__lt=cutoff)
                       .values_list("pk", "status")[:BATCH_SIZE]):
        follow.append(FollowUp(kinds[status], pk))
    quiet = (Q(status__in=list(lc.IN_PROGRESS)) | Q(status__in=list(lc.UP), reachable_at__isnull=True))
    for stack in (Stack.objects.filter(quiet, status_changed_at__lt=cutoff)
                  .filter(Q(polled_at__isnull=True) | Q(polled_at__lt=cutoff))[:BATCH_SIZE]):
        seq = stack.poll_seq + 1
        if Stack.objects.filter(pk=stack.pk, poll_seq=stack.poll_seq).update(poll_seq=seq, polled_at=now):
            follow.append(FollowUp("poll", stack.pk, seq=seq))
    follow += _retry_failed(now, settings)
    _find_vanished(now)
    if follow:
        log.info("reconciler: %d stacks put back on track", len(follow))
        send(follow)
    return follow


def _find_vanished(now):
    """Rows that say their stack exists, checked against the cloud, the ones
    looked at longest ago first; those the cloud no longer has are marked
    VANISHED, so their learners are offered a fresh lab. Returns their ids."""
    lost = []
    expected = Stack.objects.filter(status__in=list(lc.EXPECTED_AT_CLOUD)).exclude(provider_stack_id="")
    for provider_name in expected.values_list("provider", flat=True).distinct():
        rows = list(expected.filter(provider=provider_name)
                    .order_by(F("polled_at").asc(nulls_first=True), "pk")[:BATCH_SIZE])
        lost += _compare_with_cloud(provider_name, rows, now)
    if lost:
        log.warning("reconciler: %d stacks vanished at their cloud", len(lost))
    return lost


def _compare_with_cloud(provider_name, rows, now):
    """Ask ``provider_name`` about ``rows`` (its stacks at rest); mark those it
    no longer has VANISHED and return their ids."""
    from .operations import vanished

    try:
        found = clouds.get_provider(provider_name).get_stacks([s.provider_stack_id for s in rows])
    except Exception as exc:  # one unreachable cloud never stops the sweep
        log.warning("reconciler: cannot list stacks at %s: %s", provider_name, exc)
        return []
    lost = []
    for stack in rows:
        info = found.get(stack.provider_stack_id)
        if info is not None and info.action != "DELETE":
            continue
        reason = f"{provider_name} no longer has the stack" + (f" ({info.status})" if info else "")
        if vanished(stack, reason, where=Q(provider_stack_id=stack.provider_stack_id)):
            lost.append(stack.pk)
    # (A lab still being probed has a poll chain of its own, which the
    # reconciler restarts when it goes quiet: its polled_at is left alone.)
    (Stack.objects.filter(pk__in=[s.pk for s in rows]).exclude(pk__in=lost)
     .exclude(status__in=list(lc.UP), reachable_at__isnull=True).update(polled_at=now))
    return lost


# What an operator's reconcile does to a stack in each kind of state.
RECONCILE_PENDING = {lc.LAUNCH_PENDING: "launch", lc.SUSPEND_PENDING: "suspend", lc.RESUME_PENDING: "resume",
                     lc.DELETE_PENDING: "delete"}
RECONCILE_RETRY = {lc.SUSPEND_FAILED: (lc.SUSPEND_PENDING, "suspend"), lc.DELETE_FAILED: (lc.DELETE_PENDING, "delete")}


def reconcile_plan(stack):
    """What reconciling ``stack`` now would do, in words; None if nothing."""
    if stack.status in RECONCILE_PENDING:
        return f"send its {RECONCILE_PENDING[stack.status]} task again"
    if stack.status in lc.IN_PROGRESS or (stack.status in lc.UP and stack.reachable_at is None):
        return "watch it again (a new poll chain compares it with the cloud)"
    if stack.status in RECONCILE_RETRY:
        return f"try the {RECONCILE_RETRY[stack.status][1]} again, with its tries counted afresh"
    if stack.status in lc.EXPECTED_AT_CLOUD and stack.provider_stack_id:
        return f"check that {stack.provider} still has it"
    return None


def reconcile_stacks(stack_ids, now=None, send=None, who="an operator"):
    """Put chosen stacks back on track at once, without the sweep's waiting
    times: a pending stack gets its task again, a working one a new poll
    chain, a failed suspend or delete is tried again (its tries counted
    afresh), and one at rest is checked against its cloud. Returns the
    FollowUps it sent."""
    now = now or timezone.now()
    send = _send if send is None else send
    follow, at_rest = [], {}
    for stack in Stack.objects.filter(pk__in=list(stack_ids)):
        if stack.status in RECONCILE_PENDING:
            follow.append(FollowUp(RECONCILE_PENDING[stack.status], stack.pk))
        elif stack.status in lc.IN_PROGRESS or (stack.status in lc.UP and stack.reachable_at is None):
            seq = stack.poll_seq + 1
            if Stack.objects.filter(pk=stack.pk, poll_seq=stack.poll_seq).update(poll_seq=seq, polled_at=now):
                follow.append(FollowUp("poll", stack.pk, seq=seq))
        elif stack.status in RECONCILE_RETRY:
            target, kind = RECONCILE_RETRY[stack.status]
            # An operator's suspend is wanted now, whatever the learner's deadline said.
            fields = {"suspend_by": now} if kind == "suspend" else {}
            if lc.transition(stack, stack.status, target, f"retried by {who}", attempts=0, **fields):
                follow.append(FollowUp(kind, stack.pk))
        elif stack.status in lc.EXPECTED_AT_CLOUD and stack.provider_stack_id:
            at_rest.setdefault(stack.provider, []).append(stack)
    for provider_name, rows in at_rest.items():
        _compare_with_cloud(provider_name, rows, now)
    if follow:
        send(follow)
    return follow


def _retry_failed(now, settings):
    follow = []
    retry = {lc.SUSPEND_FAILED: (lc.SUSPEND_PENDING, "suspend"), lc.DELETE_FAILED: (lc.DELETE_PENDING, "delete")}
    for stack in Stack.objects.filter(status__in=list(retry))[:BATCH_SIZE]:
        try:
            follow += _retry_one(stack, now, settings, retry)
        except Exception:  # one bad stack never stops the sweep
            log.exception("reconciler: could not retry stack %s", stack.name)
    return follow


def _retry_one(stack, now, settings, retry):
    """A FollowUp list for one failed stack: empty while it waits its pause,
    is no longer idle (suspends), or has no tries left (flagged in the admin)."""
    if stack.attempts >= settings.failed_retries:
        return []
    pause = min(3600, settings.reconcile_after * 2 ** stack.attempts)
    if (now - stack.status_changed_at).total_seconds() < pause:
        return []
    target, kind = retry[stack.status]
    if target == lc.SUSPEND_PENDING and stack.suspend_by and stack.suspend_by > now:
        return []  # the learner is back: a suspend is not wanted any more
    if lc.transition(stack, stack.status, target, f"retrying after a failure (attempt {stack.attempts + 1})",
                     attempts=stack.attempts + 1):
        return [FollowUp(kind, stack.pk)]
    return []


def gave_up():
    """The condition (a Q) of stacks the sweeps gave up on: operators must look at these."""
    settings = conf.get_settings()
    return (Q(status=lc.DELETE_FAILED, attempts__gte=max(settings.failed_retries, settings.delete_attempts))
            | Q(status=lc.SUSPEND_FAILED, attempts__gte=settings.failed_retries))


def failed_for_good():
    """Stacks the sweeps gave up on."""
    return Stack.objects.filter(gave_up())


def _send(follow_ups):
    from .tasks import enqueue_many
    enqueue_many(follow_ups)
