import pytest

from hastexo_lab.cloudsim import CloudConfig, CloudSim
from hastexo_lab.providers import make_provider

from .helpers import FAST, FakeClock, heat_for, sample_template


def _cloud(**kwargs):
    clock = kwargs.pop("clock", None)
    config = CloudConfig(port=0, durations=dict(FAST), seed=1234, **kwargs)
    cloud = CloudSim(config, clock=clock) if clock else CloudSim(config)
    return cloud.start()


@pytest.fixture
def cloud():
    """A fake cloud on an ephemeral port with fast operations."""
    cloud = _cloud()
    yield cloud
    cloud.stop()


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def clocked_cloud(clock):
    """A fake cloud whose time moves only with ``clock.advance()``."""
    cloud = _cloud(clock=clock)
    yield cloud
    cloud.stop()


@pytest.fixture
def heat(cloud):
    return heat_for(cloud)


@pytest.fixture
def provider(cloud):
    return make_provider("test", cloud.provider_config())


@pytest.fixture(scope="session")
def template():
    return sample_template()
