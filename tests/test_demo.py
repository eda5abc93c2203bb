"""The README's first command: the demo starts, serves a lab page, and stops cleanly."""

import os
import re
import signal
import time

import requests

from .helpers import start_command


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
