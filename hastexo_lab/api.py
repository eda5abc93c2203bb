"""What the XBlock, the admin and management commands call. No XBlock inside.

Functions take plain values, change stacks only through ``lifecycle``, and
send work to the tasks after the current transaction commits.
"""

import hashlib
import json
import re
from datetime import timedelta

from django.db import connection
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from . import conf, limits, metrics, operations, tasks
from . import lifecycle as lc
from .models import Stack

# Heat stack names: a letter first, then letters, digits, "_", "-", "."; at most 255.
_UNSAFE = re.compile(r"[^a-zA-Z0-9_.-]+")
NAME_PREFIX = "hxl"
# Lengths of the readable parts of a stack name; the digest makes it unique.
_READABLE = (60, 40, 20)


def stack_name(course_id, anonymous_student_id, lab=""):
    """The stack name for a learner in a course run (and, optionally, one lab
    environment of it): ``hxl-<course>-<learner>[-<lab>]-<digest>``.

    The readable parts are shortened and stripped of what Heat does not allow,
    so different inputs can look alike there (``bob bob`` and ``bob+bob``);
    the digest of the exact inputs keeps every name apart. At most 143
    characters, well within Heat's 255.
    """
    parts = [NAME_PREFIX]
    for value, length in zip((course_id, anonymous_student_id, lab), _READABLE, strict=True):
        readable = _UNSAFE.sub("-", value).strip("-.")[:length].strip("-.")
        if readable:
            parts.append(readable)
    exact = json.dumps([course_id, anonymous_student_id, lab], ensure_ascii=False).encode()
    parts.append(hashlib.sha256(exact).hexdigest()[:16])
    return "-".join(parts)


def environment_digest(template_path, providers):
    """A short name for a lab environment without a name of its own: the
    template and the providers (their names, templates, environments) it is
    built from. Labs that agree on these share the learner's stack."""
    definition = {"template": template_path or "",
                  "providers": [{key: p.get(key) for key in ("name", "template", "environment")}
                                for p in providers or [] if isinstance(p, dict)]}
    return "env" + hashlib.sha256(json.dumps(definition, sort_keys=True).encode()).hexdigest()[:12]


def launch_parameters(course_id):
    """The parameters every launch gives the lab's template: the course run, as ``run``."""
    return {"run": course_id}


def launch(course_id, anonymous_student_id, providers, *, learner=None, lab="", protocol="ssh", port=None,
           parameters=None, launch_timeout=None, suspend_timeout=None, delete_age=None, username=""):
    """Make sure the learner's stack exists and is (being) brought up; idempotent.

    ``providers`` is the ordered list of launch candidates:
    ``[{"name", "capacity", "template", "environment"}]``. Returns the Stack.
    """
    settings = conf.get_settings()
    fields = {
        "course_id": course_id, "anonymous_student_id": anonymous_student_id, "learner": learner,
        "providers": providers, "protocol": protocol, "port": port, "username": username,
        "parameters": parameters if parameters is not None else launch_parameters(course_id),
        "launch_timeout": launch_timeout or settings.launch_timeout,
        "suspend_timeout": suspend_timeout or settings.suspend_timeout,
        "delete_age": settings.delete_age if delete_age is None else delete_age,
    }
    name = stack_name(course_id, anonymous_student_id, lab)
    stack, created = lc.create("launch requested", name=name, **fields)
    if created:
        tasks.enqueue(operations.FollowUp("launch", stack.pk))
        return stack
    return bring_up(stack, **{k: v for k, v in fields.items() if k not in ("course_id", "anonymous_student_id")})


def launch_within_limit(course_id, anonymous_student_id, providers, *, learner=None, lab="", **options):
    """A learner's launch (or resume) request, within their usage limit: the
    status reply. Over the limit with the "block" policy, a lab that is not
    running is not launched or resumed (the reply says why and until when);
    with "warn", the reply carries a notice."""
    verdict = limits.verdict(learner.pk if learner is not None else None, anonymous_student_id)
    if verdict is not None and verdict.blocks:
        stack = find(stack_name(course_id, anonymous_student_id, lab))
        if stack is None or stack.status in NEEDS_A_NEW_RUN:
            return limited(verdict, stack)
    stack = launch(course_id, anonymous_student_id, providers, learner=learner, lab=lab, **options)
    return with_notice(status_for(stack), verdict)


# States from which bringing a lab up again means a new launch or a resume
# (what a blocking usage limit refuses); a lab in any other state is up or
# on its way up already, and goes on.
NEEDS_A_NEW_RUN = lc.RELAUNCHABLE | {lc.VANISHED, lc.SUSPEND_IN_PROGRESS, lc.SUSPEND_COMPLETE, lc.SUSPEND_FAILED,
                                     lc.RESUME_FAILED}


def limited(verdict, stack=None):
    """The reply for a learner the usage limit stops."""
    reply = {"phase": LIMITED, "message": verdict.message()}
    if verdict.until is not None:
        reply["until"] = verdict.until.isoformat()
    if stack is not None:
        reply["status"] = stack.status
    return reply


def with_notice(reply, verdict):
    if verdict is not None and verdict.warns:
        reply["notice"] = verdict.message()
    return reply


def blocking_verdict(stack):
    """The usage limit's verdict on the owner of ``stack`` if it stops them
    bringing it back up; else None."""
    verdict = limits.verdict(stack.learner_id, stack.anonymous_student_id)
    return verdict if verdict is not None and verdict.blocks else None


def bring_up(stack, **fields):
    """Start whatever gets an existing stack running again, from any state."""
    if stack.status in lc.RELAUNCHABLE:
        fields.update(provider="", provider_stack_id="", providers_tried=[], error_message="", attempts=0,
                      host_key="")
        if lc.transition(stack, stack.status, lc.LAUNCH_PENDING, "launch requested", **fields):
            tasks.enqueue(operations.FollowUp("launch", stack.pk))
    else:
        learner_is_back(stack, "the learner is back")
    stack.refresh_from_db()
    return stack


def _activity(now, suspend_timeout, delete_age):
    """The fields a keepalive writes: the moment, and the deadlines it moves."""
    return {"last_activity": now, "suspend_by": now + timedelta(seconds=suspend_timeout),
            "delete_by": now + timedelta(seconds=delete_age) if delete_age else None}


# A lab that is up, or on its way up (queued, created, resumed, its machine
# still booting): a learner waiting for it is active, and the time they wait
# is no idleness.
COMING_UP = lc.UP | {lc.LAUNCH_PENDING, lc.CREATE_IN_PROGRESS, lc.RESUME_PENDING, lc.RESUME_IN_PROGRESS}


def learner_is_back(stack, reason):
    """The learner is active (a keepalive, the page opened): whatever a suspend
    is doing, the lab stays up, or comes back up as soon as it can.

    One conditional UPDATE decides against a suspend running at the same
    moment: on a stack the suspender chose, it moves the deadline (so the
    suspend's re-check, just before its Heat call, fails) and asks for a
    resume (in case that re-check passed already). Then a chosen suspend is
    cancelled, and a finished or failed one is followed by a resume. Every
    order of the two sides ends with the lab running or resuming. A lab that
    is running or still starting records the activity and moves its deadlines.
    """
    fields = _activity(timezone.now(), stack.suspend_timeout, stack.delete_age)
    suspending = Stack.objects.filter(pk=stack.pk, status__in=[lc.SUSPEND_PENDING, lc.SUSPEND_IN_PROGRESS])
    if suspending.update(resume_requested=True, **fields):
        operations.cancel_suspend(stack, f"{reason}: suspend cancelled")
    else:
        Stack.objects.filter(pk=stack.pk, status__in=list(COMING_UP)).update(**fields)
    stack.refresh_from_db()
    if stack.status in (lc.SUSPEND_COMPLETE, lc.SUSPEND_FAILED, lc.RESUME_FAILED):
        tasks.enqueue(operations.request_resume(stack, reason))
        stack.refresh_from_db()


def suspend(stack, reason="suspend requested"):
    """Suspend a running stack now (operators; the suspender claims in bulk)."""
    if lc.transition(stack, tuple(lc.UP), lc.SUSPEND_PENDING, reason, suspend_by=timezone.now()):
        tasks.enqueue(operations.FollowUp("suspend", stack.pk))
        return True
    return False


def delete(stack, reason="delete requested", relaunch=False):
    """Delete a stack from whatever state it is in (a reset, the reaper,
    operators); with ``relaunch`` (a reset), a fresh one is launched as soon
    as the delete is done."""
    if lc.transition(stack, lc.DELETABLE, lc.DELETE_PENDING, reason, attempts=0, poll_seq=F("poll_seq") + 1,
                     relaunch_after_delete=relaunch):
        tasks.enqueue(operations.FollowUp("delete", stack.pk))
        return True
    return False


# -- what the learner sees -----------------------------------------------------

# Phases the browser understands, in the order a launch goes through them.
QUEUED, CREATING, RESUMING, WAITING, READY, SUSPENDING, SUSPENDED, DELETING, FAILED, ABSENT, LOST = (
    "queued", "creating", "resuming", "waiting", "ready", "suspending", "suspended", "deleting", "failed",
    "absent", "lost")
# Not a stack's phase: the usage limit stops this learner (see limited()).
LIMITED = "limited"

_PHASES = {
    lc.LAUNCH_PENDING: QUEUED,
    lc.CREATE_IN_PROGRESS: CREATING,
    lc.CREATE_COMPLETE: READY,
    lc.RESUME_COMPLETE: READY,
    # A suspend was chosen but has not started: the lab is still there, and
    # the learner's next keepalive cancels it.
    lc.SUSPEND_PENDING: READY,
    lc.SUSPEND_IN_PROGRESS: SUSPENDING,
    lc.SUSPEND_COMPLETE: SUSPENDED,
    # Suspended or not, the lab is kept, and the learner's input resumes it
    # (a resume of a lab that runs after all leaves it running).
    lc.SUSPEND_FAILED: SUSPENDED,
    lc.RESUME_PENDING: RESUMING,
    lc.RESUME_IN_PROGRESS: RESUMING,
    lc.DELETE_PENDING: DELETING,
    lc.DELETE_IN_PROGRESS: DELETING,
    lc.DELETE_COMPLETE: ABSENT,
    # The cloud lost it: the learner is offered a fresh lab.
    lc.VANISHED: LOST,
}

_MESSAGES = {
    QUEUED: _("Your lab environment is queued and will start shortly."),
    CREATING: _("Your lab environment is being created. This can take a few minutes."),
    RESUMING: _("Your lab was suspended to save resources; resuming..."),
    WAITING: _("Your lab environment is starting up and will accept connections shortly."),
    READY: _("Your lab environment is ready."),
    SUSPENDING: _("Your lab environment is being suspended."),
    SUSPENDED: _("Your lab environment is suspended."),
    DELETING: _("Your lab environment is being removed."),
    ABSENT: _("Your lab environment does not exist yet."),
    FAILED: _("Your lab environment could not be started."),
    LOST: _("Your lab environment no longer exists. You can start a fresh one."),
}


def phase_of(stack):
    if stack is None:
        return ABSENT
    phase = _PHASES.get(stack.status, FAILED)
    if phase == READY and stack.reachable_at is None:
        return WAITING
    if phase == SUSPENDING and stack.resume_requested:
        return RESUMING  # the learner came back: the lab resumes once the suspend is done
    return phase


def status_for(stack):
    """What the browser may know about a stack: its phase and a message. No secrets."""
    phase = phase_of(stack)
    reply = {"phase": phase, "message": str(_MESSAGES[phase])}
    if phase == FAILED and stack.error_message:
        reply["message"] = str(_(stack.error_message))
    if stack is not None:
        reply["status"] = stack.status
        poll_in = _poll_in(stack) if phase in (QUEUED, CREATING, RESUMING, WAITING, DELETING) else None
        if poll_in is not None:
            reply["poll_in"] = poll_in
    return reply


# How often the page asks while the lab is later than usual (ms): at first
# (for LATE_FOR seconds past the usual time) often, since it is most likely
# ready in moments; then every half second.
LATE_POLL_MS = 250
LATE_FOR = 1.5
OVERDUE_POLL_MS = 500


# With no history at the provider, how long the page asks every LATE_POLL_MS
# (seconds into the wait); after that, a quarter of the time waited.
BLIND_FAST_FOR = 10.0


def _poll_in(stack):
    """When the page should ask again (ms): when the lab is likely ready, by
    this provider's history, and no sooner than a quarter second; often
    while it is a little late, then every half second. Without history (the first labs at a provider),
    every quarter second for the first seconds, then a quarter of the time
    waited, at most 15 s, so a slow cloud is not flooded."""
    from . import estimates
    now = timezone.now()
    left = estimates.until_ready(stack, now)
    if left is None:
        waited = max(0.0, (now - stack.status_changed_at).total_seconds())
        if waited < BLIND_FAST_FOR:
            return LATE_POLL_MS
        return int(min(15.0, waited / 4) * 1000)
    if left > 0:
        return int(min(15.0, max(0.25, left + 0.15)) * 1000)
    return LATE_POLL_MS if left > -LATE_FOR else OVERDUE_POLL_MS


# Keepalives closer together than this do not touch the database again.
KEEPALIVE_MIN_INTERVAL = 5


def keepalive_by_name(name, suspend_timeout, delete_age):
    """A learner's keepalive: move the suspend deadline of their own stack.

    On a running lab this is exactly one statement and no log row, also when
    the last keepalive was moments ago (then nothing moves). Only a lab that
    is not running (still starting, suspended, chosen for a suspend, absent)
    is read to decide what to do: one still starting records the activity,
    so it is not suspended, once ready, for an idleness that did not happen.
    Returns the learner-facing status.
    """
    metrics.KEEPALIVES.inc()
    status = _touch_running(name, timezone.now(), suspend_timeout, delete_age)
    if status is not None:
        return {"phase": READY, "message": str(_MESSAGES[READY]), "status": status}
    stack = Stack.objects.filter(name=name).first()
    if stack is None:
        return status_for(None)
    if stack.status in NEEDS_A_NEW_RUN:
        # (During a suspend, a keepalive would ask for a resume once it is done.)
        verdict = blocking_verdict(stack)
        if verdict is not None:
            return limited(verdict, stack)
    learner_is_back(stack, "the learner is active")
    return status_for(stack)


_TOUCH_SQL = """
    UPDATE "{table}" SET
        "last_activity" = CASE WHEN {stale} THEN %s ELSE "last_activity" END,
        "suspend_by" = CASE WHEN {stale} THEN %s ELSE "suspend_by" END,
        "delete_by" = CASE WHEN {stale} THEN %s ELSE "delete_by" END,
        "suspend_timeout" = %s, "delete_age" = %s
     WHERE "name" = %s AND "status" IN (%s, %s) AND "reachable_at" IS NOT NULL
    RETURNING "status"
"""


def _touch_running(name, now, suspend_timeout, delete_age):
    """The status of a running, reachable lab after moving its deadlines (not
    again within KEEPALIVE_MIN_INTERVAL), or None if it is not running; one
    statement where the database can return what it updated."""
    fields = _activity(now, suspend_timeout, delete_age)
    recent = now - timedelta(seconds=KEEPALIVE_MIN_INTERVAL)
    running = Stack.objects.filter(name=name, status__in=list(lc.UP), reachable_at__isnull=False)
    # UPDATE ... RETURNING: PostgreSQL, SQLite 3.35+; MySQL and MariaDB read again.
    returns = connection.vendor == "postgresql" or (connection.vendor == "sqlite"
                                                    and connection.features.can_return_columns_from_insert)
    if not returns:
        running.filter(Q(last_activity__lt=recent) | Q(last_activity__isnull=True)).update(
            suspend_timeout=suspend_timeout, delete_age=delete_age, **fields)
        return running.values_list("status", flat=True).first()

    def prep(field, value):
        return Stack._meta.get_field(field).get_db_prep_save(value, connection)
    stale = '("last_activity" IS NULL OR "last_activity" < %s)'
    sql = _TOUCH_SQL.format(table=Stack._meta.db_table, stale=stale)
    recent_value = prep("last_activity", recent)
    params = [recent_value, prep("last_activity", fields["last_activity"]),
              recent_value, prep("suspend_by", fields["suspend_by"]),
              recent_value, prep("delete_by", fields["delete_by"]),
              suspend_timeout, delete_age, name, *sorted(lc.UP)]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    return row[0] if row else None


# After the learner's page went away, a running lab is suspended this soon
# at the latest: time for a reload, or the next unit, to say it is still used.
LEAVE_GRACE = 30


def leave(name):
    """The learner's page went away: bring the suspend deadline of their
    running lab forward. One UPDATE; never moves a deadline later, and never
    launches, resumes or keeps a lab alive."""
    soon = timezone.now() + timedelta(seconds=LEAVE_GRACE)
    Stack.objects.filter(name=name, status__in=list(lc.UP), suspend_by__gt=soon).update(suspend_by=soon)


def find(name):
    """The stack called ``name``, or None."""
    return Stack.objects.filter(name=name).first()
