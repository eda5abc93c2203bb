"""The README's first command: the demo starts, serves a lab page, and stops cleanly; it answers
only the names it serves, and a learner's shell in it reaches nothing but the learner's lab."""

import contextlib
import json
import os
import re
import shlex
import signal
import subprocess
import sys
import time

import pytest
import requests
from websockets.sync.client import connect

from .helpers import ROOT, start_command


def test_demo_serves_the_workbench_and_stops(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    proc, banner = start_command("demo", "--port", "0", "--data-dir", str(tmp_path), timeout=60, env=env)
    try:
        assert "hastexo_lab demo on http://127.0.0.1:" in "".join(banner)
        lab_url = next(line.split()[1] for line in banner if line.strip().startswith("labs:"))
        page = requests.get(lab_url, timeout=30)
        assert page.status_code == 200 and "hastexo-lab" in page.text
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "Stopped." in out


def _lab_status(lab_url, student, launch):
    """What the page's first request does: the status handler, as the learner."""
    browser = requests.Session()
    page = browser.get(lab_url.replace("student=alice", f"student={student}"), timeout=30).text
    usage = re.search(r"data-usage=['\"]([^'\"]+\.hastexo_lab\.[^'\"]+)['\"]", page).group(1)
    base = lab_url.split("/scenario/")[0]
    reply = browser.post(f"{base}/handler/{usage}/status/?student={student}", json={"launch": launch},
                         headers={"X-CSRFToken": browser.cookies.get("csrftoken", "")}, timeout=30)
    reply.raise_for_status()
    return reply.json()


def _wait_for_phase(lab_url, phase, timeout):
    deadline = time.monotonic() + timeout
    while True:
        reply = _lab_status(lab_url, "alice", launch=False)
        if reply["phase"] == phase:
            return reply
        if time.monotonic() > deadline:
            raise AssertionError(f"the lab is {reply}, not {phase}")
        time.sleep(0.5)


def test_a_restart_does_not_strand_earlier_learners(tmp_path):
    """The demo's fake clouds start empty: a learner whose lab was made
    before the restart is told it is gone and offered a fresh one."""
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    args = ("demo", "--port", "0", "--data-dir", str(tmp_path), "--create-time", "0.2")
    for run in ("before", "after"):
        proc, banner = start_command(*args, timeout=60, env=env)
        try:
            lab_url = next(line.split()[1] for line in banner if line.strip().startswith("labs:"))
            if run == "before":
                _lab_status(lab_url, "alice", launch=True)
                _wait_for_phase(lab_url, "ready", timeout=30)
                key_file = tmp_path / "secret_key"
                key = key_file.read_text()
                assert len(key.strip()) >= 50 and key_file.stat().st_mode & 0o777 == 0o600
            else:
                reply = _wait_for_phase(lab_url, "lost", timeout=30)
                assert "no longer exists" in reply["message"]
                assert key_file.read_text() == key, "the demo's secret key must survive a restart"
        finally:
            proc.send_signal(signal.SIGTERM)
            _, err = proc.communicate(timeout=30)
        logged = [line for line in err.splitlines() if " hastexo_lab." in line]
        if run == "before":
            assert any("NEW -> LAUNCH_PENDING" in line for line in logged), err
        assert len(logged) == len(set(logged)), "the demo printed log lines twice"


def test_the_demo_answers_only_the_host_names_it_serves(tmp_path):
    """A page of another site that points its own name at 127.0.0.1 (DNS
    rebinding) reaches neither the workbench nor the terminal gateway."""
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    proc, banner = start_command("demo", "--port", "0", "--data-dir", str(tmp_path), timeout=60, env=env)
    try:
        lab_url = next(line.split()[1] for line in banner if line.strip().startswith("labs:"))
        base = lab_url.split("/scenario/")[0]
        for url in (lab_url, f"{base}/hastexo-lab-terminal/"):
            assert requests.get(url, headers={"Host": "evil.example"}, timeout=30).status_code == 400, url
        assert requests.get(lab_url, headers={"Host": "localhost"}, timeout=30).status_code == 200
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=30)


def test_a_host_that_is_not_loopback_needs_expose(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    try:
        result = subprocess.run([sys.executable, "-m", "hastexo_lab", "demo", "--host", "0.0.0.0", "--port", "0",
                                 "--data-dir", str(tmp_path)], cwd=ROOT, env=env, capture_output=True, text=True,
                                timeout=30)
    except subprocess.TimeoutExpired:
        raise AssertionError("the demo started on every address without --expose") from None
    assert result.returncode == 2
    assert "not a loopback address" in result.stderr and "--expose" in result.stderr


@contextlib.contextmanager
def learner_shell(lab_url, student):
    """A learner's terminal in the demo, as the page opens it: a ticket from
    the block's handler, then the gateway's WebSocket."""
    browser = requests.Session()
    page = browser.get(lab_url.replace("student=alice", f"student={student}"), timeout=30).text
    usage = re.search(r"data-usage=['\"]([^'\"]+\.hastexo_lab\.[^'\"]+)['\"]", page).group(1)
    base = lab_url.split("/scenario/")[0]
    reply = browser.post(f"{base}/handler/{usage}/terminal_ticket/?student={student}", json={},
                         headers={"X-CSRFToken": browser.cookies.get("csrftoken", "")}, timeout=30)
    cookie = "; ".join(f"{k}={v}" for k, v in browser.cookies.items())
    with connect(f"{base.replace('http', 'ws', 1)}/hastexo-lab-terminal/ws", origin=base,
                 additional_headers={"Cookie": cookie}, open_timeout=10) as ws:
        ws.send(json.dumps({"ticket": reply.json()["ticket"], "cols": 200, "rows": 50}))
        assert json.loads(ws.recv(timeout=10))["type"] == "ready"
        yield Typist(ws)


class Typist:
    """Types commands into a terminal and reads what each printed."""

    def __init__(self, ws):
        self.ws, self.output, self.runs = ws, b"", 0

    def run(self, command, timeout=15):
        """The output of ``command``, between markers its own echo does not hold."""
        self.runs += 1
        begin, end = f"B{self.runs}B", f"E{self.runs}E"
        self.ws.send(f"echo B{self.runs}''B; {command}; echo E{self.runs}''E\n".encode())
        deadline = time.monotonic() + timeout
        while end.encode() not in self.output:
            message = self.ws.recv(timeout=max(0.1, deadline - time.monotonic()))
            self.output += message if isinstance(message, bytes) else b""
        return self.output.decode(errors="replace").rsplit(begin, 1)[1].split(end)[0]


def http_status_line(port, request):
    """What a shell does to reach a local web server without curl: bash alone."""
    return f"exec 3<>/dev/tcp/127.0.0.1/{port} && printf %s {shlex.quote(request)} >&3 && head -n 1 <&3"


def test_a_learners_shell_reaches_neither_the_demos_secrets_nor_its_clouds_nor_other_labs(tmp_path):
    """As the review found it: a learner read the demo's secret key, and
    logged in to its fake cloud with the credentials in its docs."""
    if os.geteuid() != 0:
        pytest.skip("the labs' machines get users of their own only where the demo runs as root")
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    data = tmp_path / "data"
    proc, banner = start_command("demo", "--port", "0", "--data-dir", str(data), "--create-time", "0.2",
                                 timeout=60, env=env)
    try:
        lab_url = next(line.split()[1] for line in banner if line.strip().startswith("labs:"))
        demo_port = int(lab_url.split(":")[2].split("/")[0])
        cloud_port = int(re.search(r"clouds: http://127\.0\.0\.1:(\d+)/v3", "".join(banner)).group(1))
        _lab_status(lab_url, "alice", launch=True)
        _wait_for_phase(lab_url, "ready", timeout=30)
        with learner_shell(lab_url, "alice") as shell:
            assert int(shell.run("id -u").split()[-1]) != os.getuid()
            key = (data / "secret_key").read_text().strip()
            assert key not in shell.run(f"cat {data}/secret_key")
            assert "demo.sqlite3" not in shell.run(f"ls {data}")
            body = json.dumps({"auth": {"identity": {"methods": ["password"], "password": {"user": {
                "name": "lab", "domain": {"name": "Default"}, "password": "lab-password"}}}}})
            login = (f"POST /v3/auth/tokens HTTP/1.0\r\nContent-Type: application/json\r\n"
                     f"Content-Length: {len(body)}\r\n\r\n{body}")
            assert " 201 " not in shell.run(http_status_line(cloud_port, login))
            other_learner = "GET /scenario/hastexo_lab.0/?student=bob HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n"
            assert " 200 " not in shell.run(http_status_line(demo_port, other_learner))
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=30)


def test_the_demo_serves_its_metrics_as_the_lms_does_with_its_token(tmp_path):
    """/hastexo-lab/metrics as the plugin adds it to the LMS: the demo keeps a
    token of its own in its data folder, and the banner says where."""
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    proc, banner = start_command("demo", "--port", "0", "--data-dir", str(tmp_path), timeout=60, env=env)
    try:
        url = next(line.split()[1] for line in banner if line.strip().startswith("metrics:"))
        token_file = tmp_path / "metrics_token"
        assert str(token_file) in "".join(banner) and token_file.stat().st_mode & 0o777 == 0o600
        refused = requests.get(url, timeout=30)
        assert refused.status_code == 401 and refused.headers["WWW-Authenticate"].startswith("Bearer")
        scrape = requests.get(url, headers={"Authorization": f"Bearer {token_file.read_text().strip()}"},
                              timeout=30)
        assert scrape.status_code == 200, scrape.text
        assert "hastexo_lab_stacks_needing_operator 0.0" in scrape.text
        assert "hastexo_lab_sweep_seconds_count" in scrape.text  # the demo's sweeps ran, in its one process
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=30)
