"""The README's first command: the demo starts, serves a lab page, and stops cleanly."""

import os
import signal
import subprocess
import sys
import time

import requests

from .helpers import ROOT


def test_demo_serves_the_workbench_and_stops(tmp_path):
    proc = subprocess.Popen(
        [sys.executable, "-m", "hastexo_lab", "demo", "--port", "0", "--data-dir", str(tmp_path)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"})
    try:
        banner = []
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            banner.append(line)
            if line.startswith("Press Ctrl+C"):
                break
        text = "".join(banner)
        assert "hastexo_lab demo on http://127.0.0.1:" in text, text + proc.stderr.read()
        lab_url = next(line.split()[1] for line in banner if line.strip().startswith("labs:"))
        page = requests.get(lab_url, timeout=30)
        assert page.status_code == 200 and "hastexo-lab" in page.text
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "Stopped." in out
