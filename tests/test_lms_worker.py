"""The lab worker and beat as the Tutor plugin runs them: its rendered
command lines, with the LMS's own Celery app and settings (old-style names,
the broker URL built from its parts, the platform's router, protocol 1), on
the real Redis and the suite's database server. A launch sent by the LMS is
consumed, the beat's sweeps fire, and the platform's own lms-worker neither
takes lab tasks nor serves the lab's metrics."""

import json
import os
import shlex
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from urllib.parse import urlsplit

import pytest
import yaml
from django.db import connection
from django.utils import timezone

from hastexo_lab import lifecycle as lc
from hastexo_lab.models import ProgressCheck, Stack, StackLog

from .conftest import FAST_LAB
from .helpers import ROOT, sample_template, wait_until
from .test_tutor import tutor_bin

BROKER = os.environ.get("HASTEXO_LAB_TEST_BROKER", "")
pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.timeout(240),
    pytest.mark.skipif(not BROKER.startswith("redis")
                       or os.environ.get("HASTEXO_LAB_TEST_DB") not in ("postgresql", "mysql"),
                       reason="needs Redis and a database server shared between processes (the services passes)"),
]
TUTOR = "22"
# The LMS's broker: the test broker's Redis database, as Tutor's lms.env.yml gives it.
REDIS = urlsplit(BROKER)


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def deployment(tmp_path, cloud):
    """The plugin rendered by Tutor for this cloud; the LMS-shaped platform
    with the rendered settings. Returns (compose services, process env)."""
    binary = tutor_bin(TUTOR)
    if not os.path.exists(binary):
        pytest.fail(f"Tutor {TUTOR} is not installed: make tutor-envs")
    root = tmp_path / "tutor"
    env = dict(os.environ, TUTOR_ROOT=str(root), TUTOR_IGNORE_DICT_PLUGINS="1")
    metrics_port = free_port()
    values = {"HASTEXO_LAB_PROVIDERS": {"cloud-a": cloud.provider_config()},
              "HASTEXO_LAB_SETTINGS": dict(FAST_LAB, suspend_interval=5, reconcile_interval=30),
              "HASTEXO_LAB_WORKER_CONCURRENCY": 1, "HASTEXO_LAB_METRICS_PORT": metrics_port}
    for args in (["plugins", "enable", "hastexo_lab"],
                 ["config", "save", *[f"--set={key}={json.dumps(value)}" for key, value in values.items()]]):
        done = subprocess.run([binary, *args], env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stdout + done.stderr
    platform = tmp_path / "platform"
    shutil.copytree(os.path.join(ROOT, "tests", "lms_shaped"), platform)
    rendered = (root / "env" / "apps" / "openedx" / "settings" / "lms" / "production.py").read_text()
    start = rendered.index("# hastexo_lab: the block's settings")
    patch = rendered[start:rendered.index("########", start)]
    (platform / "lms" / "envs" / "tutor").mkdir()
    (platform / "lms" / "envs" / "tutor" / "__init__.py").write_text("")
    (platform / "lms" / "envs" / "tutor" / "production.py").write_text(
        "from lms.envs.production import *  # noqa\n\n" + patch)
    services = yaml.safe_load((root / "env" / "local" / "docker-compose.yml").read_text())["services"]
    prod = yaml.safe_load((root / "env" / "local" / "docker-compose.prod.yml").read_text())["services"]
    process_env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(platform), ROOT]),
                       PATH=os.pathsep.join([os.path.dirname(sys.executable), os.environ["PATH"]]),
                       HASTEXO_LAB_TEST_DB_NAME=connection.settings_dict["NAME"],
                       LMS_REDIS_ADDRESS=f"{REDIS.hostname}:{REDIS.port or 6379}",
                       LMS_REDIS_DB=REDIS.path.strip("/") or "0")
    process_env.pop("DJANGO_SETTINGS_MODULE", None)
    return {**services, "lms-worker": prod["lms-worker"]}, process_env, metrics_port


class Service:
    """A compose service's command, run here with its environment."""

    def __init__(self, spec, env, log):
        command = spec["command"]
        argv = shlex.split(command) if isinstance(command, str) else list(command)
        self.log = log
        env = dict(env, **{key: str(value) for key, value in (spec.get("environment") or {}).items()})
        self.proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=log.open("w"),
                                     stderr=subprocess.STDOUT)

    def output(self):
        return self.log.read_text(errors="replace")

    def wait_for(self, text, timeout=60):
        deadline = time.monotonic() + timeout
        while text not in self.output():
            assert self.proc.poll() is None, f"exited {self.proc.returncode}:\n{self.output()[-4000:]}"
            assert time.monotonic() < deadline, f"no {text!r} in:\n{self.output()[-4000:]}"
            time.sleep(0.2)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()


@pytest.fixture
def running(tmp_path):
    started = []

    def start(spec, env, name):
        service = Service(spec, env, tmp_path / f"{name}.log")
        started.append(service)
        return service
    yield start
    for service in started:
        service.stop()


LAUNCH = """
import json, sys, django
import lms  # as the LMS does: its Celery app is the one tasks are sent with
django.setup()
from hastexo_lab import api
candidates = json.loads(sys.argv[1])
reply = api.launch_within_limit("course-v1:Org+Lab+2026", "learner-1", candidates, username="training")
print(json.dumps({"phase": reply.get("phase")}))
"""

CHECK = """
import json, django
import lms
django.setup()
from hastexo_lab import checks, tasks
from hastexo_lab.models import Stack
stack = Stack.objects.get(anonymous_student_id="learner-1")
check, _ = checks.start(stack, anonymous_student_id="learner-1", usage_id="unit", total=2)
tasks.enqueue_check(check.pk, ["#!/bin/sh\\nexit 0\\n", "#!/bin/sh\\necho not yet >&2; exit 1\\n"], "training")
print(json.dumps(check.pk))
"""

TOKEN = """
import json, django
django.setup()
from hastexo_lab import conf
print(json.dumps(conf.get_settings().metrics_token))
"""

SCHEDULE = """
import json, django
from lms.celery import APP
django.setup()
print(json.dumps({name: [entry["task"], entry["options"]["queue"]] for name, entry in APP.conf.beat_schedule.items()}))
"""


def metrics_served(port, token):
    request = urllib.request.Request(f"http://127.0.0.1:{port}/metrics", headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request, timeout=2) as reply:
            return reply.status == 200 and b"hastexo_lab" in reply.read()
    except OSError:
        return False


def test_the_rendered_worker_and_beat_use_the_lms_broker_and_settings(deployment, running, cloud):
    services, env, metrics_port = deployment
    env = dict(env, DJANGO_SETTINGS_MODULE="lms.envs.tutor.production")
    # The platform's own worker, as Tutor runs it, with the block installed: no lab metrics, no lab tasks.
    platform_worker = running(services["lms-worker"], env, "lms-worker")
    platform_worker.wait_for("ready.")
    token = json.loads(subprocess.run([sys.executable, "-c", TOKEN], cwd=ROOT, env=env, capture_output=True,
                                      text=True, timeout=60, check=True).stdout)
    assert not metrics_served(metrics_port, token), "the platform's lms-worker serves the lab's metrics"
    worker = running(services["hastexo-lab-worker"], env, "hastexo-lab-worker")
    worker.wait_for("ready.")
    wait_until(lambda: metrics_served(metrics_port, token), timeout=10, what="the lab worker's metrics")

    # The beat has the sweeps, on the lab queue, from the rendered settings.
    schedule = subprocess.run([sys.executable, "-c", SCHEDULE], cwd=ROOT, env=env, capture_output=True,
                              text=True, timeout=60)
    assert schedule.returncode == 0, schedule.stderr[-4000:]
    entries = json.loads(schedule.stdout.strip().splitlines()[-1])
    for sweep in ("hastexo_lab.suspender", "hastexo_lab.reaper", "hastexo_lab.reconciler"):
        assert entries[sweep] == [sweep, "hastexo_lab"], entries

    # A launch sent by the LMS is consumed by the lab worker.
    candidates = [{"name": "cloud-a", "capacity": -1, "template": sample_template(), "environment": ""}]
    sent = subprocess.run([sys.executable, "-c", LAUNCH, json.dumps(candidates)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)
    assert sent.returncode == 0, sent.stderr[-4000:]

    def ready():
        stack = Stack.objects.filter(anonymous_student_id="learner-1").first()
        return stack is not None and stack.status == lc.CREATE_COMPLETE and stack.reachable_at is not None
    wait_until(ready, timeout=60, what="the lab worker to bring the lab up")
    assert "hastexo_lab" not in platform_worker.output().split("ready.", 1)[1], "the platform's worker took lab work"

    # A progress check sent by the LMS is run by the check worker, on its own queue.
    check_worker = running(services["hastexo-lab-check-worker"], env, "hastexo-lab-check-worker")
    check_worker.wait_for("ready.")
    sent = subprocess.run([sys.executable, "-c", CHECK], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=60)
    assert sent.returncode == 0, sent.stderr[-4000:]
    check = ProgressCheck.objects.get(pk=json.loads(sent.stdout.strip().splitlines()[-1]))
    wait_until(lambda: ProgressCheck.objects.get(pk=check.pk).status != "running", timeout=60,
               what="the check worker to run the check")
    check.refresh_from_db()
    assert (check.status, check.passed, check.hints) == ("done", 1, ["not yet"]), check.message
    check_worker.wait_for("Task hastexo_lab.check[")
    assert "Task hastexo_lab.check[" not in worker.output(), "the lab worker took a check"

    # The beat's suspender: a lab whose deadline passed is suspended by the sweep it sends.
    beat = running(services["hastexo-lab-beat"], env, "hastexo-lab-beat")
    stack = Stack.objects.get(anonymous_student_id="learner-1")
    Stack.objects.filter(pk=stack.pk).update(suspend_by=timezone.now() - timezone.timedelta(seconds=1))

    def suspended():
        stack.refresh_from_db()
        return stack.status == lc.SUSPEND_COMPLETE
    wait_until(suspended, timeout=60, what="the beat's suspender to suspend the lab")
    assert StackLog.objects.filter(stack=stack, to_status=lc.SUSPEND_PENDING).exists()
    beat.wait_for("Sending due task hastexo_lab.suspender")
    # The reconciler's interval (30 s) passes too: every sweep is sent and run by the lab worker.
    beat.wait_for("Sending due task hastexo_lab.reconciler", timeout=60)
    worker.wait_for("Task hastexo_lab.reconciler", timeout=30)
    assert "hastexo_lab.suspender" in worker.output()
