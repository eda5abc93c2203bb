"""The fake cloud's machines at scale: memory and open files with N stacks of
the sample template (two machines each), against the same stacks without
machines, and the latency of an SSH login (key, then a command).

    .venv/bin/python bench/machines.py [--stacks 1000] [--logins 50]

Needs root (the machines listen on port 22 of their loopback addresses) and
Linux. Nothing else may run machines on this host at the same time.
"""

import argparse
import asyncio
import os
import statistics
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "cloudsim"))

from hastexo_cloudsim import CloudConfig, CloudSim  # noqa: E402
from hastexo_cloudsim.testing import heat_for  # noqa: E402

DURATIONS = {"create": 0.0, "suspend": 0.0, "resume": 0.0, "delete": 0.0}


def rss_mib():
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def open_files():
    return len(os.listdir("/proc/self/fd"))


def children():
    me = str(os.getpid())
    count = 0
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as handle:
                    if handle.read().rsplit(")", 1)[1].split()[1] == me:
                        count += 1
            except OSError:
                pass
    return count


def make_stacks(machines, count, template):
    before = (rss_mib(), open_files())
    cloud = CloudSim(CloudConfig(port=0, durations=dict(DURATIONS), machines=machines, boot_time=0.0)).start()
    heat = heat_for(cloud)
    started = time.perf_counter()
    for i in range(count):
        heat.stacks.create(stack_name=f"bench{i}", template=template, parameters={"run": "bench"})
    created = time.perf_counter() - started
    if machines:
        deadline = time.monotonic() + 300
        while len([m for m in cloud.machines.machines.values() if m.server is not None]) < count:
            if time.monotonic() > deadline:
                raise SystemExit("the machines did not all come up within 5 minutes")
            time.sleep(0.2)
    up = time.perf_counter() - started
    after = (rss_mib(), open_files())
    return cloud, heat, created, up, after[0] - before[0], after[1] - before[1]


async def logins(heat, count):
    import asyncssh
    stack = heat.stacks.get("bench0")
    outputs = {o["output_key"]: o["output_value"] for o in stack.outputs}
    key = asyncssh.import_private_key(outputs["private_key"])
    times = []
    for _ in range(count):
        started = time.perf_counter()
        async with asyncssh.connect(outputs["public_ip"], 22, username="training", client_keys=[key],
                                    known_hosts=None) as conn:
            await conn.run("true", check=True)
        times.append((time.perf_counter() - started) * 1000)
    return times


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--stacks", type=int, default=1000)
    parser.add_argument("--logins", type=int, default=50)
    args = parser.parse_args()
    with open(os.path.join(ROOT, "samples", "hot", "lab.yaml")) as handle:
        template = handle.read()

    plain, _, created, _, memory, files = make_stacks(False, args.stacks, template)
    plain.stop()
    print(f"{args.stacks} stacks, no machines: created in {created:.1f} s; +{memory:.0f} MiB, +{files} open files")
    cloud, heat, created, up, memory, files = make_stacks(True, args.stacks, template)
    print(f"{args.stacks} stacks with machines: created in {created:.1f} s, all listening after {up:.1f} s; "
          f"+{memory:.0f} MiB, +{files} open files, {children()} processes")
    times = asyncio.run(logins(heat, args.logins))
    times.sort()
    print(f"SSH login (key) + one command, {args.logins} times: p50 {statistics.median(times):.1f} ms, "
          f"p99 {times[int(len(times) * 0.99) - 1]:.1f} ms, max {times[-1]:.1f} ms; {children()} processes after")
    cloud.stop()


if __name__ == "__main__":
    main()
