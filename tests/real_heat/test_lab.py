"""A lab's life on a real Heat: the api, a real Celery worker, the unchanged
OpenStack provider. The template has no servers (Heat here has no Nova):
its public_ip points at a stand-in that greets as an SSH server does, so
the lab becomes ready as one whose machine booted."""

import socket
import threading
import time

import pytest

from hastexo_lab import api
from hastexo_lab import lifecycle as lc
from hastexo_lab.clouds import get_provider

from ..conftest import FAST_LAB
from ..helpers import wait_until

pytestmark = [pytest.mark.real_heat, pytest.mark.timeout(600), pytest.mark.django_db(transaction=True)]

COURSE = "course-v1:Org+Heat+2026"


@pytest.fixture
def ssh_greeter():
    """A port on 127.0.0.1 that greets every connection as an SSH server."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    stop = threading.Event()

    def serve():
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            with conn:
                conn.sendall(b"SSH-2.0-OpenSSH_9.2 stand-in\r\n")
    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    stop.set()
    thread.join()
    listener.close()


@pytest.fixture
def real_lab_settings(settings, real_heat, ssh_greeter):
    """Provider ``real-heat``, and ``refused`` there too, with a password Keystone refuses."""
    config = real_heat.provider_config(ssh_port=ssh_greeter)
    settings.XBLOCK_SETTINGS = {"hastexo_lab": dict(
        FAST_LAB, poll_max=0.5, providers={"real-heat": config, "refused": dict(config, os_password="wrong")})}
    return settings


def providers(template, names=("real-heat",)):
    return [{"name": name, "capacity": -1, "template": template, "environment": ""} for name in names]


def wait_status(stack, *statuses, timeout=90):
    def reached():
        stack.refresh_from_db()
        return stack.status in statuses
    wait_until(reached, timeout, interval=0.2, what=f"{stack.name} to reach {statuses} (is {stack.status})")
    return stack


def test_launch_suspend_resume_delete(real_heat, real_lab_settings, worker, lab_template):
    """The learner's lab on a real Heat: up and ready, suspended, back, deleted."""
    started = time.monotonic()
    stack = api.launch(COURSE, "learner1", providers(lab_template))
    wait_status(stack, lc.CREATE_COMPLETE)
    def ready():
        stack.refresh_from_db()
        return api.status_for(stack)["phase"] == "ready"
    wait_until(ready, 30, interval=0.2, what="the lab to be ready")
    real_heat.record("lab: launch until ready (api and worker)", time.monotonic() - started)
    assert stack.ip == "127.0.0.1" and len(stack.secrets()["password"]) == 16
    password = stack.secrets()["password"]

    started = time.monotonic()
    assert api.suspend(stack)
    wait_status(stack, lc.SUSPEND_COMPLETE)
    real_heat.record("lab: suspend (api and worker)", time.monotonic() - started)

    started = time.monotonic()
    api.launch(COURSE, "learner1", providers(lab_template))
    wait_status(stack, lc.RESUME_COMPLETE)
    real_heat.record("lab: resume (api and worker)", time.monotonic() - started)
    assert stack.secrets()["password"] == password

    started = time.monotonic()
    assert api.delete(stack)
    wait_status(stack, lc.DELETE_COMPLETE)
    real_heat.record("lab: delete (api and worker)", time.monotonic() - started)
    assert stack.name not in {info.name for info in get_provider("real-heat").list_stacks()}


def test_a_provider_keystone_refuses_fails_over_to_the_next(real_lab_settings, worker, lab_template):
    stack = api.launch(COURSE, "learner2", providers(lab_template, names=("refused", "real-heat")))
    wait_status(stack, lc.CREATE_COMPLETE)
    assert stack.provider == "real-heat" and stack.providers_tried == ["refused"]
    assert "authentication failed" in " ".join(e.reason for e in stack.log.all())
    assert api.delete(stack)
    wait_status(stack, lc.DELETE_COMPLETE)


def test_a_template_heat_refuses_at_create_is_a_launch_error(real_lab_settings, worker):
    """Heat's validate lets an unknown get_param through; its create refuses
    it (400): the learner gets a launch error, not a lab that never comes."""
    template = ("heat_template_version: 2016-10-14\nparameters: {run: {type: string}}\n"
                "resources: {v: {type: OS::Heat::Value, properties: {value: {get_param: nosuch}}}}\n"
                "outputs: {public_ip: {value: 127.0.0.1}}\n")
    stack = api.launch(COURSE, "learner3", providers(template))
    wait_status(stack, lc.LAUNCH_ERROR)
    assert "nosuch" in " ".join(e.reason for e in stack.log.all())
    assert stack.providers_tried == ["real-heat"]
