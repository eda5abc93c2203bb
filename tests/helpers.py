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
           "wait_for_gone", "at_once", "wait_for_status", "wait_until"]


def start_command(*args, timeout=30, env=None):
    """Run ``python -m hastexo_lab ARGS`` until it prints "Press Ctrl+C";
    returns (process, banner lines)."""
    return start_module("hastexo_lab", *args, timeout=timeout, env=env, cwd=ROOT)


def sample_template():
    with open(SAMPLE_TEMPLATE, encoding="utf-8") as handle:
        return handle.read()


def at_once(function, count):
    """Call ``function`` from ``count`` threads released at the same moment
    (each on a database connection of its own); returns what each returned."""
    import threading

    from django.db import connection
    barrier, results, lock = threading.Barrier(count), [], threading.Lock()

    def contend():
        barrier.wait()
        try:
            result = function()
            with lock:
                results.append(result)
        finally:
            connection.close()
    threads = [threading.Thread(target=contend) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results
