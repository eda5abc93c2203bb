"""The README's first command: the demo starts, serves a lab page, and stops cleanly."""

import os
import signal

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
