"""How long after the cloud is done a learner sees "ready": launches, resumes
and resets through the block's real handlers, with the page's own polling
schedule (lab.js: status polls 1 s apart, growing by half up to the status
interval), a real worker (threads) and the fake cloud with machines.

For each run it reports page-open to ready minus the cloud's own time (Heat's
create, resume or delete + create, and the machine's boot), p50 and p95, and
the requests one learner's page makes per minute.

    .venv/bin/python bench/ready.py [--launches 50] [--resumes 50] [--resets 20] [--parallel 10]

Needs PostgreSQL on 127.0.0.1:5432 and root (machines on port 22). Uses (and
replaces) the database hastexo_lab_bench.
"""

import argparse
import json
import math
import os
import re
import statistics
import sys
import threading
import time
from datetime import UTC

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [ROOT, os.path.join(ROOT, "cloudsim")]
os.environ.update(DJANGO_SETTINGS_MODULE="tests.project.settings", HASTEXO_LAB_TEST_DB="postgresql",
                  HASTEXO_LAB_TEST_DB_NAME="hastexo_lab_bench", HASTEXO_LAB_TEST_VISIBILITY="3600")

DURATIONS = {"create": 5.0, "suspend": 2.0, "resume": 3.0, "delete": 2.0}
BOOT = 1.0
SCENARIO = "hastexo_lab.0"
STATUS_MAX = 15.0  # js_timeouts.status, the default


class Page:
    """One learner's lab page, as lab.js drives it (the status side)."""

    def __init__(self, student):
        from django.test import Client
        self.client, self.student, self.requests = Client(), student, 0
        page = self.client.get(f"/scenario/{SCENARIO}/?student={student}").content.decode()
        self.usage = re.search(r"data-usage=['\"]([^'\"]+\.hastexo_lab\.[^'\"]+)['\"]", page).group(1)

    def call(self, handler, data):
        self.requests += 1
        url = f"/handler/{self.usage}/{handler}/?student={self.student}"
        return self.client.post(url, json.dumps(data), content_type="application/json").json()

    def wait_ready(self, reply):
        """Poll status on lab.js's schedule until the phase is ready; returns when.
        A reply that says when to ask next (``poll_in``, ms) is followed."""
        delay = 1.0
        while reply["phase"] != "ready":
            if reply["phase"] != "absent":  # gone after a reset: lab.js asks for the fresh lab at once
                time.sleep(reply["poll_in"] / 1000 if "poll_in" in reply else delay)
            reply = self.call("status", {"launch": reply["phase"] == "absent"})
            delay = min(delay * 1.5, STATUS_MAX)
        return time.time()


DETAIL = []


def launch(student):
    page = Page(student)
    began = time.time()
    ready = page.wait_ready(page.call("status", {"launch": True}))
    if DETAIL:
        from hastexo_lab.models import Stack
        stack = Stack.objects.get(anonymous_student_id=student)
        marks = {e.to_status: e.created_at.timestamp() - began for e in stack.log.all()}
        reachable = stack.reachable_at.timestamp() - began
        print(f"  {student}: in progress {marks.get('CREATE_IN_PROGRESS', 0):.2f}, "
              f"complete {marks.get('CREATE_COMPLETE', 0):.2f}, reachable {reachable:.2f}, "
              f"page ready {ready - began:.2f} ({page.requests} requests)")
    return ready - began - DURATIONS["create"] - BOOT, page


def resume(page):
    from hastexo_lab import api
    from hastexo_lab.models import Stack
    stack = Stack.objects.get(anonymous_student_id=page.student)
    api.suspend(stack)
    while Stack.objects.get(pk=stack.pk).status != "SUSPEND_COMPLETE":
        time.sleep(0.1)
    page.requests = 0
    began = time.time()
    ready = page.wait_ready(page.call("status", {"launch": True}))  # the page opened again
    return ready - began - DURATIONS["resume"], page.requests


def reset(page):
    began = time.time()
    reply = page.call("reset", {"confirm": True})
    time.sleep(1.0)  # lab.js: the first poll after a reset
    ready = page.wait_ready(page.call("status", {"launch": reply["phase"] == "absent"}))
    if DETAIL:
        from datetime import datetime

        from hastexo_lab.models import Stack
        stack = Stack.objects.get(anonymous_student_id=page.student)
        since = datetime.fromtimestamp(began, UTC)
        marks = ", ".join(f"{e.to_status} {e.created_at.timestamp() - began:.2f}"
                          for e in stack.log.filter(created_at__gte=since))
        print(f"  reset {page.student}: {marks}, reachable {stack.reachable_at.timestamp() - began:.2f}, "
              f"page ready {ready - began:.2f} ({page.requests} requests)")
    return ready - began - DURATIONS["delete"] - DURATIONS["create"] - BOOT


def in_parallel(function, items, parallel):
    results, lock, queue = [], threading.Lock(), list(items)

    def work():
        from django.db import connection
        while True:
            with lock:
                if not queue:
                    break
                item = queue.pop()
            value = function(item)
            with lock:
                results.append(value)
        connection.close()
    threads = [threading.Thread(target=work) for _ in range(parallel)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def report(name, overheads):
    overheads = sorted(overheads)
    p95 = overheads[math.ceil(len(overheads) * 0.95) - 1]  # nearest rank
    print(f"{name:8} n={len(overheads):3}  p50 {statistics.median(overheads):5.2f} s  p95 {p95:5.2f} s  "
          f"max {overheads[-1]:5.2f} s  (after the cloud's own time)")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--launches", type=int, default=50)
    parser.add_argument("--resumes", type=int, default=50)
    parser.add_argument("--resets", type=int, default=20)
    parser.add_argument("--parallel", type=int, default=10)
    parser.add_argument("--detail", action="store_true", help="the steps of each launch")
    args = parser.parse_args()
    if args.detail:
        DETAIL.append(True)

    from benchdb import recreate_database
    recreate_database()
    from hastexo_cloudsim import CloudConfig, CloudSim
    cloud = CloudSim(CloudConfig(port=0, durations=dict(DURATIONS), boot_time=BOOT)).start()
    os.environ["HASTEXO_LAB_TEST_SETTINGS"] = json.dumps({
        "providers": {"default": cloud.provider_config()}, "template_dir": os.path.join(ROOT, "samples", "hot"),
        "suspend_timeout": 3600})
    import django
    django.setup()
    from celery.contrib.testing.worker import start_worker
    from django.core.management import call_command

    from hastexo_lab.celery import app
    call_command("migrate", run_syncdb=True, verbosity=0)  # the workbench's tables have no migrations
    try:
        with start_worker(app, pool="threads", concurrency=8, perform_ping_check=False, queues=["hastexo_lab"],
                          loglevel="WARNING"):
            Page("warm-up")  # the workbench loads its scenarios at the first request, not thread-safely
            started = time.time()
            launched = in_parallel(launch, [f"bench{n}" for n in range(args.launches)], args.parallel)
            report("launch", [overhead for overhead, _ in launched])
            print(f"         (the first {args.parallel} had no history at this provider: "
                  f"{', '.join(f'{o:.2f}' for o, _ in launched[:args.parallel])} s)")
            report("launch*", [overhead for overhead, _ in launched[args.parallel:]])
            pages = [page for _, page in launched]
            resumed = in_parallel(resume, pages[:args.resumes], args.parallel)
            report("resume", [overhead for overhead, _ in resumed])
            report("reset", in_parallel(reset, pages[:args.resets], args.parallel))
            minutes = [(requests / max(1e-9, (overhead + DURATIONS["resume"]) / 60)) for overhead, requests in resumed]
            print(f"status requests per learner per minute while waiting for a resume: "
                  f"{statistics.median(minutes):.1f} (median)")
            print(f"status requests per resume (the whole wait): "
                  f"{statistics.median([requests for _, requests in resumed]):.1f} (median)")
            print(f"total {time.time() - started:.0f} s")
    finally:
        cloud.stop()


if __name__ == "__main__":
    main()
