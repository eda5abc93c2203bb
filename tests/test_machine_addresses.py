"""Fake clouds of different processes on one computer (a demo and a test
run, two test runs) never fight over their machines' addresses: each
process holds a block of loopback addresses of its own, or fails at once
saying none is free; a machine whose address another process holds says
so and stops trying."""

import json
import logging
import socket
import subprocess
import sys
import textwrap
import time

from hastexo_cloudsim.testing import stack_outputs, wait_for_status, wait_until

from .helpers import ROOT, SAMPLE_TEMPLATE

# A fake cloud in a process of its own launches the sample lab when told
# ("go" on its standard input) and logs in to it with the stack's key. Both
# processes number their stacks from the same start, as the fake clouds did
# when two of them were seen fighting over 127.1.0.2 (and as two random
# starts may): where a machine answers must not depend on that number.
LAUNCHER = textwrap.dedent("""
    import asyncio, json, secrets, sys
    secrets.randbelow = lambda bound: 0
    import asyncssh
    from hastexo_cloudsim.pytest_plugin import start_cloud
    from hastexo_cloudsim.machines import wait_for_port
    from hastexo_cloudsim.testing import heat_for, stack_outputs, wait_for_status

    cloud = start_cloud()
    print("started", flush=True)
    sys.stdin.readline()
    heat = heat_for(cloud)
    with open(sys.argv[1], encoding="utf-8") as handle:
        heat.stacks.create(stack_name="lab", template=handle.read(), parameters={"run": "r"})
    wait_for_status(heat, "lab", "CREATE_COMPLETE", timeout=20)
    outputs = stack_outputs(heat, "lab")
    ready = wait_for_port(outputs["public_ip"], cloud.ssh_port, timeout=20)

    async def login():
        async with asyncssh.connect(outputs["public_ip"], cloud.ssh_port, username="training",
                                    known_hosts=None,
                                    client_keys=[asyncssh.import_private_key(outputs["private_key"])]) as conn:
            return (await conn.run("echo logged in")).stdout
    try:
        said = asyncio.run(asyncio.wait_for(login(), 20))
    except Exception as exc:
        said = f"no login: {exc!r}"
    addresses = sorted(a for m in cloud.machines.describe() for a in m["listen_addresses"])
    print(json.dumps({"ready": ready, "said": said, "addresses": addresses}), flush=True)
    cloud.stop()
""")


def launcher(*extra):
    return subprocess.Popen([sys.executable, "-c", LAUNCHER, SAMPLE_TEMPLATE, *extra], cwd=ROOT, text=True,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def test_two_clouds_in_two_processes_get_ready_labs_on_addresses_of_their_own():
    clouds = [launcher(), launcher()]
    try:
        for proc in clouds:
            assert proc.stdout.readline() == "started\n", proc.stderr.read()
        for proc in clouds:  # both launch at once
            proc.stdin.write("go\n")
            proc.stdin.flush()
        reports = []
        for proc in clouds:
            out, err = proc.communicate(timeout=90)
            assert proc.returncode == 0, err
            reports.append(json.loads(out.strip().splitlines()[-1]))
    finally:
        for proc in clouds:
            proc.kill()
            proc.wait()
    for report in reports:
        assert report["ready"] and report["said"] == "logged in\n", report
    first, second = (set(report["addresses"]) for report in reports)
    assert first and second and not first & second, reports


def test_a_process_that_finds_every_block_held_fails_at_once_saying_so():
    from hastexo_cloudsim import addresses

    held = addresses.claim()  # a block no other process holds now; held by this one
    try:
        started = time.monotonic()
        # The other process may take that block only: it is held.
        done = subprocess.run(
            [sys.executable, "-c", "from hastexo_cloudsim import addresses; "
             f"addresses.BLOCKS = range({held.number}, {held.number + 1}); "
             "from hastexo_cloudsim.pytest_plugin import start_cloud; start_cloud()"],
            cwd=ROOT, capture_output=True, text=True, timeout=60)
        assert time.monotonic() - started < 30
    finally:
        held.close()
    assert done.returncode != 0
    assert "no free block of loopback addresses for the fake machines" in done.stderr
    assert f"127.{held.number}.0.0/16" in done.stderr


def test_a_machine_whose_address_another_holds_says_so_and_stops_trying(template, caplog):
    from hastexo_cloudsim.pytest_plugin import start_cloud
    from hastexo_cloudsim.testing import heat_for

    caplog.set_level(logging.INFO, logger="hastexo_cloudsim.machines")
    cloud = start_cloud(boot_time=3)  # time to take its address first
    blocker = socket.socket()
    try:
        heat = heat_for(cloud)
        heat.stacks.create(stack_name="lab1", template=template, parameters={"run": "r"})
        wait_for_status(heat, "lab1", "CREATE_COMPLETE")
        address = stack_outputs(heat, "lab1")["public_ip"]
        blocker.bind((address, cloud.ssh_port))
        blocker.listen()

        def failed():
            return [m for m in cloud.machines.describe() if m["state"] == "failed"]
        (machine,) = wait_until(failed, timeout=15, what="the machine to give up")
        assert address in machine["error"] and "another process holds the address" in machine["error"]
        time.sleep(1)
        assert caplog.text.count("cannot listen") <= 2, "it stops trying"
        assert any(r.levelno == logging.ERROR and address in r.getMessage() for r in caplog.records)
    finally:
        blocker.close()
        cloud.stop()
