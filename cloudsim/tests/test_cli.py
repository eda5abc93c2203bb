"""`hastexo-cloudsim` as an operator runs it: a real process, driven by a plain heatclient script."""

import re
import signal
import socket
import subprocess
import sys

import pytest
from conftest import ROOT, sample_template
from hastexo_cloudsim.testing import start_module, wait_until
from heatclient import client as heat_client
from keystoneauth1 import session as ks_session
from keystoneauth1.identity import v3


def start(*args):
    proc, lines = start_module("hastexo_cloudsim", *args, cwd=ROOT)
    return proc, "".join(lines)


def environment(banner):
    return dict(re.findall(r"export (OS_\w+)=(\S+)", banner))


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_cloudsim_serves_a_plain_heatclient_script_and_stops_cleanly(sig):
    proc, banner = start("--port", "0", "--create-time", "0.1", "--suspend-time", "0.1",
                         "--resume-time", "0.1", "--delete-time", "0.1")
    try:
        env = environment(banner)
        assert set(env) >= {"OS_AUTH_URL", "OS_USERNAME", "OS_PASSWORD", "OS_PROJECT_NAME",
                            "OS_USER_DOMAIN_NAME", "OS_PROJECT_DOMAIN_NAME", "OS_REGION_NAME"}
        assert '"os_auth_url"' in banner
        auth = v3.Password(auth_url=env["OS_AUTH_URL"], username=env["OS_USERNAME"],
                           password=env["OS_PASSWORD"], user_domain_name=env["OS_USER_DOMAIN_NAME"],
                           project_name=env["OS_PROJECT_NAME"],
                           project_domain_name=env["OS_PROJECT_DOMAIN_NAME"])
        heat = heat_client.Client("1", session=ks_session.Session(auth=auth),
                                  region_name=env["OS_REGION_NAME"])
        heat.stacks.create(stack_name="demo", template=sample_template(), parameters={"run": "demo"})

        def reached(status):
            return lambda: heat.stacks.get("demo").stack_status == status
        wait_until(reached("CREATE_COMPLETE"))
        heat.actions.suspend("demo")
        wait_until(reached("SUSPEND_COMPLETE"))
        heat.actions.resume("demo")
        wait_until(reached("RESUME_COMPLETE"))
        heat.stacks.delete(heat.stacks.get("demo").identifier)
        wait_until(lambda: list(heat.stacks.list()) == [])
    finally:
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=10)
    assert proc.returncode == 0, err
    assert "Stopped." in out
    assert "Traceback" not in err


def test_faults_from_the_command_line():
    proc, banner = start("--port", "0", "--fault", "create:error:status=503,count=1")
    try:
        assert "Faults: create:error:status=503,count=1" in banner
    finally:
        proc.terminate()
        proc.communicate(timeout=10)
    assert proc.returncode == 0


def run(*args):
    return subprocess.run([sys.executable, "-m", "hastexo_cloudsim", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=30)


def test_bad_fault_spec_is_refused():
    result = run("--port", "0", "--fault", "create:explode")
    assert result.returncode == 2
    assert "unknown effect 'explode'" in result.stderr
    assert "Traceback" not in result.stderr


def test_port_in_use_is_refused():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        result = run("--port", str(sock.getsockname()[1]))
    assert result.returncode == 2
    assert "cannot listen on" in result.stderr and "--port" in result.stderr


def test_negative_duration_is_refused():
    result = run("--port", "0", "--create-time", "-1")
    assert result.returncode == 2
    assert "duration of create must not be negative" in result.stderr


def test_the_password_is_new_for_every_run_unless_given():
    """Its machines run learners' shells on this computer: no password they
    could read in the source or the docs logs in."""
    passwords = []
    for args in ((), (), ("--password", "chosen")):
        proc, banner = start("--port", "0", "--no-machines", *args)
        proc.terminate()
        proc.communicate(timeout=10)
        passwords.append(environment(banner)["OS_PASSWORD"])
    assert passwords[0] != passwords[1] and len(passwords[0]) >= 20
    assert "lab-password" not in passwords and passwords[2] == "chosen"
