"""How long things usually take, from our own records: Heat's create, resume
and delete at each provider (the stack log), and a lab's boot from "up" to
its first login (the stacks' ``reachable_at``). The worker polls when
completion is due, and the page is told when to ask next, instead of both
backing off blindly.

Each figure is a low quantile (QUANTILE, nearest rank) of the most recent
SAMPLE cases at that provider, since a look a little early costs one more
quick request, while a look a little late costs the learner the wait until
the next one. Figures are kept per process for TTL seconds (GROWING_TTL
while fewer cases are known). With no history there is no estimate, and
callers fall back on their own backoff.
"""

import threading
import time

from django.db.models import OuterRef, Subquery

from . import lifecycle as lc
from .models import Stack, StackLog

SAMPLE = 20
QUANTILE = 0.3
# A machine booting with no history: look again this soon (seconds).
FIRST_BOOT_LOOK = 0.25
TTL = 30.0
GROWING_TTL = 2.0
# The action a working state belongs to: (where it started, where it ends).
SPANS = {
    lc.CREATE_IN_PROGRESS: (lc.CREATE_IN_PROGRESS, lc.CREATE_COMPLETE),
    lc.RESUME_IN_PROGRESS: (lc.RESUME_IN_PROGRESS, lc.RESUME_COMPLETE),
    lc.DELETE_IN_PROGRESS: (lc.DELETE_IN_PROGRESS, lc.DELETE_COMPLETE),
}
BOOT = "boot"
# A pending state -> the working state its task starts.
WORK_OF = {lc.LAUNCH_PENDING: lc.CREATE_IN_PROGRESS, lc.RESUME_PENDING: lc.RESUME_IN_PROGRESS,
           lc.DELETE_PENDING: lc.DELETE_IN_PROGRESS}

_cache = {}
_lock = threading.Lock()


def expected(provider, what):
    """Seconds ``what`` (a working state, or BOOT) usually takes at ``provider``; None if unknown."""
    if not provider or (what not in SPANS and what != BOOT):
        return None
    key = (provider, what)
    with _lock:
        hit = _cache.get(key)
        # A history still filling up is looked at again soon: the first cases come quickly.
        if hit is not None and time.monotonic() - hit[2] < (TTL if hit[1] >= SAMPLE else GROWING_TTL):
            return hit[0]
    durations = _boot(provider) if what == BOOT else _span(provider, *SPANS[what])
    value = _quantile(durations, QUANTILE) if durations else None
    with _lock:
        _cache[key] = (value, len(durations), time.monotonic())
    return value


def _quantile(values, q):
    ordered = sorted(values)
    return ordered[int(q * (len(ordered) - 1))]


def forget():
    with _lock:
        _cache.clear()


def _span(provider, start, end):
    started = (StackLog.objects.filter(stack=OuterRef("stack"), to_status=start, created_at__lte=OuterRef("created_at"))
               .order_by("-created_at", "-id").values("created_at")[:1])
    rows = (StackLog.objects.filter(stack__provider=provider, from_status=start, to_status=end)
            .annotate(started=Subquery(started)).order_by("-created_at", "-id")
            .values_list("started", "created_at")[:SAMPLE])
    return [(done - began).total_seconds() for began, done in rows if began is not None]


def _boot(provider):
    rows = (Stack.objects.filter(provider=provider, status__in=list(lc.UP), reachable_at__isnull=False)
            .order_by("-reachable_at").values_list("status_changed_at", "reachable_at")[:SAMPLE])
    return [max(0.0, (reached - up).total_seconds()) for up, reached in rows]


def until_ready(stack, now):
    """Seconds until ``stack`` (being created, resumed or booted) is likely
    ready, or (being deleted, for a reset) gone, by the estimates: below zero
    when it is later than usual by that much; None if unknown."""
    elapsed = (now - stack.status_changed_at).total_seconds()
    if stack.status in lc.UP:
        if stack.reachable_at is not None:
            return 0.0
        boot = expected(stack.provider, BOOT)
        return FIRST_BOOT_LOOK if boot is None else boot - elapsed
    # A task is about to start the work: as good as started (its message goes
    # out on commit), so the page can be told at once when to ask.
    status = WORK_OF.get(stack.status, stack.status)
    if status not in (lc.CREATE_IN_PROGRESS, lc.RESUME_IN_PROGRESS, lc.DELETE_IN_PROGRESS):
        return None
    heat = expected(stack.provider, status)
    if heat is None:
        return None
    if heat <= elapsed:
        return heat - elapsed  # Heat is slower than usual
    boot = (expected(stack.provider, BOOT) or 0.0) if status == lc.CREATE_IN_PROGRESS else 0.0
    return heat - elapsed + boot
