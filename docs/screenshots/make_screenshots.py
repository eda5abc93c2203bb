"""Take the pictures of docs/learners.md again: the learner's page in each
state, in headless Chromium, against the real handlers, a real Celery worker
and the fake cloud (the browser tests of tests/browser/test_lab_states.py,
which save a picture of each state they reach when asked to).

    .venv/bin/python docs/screenshots/make_screenshots.py

Needs what the browser tests need (Debian: chromium, chromium-driver).
"""

import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent


def main():
    env = dict(os.environ, HASTEXO_LAB_SCREENSHOTS=str(HERE))
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/browser/test_lab_states.py"]
    return subprocess.run(command, cwd=ROOT, env=env, check=False).returncode


if __name__ == "__main__":
    sys.exit(main())
