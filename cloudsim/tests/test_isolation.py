"""A learner's shell on a fake machine is kept from the process running the
cloud, from the cloud's API and from other labs: as root, each machine runs
as an OS user of its own (see isolation.py)."""

import asyncio
import json
import os
import pwd
import shlex
import shutil

import asyncssh
import pytest
from hastexo_cloudsim.machines import wait_for_port
from hastexo_cloudsim.testing import stack_outputs, wait_for_status

pytestmark = pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("useradd"),
                                reason="machines get users of their own only where the cloud runs as root")

# What the fake cloud's documentation once gave as its credentials.
DOCUMENTED = ("lab", "lab-password")


def make_lab(heat, template, name):
    heat.stacks.create(stack_name=name, template=template, parameters={"run": "r"})
    wait_for_status(heat, name, "CREATE_COMPLETE")
    outputs = stack_outputs(heat, name)
    assert wait_for_port(outputs["public_ip"], 22)
    return outputs


def ssh(outputs, command):
    """Run ``command`` on the lab as its learner: (stdout, exit status)."""
    async def go():
        async with asyncssh.connect(outputs["public_ip"], 22, username="training", known_hosts=None,
                                    client_keys=[asyncssh.import_private_key(outputs["private_key"])]) as conn:
            result = await conn.run(command)
            return result.stdout, result.exit_status
    return asyncio.run(asyncio.wait_for(go(), 20))


def keystone_login(cloud, username, password):
    """A learner's shell asking the cloud's Keystone for a token, by bash
    alone: the status line of the answer, or nothing."""
    body = json.dumps({"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": username, "domain": {"name": "Default"}, "password": password}}}}})
    request = (f"POST /v3/auth/tokens HTTP/1.0\r\nContent-Type: application/json\r\n"
               f"Content-Length: {len(body)}\r\n\r\n{body}")
    return (f"exec 3<>/dev/tcp/{cloud.config.host}/{cloud.port} && printf %s {shlex.quote(request)} >&3 "
            f"&& head -n 1 <&3")


@pytest.fixture
def labs(heat, template):
    return make_lab(heat, template, "lab1"), make_lab(heat, template, "lab2")


def test_a_shell_runs_as_a_user_of_its_own(labs, cloud):
    first, second = labs
    uid, _ = ssh(first, "id -u")
    other, _ = ssh(second, "id -u")
    assert int(uid) != os.getuid() and int(other) != os.getuid() and uid != other
    names = {m["server"]: m["user"] for m in cloud.machines.describe() if m["user"]}
    assert pwd.getpwnam(names["server"]).pw_uid in (int(uid), int(other))


def test_a_shell_reads_neither_this_process_s_secrets_nor_another_lab(labs, cloud, tmp_path):
    first, second = labs
    secret = tmp_path / "secret_key"
    secret.write_text("the demo's key\n")
    secret.chmod(0o600)
    ssh(second, "echo private > notes")
    (other_home,) = [m.home for m in cloud.machines.machines.values() if m.address == second["public_ip"]]
    for command in (f"cat {secret}", f"ls {other_home}", f"cat {other_home}/notes",
                    f"cat /proc/{os.getpid()}/environ", f"kill -STOP {os.getpid()}"):
        output, status = ssh(first, command)
        assert status != 0 and "the demo's key" not in output and "private" not in output, command


def test_a_shell_cannot_use_the_clouds_api(labs, cloud):
    first, _ = labs
    output, _ = ssh(first, keystone_login(cloud, *DOCUMENTED))
    assert " 201 " not in output, "the documented credentials must not log in"
    output, _ = ssh(first, keystone_login(cloud, cloud.config.username, cloud.config.password))
    assert " 403 " in output, "not even with the cloud's own credentials"


def test_sftp_works_as_the_machines_user_and_follows_no_link_out(labs, tmp_path):
    first, _ = labs
    secret = tmp_path / "secret_key"
    secret.write_text("the demo's key\n")
    secret.chmod(0o600)
    ssh(first, f"ln -s {secret} key")

    async def session():
        async with asyncssh.connect(first["public_ip"], 22, username="training", known_hosts=None,
                                    client_keys=[asyncssh.import_private_key(first["private_key"])]) as conn:
            async with conn.start_sftp_client() as sftp:
                async with sftp.open("check", "w") as handle:  # as the checks upload theirs
                    await handle.write("#!/bin/sh\necho checked\n")
                await sftp.chmod("check", 0o700)
                listed = await sftp.listdir(".")
                with pytest.raises(asyncssh.SFTPError):
                    async with sftp.open("key") as handle:
                        await handle.read()
            return (await conn.run("./check")).stdout, listed
    output, listed = asyncio.run(asyncio.wait_for(session(), 20))
    assert output == "checked\n" and {"check", "key"} <= set(listed)
