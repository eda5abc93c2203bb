"""The suspender at scale, on PostgreSQL and Redis.

1. Seeds 100,000 stacks (1% of them idle past their deadline) and times one
   suspender tick: select + claim + publish of the 1,000 idle stacks, over
   several runs; shows the query plan of the select; compares publishing in
   batches with one message per stack.
2. End to end: 1,000 stacks that exist at a fake cloud go idle together; a
   real worker (threads) suspends them; reports the time until all are
   SUSPEND_COMPLETE, next to the Heat suspend time.

    .venv/bin/python bench/suspender.py [--stacks 100000] [--idle 1000]

Needs PostgreSQL on 127.0.0.1:5432 and Redis on 127.0.0.1:6379. Uses (and
replaces) the database hastexo_lab_bench and Redis database 14.
"""

import argparse
import os
import statistics
import sys
import time
from datetime import timedelta

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
os.environ.update(DJANGO_SETTINGS_MODULE="tests.project.settings", HASTEXO_LAB_TEST_DB="postgresql",
                  HASTEXO_LAB_TEST_DB_NAME="hastexo_lab_bench",
                  HASTEXO_LAB_TEST_BROKER="redis://127.0.0.1:6379/14",
                  # As in production: a message waiting for a free worker thread is not redelivered.
                  HASTEXO_LAB_TEST_VISIBILITY="3600")


from benchdb import recreate_database  # noqa: E402 (after the environment above)


def seed(total, idle, providers=("cloud-a", "cloud-b")):
    from django.utils import timezone

    from hastexo_lab import lifecycle as lc
    from hastexo_lab.models import Stack

    now = timezone.now()
    busy_states = [lc.CREATE_COMPLETE, lc.RESUME_COMPLETE, lc.SUSPEND_COMPLETE, lc.DELETE_COMPLETE,
                   lc.SUSPEND_COMPLETE, lc.SUSPEND_COMPLETE]
    rows = []
    for i in range(total):
        is_idle = i < idle
        status = lc.CREATE_COMPLETE if is_idle else busy_states[i % len(busy_states)]
        rows.append(Stack(
            name=f"hxl-bench-{i}", course_id=f"course-v1:Org+C{i % 50}+R", anonymous_student_id=f"anon{i}",
            status=status, status_changed_at=now, provider=providers[i % len(providers)],
            suspend_by=now - timedelta(seconds=5) if is_idle else now + timedelta(seconds=60 + i % 3600),
            last_activity=now, reachable_at=now, provider_stack_id=f"id-{i}"))
    Stack.objects.bulk_create(rows, batch_size=5000)
    from django.db import connection
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE hastexo_lab_stack")


def query_plan():
    from django.db import connection
    from django.utils import timezone

    from hastexo_lab import lifecycle as lc
    from hastexo_lab.models import Stack

    query = (Stack.objects.filter(status__in=list(lc.UP), suspend_by__lte=timezone.now(), provider="cloud-a")
             .order_by("suspend_by").values_list("pk", "status", "name")[:1000])
    sql, params = query.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN " + sql + " FOR UPDATE SKIP LOCKED", params)
        return "\n".join(row[0] for row in cursor.fetchall())


def time_ticks(runs, batch):
    """Time ticks of the suspender: the claim (select + update + log rows) and
    the publishing of the suspend tasks to Redis, separately and together."""
    from hastexo_lab import lifecycle as lc
    from hastexo_lab import sweeps, tasks
    from hastexo_lab.models import Stack

    default_batch, tasks.BATCH = tasks.BATCH, batch
    claims, publishes = [], []
    for _ in range(runs):
        outbox = []
        started = time.perf_counter()
        claimed = sweeps.suspend_idle(send=outbox.extend)
        claimed_at = time.perf_counter()
        tasks.enqueue_many(outbox)
        published_at = time.perf_counter()
        claims.append((claimed_at - started) * 1000)
        publishes.append((published_at - claimed_at) * 1000)
        # Put them back for the next run (not a transition: this is a benchmark).
        Stack.objects.filter(pk__in=claimed).update(status=lc.CREATE_COMPLETE)
    purge()
    tasks.BATCH = default_batch
    totals = [c + p for c, p in zip(claims, publishes, strict=True)]
    return len(claimed), claims, publishes, totals


def purge():
    from hastexo_lab.celery import app
    with app.connection_for_write() as conn:
        conn.default_channel.queue_purge("hastexo_lab")


def end_to_end(idle, suspend_time):
    """The cloud and the worker in processes of their own, as in production."""
    import json
    import subprocess

    from django.db import connection
    from django.utils import timezone

    from hastexo_lab import lifecycle as lc
    from hastexo_lab import sweeps
    from hastexo_lab.models import Stack
    from hastexo_lab.providers import make_provider
    with connection.cursor() as cursor:
        # Not DELETE: 100,000 dead rows would slow every query that follows.
        cursor.execute("TRUNCATE hastexo_lab_stacklog, hastexo_lab_stack")
    purge()
    cloud = subprocess.Popen(
        [sys.executable, "-m", "hastexo_cloudsim", "--port", "0", "--create-time", "0",
         "--suspend-time", str(suspend_time), "--no-machines"], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    lines = []
    while not lines or not lines[-1].startswith("Press Ctrl+C"):
        lines.append(cloud.stdout.readline())
    config = json.loads(next(line for line in lines if '"os_auth_url"' in line).strip())["default"]
    lab = {"providers": {"cloud-a": config}, "poll_initial": 0.5, "poll_max": 2.0, "wait_for_port": False}
    env = dict(os.environ, HASTEXO_LAB_TEST_SETTINGS=json.dumps(lab))
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "hastexo_lab.celery:app", "worker", "-Q", "hastexo_lab",
         "-P", "threads", "-c", "8", "--without-heartbeat", "--without-mingle", "--without-gossip",
         "-l", "warning"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        provider = make_provider("bench", config)
        template = "heat_template_version: 2016-10-14\n"
        now = timezone.now()
        rows = []
        for i in range(idle):
            info = provider.create_stack(f"hxl-e2e-{i}", template)
            rows.append(Stack(name=info.name, provider_stack_id=info.id, course_id="c",
                              anonymous_student_id=f"a{i}", status=lc.CREATE_COMPLETE, status_changed_at=now,
                              provider="cloud-a", suspend_by=now, last_activity=now, reachable_at=now))
        Stack.objects.bulk_create(rows)
        time.sleep(3)  # let the worker come up
        started = time.perf_counter()
        claimed = sweeps.suspend_idle()
        tick = time.perf_counter() - started
        while Stack.objects.filter(status=lc.SUSPEND_COMPLETE).count() < idle:
            if time.perf_counter() - started > 600:
                raise SystemExit("not all suspended after 10 minutes")
            time.sleep(0.2)
        elapsed = time.perf_counter() - started
        import requests
        counts = requests.get(config["os_auth_url"].rsplit("/v3", 1)[0] + "/admin/stats",
                              auth=(config["os_username"], config["os_password"])).json()["requests"]
    finally:
        worker.terminate()
        cloud.terminate()
        worker.wait()
        cloud.wait()
    return len(claimed), tick, elapsed, counts


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--stacks", type=int, default=100_000)
    parser.add_argument("--idle", type=int, default=1_000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--suspend-time", type=float, default=5.0)
    parser.add_argument("--e2e-only", action="store_true", help="skip the 100,000-row tick measurement")
    args = parser.parse_args()

    recreate_database()
    import django
    django.setup()
    from django.core.management import call_command
    call_command("migrate", verbosity=0)

    if args.e2e_only:
        report_end_to_end(args)
        return
    started = time.perf_counter()
    seed(args.stacks, args.idle)
    print(f"seeded {args.stacks} stacks ({args.idle} idle) in {time.perf_counter() - started:.1f} s\n")
    print("query plan of the suspender's select (one provider):")
    print(query_plan(), "\n")
    n, claims, publishes, batched = time_ticks(args.runs, batch=100)
    _, _, single_publishes, single = time_ticks(args.runs, batch=1)
    med = statistics.median
    print(f"suspender tick, {n} idle stacks claimed and published ({args.runs} runs, median ms):")
    print("| part | median | min | max |\n| --- | --- | --- | --- |")
    print(f"| select + claim | {med(claims):.1f} | {min(claims):.1f} | {max(claims):.1f} |")
    print(f"| publish, 100 stacks per message | {med(publishes):.1f} | {min(publishes):.1f} | {max(publishes):.1f} |")
    print(f"| whole tick | {med(batched):.1f} | {min(batched):.1f} | {max(batched):.1f} |")
    print(f"| publish, one message per stack | {med(single_publishes):.1f} | {min(single_publishes):.1f} | "
          f"{max(single_publishes):.1f} |")
    print(f"publishing one message per stack / batched (median): {med(single_publishes) / med(publishes):.1f}x\n")

    report_end_to_end(args)


def report_end_to_end(args):
    claimed, tick, elapsed, counts = end_to_end(args.idle, args.suspend_time)
    print(f"end to end: {claimed} idle stacks, Heat suspend time {args.suspend_time:.1f} s")
    print(f"  suspender tick {tick * 1000:.0f} ms; all SUSPEND_COMPLETE after {elapsed:.1f} s "
          f"({elapsed - args.suspend_time:.1f} s beyond the Heat suspend time)")
    print(f"  Heat requests: {counts}")


if __name__ == "__main__":
    main()
