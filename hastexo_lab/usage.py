"""How long learners' labs ran and sat suspended, per learner and per course,
from the stack log; and what that cost, and what suspending saved.

Every status change of a stack writes one StackLog row, so a stack is in the
row's ``to_status`` from the row's ``created_at`` until the next row of the
same stack (ordered by ``created_at``, ``id``), or until now for its last row.
One SQL statement does the whole aggregation: a window function (``LEAD``)
gives each row its end, the spans are clipped to the window ``[since,
until]`` and summed per stack, then per (course, learner, provider).

Which states count:

- RUNNING: the machines exist and are up, so the provider bills them as
  running: from the start of the create (CREATE_IN_PROGRESS) through the lab
  being up (CREATE_COMPLETE, RESUME_COMPLETE, and RESUME_IN_PROGRESS, when the
  machines are starting again), while a suspend is asked for or under way or
  has failed (SUSPEND_PENDING, SUSPEND_IN_PROGRESS, SUSPEND_FAILED: the
  machines are still up) and until a delete is done (DELETE_PENDING,
  DELETE_IN_PROGRESS, DELETE_FAILED).
- SUSPENDED: the machines are stopped, their disks kept (SUSPEND_COMPLETE),
  including while a resume is queued or failed (RESUME_PENDING,
  RESUME_FAILED): nothing runs yet, or again.
- Every other state (LAUNCH_PENDING, CREATE_FAILED, LAUNCH_ERROR,
  LAUNCH_TIMEOUT, DELETE_COMPLETE, VANISHED) counts as neither: nothing
  exists at the cloud, or we do not know of anything that does.

A launch is a log row into LAUNCH_PENDING (a fail-over to the next provider
re-queues the launch and counts again), a resume a row into RESUME_PENDING;
each counts when its ``created_at`` is in the window. The hours of a stack
are billed to its provider as the stack row has it now (the log does not say
where each span ran).

Times are seconds in the API (``Usage``) and hours in reports. Groups with
nothing in the window (no hours, no launches, no resumes) are left out.
"""

import csv
import json
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import connection
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from . import lifecycle as lc
from .models import Stack, StackLog

RUNNING = frozenset({
    lc.CREATE_IN_PROGRESS, lc.CREATE_COMPLETE, lc.RESUME_IN_PROGRESS, lc.RESUME_COMPLETE,
    lc.SUSPEND_PENDING, lc.SUSPEND_IN_PROGRESS, lc.SUSPEND_FAILED,
    lc.DELETE_PENDING, lc.DELETE_IN_PROGRESS, lc.DELETE_FAILED,
})
SUSPENDED = frozenset({lc.SUSPEND_COMPLETE, lc.RESUME_PENDING, lc.RESUME_FAILED})
# What a learner's usage limit counts (running_seconds, running_spans): not
# the time a failed suspend or delete keeps a lab up, which is no doing of theirs.
LEARNER_RUNNING = RUNNING - {lc.SUSPEND_FAILED, lc.DELETE_FAILED}
LAUNCH = lc.LAUNCH_PENDING
RESUME = lc.RESUME_PENDING

GROUPS = ("learner", "course")
HOURS_DIGITS = 4
MONEY_DIGITS = 4

LEARNER_COLUMNS = ("course_id", "anonymous_student_id", "learner", "hours_running", "hours_suspended", "launches",
                   "resumes", "cost", "cost_always_running", "saving", "currency", "priced")
COURSE_COLUMNS = ("course_id", "learners", "hours_running", "hours_suspended", "launches", "resumes", "cost",
                  "cost_always_running", "saving", "currency", "priced")


@dataclass(frozen=True)
class Usage:
    """One (course, learner, provider)'s usage over a window."""

    course_id: str
    anonymous_student_id: str
    learner_id: int | None
    provider: str
    running_seconds: float
    suspended_seconds: float
    launches: int
    resumes: int


# --- SQL ---------------------------------------------------------------------------------------------------------

def _vendor_sql():
    """(the sum of the seconds from {a} to {b} over the rows where {cond}, the
    larger of {a} and {b}) for this database."""
    vendor = connection.vendor
    if vendor == "postgresql":
        # Intervals add up exactly and fast; one conversion to seconds per group.
        return ("CAST(EXTRACT(EPOCH FROM SUM(CASE WHEN {cond} THEN {b} - {a} END)) AS DOUBLE PRECISION)",
                "GREATEST({a}, {b})")
    if vendor == "mysql":
        return ("(SUM(CASE WHEN {cond} THEN TIMESTAMPDIFF(MICROSECOND, {a}, {b}) END) / 1000000.0)",
                "GREATEST({a}, {b})")
    if vendor == "sqlite":
        # Timestamps are ISO text there: they compare in time order, and julianday() reads them.
        return "(SUM(CASE WHEN {cond} THEN julianday({b}) - julianday({a}) END) * 86400.0)", "MAX({a}, {b})"
    raise NotImplementedError(f"usage reports do not support the {vendor} database")


def _db_datetime(value):
    """A datetime as this database's driver takes it (text for SQLite: no default adapters)."""
    return connection.ops.adapt_datetimefield_value(value)


def _py_datetime(value):
    """A timestamp as the raw cursor gives it (text on SQLite), as an aware datetime."""
    if isinstance(value, str):
        value = parse_datetime(value)
    if value is None or not isinstance(value, datetime):
        return value
    if settings.USE_TZ and timezone.is_naive(value):
        value = timezone.make_aware(value, connection.timezone)
    return value


def _states(name, states, params):
    """An IN list of ``states``, as parameters named ``name0``, ``name1``, ..."""
    names = []
    for n, state in enumerate(sorted(states)):
        params[f"{name}{n}"] = state
        names.append(f"%({name}{n})s")
    return "(" + ", ".join(names) + ")"


def _spans_sql(params, *, course_id=None, learner_id=None, anonymous_student_id=None):
    """Each log row before ``until`` with its end (NULL: still in that state at ``until``).

    The filters on the stack apply before the window function: LEAD only looks
    at rows of the same stack, so a stack's spans are the same with or without.
    """
    where = ["l.created_at < %(until)s"]
    for column, value in (("course_id", course_id), ("learner_id", learner_id),
                          ("anonymous_student_id", anonymous_student_id)):
        if value is not None:
            where.append(f"f.{column} = %(f_{column})s")
            params[f"f_{column}"] = value
    join = f"JOIN {Stack._meta.db_table} f ON f.id = l.stack_id" if len(where) > 1 else ""
    return (f"SELECT l.stack_id, l.to_status, l.created_at AS started, "
            f"LEAD(l.created_at) OVER (PARTITION BY l.stack_id ORDER BY l.created_at, l.id) AS ended "
            f"FROM {StackLog._meta.db_table} l {join} WHERE {' AND '.join(where)}")


def _aware(value):
    if value is not None and settings.USE_TZ and timezone.is_naive(value):
        value = timezone.make_aware(value)  # in the current time zone, as the ORM reads a naive one
    return value


def _window(since, until):
    since, until = _aware(since), timezone.now() if until is None else _aware(until)
    if since is not None and since >= until:
        raise ValueError(f"the window is empty: since ({since.isoformat()}) is not before until "
                         f"({until.isoformat()})")
    return since, until


def _params(since, until):
    params = {"until": _db_datetime(until)}
    if since is not None:
        params["since"] = _db_datetime(since)
    return params


def _totals_sql(since, until, filters, *, usernames=False, running_states=RUNNING):
    seconds, greatest = _vendor_sql()
    params = _params(since, until)
    spans = _spans_sql(params, **filters)
    # The last row before until is in its state up to until; every other row ends before until.
    end = "COALESCE(w.ended, %(until)s)"
    if since is None:
        start, where, counted = "w.started", "", ""
    else:
        start = greatest.format(a="w.started", b="%(since)s")
        # Rows over before the window add nothing (those at since itself may be a launch).
        where = f"WHERE {end} > %(since)s OR w.started >= %(since)s"
        counted = " AND w.started >= %(since)s"
    running = seconds.format(cond=f"w.to_status IN {_states('run', running_states, params)}", a=start, b=end)
    suspended = seconds.format(cond=f"w.to_status IN {_states('sus', SUSPENDED, params)}", a=start, b=end)
    launches = f"COUNT(CASE WHEN w.to_status = %(launch)s{counted} THEN 1 END)"
    resumes = f"COUNT(CASE WHEN w.to_status = %(resume)s{counted} THEN 1 END)"
    params.update(launch=LAUNCH, resume=RESUME)
    keys = "s.course_id, s.anonymous_student_id, s.learner_id, s.provider"
    user_join = ""
    if usernames:
        from django.contrib.auth import get_user_model
        user = get_user_model()
        quote = connection.ops.quote_name
        user_join = (f"LEFT JOIN {quote(user._meta.db_table)} u ON u.{quote(user._meta.pk.column)} = s.learner_id")
        keys += f", u.{quote(user._meta.get_field(user.USERNAME_FIELD).column)}"
    sql = f"""
        SELECT {keys}, SUM(t.running), SUM(t.suspended), SUM(t.launches), SUM(t.resumes)
          FROM (SELECT w.stack_id, {running} AS running, {suspended} AS suspended,
                       {launches} AS launches, {resumes} AS resumes
                  FROM ({spans}) w
                  {where}
                 GROUP BY w.stack_id) t
          JOIN {Stack._meta.db_table} s ON s.id = t.stack_id
          {user_join}
         GROUP BY {keys}
        HAVING SUM(t.running) > 0 OR SUM(t.suspended) > 0 OR SUM(t.launches) > 0 OR SUM(t.resumes) > 0
         ORDER BY {keys}"""
    return sql, params


def _usages(since, until, filters, *, usernames=False, running_states=RUNNING):
    """[(Usage, username or None)]; the username only when asked for."""
    since, until = _window(since, until)
    sql, params = _totals_sql(since, until, filters, usernames=usernames, running_states=running_states)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    usages = []
    for row in rows:
        course, anonymous, learner, provider = row[:4]
        running, suspended, launches, resumes = row[-4:]
        usage = Usage(course_id=course, anonymous_student_id=anonymous, learner_id=learner, provider=provider,
                      running_seconds=float(running or 0), suspended_seconds=float(suspended or 0),
                      launches=int(launches or 0), resumes=int(resumes or 0))
        usages.append((usage, row[4] if usernames else None))
    return usages


def totals(since=None, until=None, *, course_id=None, learner_id=None, anonymous_student_id=None):
    """Usage per (course_id, anonymous_student_id, learner_id, provider) over
    ``[since, until]`` (until: now; since None: from the first log row), in
    that order. The filters, when given, narrow it to a course or a learner."""
    filters = {"course_id": course_id, "learner_id": learner_id, "anonymous_student_id": anonymous_student_id}
    return [usage for usage, _ in _usages(since, until, filters)]


def _one_learner(learner_id, anonymous_student_id):
    if learner_id is not None:
        return {"learner_id": learner_id}
    if anonymous_student_id is not None:
        return {"anonymous_student_id": anonymous_student_id}
    raise ValueError("name the learner: learner_id or anonymous_student_id")


def running_seconds(since, until, *, learner_id=None, anonymous_student_id=None):
    """One learner's running seconds over ``[since, until]`` as their usage
    limit counts them (LEARNER_RUNNING), all courses and labs together (two
    labs up at once count twice). ``learner_id`` when given, else
    ``anonymous_student_id``."""
    filters = {"course_id": None, "learner_id": None, "anonymous_student_id": None,
               **_one_learner(learner_id, anonymous_student_id)}
    return sum(usage.running_seconds
               for usage, _ in _usages(since, until, filters, running_states=LEARNER_RUNNING))


def running_spans(since, until, *, learner_id=None, anonymous_student_id=None):
    """One learner's running spans, (start, end) clipped to ``[since, until]``,
    oldest first. Spans of one stack that follow on from each other are one
    span; spans of different stacks are kept apart (they may overlap), so their
    lengths add up to ``running_seconds``."""
    learner = _one_learner(learner_id, anonymous_student_id)
    since, until = _window(since, until)
    params = _params(since, until)
    spans = _spans_sql(params, **learner)
    running = _states("run", LEARNER_RUNNING, params)
    sql = f"SELECT w.stack_id, w.started, w.ended FROM ({spans}) w WHERE w.to_status IN {running}"
    if since is not None:
        sql += " AND (w.ended IS NULL OR w.ended > %(since)s)"
    sql += " ORDER BY w.stack_id, w.started"
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    merged = []  # [stack, start, end]
    for stack_id, started, ended in rows:
        started, ended = _py_datetime(started), _py_datetime(ended)
        start = started if since is None else max(started, since)
        end = until if ended is None else min(ended, until)
        if end <= start:
            continue
        if merged and merged[-1][0] == stack_id and merged[-1][2] >= start:
            merged[-1][2] = max(merged[-1][2], end)
        else:
            merged.append([stack_id, start, end])
    return sorted(((start, end) for _, start, end in merged))


# --- reports -----------------------------------------------------------------------------------------------------

def _price(prices, provider):
    price = (prices or {}).get(provider)
    if price is None:
        return None
    return float(price.get("running", 0) or 0), float(price.get("suspended", 0) or 0)


def report(group, since=None, until=None, *, prices=None, course_id=None, currency=""):
    """Usage and cost per learner (``group="learner"``) or per course
    (``"course"``) over ``[since, until]``, as a list of dicts sorted by course
    and learner.

    ``prices``: provider -> {"running": per hour, "suspended": per hour}. A
    provider without a price costs 0 and makes its rows' ``priced`` False
    (unless it billed no hours). ``cost_always_running`` is the bill had
    nothing been suspended: all hours at the running price; ``saving`` is the
    difference, in ``currency``.
    """
    if group not in GROUPS:
        raise ValueError(f"unknown group {group!r}: use one of {', '.join(GROUPS)}")
    filters = {"course_id": course_id, "learner_id": None, "anonymous_student_id": None}
    groups, names = {}, {}
    for usage, username in _usages(since, until, filters, usernames=group == "learner"):
        if group == "learner":
            key = (usage.course_id, usage.anonymous_student_id, usage.learner_id)
            names[key] = username or ""
        else:
            key = (usage.course_id,)
        acc = groups.get(key)
        if acc is None:
            acc = groups[key] = {"running": 0.0, "suspended": 0.0, "launches": 0, "resumes": 0, "cost": 0.0,
                                 "always": 0.0, "priced": True, "learners": set()}
        running, suspended = usage.running_seconds / 3600, usage.suspended_seconds / 3600
        acc["running"] += running
        acc["suspended"] += suspended
        acc["launches"] += usage.launches
        acc["resumes"] += usage.resumes
        acc["learners"].add(usage.anonymous_student_id)
        price = _price(prices, usage.provider)
        if price is None:
            if running or suspended:
                acc["priced"] = False
        else:
            acc["cost"] += running * price[0] + suspended * price[1]
            acc["always"] += (running + suspended) * price[0]

    rows = []
    for key, acc in groups.items():
        row = {"course_id": key[0]}
        if group == "learner":
            row["anonymous_student_id"] = key[1]
            row["learner"] = names[key]
        else:
            row["learners"] = len(acc["learners"])
        row.update(hours_running=round(acc["running"], HOURS_DIGITS),
                   hours_suspended=round(acc["suspended"], HOURS_DIGITS),
                   launches=acc["launches"], resumes=acc["resumes"],
                   cost=round(acc["cost"], MONEY_DIGITS), cost_always_running=round(acc["always"], MONEY_DIGITS),
                   saving=round(acc["always"] - acc["cost"], MONEY_DIGITS), currency=currency,
                   priced=acc["priced"])
        rows.append(row)
    rows.sort(key=lambda row: (row["course_id"], row.get("learner", ""), row.get("anonymous_student_id", "")))
    return rows


def write_csv(rows, stream):
    """``rows`` (a report) as CSV to ``stream``: a header, then one line per row.
    The columns are the report's, in its order; no rows, no lines."""
    rows = list(rows)
    if not rows:
        return
    columns = list(rows[0])
    writer = csv.DictWriter(stream, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)


def to_json(rows):
    """``rows`` (a report) as a JSON list."""
    return json.dumps(list(rows))
