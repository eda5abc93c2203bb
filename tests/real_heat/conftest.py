"""The real Keystone and Heat, started once for the tests of a run that need
them. Without them (no virtualenv, no MariaDB or RabbitMQ) these tests are
skipped with a warning, except under CI (CI=true), where that is a failure."""

import json
import os
import warnings

import pytest

from hastexo_lab.providers import make_provider

from .cloud import HOME, RealHeat, missing

TEMPLATE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "lab.yaml")


# Package scope: started for the first test here, stopped after the last, so
# that it does not hold its memory through the rest of the run.
@pytest.fixture(scope="package")
def real_heat():
    """A running Keystone + Heat (``RealHeat``), shared by the tests of this folder."""
    lacks = missing()
    if lacks:
        message = "the real-Heat tests need " + "; ".join(lacks)
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        warnings.warn(message, pytest.PytestWarning, stacklevel=1)
        pytest.skip(message)
    heat = RealHeat()
    try:
        heat.start()
        yield heat
    finally:
        heat.stop()
        _TIMINGS.update(heat.timings)


@pytest.fixture
def real_provider(real_heat):
    """The project's OpenStack provider, unchanged, on the lab project of the real Heat."""
    return make_provider("real-heat", real_heat.provider_config())


@pytest.fixture(scope="session")
def lab_template():
    with open(TEMPLATE, encoding="utf-8") as handle:
        return handle.read()


# What the run measured: printed at its end, and kept in .real-heat/timings.json.
_TIMINGS = {}


def pytest_terminal_summary(terminalreporter):
    if not _TIMINGS:
        return
    terminalreporter.section("real Heat timings (s)")
    for what, seconds in _TIMINGS.items():
        spread = f"{min(seconds):.1f}" + (f"-{max(seconds):.1f} ({len(seconds)} times)" if len(seconds) > 1 else "")
        terminalreporter.write_line(f"{what}: {spread}")
    with open(os.path.join(HOME, "timings.json"), "w", encoding="utf-8") as handle:
        json.dump(_TIMINGS, handle, indent=2)
