"""Stack states, the transitions allowed between them, and ``transition()``:
the only code that changes a stack's status.

A transition is a compare-and-set: ``UPDATE ... WHERE status IN (from_states)``
plus one StackLog row, in one database transaction. When two actors race (a
keepalive and the suspender, two redelivered tasks) exactly one wins; the
loser gets ``False`` back, and that is a normal outcome, not an error.
"""

import logging

from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone

from . import metrics

log = logging.getLogger(__name__)

NEW = ""  # a row being created

LAUNCH_PENDING = "LAUNCH_PENDING"
LAUNCH_ERROR = "LAUNCH_ERROR"
LAUNCH_TIMEOUT = "LAUNCH_TIMEOUT"
CREATE_IN_PROGRESS = "CREATE_IN_PROGRESS"
CREATE_COMPLETE = "CREATE_COMPLETE"
CREATE_FAILED = "CREATE_FAILED"
SUSPEND_PENDING = "SUSPEND_PENDING"
SUSPEND_IN_PROGRESS = "SUSPEND_IN_PROGRESS"
SUSPEND_COMPLETE = "SUSPEND_COMPLETE"
SUSPEND_FAILED = "SUSPEND_FAILED"
RESUME_PENDING = "RESUME_PENDING"
RESUME_IN_PROGRESS = "RESUME_IN_PROGRESS"
RESUME_COMPLETE = "RESUME_COMPLETE"
RESUME_FAILED = "RESUME_FAILED"
DELETE_PENDING = "DELETE_PENDING"
DELETE_IN_PROGRESS = "DELETE_IN_PROGRESS"
DELETE_COMPLETE = "DELETE_COMPLETE"
DELETE_FAILED = "DELETE_FAILED"
# The row says the lab exists, the cloud says it does not (an operator
# deleted it, the cloud lost it): only the learner's go-ahead builds a new one.
VANISHED = "VANISHED"

# The lab is running and usable.
UP = frozenset({CREATE_COMPLETE, RESUME_COMPLETE})
# We decided to act and a task is about to.
PENDING = frozenset({LAUNCH_PENDING, SUSPEND_PENDING, RESUME_PENDING, DELETE_PENDING})
# The cloud is working; a poll chain watches.
IN_PROGRESS = frozenset({CREATE_IN_PROGRESS, SUSPEND_IN_PROGRESS, RESUME_IN_PROGRESS, DELETE_IN_PROGRESS})
FAILED = frozenset({CREATE_FAILED, SUSPEND_FAILED, RESUME_FAILED, DELETE_FAILED, LAUNCH_ERROR, LAUNCH_TIMEOUT})
# No stack exists (or none that counts) at any provider.
ABSENT = frozenset({NEW, DELETE_COMPLETE, LAUNCH_ERROR, LAUNCH_TIMEOUT, VANISHED})
# States from which a new launch may begin on its own (a vanished lab waits
# for the learner to ask for a fresh one).
RELAUNCHABLE = (ABSENT - {VANISHED}) | {CREATE_FAILED}
# States in which the row says a stack exists at the cloud and nothing is
# under way; the reconciler checks these against the cloud's list.
EXPECTED_AT_CLOUD = frozenset({CREATE_COMPLETE, RESUME_COMPLETE, SUSPEND_COMPLETE, SUSPEND_FAILED, RESUME_FAILED})
# States in which we may learn that the cloud has lost the stack.
MAY_VANISH = EXPECTED_AT_CLOUD | {SUSPEND_IN_PROGRESS, RESUME_PENDING, RESUME_IN_PROGRESS}

# A delete may be asked for from anywhere but the delete states themselves
# (a learner's reset, the reaper, operators).
DELETABLE = frozenset({
    LAUNCH_PENDING, LAUNCH_ERROR, LAUNCH_TIMEOUT, CREATE_IN_PROGRESS, CREATE_COMPLETE, CREATE_FAILED,
    SUSPEND_PENDING, SUSPEND_IN_PROGRESS, SUSPEND_COMPLETE, SUSPEND_FAILED,
    RESUME_PENDING, RESUME_IN_PROGRESS, RESUME_COMPLETE, RESUME_FAILED, VANISHED,
})

# from -> the states it may move to.
TRANSITIONS = {
    NEW: {LAUNCH_PENDING},
    LAUNCH_PENDING: {LAUNCH_PENDING, CREATE_IN_PROGRESS, LAUNCH_ERROR},
    CREATE_IN_PROGRESS: {CREATE_COMPLETE, CREATE_FAILED, LAUNCH_TIMEOUT, SUSPEND_COMPLETE},
    CREATE_FAILED: {LAUNCH_PENDING, LAUNCH_ERROR},
    LAUNCH_ERROR: {LAUNCH_PENDING},
    LAUNCH_TIMEOUT: {LAUNCH_PENDING},
    CREATE_COMPLETE: {SUSPEND_PENDING},
    RESUME_COMPLETE: {SUSPEND_PENDING},
    SUSPEND_PENDING: {SUSPEND_IN_PROGRESS, SUSPEND_COMPLETE, SUSPEND_FAILED, CREATE_COMPLETE, RESUME_COMPLETE},
    SUSPEND_IN_PROGRESS: {SUSPEND_COMPLETE, SUSPEND_FAILED},
    SUSPEND_COMPLETE: {RESUME_PENDING},
    SUSPEND_FAILED: {SUSPEND_PENDING, RESUME_PENDING},
    RESUME_PENDING: {RESUME_IN_PROGRESS, RESUME_COMPLETE, RESUME_FAILED},
    RESUME_IN_PROGRESS: {RESUME_COMPLETE, RESUME_FAILED},
    RESUME_FAILED: {RESUME_PENDING},
    VANISHED: {LAUNCH_PENDING},
    DELETE_PENDING: {DELETE_IN_PROGRESS, DELETE_COMPLETE, DELETE_FAILED},
    DELETE_IN_PROGRESS: {DELETE_COMPLETE, DELETE_FAILED},
    DELETE_FAILED: {DELETE_PENDING},
    DELETE_COMPLETE: {LAUNCH_PENDING},
}
for _state in DELETABLE:
    TRANSITIONS[_state] = TRANSITIONS[_state] | {DELETE_PENDING}
for _state in MAY_VANISH:
    TRANSITIONS[_state] = TRANSITIONS[_state] | {VANISHED}

STATES = tuple(sorted(set(TRANSITIONS) - {NEW}))


class InvalidTransition(ValueError):
    """Code asked for a transition the table does not allow: a bug, not a race."""


def check(from_states, to_state):
    for state in from_states:
        if to_state not in TRANSITIONS.get(state, ()):
            raise InvalidTransition(f"{state or 'NEW'} -> {to_state} is not an allowed transition")


def transition(stack, from_states, to_state, reason, *, task_id="", where=None, **fields):
    """Move ``stack`` to ``to_state`` if its status is one of ``from_states``.

    ``where`` (a Q) adds conditions to the compare-and-set, e.g. "the suspend
    deadline has passed". ``fields`` are written in the same UPDATE. Returns
    True if this call won; the instance is then refreshed from the database.
    """
    from .models import Stack, StackLog

    from_states = (from_states,) if isinstance(from_states, str) else tuple(from_states)
    check(from_states, to_state)
    now = timezone.now()
    query = Stack.objects.filter(pk=stack.pk, status__in=from_states)
    if where is not None:
        query = query.filter(where)
    with transaction.atomic():
        # previous_status is assigned before status: MySQL evaluates SET
        # clauses left to right, PostgreSQL and SQLite from the old row.
        won = query.update(previous_status=F("status"), status=to_state, status_changed_at=now,
                           status_reason=reason[:2000], **fields)
        if won:
            previous = Stack.objects.filter(pk=stack.pk).values_list("previous_status", flat=True).get()
            StackLog.objects.create(stack_id=stack.pk, from_status=previous, to_status=to_state,
                                    reason=reason[:2000], task_id=task_id or "", created_at=now)
    if won:
        stack.refresh_from_db()
        # The state this transition left, as read in its own transaction: by
        # now the row may have moved on (the learner's next click, the next
        # task), and its previous_status with it.
        _logged(stack, previous, to_state, reason, task_id)
        metrics.transitioned(stack.pk, stack.provider, previous, to_state, now)
    else:
        log.info("stack %s: lost the race for %s -> %s (%s)", stack.name,
                 "/".join(s or "NEW" for s in from_states), to_state, reason)
    return bool(won)


def create(reason, *, task_id="", **fields):
    """Insert a new stack in LAUNCH_PENDING, with its first log row.

    Returns (stack, created). When the unique name is taken (a double click,
    two tabs), the existing row is returned with created=False.
    """
    from .models import Stack, StackLog

    now = timezone.now()
    try:
        with transaction.atomic():
            stack = Stack.objects.create(status=LAUNCH_PENDING, previous_status=NEW, status_changed_at=now,
                                         status_reason=reason, **fields)
            StackLog.objects.create(stack=stack, from_status=NEW, to_status=LAUNCH_PENDING, reason=reason,
                                    task_id=task_id, created_at=now)
    except IntegrityError:
        return Stack.objects.get(name=fields["name"]), False
    _logged(stack, NEW, LAUNCH_PENDING, reason, task_id)
    metrics.transitioned(stack.pk, stack.provider, NEW, LAUNCH_PENDING, now)
    return stack, True


def _logged(stack, from_state, to_state, reason, task_id):
    """One log line per transition, with its facts as fields for structured
    log handlers (JSON formatters read ``record.hastexo_lab``)."""
    log.info("stack %s (learner %s, course %s): %s -> %s: %s%s", stack.name, stack.anonymous_student_id,
             stack.course_id, from_state or "NEW", to_state, reason, f" [task {task_id}]" if task_id else "",
             extra={"hastexo_lab": {"event": "transition", "stack": stack.name, "stack_id": stack.pk,
                                    "learner": stack.anonymous_student_id, "course": stack.course_id,
                                    "provider": stack.provider, "from": from_state or "NEW", "to": to_state,
                                    "reason": reason, "task_id": task_id or ""}})


def claim(candidates, from_states, to_state, reason, *, limit, task_id="", **fields):
    """Move up to ``limit`` stacks of ``candidates`` (a queryset, in the order
    to claim them) from ``from_states`` to ``to_state``; return their ids.

    The rows are selected with ``FOR UPDATE SKIP LOCKED`` where the database
    has it (PostgreSQL, MySQL 8): two claimers running at once take disjoint
    rows and never wait on each other, and a keepalive that changes a row
    either commits before the claim reads it or waits for the claim to end.
    On SQLite the whole transaction holds the database's write lock.
    Each claimed stack's ``poll_seq`` moves on, so poll chains of its earlier
    state stop.
    """
    from .models import Stack, StackLog

    from_states = (from_states,) if isinstance(from_states, str) else tuple(from_states)
    check(from_states, to_state)
    now = timezone.now()
    picked = candidates.filter(status__in=from_states).select_for_update(skip_locked=True)
    if connection.vendor == "postgresql":
        ids = _claim_in_one_statement(picked.values_list("pk", "status")[:limit], to_state, reason[:2000],
                                      task_id, now, fields)
        _claimed(ids, to_state, reason, task_id)
        return ids
    with transaction.atomic():
        rows = list(picked.values_list("pk", "status", "name")[:limit])
        if not rows:
            return []
        ids = [pk for pk, _, _ in rows]
        Stack.objects.filter(pk__in=ids).update(previous_status=F("status"), status=to_state,
                                                status_changed_at=now, status_reason=reason[:2000],
                                                poll_seq=F("poll_seq") + 1, **fields)
        StackLog.objects.bulk_create([
            StackLog(stack_id=pk, from_status=status, to_status=to_state, reason=reason[:2000],
                     task_id=task_id, created_at=now)
            for pk, status, _ in rows])
    _claimed(ids, to_state, reason, task_id)
    return ids


def _claimed(ids, to_state, reason, task_id):
    """A claim's log lines: one per stack (by id: a claim reads no more of
    the rows), and one in all."""
    if not ids:
        return
    for pk in ids:
        log.info("stack #%s: -> %s: %s%s", pk, to_state, reason, f" [task {task_id}]" if task_id else "",
                 extra={"hastexo_lab": {"event": "transition", "stack_id": pk, "to": to_state, "reason": reason,
                                        "task_id": task_id or ""}})
    log.info("claimed %d stacks: -> %s: %s", len(ids), to_state, reason)
    metrics.claimed(to_state, len(ids))


def _claim_in_one_statement(picked, to_state, reason, task_id, now, fields):
    """PostgreSQL: pick, update and log in one statement (a data-modifying
    CTE), one round trip, no rows through Python but the ids."""
    from .models import Stack, StackLog

    assignments, assignment_params = [], []
    for name, value in fields.items():
        field = Stack._meta.get_field(name)
        assignments.append(f', "{field.column}" = %s')
        assignment_params.append(field.get_db_prep_save(value, connection))
    stack_table, log_table = Stack._meta.db_table, StackLog._meta.db_table
    with transaction.atomic(), connection.cursor() as cursor:
        select_sql, select_params = picked.query.sql_with_params()
        sql = _CLAIM_SQL.format(select=select_sql, stack_table=stack_table, log_table=log_table,
                                assignments="".join(assignments))
        params = [*select_params, to_state, now, reason, *assignment_params, to_state, reason, task_id, now]
        cursor.execute(sql, params)
        return [row[0] for row in cursor.fetchall()]


_CLAIM_SQL = """
        WITH picked AS ({select}),
        moved AS (
            UPDATE "{stack_table}" AS s
               SET "previous_status" = s."status", "status" = %s, "status_changed_at" = %s,
                   "status_reason" = %s, "poll_seq" = s."poll_seq" + 1{assignments}
              FROM picked WHERE s."id" = picked."pk"
            RETURNING s."id", picked."status" AS from_status
        )
        INSERT INTO "{log_table}" ("stack_id", "from_status", "to_status", "reason", "task_id", "created_at")
        SELECT "id", from_status, %s, %s, %s, %s FROM moved
        RETURNING "stack_id"
"""
