"""A fake OpenStack cloud (Keystone v3 + Heat v1) over real HTTP, for tests and demos."""

from .config import CloudConfig
from .faults import Fault, FaultInjector, parse_spec
from .server import CloudSim

__all__ = ["CloudConfig", "CloudSim", "Fault", "FaultInjector", "parse_spec"]
