"""Shared test helpers: waiting and clients for a fake cloud (from the fake
cloud's own testing module), starting commands, the sample template."""

import os

from hastexo_cloudsim.testing import (
    FAST,
    FakeClock,
    heat_for,
    start_module,
    wait_for_gone,
    wait_for_status,
    wait_until,
)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SAMPLE_TEMPLATE = os.path.join(ROOT, "samples", "hot", "lab.yaml")

__all__ = ["FAST", "ROOT", "SAMPLE_TEMPLATE", "FakeClock", "heat_for", "sample_template", "start_command",
           "wait_for_gone", "wait_for_status", "wait_until"]


def start_command(*args, timeout=30, env=None):
    """Run ``python -m hastexo_lab ARGS`` until it prints "Press Ctrl+C";
    returns (process, banner lines)."""
    return start_module("hastexo_lab", *args, timeout=timeout, env=env, cwd=ROOT)


def sample_template():
    with open(SAMPLE_TEMPLATE, encoding="utf-8") as handle:
        return handle.read()
