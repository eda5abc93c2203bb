"""The OS users machines run as (as root): made at a machine's first login,
removed with it, and what a killed run left behind removed by the next."""

import asyncio
import logging
import pwd
import subprocess

import asyncssh
import pytest
from hastexo_cloudsim import isolation
from hastexo_cloudsim.machines import wait_for_port
from hastexo_cloudsim.testing import stack_outputs, wait_for_status, wait_until

pytestmark = pytest.mark.skipif(not isolation.available(),
                                reason="machines get users of their own only where the cloud runs as root")


@pytest.fixture
def lab(heat, template):
    heat.stacks.create(stack_name="lab1", template=template, parameters={"run": "r"})
    wait_for_status(heat, "lab1", "CREATE_COMPLETE")
    outputs = stack_outputs(heat, "lab1")
    assert wait_for_port(outputs["public_ip"], 22)
    return outputs


def ssh(outputs, command):
    async def go():
        async with asyncssh.connect(outputs["public_ip"], 22, username="training", known_hosts=None,
                                    client_keys=[asyncssh.import_private_key(outputs["private_key"])]) as conn:
            return (await conn.run(command)).stdout
    return asyncio.run(asyncio.wait_for(go(), 20))


def test_a_machine_gets_its_user_at_the_first_login(lab, cloud):
    (listed,) = [m for m in cloud.machines.describe() if m["listen_addresses"][0] == lab["public_ip"]]
    assert listed["user"] is None, "an idle machine is one listening socket"
    uid = int(ssh(lab, "id -u"))
    (listed,) = [m for m in cloud.machines.describe() if m["listen_addresses"][0] == lab["public_ip"]]
    entry = pwd.getpwnam(listed["user"])
    assert entry.pw_uid == uid and entry.pw_gecos.startswith(isolation.MARKER)
    assert ssh(lab, "pwd").strip() == entry.pw_dir


def test_deleting_a_lab_ends_what_left_its_sessions_and_its_user(lab, heat, cloud):
    ssh(lab, "setsid sleep 600 >/dev/null 2>&1 < /dev/null &")
    (machine,) = [m for m in cloud.machines.machines.values() if m.address == lab["public_ip"]]
    user = machine.user
    assert isolation.processes_of_user(user.uid)
    heat.stacks.delete("lab1")
    wait_until(lambda: not isolation.processes_of_user(user.uid), timeout=10, what="its processes to end")
    wait_until(lambda: not any(p.pw_name == user.name for p in pwd.getpwall()), timeout=10,
               what="its user to be removed")


def test_users_a_killed_run_left_behind_are_removed(tmp_path):
    child = subprocess.Popen(["true"])
    child.wait()  # a process that has ended: its users are stale
    name = "cs-stale-test"
    subprocess.run(["useradd", "--system", "--user-group", "--no-create-home", "--home-dir", str(tmp_path),
                    "--comment", f"{isolation.MARKER} (pid {child.pid})", name], check=True)
    try:
        isolation.remove_stale_users()
        assert name not in {p.pw_name for p in pwd.getpwall()}
    finally:
        subprocess.run(["userdel", name], capture_output=True)


def test_without_root_the_shells_run_as_the_clouds_user_and_it_says_so(monkeypatch, caplog, template):
    """What a cloud not run as root can do (nothing), said loudly."""
    from hastexo_cloudsim.pytest_plugin import start_cloud
    from hastexo_cloudsim.testing import heat_for
    monkeypatch.setattr(isolation, "available", lambda: False)
    caplog.set_level(logging.WARNING, logger="hastexo_cloudsim.machines")
    cloud = start_cloud()
    try:
        assert isolation.NOT_ISOLATED in caplog.text
        heat = heat_for(cloud)
        heat.stacks.create(stack_name="lab1", template=template, parameters={"run": "r"})
        wait_for_status(heat, "lab1", "CREATE_COMPLETE")
        outputs = stack_outputs(heat, "lab1")
        assert wait_for_port(outputs["public_ip"], 22)
        assert int(ssh(outputs, "id -u")) == 0
        assert cloud.machines.describe()[0]["user"] is None
    finally:
        cloud.stop()
