"""Progress checks have a queue of their own (``check_queue``), consumed by
a worker of its own: checks that hang on a lab do not hold up a launch."""

import os
import threading
import time

import pytest

from hastexo_lab import api, checks, conf, tasks
from hastexo_lab.models import ProgressCheck

from .helpers import wait_until
from .test_tasks import providers, wait_ready

pytestmark = [
    pytest.mark.django_db(transaction=True),
    # Two workers in one process share one app, and on a server broker their
    # choice of queues crosses; tests/test_lms_worker.py runs the two workers
    # as separate processes on Redis, as deployed.
    pytest.mark.skipif(bool(os.environ.get("HASTEXO_LAB_TEST_BROKER")),
                       reason="two workers of one process need the in-process broker; the embedded pass runs it"),
]

LAB_QUEUE, CHECK_QUEUE = "hastexo_lab", "hastexo_lab_checks"
HANG = 20  # seconds each check's script sleeps


@pytest.fixture
def two_workers(celery_app, transactional_db, lab_settings):
    """The lab worker and the check worker, as deployed: each on its queue,
    four threads each."""
    from celery.contrib.testing.worker import TestWorkController, setup_app_for_worker

    lab_settings.XBLOCK_SETTINGS["hastexo_lab"].update(remote_exec_timeout=HANG + 5, check_timeout=HANG + 10)
    lab_settings.XBLOCK_SETTINGS = dict(lab_settings.XBLOCK_SETTINGS)

    def purge():
        with celery_app.connection_for_write() as conn:
            for queue in (LAB_QUEUE, CHECK_QUEUE):
                conn.default_channel.queue_declare(queue, durable=True, auto_delete=False)
                conn.default_channel.queue_purge(queue)

    purge()
    # Two in one process: celery's start_worker() stops workers through one
    # flag shared by all, so these are stopped one by one instead.
    setup_app_for_worker(celery_app, "WARNING", None)
    running = []
    for queue in (LAB_QUEUE, CHECK_QUEUE):
        worker = TestWorkController(app=celery_app, pool="threads", concurrency=4, queues=[queue],
                                    hostname=f"{queue}@test", without_heartbeat=True, without_mingle=True,
                                    without_gossip=True, loglevel="WARNING")
        thread = threading.Thread(target=worker.start, daemon=True)
        thread.start()
        # Started before the next is made: a worker's queues are chosen on
        # the app, which both share, and taken when it starts consuming.
        worker.ensure_started()
        running.append((worker, thread))
    yield
    for worker, thread in running:
        worker.stop(in_sighandler=False)
        thread.join(HANG + 15)
        assert not thread.is_alive(), "a worker did not stop"
    purge()


def test_hanging_checks_do_not_hold_up_a_new_lab(two_workers):
    assert conf.get_settings().check_queue == CHECK_QUEUE
    first = wait_ready(api.launch("course-v1:Org+Lab+2026", "alice", providers("cloud-a")), timeout=15)
    for unit in range(4):  # as many as the lab worker has threads
        check, _ = checks.start(first, anonymous_student_id="alice", usage_id=f"unit-{unit}", total=1)
        tasks.enqueue_check(check.pk, [f"#!/bin/sh\nsleep {HANG}\n"], "training")
    time.sleep(1)  # the checks are taken and hang
    began = time.monotonic()
    wait_ready(api.launch("course-v1:Org+Lab+2026", "bob", providers("cloud-a")), timeout=HANG + 15)
    took = time.monotonic() - began
    assert took < HANG / 2, f"the new lab was ready after {took:.0f} s, behind the checks"
    wait_until(lambda: not ProgressCheck.objects.filter(status="running").exists(), timeout=HANG + 15,
               what="the checks to end")
    assert ProgressCheck.objects.filter(status="done", passed=1).count() == 4
