"""Prometheus metrics: values after a scripted lifecycle, the endpoints, and
several processes adding up (multiprocess mode)."""

import os
import subprocess
import sys
import urllib.error
import urllib.request
from datetime import timedelta

import pytest
from django.utils import timezone
from prometheus_client import REGISTRY

from hastexo_lab import api, metrics, tasks
from hastexo_lab import lifecycle as lc
from hastexo_lab.models import Stack

from .factories import make_stack
from .helpers import ROOT, wait_until
from .test_tasks import providers, wait_ready, wait_status

TOKEN = "a-scraper-token-of-some-length"


def value(name, **labels):
    return REGISTRY.get_sample_value(name, labels) or 0.0


@pytest.mark.django_db(transaction=True)
def test_a_scripted_lifecycle_is_counted(worker, cloud, lab_settings):
    def launches():
        return value("hastexo_lab_operation_seconds_count", operation="launch", provider="cloud-a")
    before = {"launch": launches(),
              "resume": value("hastexo_lab_operation_seconds_count", operation="resume", provider="cloud-a"),
              "suspend": value("hastexo_lab_operation_seconds_count", operation="suspend", provider="cloud-a"),
              "complete": value("hastexo_lab_transitions_total", to_status=lc.CREATE_COMPLETE),
              "errors": value("hastexo_lab_provider_errors_total", provider="cloud-a", call="create",
                              kind="transient")}
    stack = api.launch("course-v1:Org+Ceph+2026", "learner1", providers("cloud-a"))
    wait_ready(stack)
    api.suspend(stack)
    wait_status(stack, lc.SUSPEND_COMPLETE)
    api.launch("course-v1:Org+Ceph+2026", "learner1", providers("cloud-a"))
    wait_status(stack, lc.RESUME_COMPLETE)
    # A worker counts a transition right after it committed it: the test may see the row first.
    def counted(operation, expected):
        wait_until(lambda: value("hastexo_lab_operation_seconds_count", operation=operation,
                                 provider="cloud-a") == expected, timeout=10, what=f"the {operation} to be counted")
    counted("launch", before["launch"] + 1)
    counted("resume", before["resume"] + 1)
    counted("suspend", before["suspend"] + 1)
    assert value("hastexo_lab_transitions_total", to_status=lc.CREATE_COMPLETE) == before["complete"] + 1
    # The launch took at least the cloud's own create time, by the log.
    log = {e.to_status: e.created_at for e in stack.log.all()}
    took = (log[lc.CREATE_COMPLETE] - log[lc.LAUNCH_PENDING]).total_seconds()
    assert took > 0
    buckets = [b for b in metrics.DURATION_BUCKETS if b >= took]
    assert value("hastexo_lab_operation_seconds_bucket", operation="launch", provider="cloud-a",
                 le=str(float(buckets[0]))) >= 1

    # A failed provider call is counted by kind.
    cloud.faults.add("create", "error", status=503, count=1)
    other = api.launch("course-v1:Org+Ceph+2026", "learner2", providers("cloud-a"))
    wait_ready(other)
    assert value("hastexo_lab_provider_errors_total", provider="cloud-a", call="create",
                 kind="transient") == before["errors"] + 1


@pytest.mark.django_db(transaction=True)
def test_sweeps_and_keepalives_are_counted():
    runs = value("hastexo_lab_sweep_seconds_count", sweep="suspender")
    make_stack(lc.CREATE_COMPLETE, suspend_by=timezone.now() - timedelta(seconds=10))
    tasks.suspender()
    assert value("hastexo_lab_sweep_seconds_count", sweep="suspender") == runs + 1
    assert value("hastexo_lab_sweep_stacks_sum", sweep="suspender") >= 1
    keepalives = value("hastexo_lab_keepalives_total")
    api.keepalive_by_name("hxl-nothing", 120, 0)
    assert value("hastexo_lab_keepalives_total") == keepalives + 1


@pytest.mark.django_db
def test_the_lms_endpoint_needs_its_token_and_reads_stacks_from_the_database(client, settings):
    settings.XBLOCK_SETTINGS = {"hastexo_lab": {}}
    assert client.get("/hastexo-lab/metrics").status_code == 404  # off without a token
    settings.XBLOCK_SETTINGS = {"hastexo_lab": {"metrics_token": TOKEN}}
    refused = client.get("/hastexo-lab/metrics")
    assert refused.status_code == 401 and refused["WWW-Authenticate"].startswith("Bearer")
    assert client.get("/hastexo-lab/metrics", HTTP_AUTHORIZATION="Bearer wrong-token-entirely").status_code == 401
    make_stack(lc.CREATE_COMPLETE, provider="cloud-a")
    make_stack(lc.CREATE_COMPLETE, provider="cloud-a")
    make_stack(lc.DELETE_FAILED, provider="cloud-b", attempts=99)
    scrape = client.get("/hastexo-lab/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert scrape.status_code == 200 and scrape["Content-Type"].startswith("text/plain")
    text = scrape.content.decode()
    assert 'hastexo_lab_stacks{provider="cloud-a",status="CREATE_COMPLETE"} 2.0' in text
    assert 'hastexo_lab_stacks{provider="cloud-b",status="DELETE_FAILED"} 1.0' in text
    assert "hastexo_lab_stacks_needing_operator 1.0" in text
    assert "hastexo_lab_keepalives_total" in text


COUNT_IN_A_PROCESS = """
import django, os, sys
os.environ["DJANGO_SETTINGS_MODULE"] = "tests.project.settings"
django.setup()
from hastexo_lab import metrics
for _ in range(int(sys.argv[1])):
    metrics.KEEPALIVES.inc()
metrics.sweep_ran("reaper", 0.5, 3)
if len(sys.argv) > 2:
    server = metrics.serve_worker_metrics(int(sys.argv[2]), addr="127.0.0.1")
    print("serving", flush=True)
    sys.stdin.read()
"""


def test_several_processes_add_up_in_multiprocess_mode(tmp_path):
    import socket
    env = dict(os.environ, PROMETHEUS_MULTIPROC_DIR=str(tmp_path), PYTHONPATH=ROOT)
    for count in (3, 4):
        subprocess.run([sys.executable, "-c", COUNT_IN_A_PROCESS, str(count)], cwd=ROOT, env=env, check=True,
                       timeout=60)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    worker = subprocess.Popen([sys.executable, "-c", COUNT_IN_A_PROCESS, "5", str(port)], cwd=ROOT, env=env,
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert worker.stdout.readline().strip() == "serving"
        text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read().decode()
    finally:
        worker.stdin.close()
        worker.wait(timeout=30)
    assert "hastexo_lab_keepalives_total 12.0" in text
    assert 'hastexo_lab_sweep_seconds_count{sweep="reaper"} 3.0' in text


@pytest.mark.django_db(transaction=True)
def test_a_cancelled_suspend_is_not_a_launch_and_the_ticket_sweep_counts(lab_settings):
    from hastexo_lab import operations
    stack = make_stack(lc.CREATE_COMPLETE, provider="cloud-a")
    launches = value("hastexo_lab_operation_seconds_count", operation="launch", provider="cloud-a")
    assert api.suspend(stack)
    operations.cancel_suspend(stack)
    assert Stack.objects.get(pk=stack.pk).status == lc.CREATE_COMPLETE
    assert value("hastexo_lab_operation_seconds_count", operation="launch", provider="cloud-a") == launches
    failures = value("hastexo_lab_sweep_failures_total", sweep="reaper (terminal tickets)")
    tasks.reaper()
    assert value("hastexo_lab_sweep_failures_total", sweep="reaper (terminal tickets)") == failures


@pytest.mark.django_db(transaction=True)
def test_a_transition_is_counted_even_when_the_row_moves_on_at_once():
    """The window between a transition's commit and its metrics: the next
    transition (a learner's resume right after a suspend) lands in it. The
    suspend is still counted, as the move it was."""
    stack = make_stack(lc.SUSPEND_IN_PROGRESS)
    before = value("hastexo_lab_transitions_total", to_status=lc.SUSPEND_COMPLETE)
    durations = value("hastexo_lab_operation_seconds_count", operation="suspend", provider=stack.provider or "none")
    from hastexo_lab.models import StackLog
    StackLog.objects.create(stack=stack, from_status=lc.CREATE_COMPLETE, to_status=lc.SUSPEND_PENDING, reason="t",
                            created_at=timezone.now() - timedelta(seconds=3))
    refresh = stack.refresh_from_db

    def next_transition_lands_first(*args, **kwargs):
        other = Stack.objects.get(pk=stack.pk)
        assert lc.transition(other, lc.SUSPEND_COMPLETE, lc.RESUME_PENDING, "the learner is back")
        stack.refresh_from_db = refresh
        refresh(*args, **kwargs)
    stack.refresh_from_db = next_transition_lands_first
    assert lc.transition(stack, lc.SUSPEND_IN_PROGRESS, lc.SUSPEND_COMPLETE, "suspended")
    assert value("hastexo_lab_transitions_total", to_status=lc.SUSPEND_COMPLETE) == before + 1
    assert value("hastexo_lab_operation_seconds_count", operation="suspend",
                 provider=stack.provider or "none") == durations + 1


SERVE_WITH = """
import django, os, sys
os.environ["DJANGO_SETTINGS_MODULE"] = "tests.project.settings"
django.setup()
from hastexo_lab import conf, metrics
metrics.KEEPALIVES.inc()
server = metrics.serve_worker_metrics(int(sys.argv[1]), addr=sys.argv[2], token=sys.argv[3])
print("serving" if server else "refused", conf.parse({}).metrics_address, flush=True)
sys.stdin.read()
"""


def _free_port():
    import socket
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _serve(port, addr, token):
    worker = subprocess.Popen([sys.executable, "-c", SERVE_WITH, str(port), addr, token], cwd=ROOT,
                              env=dict(os.environ, PYTHONPATH=ROOT), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              text=True)
    return worker, worker.stdout.readline().split()


def test_a_workers_metrics_stay_on_loopback_or_need_the_token():
    port = _free_port()
    worker, said = _serve(port, "0.0.0.0", "")
    try:
        assert said == ["refused", "127.0.0.1"], "an open address without a token is refused; loopback by default"
        with pytest.raises(OSError):
            urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2)
    finally:
        worker.stdin.close()
        worker.wait(timeout=30)
    token = "a-metrics-token-of-some-length"
    worker, said = _serve(port, "0.0.0.0", token)
    try:
        assert said[0] == "serving"
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5)
        assert refused.value.code == 401
        request = urllib.request.Request(f"http://127.0.0.1:{port}/metrics",
                                         headers={"Authorization": f"Bearer {token}"})
        assert "hastexo_lab_keepalives_total" in urllib.request.urlopen(request, timeout=5).read().decode()
    finally:
        worker.stdin.close()
        worker.wait(timeout=30)
