"""How long the usage reports take on a big stack log: learner and course
reports over 30 days and over the last 7, and one learner's running seconds.

    .venv/bin/python bench/usage.py [--rows 1000000] [--per-stack 20] [--runs 5] [--explain] [--vacuum]

Generates ``rows`` log rows (stacks of ``per-stack`` rows each: a launch, then
suspends and resumes, some failures, some deletes, over 30 days; several
courses and providers) in time order, ANALYZEs (--vacuum: VACUUM ANALYZE), then
times each query (median of ``runs``).

Needs PostgreSQL on 127.0.0.1:5432 (user postgres). Uses (and replaces) the
database hastexo_lab_bench_usage.
"""

import argparse
import io
import os
import random
import statistics
import sys
import time
from datetime import timedelta

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [ROOT]
DB_NAME = "hastexo_lab_bench_usage"
os.environ.update(DJANGO_SETTINGS_MODULE="tests.project.settings", HASTEXO_LAB_TEST_DB="postgresql",
                  HASTEXO_LAB_TEST_DB_NAME=DB_NAME)

COURSES = [f"course-v1:Org+Lab{n}+2024" for n in range(12)]
PROVIDERS = ["cloud-a", "cloud-b", "cloud-c"]
PRICES = {"cloud-a": {"running": 0.12, "suspended": 0.01}, "cloud-b": {"running": 0.10, "suspended": 0.02}}
DAYS = 30
# The window function's order, so that it reads the log in order without sorting.
def recreate_database():
    import psycopg
    with psycopg.connect("host=127.0.0.1 user=postgres dbname=postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DB_NAME}")
        conn.execute(f"CREATE DATABASE {DB_NAME}")


def one_life(rng, rows):
    """``rows`` (status, seconds after the previous row) of a plausible lab."""
    from hastexo_lab import lifecycle as lc
    steps = [(lc.LAUNCH_PENDING, 0.0)]

    def add(status, seconds):
        steps.append((status, seconds))

    while len(steps) < rows:
        status = steps[-1][0]
        if status == lc.LAUNCH_PENDING:
            add(lc.CREATE_IN_PROGRESS, rng.uniform(0.2, 3))
        elif status == lc.CREATE_IN_PROGRESS:
            add(lc.CREATE_COMPLETE if rng.random() > 0.03 else lc.CREATE_FAILED, rng.uniform(60, 400))
        elif status in (lc.CREATE_FAILED, lc.DELETE_COMPLETE):
            add(lc.LAUNCH_PENDING, rng.expovariate(1 / 3600))
        elif status in (lc.CREATE_COMPLETE, lc.RESUME_COMPLETE):
            if rng.random() < 0.05:
                add(lc.DELETE_PENDING, rng.expovariate(1 / 3600))
            else:
                add(lc.SUSPEND_PENDING, rng.expovariate(1 / 5400))  # a session, then the suspend timeout
        elif status == lc.SUSPEND_PENDING:
            add(lc.SUSPEND_IN_PROGRESS, rng.uniform(0.1, 2))
        elif status == lc.SUSPEND_IN_PROGRESS:
            add(lc.SUSPEND_COMPLETE if rng.random() > 0.02 else lc.SUSPEND_FAILED, rng.uniform(20, 120))
        elif status == lc.SUSPEND_FAILED:
            add(lc.SUSPEND_PENDING, rng.uniform(60, 600))
        elif status == lc.SUSPEND_COMPLETE:
            add(lc.RESUME_PENDING, rng.expovariate(1 / 86400))  # the learner comes back, a day later
        elif status == lc.RESUME_PENDING:
            add(lc.RESUME_IN_PROGRESS, rng.uniform(0.2, 3))
        elif status == lc.RESUME_IN_PROGRESS:
            add(lc.RESUME_COMPLETE if rng.random() > 0.02 else lc.RESUME_FAILED, rng.uniform(30, 200))
        elif status == lc.RESUME_FAILED:
            add(lc.RESUME_PENDING, rng.uniform(30, 600))
        elif status == lc.DELETE_PENDING:
            add(lc.DELETE_IN_PROGRESS, rng.uniform(0.2, 3))
        elif status == lc.DELETE_IN_PROGRESS:
            add(lc.DELETE_COMPLETE, rng.uniform(20, 120))
    return steps


def generate(total_rows, per_stack, *, vacuum, seed=42):
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.utils import timezone

    from hastexo_lab import lifecycle as lc
    from hastexo_lab import usage
    from hastexo_lab.models import Stack, StackLog

    rng = random.Random(seed)
    now = timezone.now()
    begin = now - timedelta(days=DAYS)
    n_stacks = max(1, total_rows // per_stack)
    n_learners = max(1, n_stacks * 2 // 5)
    user = get_user_model()
    user.objects.bulk_create([user(username=f"learner{n}") for n in range(n_learners)], batch_size=10000)
    user_ids = list(user.objects.order_by("pk").values_list("pk", flat=True))

    stacks = []
    for n in range(n_stacks):
        who = rng.randrange(n_learners)
        course = COURSES[(who + rng.randrange(3)) % len(COURSES)]
        learner = user_ids[who] if who % 5 else None  # some learners without a user row (deleted)
        stacks.append(Stack(name=f"hxl-bench-{n}", course_id=course, learner_id=learner,
                            anonymous_student_id=f"anon-{who}-{COURSES.index(course)}", status=lc.LAUNCH_PENDING,
                            status_changed_at=now, provider=rng.choice(PROVIDERS)))
    Stack.objects.bulk_create(stacks, batch_size=10000)
    stack_ids = list(Stack.objects.order_by("pk").values_list("pk", flat=True))

    log_rows, statuses = [], []
    for stack_id in stack_ids:
        steps = one_life(rng, per_stack)
        span = sum(seconds for _, seconds in steps)
        scale = min(1.0, DAYS * 86400 * 0.95 / span) if span else 1.0
        if steps[-1][0] in usage.RUNNING:  # still up: a session under way now
            when = now - timedelta(seconds=span * scale + rng.uniform(0, 5400))
        else:
            when = begin + timedelta(seconds=rng.uniform(0, max(0.0, DAYS * 86400 - span * scale)))
        previous = ""
        for status, seconds in steps:
            when += timedelta(seconds=seconds * scale)
            log_rows.append((when, stack_id, previous, status))
            previous = status
        statuses.append((stack_id, previous, when))
    # In the order the lifecycles wrote them: by time, the stacks interleaved.
    log_rows.sort()
    buffer = io.StringIO()
    for when, stack_id, previous, status in log_rows:
        buffer.write(f"{stack_id}\t{previous}\t{status}\t\t\t{when.isoformat()}\n")
    del log_rows
    log_table = StackLog._meta.db_table
    with connection.cursor() as cursor:
        raw = cursor.cursor
        with raw.copy(f"COPY {log_table} (stack_id, from_status, to_status, reason, task_id, created_at) "
                      f"FROM STDIN") as copy:
            copy.write(buffer.getvalue())
        # The stacks' current status, as the log leaves them.
        raw.execute("CREATE TEMP TABLE last_status (id bigint, status text, changed timestamptz)")
        with raw.copy("COPY last_status FROM STDIN") as copy:
            copy.write("".join(f"{i}\t{s}\t{w.isoformat()}\n" for i, s, w in statuses))
        raw.execute(f"UPDATE {Stack._meta.db_table} s SET status = l.status, status_changed_at = l.changed "
                    f"FROM last_status l WHERE s.id = l.id")
        raw.execute(f"ANALYZE {Stack._meta.db_table}")
        # VACUUM leaves the table as autovacuum would an append-only one: all pages
        # visible, which index-only scans need.
        raw.execute(f"VACUUM (ANALYZE) {log_table}" if vacuum else f"ANALYZE {log_table}")
        raw.execute(f"SELECT count(*) FROM {log_table}")
        counted = raw.fetchone()[0]
    return now, counted, n_stacks, user_ids


def timed(function, runs):
    times, result = [], None
    for _ in range(runs):
        started = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - started)
    return statistics.median(times), min(times), result


def explain(since, until):
    from django.db import connection

    from hastexo_lab import usage
    sql, params = usage._totals_sql(since, until, {"course_id": None, "learner_id": None,
                                                  "anonymous_student_id": None})
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
        print("\n".join(row[0] for row in cursor.fetchall()))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--per-stack", type=int, default=20)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--explain", action="store_true", help="EXPLAIN ANALYZE the 30-day aggregation")
    parser.add_argument("--vacuum", action="store_true", help="VACUUM the log after loading it, not just ANALYZE")
    args = parser.parse_args()

    recreate_database()
    import django
    django.setup()
    from django.core.management import call_command
    call_command("migrate", run_syncdb=True, verbosity=0)

    from hastexo_lab import usage

    started = time.perf_counter()
    now, rows, stacks, user_ids = generate(args.rows, args.per_stack, vacuum=args.vacuum)
    print(f"{rows} log rows, {stacks} stacks, {len(user_ids)} users, {len(COURSES)} courses, "
          f"{len(PROVIDERS)} providers; generated in {time.perf_counter() - started:.1f} s")
    month, week = now - timedelta(days=DAYS), now - timedelta(days=7)
    learner = user_ids[1]
    cases = [
        ("report learner, 30 days", lambda: usage.report("learner", month, now, prices=PRICES)),
        ("report course, 30 days", lambda: usage.report("course", month, now, prices=PRICES)),
        ("report learner, 7 days", lambda: usage.report("learner", week, now, prices=PRICES)),
        ("report course, all time", lambda: usage.report("course", None, now, prices=PRICES)),
        ("report learner, 1 course", lambda: usage.report("learner", month, now, prices=PRICES,
                                                          course_id=COURSES[0])),
        ("running_seconds, 1 learner", lambda: usage.running_seconds(month, now, learner_id=learner)),
        ("running_spans, 1 learner", lambda: usage.running_spans(month, now, learner_id=learner)),
    ]
    for name, function in cases:
        median, best, result = timed(function, args.runs)
        size = f"{len(result)} rows" if isinstance(result, list) else f"{result:.0f} s"
        print(f"{name:28} median {median:7.3f} s  min {best:7.3f} s  ({size})")
    if args.explain:
        explain(month, now)


if __name__ == "__main__":
    main()
