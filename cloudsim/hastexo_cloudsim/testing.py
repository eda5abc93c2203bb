"""Helpers for tests that drive a fake cloud: a movable clock, waiting, and
an unmodified heatclient logged in to a cloud. The pytest fixtures built on
them are in :mod:`hastexo_cloudsim.pytest_plugin`."""

import threading
import time

# Short enough for a quick suite, long enough to observe *_IN_PROGRESS.
FAST = {"create": 0.15, "suspend": 0.1, "resume": 0.1, "delete": 0.05}


class FakeClock:
    """A clock that only moves when told to; starts at the real time."""

    def __init__(self):
        self.now = time.time()
        self._lock = threading.Lock()

    def __call__(self):
        with self._lock:
            return self.now

    def advance(self, seconds):
        with self._lock:
            self.now += seconds


def heat_for(cloud, **overrides):
    """An unmodified heatclient on a keystoneauth1 session, logged in to ``cloud``."""
    from heatclient import client as heat_client
    from keystoneauth1 import session as ks_session
    from keystoneauth1.identity import v3

    cfg = cloud.config
    auth = v3.Password(
        auth_url=cloud.auth_url,
        username=overrides.get("username", cfg.username),
        password=overrides.get("password", cfg.password),
        user_domain_name=cfg.domain_name,
        project_name=cfg.project_name,
        project_domain_name=cfg.domain_name,
    )
    return heat_client.Client("1", session=ks_session.Session(auth=auth), region_name=cfg.region)


def wait_until(predicate, timeout=5.0, interval=0.02, what="condition"):
    """Poll ``predicate`` until it returns a truthy value; fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(interval)


def wait_for_status(heat, ref, status, timeout=5.0):
    """Wait until a stack (by heatclient) reaches ``status``; returns the stack."""
    def check():
        stack = heat.stacks.get(ref)
        return stack if stack.stack_status == status else None
    return wait_until(check, timeout, what=f"{ref} to reach {status}")


def stack_outputs(heat, ref):
    """A stack's outputs (by heatclient), as {key: value}."""
    return {o["output_key"]: o["output_value"] for o in heat.stacks.get(ref).outputs}


def wait_for_gone(heat, ref, timeout=5.0):
    """Wait until Heat answers 404 for a stack."""
    from heatclient import exc as heat_exc

    def gone():
        try:
            heat.stacks.get(ref)
        except heat_exc.HTTPNotFound:
            return True
        return False
    wait_until(gone, timeout, what=f"{ref} to be deleted")


def start_module(module, *args, timeout=30, env=None, cwd=None):
    """Run ``python -m MODULE ARGS`` until it prints "Press Ctrl+C"; returns
    (process, banner lines). Fails with its output if it does not."""
    import os
    import subprocess
    import sys

    env = dict(env if env is not None else os.environ, PYTHONUNBUFFERED="1")
    proc = subprocess.Popen([sys.executable, "-m", module, *args], cwd=cwd, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line)
        if line.startswith("Press Ctrl+C"):
            return proc, lines
    proc.kill()
    raise AssertionError(f"{module} {' '.join(args[:1])} did not start: " + "".join(lines) + proc.stderr.read())


def admin_session(cloud):
    """A requests session for the cloud's admin API, with its credentials."""
    import requests

    session = requests.Session()
    session.auth = (cloud.config.username, cloud.config.password)
    return session
