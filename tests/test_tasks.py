"""The lab lifecycle end to end: a real Celery worker, real heatclient, the fake cloud."""

import time

import pytest
from celery.signals import before_task_publish
from cryptography.hazmat.primitives.serialization import load_ssh_private_key
from django.utils import timezone

from hastexo_lab import api
from hastexo_lab import lifecycle as lc
from hastexo_lab.models import Stack

from .helpers import sample_template, wait_until

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _settings(lab_settings):
    """Every test here uses the two fake clouds as cloud-a and cloud-b."""

NO_OUTPUTS = "heat_template_version: 2016-10-14\nparameters: {run: {type: string}}\n"


def providers(*names, template=None, **capacities):
    template = template or sample_template()
    return [{"name": n, "capacity": capacities.get(n.replace("-", "_"), -1), "template": template,
             "environment": ""} for n in names]


def wait_status(stack, *statuses, timeout=10):
    def reached():
        stack.refresh_from_db()
        return stack.status in statuses
    wait_until(reached, timeout, what=f"{stack.name} to reach {statuses} (is {stack.status})")
    return stack


def wait_ready(stack, timeout=10):
    """Up, and its machine accepts connections (what the learner sees as ready)."""
    def ready():
        stack.refresh_from_db()
        return stack.status in lc.UP and stack.reachable_at is not None
    wait_until(ready, timeout, what=f"{stack.name} to be ready (is {stack.status})")
    return stack


def story(stack):
    return [(e.from_status, e.to_status) for e in stack.log.all()]


@pytest.fixture
def published():
    """Every task message published during the test: (routing key, body)."""
    messages = []

    def record(sender=None, body=None, routing_key=None, **kwargs):
        messages.append((routing_key, repr(body)))
    before_task_publish.connect(record, weak=False)
    yield messages
    before_task_publish.disconnect(record)


def test_launch_produces_a_ready_stack_with_secrets_for_the_server_only(worker, cloud, published):
    stack = api.launch("course-v1:Org+Ceph+2026", "learner1", providers("cloud-a"))
    wait_status(stack, lc.CREATE_COMPLETE)
    assert stack.provider == "cloud-a" and stack.provider_stack_id
    assert stack.ip.startswith("127.")
    secrets = stack.secrets()
    assert load_ssh_private_key(secrets["private_key"].encode(), password=None)
    assert len(secrets["password"]) == 16
    assert "PRIVATE KEY" not in stack.private_key_encrypted
    assert secrets["password"] not in stack.password_encrypted
    assert stack.suspend_by > stack.last_activity
    assert story(stack) == [("", lc.LAUNCH_PENDING), (lc.LAUNCH_PENDING, lc.CREATE_IN_PROGRESS),
                            (lc.CREATE_IN_PROGRESS, lc.CREATE_COMPLETE)]
    for routing_key, body in published:
        assert routing_key == "hastexo_lab"
        assert "PRIVATE KEY" not in body and secrets["password"] not in body
    assert cloud.request_counts()["create"] == 1


def test_suspend_resume_delete(worker, cloud):
    stack = api.launch("course-v1:Org+Ceph+2026", "learner1", providers("cloud-a"))
    wait_status(stack, lc.CREATE_COMPLETE)
    secrets = stack.secrets()
    assert api.suspend(stack)
    wait_status(stack, lc.SUSPEND_COMPLETE)
    api.launch("course-v1:Org+Ceph+2026", "learner1", providers("cloud-a"))
    wait_status(stack, lc.RESUME_COMPLETE)
    assert stack.secrets() == secrets
    assert api.delete(stack)
    wait_status(stack, lc.DELETE_COMPLETE)
    assert stack.secrets() == {"private_key": "", "password": ""} and stack.ip == ""
    assert cloud.heat.stack_count() == 0
    assert story(stack)[-9:] == [
        (lc.CREATE_COMPLETE, lc.SUSPEND_PENDING), (lc.SUSPEND_PENDING, lc.SUSPEND_IN_PROGRESS),
        (lc.SUSPEND_IN_PROGRESS, lc.SUSPEND_COMPLETE), (lc.SUSPEND_COMPLETE, lc.RESUME_PENDING),
        (lc.RESUME_PENDING, lc.RESUME_IN_PROGRESS), (lc.RESUME_IN_PROGRESS, lc.RESUME_COMPLETE),
        (lc.RESUME_COMPLETE, lc.DELETE_PENDING), (lc.DELETE_PENDING, lc.DELETE_IN_PROGRESS),
        (lc.DELETE_IN_PROGRESS, lc.DELETE_COMPLETE)]
    # A deleted lab launches afresh.
    api.launch("course-v1:Org+Ceph+2026", "learner1", providers("cloud-a"))
    wait_status(stack, lc.CREATE_COMPLETE)
    assert stack.secrets() != secrets


def test_double_launch_creates_once(worker, cloud):
    for _ in range(3):
        stack = api.launch("c", "learner1", providers("cloud-a"))
    wait_status(stack, lc.CREATE_COMPLETE)
    assert cloud.request_counts()["create"] == 1
    assert Stack.objects.count() == 1


@pytest.mark.parametrize("fault", [
    {"op": "create", "effect": "fail", "reason": "No valid host was found"},
    {"op": "create", "effect": "error", "status": 400, "reason": "Quota exceeded"},
])
def test_failover_to_the_next_provider(worker, cloud, cloud_b, fault):
    cloud.faults.add(fault.pop("op"), fault.pop("effect"), **fault)
    stack = api.launch("c", "learner1", providers("cloud-a", "cloud-b"))
    wait_status(stack, lc.CREATE_COMPLETE)
    assert stack.provider == "cloud-b"
    assert stack.providers_tried == ["cloud-a"]
    wait_until(lambda: cloud.heat.stack_count() == 0, what="the failed stack to be cleaned up")
    reasons = " ".join(e.reason for e in stack.log.all())
    assert "trying the next provider" in reasons
    assert fault["reason"] in reasons


def test_failover_when_a_provider_is_unreachable(worker, lab_settings, cloud_b):
    lab_settings.XBLOCK_SETTINGS = {"hastexo_lab": dict(
        lab_settings.XBLOCK_SETTINGS["hastexo_lab"],
        providers={"down": dict(cloud_b.provider_config(), os_auth_url="http://127.0.0.1:9/v3", connect_timeout=1),
                   "cloud-b": cloud_b.provider_config()})}
    stack = api.launch("c", "learner1", providers("down", "cloud-b"))
    wait_status(stack, lc.CREATE_COMPLETE, timeout=20)
    assert stack.provider == "cloud-b"


def test_every_provider_failing_is_a_launch_error(worker, cloud, cloud_b):
    cloud.faults.add("create", "fail", reason="No valid host was found")
    cloud_b.faults.add("create", "fail", reason="No valid host was found")
    stack = api.launch("c", "learner1", providers("cloud-a", "cloud-b"))
    wait_status(stack, lc.LAUNCH_ERROR)
    assert "could not be created" in stack.error_message
    assert stack.providers_tried == ["cloud-a", "cloud-b"]


def test_a_template_without_public_ip_is_a_clear_launch_error(worker, cloud):
    stack = api.launch("c", "learner1", providers("cloud-a", template=NO_OUTPUTS))
    wait_status(stack, lc.LAUNCH_ERROR)
    assert "public_ip" in stack.status_reason
    assert "misconfigured" in stack.error_message


def test_capacity_holds_under_concurrent_launches(worker, cloud, cloud_b):
    from concurrent.futures import ThreadPoolExecutor

    from django.db import connection

    candidates = providers("cloud-a", "cloud-b", cloud_a=5)

    def launch(i):
        try:
            return api.launch("c", f"learner{i}", candidates).pk
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=10) as pool:
        ids = list(pool.map(launch, range(20)))
    for pk in ids:
        wait_status(Stack.objects.get(pk=pk), lc.CREATE_COMPLETE, timeout=30)
    placed = {name: Stack.objects.filter(provider=name).count() for name in ("cloud-a", "cloud-b")}
    assert placed == {"cloud-a": 5, "cloud-b": 15}
    assert (cloud.heat.stack_count(), cloud_b.heat.stack_count()) == (5, 15)


def test_no_capacity_anywhere(worker, cloud):
    stack = api.launch("c", "learner1", providers("cloud-a", cloud_a=0))
    wait_status(stack, lc.LAUNCH_ERROR)
    assert "in use" in stack.error_message
    assert cloud.request_counts().get("create") is None


def test_launch_timeout_cleans_up(worker, cloud):
    cloud.faults.add("create", "hang")
    stack = api.launch("c", "learner1", providers("cloud-a"), launch_timeout=1)
    wait_status(stack, lc.LAUNCH_TIMEOUT)
    assert "too long" in stack.error_message
    wait_until(lambda: cloud.heat.stack_count() == 0, what="the hung stack to be deleted")


def test_transient_heat_errors_are_retried(worker, cloud):
    cloud.faults.add("create", "error", status=503)
    cloud.faults.add("show", "error", status=502, count=2)
    stack = api.launch("c", "learner1", providers("cloud-a"))
    wait_status(stack, lc.CREATE_COMPLETE)
    assert cloud.request_counts()["create"] == 2


def test_a_create_that_timed_out_on_our_side_is_adopted(worker, cloud, lab_settings):
    lab_settings.XBLOCK_SETTINGS = {"hastexo_lab": dict(
        lab_settings.XBLOCK_SETTINGS["hastexo_lab"],
        providers={"cloud-a": dict(cloud.provider_config(), read_timeout=0.3)})}
    cloud.faults.add("create", "slow", delay=0.6)
    stack = api.launch("c", "learner1", providers("cloud-a"))
    wait_status(stack, lc.CREATE_COMPLETE)
    assert cloud.heat.stack_count() == 1
    assert cloud.request_counts()["create"] == 2  # the slow one, then a 409 that led to adoption


def test_readiness_waits_on_the_port_the_providers_labs_answer_ssh_on(worker, lab_settings):
    """A cloud whose machines answer SSH on 2222 (a port-forwarding cloud):
    its provider's ``ssh_port`` says so, and the readiness wait follows it
    (on port 22 it would wait out the whole launch timeout)."""
    from hastexo_cloudsim.pytest_plugin import start_cloud
    odd = start_cloud(ssh_port=2222)
    try:
        lab_settings.XBLOCK_SETTINGS = {"hastexo_lab": dict(
            lab_settings.XBLOCK_SETTINGS["hastexo_lab"], providers={"odd": odd.provider_config()})}
        assert odd.provider_config()["ssh_port"] == 2222
        stack = api.launch("c", "learner1", providers("odd"), launch_timeout=120)
        wait_ready(stack)
        assert stack.port == 22 or stack.port is None
    finally:
        odd.stop()


def test_a_providers_ssh_port_is_checked(lab_settings):
    from hastexo_lab.providers import ProviderConfigError, make_provider
    with pytest.raises(ProviderConfigError, match="'p': ssh_port: must be a TCP port number"):
        make_provider("p", {"os_auth_url": "http://x/v3", "os_auth_token": "t", "os_project_id": "p",
                            "ssh_port": "22"})


def test_failed_suspend_and_resume_are_reported(worker, cloud):
    stack = api.launch("c", "learner1", providers("cloud-a"))
    wait_status(stack, lc.CREATE_COMPLETE)
    cloud.faults.add("suspend", "fail", reason="hypervisor error")
    api.suspend(stack)
    wait_status(stack, lc.SUSPEND_FAILED)
    assert "hypervisor error" in stack.status_reason
    cloud.faults.add("resume", "fail", reason="hypervisor error")
    api.launch("c", "learner1", providers("cloud-a"))
    wait_status(stack, lc.RESUME_FAILED)
    assert "could not be resumed" in stack.error_message
    api.launch("c", "learner1", providers("cloud-a"))
    wait_status(stack, lc.RESUME_COMPLETE)


def test_failed_deletes_are_retried_then_flagged(worker, cloud):
    stack = api.launch("c", "learner1", providers("cloud-a"))
    wait_status(stack, lc.CREATE_COMPLETE)
    cloud.faults.add("delete", "fail", count=1)
    api.delete(stack)
    wait_status(stack, lc.DELETE_COMPLETE)
    assert [e.to_status for e in stack.log.all()].count(lc.DELETE_FAILED) == 1
    stack2 = api.launch("c", "learner2", providers("cloud-a"))
    wait_status(stack2, lc.CREATE_COMPLETE)
    cloud.faults.add("delete", "fail", count=5)
    api.delete(stack2)
    wait_until(lambda: stack2.log.filter(to_status=lc.DELETE_FAILED).count() == 2)
    wait_status(stack2, lc.DELETE_FAILED)
    assert stack2.attempts == 2


def test_a_keepalive_before_the_suspend_starts_wins(worker, cloud):
    stack = api.launch("c", "learner1", providers("cloud-a"))
    wait_status(stack, lc.CREATE_COMPLETE)
    from hastexo_lab import operations
    lc.transition(stack, lc.CREATE_COMPLETE, lc.SUSPEND_PENDING, "idle (as the suspender would)")
    # A keepalive moved the deadline on (and then lost the CPU before it could cancel).
    Stack.objects.filter(pk=stack.pk).update(suspend_by=timezone.now() + timezone.timedelta(seconds=120))
    assert operations.suspend(stack.pk) is None
    stack.refresh_from_db()
    assert stack.status == lc.CREATE_COMPLETE
    assert cloud.request_counts().get("suspend") is None


def test_coming_back_during_a_suspend_resumes_after_it(worker, cloud):
    cloud.config.durations["suspend"] = 0.5
    stack = api.launch("c", "learner1", providers("cloud-a"))
    wait_status(stack, lc.CREATE_COMPLETE)
    api.suspend(stack)
    wait_status(stack, lc.SUSPEND_IN_PROGRESS)
    api.launch("c", "learner1", providers("cloud-a"))
    wait_status(stack, lc.RESUME_COMPLETE)
    assert [e.to_status for e in stack.log.all()][-4:] == [
        lc.SUSPEND_COMPLETE, lc.RESUME_PENDING, lc.RESUME_IN_PROGRESS, lc.RESUME_COMPLETE]


@pytest.mark.parametrize("task_name", ["launch_stack", "suspend_stack", "resume_stack", "delete_stack"])
def test_redelivered_tasks_do_no_harm(worker, cloud, task_name):
    from hastexo_lab import tasks
    stack = api.launch("c", "learner1", providers("cloud-a"))
    if task_name == "launch_stack":
        tasks.launch_stack.apply_async((stack.pk,), queue="hastexo_lab")
        wait_status(stack, lc.CREATE_COMPLETE)
        assert cloud.request_counts()["create"] == 1
        return
    wait_status(stack, lc.CREATE_COMPLETE)
    if task_name == "suspend_stack":
        api.suspend(stack)
        tasks.suspend_stack.apply_async((stack.pk,), queue="hastexo_lab")
        wait_status(stack, lc.SUSPEND_COMPLETE)
        tasks.suspend_stack.apply_async((stack.pk,), queue="hastexo_lab")
        expected = lc.SUSPEND_COMPLETE
    elif task_name == "resume_stack":
        api.suspend(stack)
        wait_status(stack, lc.SUSPEND_COMPLETE)
        api.launch("c", "learner1", providers("cloud-a"))
        tasks.resume_stack.apply_async((stack.pk,), queue="hastexo_lab")
        wait_status(stack, lc.RESUME_COMPLETE)
        expected = lc.RESUME_COMPLETE
    else:
        api.delete(stack)
        tasks.delete_stack.apply_async((stack.pk,), queue="hastexo_lab")
        wait_status(stack, lc.DELETE_COMPLETE)
        expected = lc.DELETE_COMPLETE
    stack.refresh_from_db()
    assert stack.status == expected
    assert len([s for s in story(stack) if s[1] == expected]) == 1


def test_duplicate_polls_collapse_into_one_chain(worker, cloud):
    from hastexo_lab import tasks
    cloud.config.durations["create"] = 0.5
    stack = api.launch("c", "learner1", providers("cloud-a"))
    wait_status(stack, lc.CREATE_IN_PROGRESS)
    for _ in range(5):
        tasks.poll_stack.apply_async((stack.pk, stack.poll_seq), queue="hastexo_lab")
    wait_status(stack, lc.CREATE_COMPLETE)
    shows = cloud.request_counts()["show"]
    assert shows < 25, f"{shows} status requests: duplicate poll chains did not collapse"


def test_tasks_go_to_the_configured_queue(lab_settings, published):
    lab_settings.XBLOCK_SETTINGS = {"hastexo_lab": dict(lab_settings.XBLOCK_SETTINGS["hastexo_lab"],
                                                        task_queue="labs")}
    api.launch("c", "learner1", providers("cloud-a"))
    assert [key for key, _ in published] == ["labs"]


def test_a_lab_without_providers_says_so(worker):
    stack = api.launch("c", "learner1", [])
    wait_status(stack, lc.LAUNCH_ERROR)
    assert "no cloud configured" in stack.error_message


def test_an_unknown_provider_fails_over(worker, cloud_b):
    stack = api.launch("c", "learner1", providers("nowhere", "cloud-b"))
    wait_status(stack, lc.CREATE_COMPLETE)
    assert stack.provider == "cloud-b"
    assert "Unknown provider 'nowhere'" in " ".join(e.reason for e in stack.log.all())


def test_ready_only_once_the_machine_greets_as_an_ssh_server(worker, cloud):
    """The fake cloud's machine boots a while after CREATE_COMPLETE; the lab
    is "waiting" until its SSH server answers, then "ready"."""
    cloud.config.boot_time = 1.5
    stack = api.launch("c", "learner1", providers("cloud-a"))
    wait_status(stack, lc.CREATE_COMPLETE)
    assert stack.reachable_at is None and api.status_for(stack)["phase"] == "waiting"
    wait_ready(stack)
    assert api.status_for(stack)["phase"] == "ready"
    created = stack.log.get(to_status=lc.CREATE_COMPLETE).created_at
    assert (stack.reachable_at - created).total_seconds() >= 1.0


def test_an_open_port_that_does_not_greet_is_not_ready(worker, cloud):
    import socket
    cloud.config.boot_time = 30  # the machine stays silent too
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        stack = api.launch("c", "learner1", providers("cloud-a"))
        wait_status(stack, lc.CREATE_COMPLETE)
        Stack.objects.filter(pk=stack.pk).update(ip="127.0.0.1", port=silent.getsockname()[1])
        time.sleep(3)
        stack.refresh_from_db()
        assert stack.reachable_at is None
