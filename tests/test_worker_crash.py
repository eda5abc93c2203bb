"""A worker killed in the middle of a task: the task runs again elsewhere, and
the stack still ends up right, created once.

Needs a broker and a database that two processes share, so it runs in the
PostgreSQL + Redis pass of the suite (see the Makefile).
"""

import json
import os
import signal
import subprocess
import sys

import pytest
from django.db import connection

from hastexo_lab import api
from hastexo_lab import lifecycle as lc

from .conftest import FAST_LAB
from .helpers import ROOT, sample_template, wait_until

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not os.environ.get("HASTEXO_LAB_TEST_BROKER", "").startswith("redis")
                       or os.environ.get("HASTEXO_LAB_TEST_DB") not in ("postgresql", "mysql"),
                       reason="needs Redis and a database server shared between processes (the services passes)"),
]


def lab_settings(cloud):
    # Short request timeouts: a create that has not answered within them
    # cannot land any more, so the redelivered launch may create again.
    provider = dict(cloud.provider_config(), connect_timeout=1, read_timeout=4)
    return dict(FAST_LAB, providers={"cloud-a": provider})


def start_worker_process(cloud, name):
    env = dict(os.environ,
               DJANGO_SETTINGS_MODULE="tests.project.settings",
               HASTEXO_LAB_TEST_DB_NAME=connection.settings_dict["NAME"],
               HASTEXO_LAB_TEST_SETTINGS=json.dumps(lab_settings(cloud)))
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "hastexo_lab.celery:app", "worker", "-Q", "hastexo_lab",
         "-P", "solo", "-n", f"{name}@%h", "--without-heartbeat", "--without-mingle", "--without-gossip",
         "-l", "warning"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def test_worker_killed_during_create(celery_app, cloud, settings):
    settings.XBLOCK_SETTINGS = {"hastexo_lab": lab_settings(cloud)}
    cloud.faults.add("create", "slow", delay=2.0)
    first = start_worker_process(cloud, "first")
    second = None
    try:
        stack = api.launch("c", "learner1", [{"name": "cloud-a", "capacity": -1,
                                               "template": sample_template(), "environment": ""}])
        wait_until(lambda: cloud.request_counts().get("create") == 1, timeout=30,
                   what="the first worker to call Heat")
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
        # Heat still finishes the create the dead worker asked for.
        second = start_worker_process(cloud, "second")

        def ready():
            stack.refresh_from_db()
            return stack.status == lc.CREATE_COMPLETE
        wait_until(ready, timeout=60, what="the redelivered launch to finish")
        assert cloud.heat.stack_count() == 1
        assert cloud.request_counts()["create"] == 2  # the second one answered 409 and was adopted
        assert stack.secrets()["private_key"]
    finally:
        for proc in (first, second):
            if proc is not None and proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    proc.kill()
