"""pytest fixtures for tests against a fake cloud. Use them with
``pytest_plugins = ["hastexo_cloudsim.pytest_plugin"]`` in a conftest.py."""

import pytest

from . import CloudConfig, CloudSim
from .testing import FAST, FakeClock, heat_for


def start_cloud(**kwargs):
    """A fake cloud on an ephemeral loopback port with fast operations."""
    clock = kwargs.pop("clock", None)
    kwargs.setdefault("boot_time", 0.1)
    config = CloudConfig(port=0, durations=dict(FAST), seed=1234, **kwargs)
    cloud = CloudSim(config, clock=clock) if clock else CloudSim(config)
    return cloud.start()


@pytest.fixture
def cloud():
    """A fake cloud on an ephemeral port with fast operations."""
    cloud = start_cloud()
    yield cloud
    cloud.stop()


@pytest.fixture
def cloud_b():
    """A second, independent fake cloud (another provider)."""
    cloud = start_cloud()
    yield cloud
    cloud.stop()


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def clocked_cloud(clock):
    """A fake cloud whose time moves only with ``clock.advance()``."""
    cloud = start_cloud(clock=clock)
    yield cloud
    cloud.stop()


@pytest.fixture
def heat(cloud):
    """An unmodified heatclient logged in to ``cloud``."""
    return heat_for(cloud)
