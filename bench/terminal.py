"""What an open terminal costs the gateway: memory and CPU of one gateway
process (``hastexo-lab terminal`` on uvicorn) with N sessions open to N labs
on the fake cloud's machines, idle and while every learner types.

    .venv/bin/python bench/terminal.py [--sessions 100] [--seconds 20]

With ``--flood MB``: what one learner can make the gateway hold. The lab
runs a foreground ``sleep`` (it reads no input); the learner's WebSocket
(offering compression, as browsers do) sends up to MB megabytes of input as
fast as the gateway takes it, for ``--seconds``; the gateway's memory is
sampled throughout.

    .venv/bin/python bench/terminal.py --flood 300 --seconds 20

The labs' shells run in the fake cloud (this process), not in the gateway;
the gateway's own costs are read from /proc. Needs Linux and port 22 on
loopback addresses (root). Uses a SQLite file of its own.
"""

import argparse
import asyncio
import json
import os
import signal
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


async def flood(pid, ws, megabytes, seconds):
    """Send up to ``megabytes`` of input while the lab sleeps; returns (bytes
    the gateway took, seconds taken, gateway RSS before, its peak), in MiB."""
    await ws.send(b"stty -echo; sleep 3600\n")
    await asyncio.sleep(1)
    reader = asyncio.ensure_future(drain(ws, [0]))
    # Lines a shell would take for comments, if it ever read them.
    chunk = (b"#" * 63 + b"\n") * 1024
    sent = [0]

    async def push():
        while sent[0] < megabytes * 1024 * 1024:
            await ws.send(chunk)
            sent[0] += len(chunk)
    rss_before, _ = proc_stats(pid)
    peak, began = rss_before, time.monotonic()
    pusher = asyncio.ensure_future(push())
    while time.monotonic() - began < seconds and not pusher.done():
        peak = max(peak, proc_stats(pid)[0])
        await asyncio.sleep(0.1)
    elapsed = time.monotonic() - began
    await asyncio.sleep(1)
    peak = max(peak, proc_stats(pid)[0])
    pusher.cancel()
    reader.cancel()
    return sent[0] / 1024 / 1024, elapsed, rss_before, peak


def run_flood(args, cloud, gateway):
    from hastexo_lab.terminal import tickets
    stack = make_labs(cloud, 1)[0]
    browser = tickets.new_browser_key()
    ticket = tickets.mint(stack, anonymous_student_id="learner0", browser_key=browser, username="training",
                          port=22, protocol="ssh", read_only=False, ttl=600)
    time.sleep(2)
    origin = f"http://127.0.0.1:{args.port}"

    async def run():
        ws = (await open_sessions(f"ws://127.0.0.1:{args.port}/hastexo-lab-terminal/ws", origin,
                                  [(ticket, browser)]))[0]
        compressed = bool(ws.protocol.extensions)
        try:
            return compressed, await flood(gateway.pid, ws, args.flood, args.seconds)
        finally:
            # The lab's sleep and shell: nothing is left to read the input.
            for machine in cloud.machines.find(stack.provider_stack_id):
                machine.signal_all(signal.SIGKILL)
            ws.transport.abort()
    compressed, (taken, elapsed, before, peak) = asyncio.run(run())
    print(f"WebSocket compression: {'on' if compressed else 'off (declined by the gateway)'}")
    print(f"the learner offered {args.flood} MiB; the gateway took {taken:.1f} MiB in {elapsed:.1f} s"
          f"{' (all of it)' if taken >= args.flood else ', then read no more'}")
    print(f"gateway RSS: {before:.1f} MiB before, {peak:.1f} MiB at most: +{peak - before:.1f} MiB")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--sessions", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--port", type=int, default=8097)
    parser.add_argument("--flood", type=int, default=0, metavar="MB",
                        help="one learner floods a lab that reads nothing with up to MB megabytes")
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
        if args.flood:
            return run_flood(args, cloud, gateway)
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
