"""What an open terminal costs the gateway: memory and CPU of one gateway
process (``hastexo-lab terminal`` on uvicorn) with N sessions open to N labs
on the fake cloud's machines, idle and while every learner types.

    .venv/bin/python bench/terminal.py [--sessions 100] [--seconds 20]

The labs' shells run in the fake cloud (this process), not in the gateway;
the gateway's own costs are read from /proc. Needs Linux and port 22 on
loopback addresses (root). Uses a SQLite file of its own.
"""

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [ROOT, os.path.join(ROOT, "cloudsim")]
DB = os.path.join(tempfile.gettempdir(), f"hastexo_lab_bench_terminal_{os.getpid()}.sqlite3")
os.environ.update(DJANGO_SETTINGS_MODULE="bench.terminal_settings", HASTEXO_LAB_BENCH_DB=DB)


def proc_stats(pid):
    """(resident MiB, CPU seconds used so far) of a process."""
    with open(f"/proc/{pid}/status") as handle:
        rss = next(int(line.split()[1]) for line in handle if line.startswith("VmRSS:")) / 1024
    with open(f"/proc/{pid}/stat") as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return rss, (int(fields[11]) + int(fields[12])) / ticks


def make_labs(cloud, count):
    """``count`` ready stacks at the fake cloud, with their rows."""
    from django.utils import timezone
    from hastexo_cloudsim.testing import heat_for, wait_for_status

    from hastexo_lab import crypto
    from hastexo_lab.models import Stack
    from tests.helpers import sample_template

    heat = heat_for(cloud)
    template = sample_template()
    for n in range(count):
        heat.stacks.create(stack_name=f"bench-{n}", template=template, parameters={"run": "bench"})
    rows = []
    for n in range(count):
        stack = wait_for_status(heat, f"bench-{n}", "CREATE_COMPLETE", timeout=60)
        outputs = {o["output_key"]: o["output_value"] for o in stack.outputs}
        now = timezone.now()
        rows.append(Stack.objects.create(
            name=f"bench-{n}", course_id="bench", anonymous_student_id=f"learner{n}", status="CREATE_COMPLETE",
            status_changed_at=now, provider="bench", provider_stack_id=stack.id, ip=outputs["public_ip"],
            private_key_encrypted=crypto.encrypt(outputs["private_key"]),
            password_encrypted=crypto.encrypt(outputs["password"]), reachable_at=now))
    return rows


async def open_sessions(url, origin, grants):
    from websockets.asyncio.client import connect

    from hastexo_lab.terminal import tickets
    sockets = []
    for ticket, browser in grants:
        ws = await connect(url, origin=origin, additional_headers={"Cookie": f"{tickets.BROWSER_COOKIE}={browser}"},
                           max_size=None)
        await ws.send(json.dumps({"ticket": ticket, "cols": 120, "rows": 40}))
        while True:
            message = await ws.recv()
            if isinstance(message, str):
                assert json.loads(message)["type"] == "ready", message
                break
        sockets.append(ws)
    return sockets


async def drain(ws, counter):
    try:
        async for message in ws:
            if isinstance(message, bytes):
                counter[0] += len(message)
    except Exception:
        pass


async def measure(pid, sockets, seconds, typing):
    received = [0]
    readers = [asyncio.ensure_future(drain(ws, received)) for ws in sockets]
    await asyncio.sleep(1)
    rss0, cpu0 = proc_stats(pid)
    began = time.monotonic()
    while time.monotonic() - began < seconds:
        if typing:  # every learner types a command a second, which prints a screenful
            for ws in sockets:
                await ws.send(b"ls -la /usr/bin | head -40\n")
        await asyncio.sleep(1)
    elapsed = time.monotonic() - began
    rss1, cpu1 = proc_stats(pid)
    for reader in readers:
        reader.cancel()
    return rss1, (cpu1 - cpu0) / elapsed * 100, received[0] / elapsed


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--sessions", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--port", type=int, default=8097)
    args = parser.parse_args()

    import django
    django.setup()
    from django.core.management import call_command
    from hastexo_cloudsim import CloudConfig, CloudSim

    from hastexo_lab.terminal import tickets
    call_command("migrate", verbosity=0)
    cloud = CloudSim(CloudConfig(port=0, boot_time=0, durations={"create": 0, "suspend": 0, "resume": 0,
                                                                    "delete": 0})).start()
    gateway = subprocess.Popen([sys.executable, "-m", "hastexo_lab", "terminal", "--port", str(args.port)],
                               cwd=ROOT, env=dict(os.environ))
    try:
        labs = make_labs(cloud, args.sessions)
        grants = []
        for n, stack in enumerate(labs):
            browser = tickets.new_browser_key()
            grants.append((tickets.mint(stack, anonymous_student_id=f"learner{n}", browser_key=browser,
                                        username="training", port=22, protocol="ssh", read_only=False, ttl=600),
                           browser))
        time.sleep(2)
        rss_before, _ = proc_stats(gateway.pid)
        origin = f"http://127.0.0.1:{args.port}"

        async def run():
            sockets = await open_sessions(f"ws://127.0.0.1:{args.port}/hastexo-lab-terminal/ws", origin, grants)
            idle = await measure(gateway.pid, sockets, args.seconds, typing=False)
            busy = await measure(gateway.pid, sockets, args.seconds, typing=True)
            for ws in sockets:
                await ws.close()
            return idle, busy
        started = time.monotonic()
        (rss_open, cpu_idle, _), (rss_busy, cpu_busy, rate) = asyncio.run(run())
        n = args.sessions
        print(f"gateway before any session: {rss_before:.1f} MiB")
        print(f"{n} sessions open (in {time.monotonic() - started - 2 * args.seconds - 2:.1f} s): "
              f"{rss_open:.1f} MiB, +{(rss_open - rss_before) / n * 1024:.0f} KiB per session")
        print(f"idle: {cpu_idle:.1f} % of one core ({cpu_idle / n:.3f} % per session)")
        print(f"typing (a command a second each, {rate / 1024:.0f} KiB/s to the browsers): {cpu_busy:.1f} % "
              f"of one core ({cpu_busy / n:.2f} % per session), {rss_busy:.1f} MiB")
    finally:
        gateway.terminate()
        gateway.wait(timeout=10)
        cloud.stop()
        os.unlink(DB)


if __name__ == "__main__":
    main()
