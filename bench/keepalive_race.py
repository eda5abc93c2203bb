"""The keepalive race harness on PostgreSQL and Redis, with a real worker.

Each round aims a learner's keepalive at the few milliseconds in which a
suspend re-checks the deadline and sends its Heat request, records the
keepalive's commit time and the time the fake cloud received the request,
and counts the rounds in which an active learner's lab stayed suspended
(see tests/keepalive_race.py for the rules).

    .venv/bin/python bench/keepalive_race.py [--rounds 600] [--max-offset-ms 6] [--settle 5]

Needs PostgreSQL on 127.0.0.1:5432 and Redis on 127.0.0.1:6379. Uses (and
replaces) the database hastexo_lab_bench and Redis database 14.
"""

import argparse
import json
import os
import sys
import time

# The suspender benchmark's environment (PostgreSQL, Redis, the project on
# the path), its database and its queue.
from suspender import purge, recreate_database


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=600)
    parser.add_argument("--max-offset-ms", type=float, default=6.0,
                        help="each keepalive starts 0 to this many ms after the suspend")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--settle", type=float, default=5.0,
                        help="seconds a round waits for the lab to be up again before it counts as lost")
    args = parser.parse_args()

    from hastexo_cloudsim import CloudConfig, CloudSim

    from tests.helpers import FAST, sample_template

    recreate_database()
    cloud = CloudSim(CloudConfig(port=0, durations=dict(FAST, suspend=0.02, resume=0.02))).start()
    os.environ["HASTEXO_LAB_TEST_SETTINGS"] = json.dumps({
        "providers": {"cloud-a": cloud.provider_config()}, "poll_initial": 0.05, "poll_max": 0.2,
        "wait_for_port": False})
    import django
    django.setup()
    from celery.contrib.testing.worker import start_worker
    from django.core.management import call_command

    from hastexo_lab.celery import app
    from tests import keepalive_race

    call_command("migrate", verbosity=0)
    app.set_current()
    purge()
    stack = keepalive_race.make_lab("cloud-a", sample_template())
    started = time.perf_counter()
    with start_worker(app, pool="threads", concurrency=4, perform_ping_check=False, queues=["hastexo_lab"],
                      shutdown_timeout=30):
        results = keepalive_race.run(stack, cloud, args.rounds, max_offset_ms=args.max_offset_ms, seed=args.seed,
                                     settle=args.settle)
    cloud.stop()
    print(f"{results.line()} ({time.perf_counter() - started:.0f} s)")
    return 1 if results.lost or results.misinformed else 0


if __name__ == "__main__":
    sys.exit(main())
