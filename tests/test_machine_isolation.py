"""A learner's shell on a fake machine is a machine of its own, as far as
Linux allows without a virtual machine: its own host name, its own
processes only, its own files only (not another lab's, not the computer's
temporary files or the folder the cloud runs from, where a demo keeps its
database and secret key), as an unprivileged user. Freezing on suspend,
commands and SFTP still work as that user."""

import asyncio
import logging
import os
import shutil
import subprocess
import time

import asyncssh
import pytest
from hastexo_cloudsim.machines import wait_for_port
from hastexo_cloudsim.testing import stack_outputs, wait_for_status, wait_until


def _namespaces_here():
    """Why machines cannot have namespaces of their own here (None: they can)."""
    if os.geteuid() != 0:
        return "machines get users and namespaces of their own only where the cloud runs as root"
    if not (shutil.which("unshare") and shutil.which("nsenter") and shutil.which("useradd")):
        return "util-linux's unshare and nsenter, and useradd, are needed"
    done = subprocess.run(["unshare", "--mount", "--pid", "--uts", "--ipc", "--fork", "--mount-proc", "true"],
                          capture_output=True, text=True)
    return f"this kernel or container refuses namespaces: {done.stderr.strip()}" if done.returncode else None


pytestmark = pytest.mark.skipif(_namespaces_here() is not None, reason=str(_namespaces_here()))


def make_lab(heat, template, name, cloud):
    heat.stacks.create(stack_name=name, template=template, parameters={"run": "r"})
    wait_for_status(heat, name, "CREATE_COMPLETE")
    outputs = stack_outputs(heat, name)
    assert wait_for_port(outputs["public_ip"], cloud.ssh_port)
    return dict(outputs, port=cloud.ssh_port)


def connect(lab):
    return asyncssh.connect(lab["public_ip"], lab["port"], username="training", known_hosts=None,
                            client_keys=[asyncssh.import_private_key(lab["private_key"])])


def ssh(lab, command):
    """Run ``command`` on the lab as its learner: (stdout, exit status)."""
    async def go():
        async with connect(lab) as conn:
            result = await conn.run(command)
            return result.stdout, result.exit_status
    return asyncio.run(asyncio.wait_for(go(), 20))


def home_of(cloud, lab):
    (machine,) = [m for m in cloud.machines.machines.values() if m.address == lab["public_ip"]]
    return machine.home


@pytest.fixture
def labs(heat, template, cloud):
    return make_lab(heat, template, "lab1", cloud), make_lab(heat, template, "lab2", cloud)


def test_a_machine_has_the_servers_name_as_its_host_name(labs):
    first, second = labs
    assert ssh(first, "hostname") == ("lab1-server\n", 0)
    assert ssh(second, "uname -n") == ("lab2-server\n", 0)


def test_a_machine_sees_its_own_processes_only(labs):
    first, second = labs
    ssh(second, "setsid sleep 300 >/dev/null 2>&1 < /dev/null &")
    users, _ = ssh(first, "ps -e -o uid=")
    uid, _ = ssh(first, "id -u")
    assert users.split() and set(users.split()) == {uid.strip()}, users
    listed, _ = ssh(first, "ps -e -o args=")
    assert "sleep 300" not in listed and "pytest" not in listed
    output, status = ssh(first, f"kill -0 {os.getpid()} || ls /proc/{os.getpid()}")
    assert status != 0, "the cloud's process is not there to signal"
    assert "sleep 300" in ssh(second, "ps -e -o args=")[0], "each machine sees its own"


def test_a_machine_sees_neither_another_lab_nor_this_computers_private_folders(labs, cloud, tmp_path):
    first, second = labs
    ssh(second, "echo private > notes")
    other = home_of(cloud, second)
    secret = tmp_path / "secret_key"  # under this computer's /tmp, as a demo's could be
    secret.write_text("the demo's key\n")
    here = os.path.join(os.getcwd(), sorted(os.listdir(os.getcwd()))[0])  # where the cloud was started
    for path in (other, f"{other}/notes", str(secret), str(tmp_path), here):
        assert ssh(first, f"test -e {path}")[1] != 0, f"{path} is visible"
    assert ssh(first, "ls -A /root /home")[0].split() == ["/home:", "/root:"]
    mine = home_of(cloud, first)
    assert ssh(first, f"ls -A {cloud.machines.root}")[0].split() == [os.path.basename(mine)], \
        "of the machines' homes, its own only"
    assert ssh(first, "pwd; echo mine > notes; cat notes") == (f"{mine}\nmine\n", 0)
    with open(os.path.join(mine, "notes")) as handle:
        assert handle.read() == "mine\n", "the home is the machine's folder on this computer"


def test_a_machine_runs_as_an_unprivileged_user_of_its_own(labs):
    first, second = labs
    uid, _ = ssh(first, "id -u")
    other, _ = ssh(second, "id -u")
    assert int(uid) not in (0, os.getuid()) and uid != other
    assert ssh(first, "id -G")[0].split() == [ssh(first, "id -g")[0].strip()], "no other groups"
    assert ssh(first, "cat /etc/shadow")[1] != 0


def test_suspend_freezes_a_machine_in_its_namespaces_and_resume_thaws_it(labs, heat, cloud):
    first, _ = labs

    async def start_counting():
        async with connect(first) as conn:
            shell = await conn.create_process(term_type="xterm", term_size=(80, 24))
            shell.stdin.write("(i=0; while true; do i=$((i+1)); echo $i > count; sleep 0.05; done) &\n")
            await asyncio.sleep(0.5)
            shell.close()
    asyncio.run(asyncio.wait_for(start_counting(), 20))
    count = os.path.join(home_of(cloud, first), "count")

    def reading():
        with open(count) as handle:
            return int(handle.read() or 0)
    wait_until(lambda: os.path.exists(count) and reading() > 3, what="the counter to run")
    heat.actions.suspend("lab1")
    wait_for_status(heat, "lab1", "SUSPEND_COMPLETE")
    (machine,) = [m for m in cloud.machines.machines.values() if m.address == first["public_ip"]]
    wait_until(lambda: machine.frozen, what="the machine to freeze")
    frozen = reading()
    time.sleep(0.5)
    assert reading() == frozen, "a suspended machine runs nothing"
    heat.actions.resume("lab1")
    wait_for_status(heat, "lab1", "RESUME_COMPLETE")
    wait_until(lambda: reading() > frozen + 3, what="the counter to go on where it was")
    assert wait_for_port(first["public_ip"], first["port"])
    assert ssh(first, "hostname") == ("lab1-server\n", 0), "still in its namespaces"

    async def shell(line, wanted=None):
        async with connect(first) as conn:
            process = await conn.create_process(term_type="xterm", term_size=(80, 24))
            process.stdin.write(line + "\n")
            seen = ""
            while wanted is not None and wanted not in seen:
                seen += await asyncio.wait_for(process.stdout.read(4096), 5)
            process.close()
            return seen
    asyncio.run(asyncio.wait_for(shell("exit"), 20))  # the shell that was frozen ends
    assert "again-42" in asyncio.run(asyncio.wait_for(shell("echo again-$((40+2))", "again-42"), 20)), \
        "the next login gets a new shell"


def test_sftp_and_commands_act_as_the_machines_user(labs):
    first, _ = labs

    async def session():
        async with connect(first) as conn:
            async with conn.start_sftp_client() as sftp:
                async with sftp.open("check", "w") as handle:
                    await handle.write("#!/bin/sh\nhostname; ps -e -o uid= | sort -u\n")
                await sftp.chmod("check", 0o700)
            return (await conn.run("./check; stat -c %u check; id -u")).stdout.split()
    hostname, ps_user, owner, uid = asyncio.run(asyncio.wait_for(session(), 20))
    assert hostname == "lab1-server" and ps_user == owner == uid != "0"


def test_where_namespaces_cannot_be_had_the_cloud_says_what_is_not_isolated(monkeypatch, caplog, template):
    from hastexo_cloudsim import sandbox
    from hastexo_cloudsim.pytest_plugin import start_cloud
    from hastexo_cloudsim.testing import heat_for

    monkeypatch.setattr(sandbox, "available", lambda: "the kernel refuses them")
    caplog.set_level(logging.WARNING, logger="hastexo_cloudsim.machines")
    cloud = start_cloud()
    try:
        assert "no namespaces of their own here (the kernel refuses them)" in caplog.text
        assert "processes and host name" in caplog.text
        lab = make_lab(heat_for(cloud), template, "lab1", cloud)
        uid, _ = ssh(lab, "id -u")
        assert int(uid) != 0, "it still runs as a user of its own"
        assert cloud.machines.describe()[0]["namespaces"] is False
    finally:
        cloud.stop()


def test_what_the_cloud_is_asked_to_hide_is_hidden_but_never_the_system(tmp_path, monkeypatch):
    from hastexo_cloudsim import sandbox

    monkeypatch.chdir("/")  # started from /: that stays
    hidden = dict(sandbox.hidden_paths(str(tmp_path / "machines"), ("/srv/demo", "/usr", "/var")))
    assert hidden["/tmp"] == "1777" and hidden["/srv/demo"] == "755" and str(tmp_path / "machines") in hidden
    assert not {"/", "/usr", "/var"} & set(hidden)
