"""Round-trip time of the fake cloud, as heatclient sees it (token reused).

Runs the cloud in a separate process (so client and server do not share one
interpreter), then times N ``stacks.get(name/id)`` calls through the unmodified
heatclient + keystoneauth1, a raw keep-alive GET, and the same with 20 client
threads. For comparison in the same run it repeats the heatclient timing against
a second cloud whose sockets have Nagle's algorithm left on.

    .venv/bin/python bench/cloudsim_roundtrip.py [--calls 2000]
"""

import argparse
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import requests
from heatclient import client as heat_client
from keystoneauth1 import session as ks_session
from keystoneauth1.identity import v3

SERVER = r"""
import socket, sys
from hastexo_cloudsim import CloudConfig, CloudSim
from hastexo_cloudsim import server
if sys.argv[1] == "nagle":
    # Undo TCP_NODELAY to show what it saves.
    base = server.BaseHTTPRequestHandler.setup
    server._Handler.setup = lambda self: base(self)
cloud = CloudSim(CloudConfig(port=0, password="lab-password",
                             durations={"create": 0, "suspend": 0, "resume": 0, "delete": 0}))
print(cloud.port, flush=True)
cloud.serve_forever()
"""

TEMPLATE = "heat_template_version: 2016-10-14\noutputs: {o: {value: 1}}\n"


def start_cloud(mode):
    proc = subprocess.Popen([sys.executable, "-c", SERVER, mode], stdout=subprocess.PIPE, text=True)
    return proc, int(proc.stdout.readline())


def heat_for(port):
    auth = v3.Password(auth_url=f"http://127.0.0.1:{port}/v3", username="lab", password="lab-password",
                       user_domain_name="Default", project_name="labs", project_domain_name="Default")
    return heat_client.Client("1", session=ks_session.Session(auth=auth), region_name="RegionOne")


def timed(fn, calls):
    fn()  # warm up: authenticate, open the connection
    samples = []
    for _ in range(calls):
        t0 = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t0) * 1000)
    samples.sort()
    return {"mean": statistics.fmean(samples), "p50": samples[len(samples) // 2],
            "p99": samples[int(len(samples) * 0.99)]}


def row(label, stats):
    print(f"| {label} | {stats['mean']:.2f} | {stats['p50']:.2f} | {stats['p99']:.2f} |")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=2000)
    args = parser.parse_args()
    procs = []
    try:
        proc, port = start_cloud("nodelay")
        procs.append(proc)
        heat = heat_for(port)
        stack_id = heat.stacks.create(stack_name="bench", template=TEMPLATE)["stack"]["id"]
        ref = f"bench/{stack_id}"
        token = heat.http_client.session.get_token()
        raw = requests.Session()
        url = f"http://127.0.0.1:{port}/v1/6e3f1c2d4b5a49788a9b0c1d2e3f4a5b/stacks/{ref}"

        print(f"{args.calls} calls each; times in ms\n")
        print("| what | mean | p50 | p99 |\n| --- | --- | --- | --- |")
        get = timed(lambda: heat.stacks.get(ref), args.calls)
        row("heatclient stacks.get(name/id)", get)
        row("raw keep-alive GET (requests)", timed(lambda: raw.get(url, headers={"X-Auth-Token": token}),
                                                   args.calls))

        proc2, port2 = start_cloud("nagle")
        procs.append(proc2)
        heat2 = heat_for(port2)
        sid2 = heat2.stacks.create(stack_name="bench", template=TEMPLATE)["stack"]["id"]
        nagle = timed(lambda: heat2.stacks.get(f"bench/{sid2}"), max(50, args.calls // 20))
        row("heatclient stacks.get, Nagle left on", nagle)
        print(f"\nNagle on / off (mean): {nagle['mean'] / get['mean']:.1f}x")

        per_thread = max(10, args.calls // 20)
        clients = [heat_for(port) for _ in range(20)]
        for c in clients:
            c.stacks.get(ref)
        t0 = time.perf_counter()
        with ThreadPoolExecutor(20) as pool:
            list(pool.map(lambda c: [c.stacks.get(ref) for _ in range(per_thread)], clients))
        elapsed = time.perf_counter() - t0
        total = per_thread * 20
        print(f"20 concurrent clients: {total} calls in {elapsed:.2f} s = {total / elapsed:.0f} calls/s, "
              f"{elapsed / per_thread * 1000:.2f} ms per call per client")
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait()


if __name__ == "__main__":
    main()
