"""What an LMS installs and loads: the block, never the fake cloud."""

import subprocess
import sys

from .helpers import ROOT

LMS_MODULES = ["hastexo_lab.block", "hastexo_lab.api", "hastexo_lab.tasks", "hastexo_lab.operations",
               "hastexo_lab.sweeps", "hastexo_lab.admin", "hastexo_lab.celery", "hastexo_lab.models",
               "hastexo_lab.providers.openstack", "hastexo_lab.terminal.gateway", "hastexo_lab.labssh"]


def test_nothing_the_lms_or_a_worker_loads_imports_the_fake_cloud():
    script = ("import os, sys, django; os.environ['DJANGO_SETTINGS_MODULE'] = 'tests.project.settings'; "
              "django.setup(); import importlib; "
              f"[importlib.import_module(m) for m in {LMS_MODULES!r}]; "
              "print(sorted(m for m in sys.modules if m.startswith('hastexo_cloudsim')))")
    out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout


def test_the_blocks_package_does_not_ship_the_fake_cloud():
    from setuptools import find_packages
    assert not [p for p in find_packages(ROOT, include=["hastexo_lab", "hastexo_lab.*"]) if "cloudsim" in p]


def test_the_wheel_ships_the_terminals_built_browser_files(tmp_path):
    import zipfile
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--quiet",
                    "--wheel-dir", str(tmp_path), ROOT], check=True, capture_output=True, cwd=tmp_path)
    (wheel,) = tmp_path.glob("hastexo_lab-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for name in ("xterm.js", "xterm.css", "addon-fit.js", "LICENSE.xterm"):
        assert f"hastexo_lab/static/vendor/xterm/{name}" in names
    assert "hastexo_lab/static/terminal/terminal.js" in names
    assert "hastexo_lab/migrations/0003_terminal_tickets.py" in names
    assert not [n for n in names if "cloudsim" in n or "node_modules" in n]
