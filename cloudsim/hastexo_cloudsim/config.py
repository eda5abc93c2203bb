"""Settings of one fake cloud: who may log in, where, and how slow Heat is."""

import math
import os
import secrets
from dataclasses import dataclass, field

# Operations whose duration the fake Heat engine simulates.
OPERATIONS = ("create", "suspend", "resume", "delete")


@dataclass
class CloudConfig:
    """Everything that shapes a fake cloud; every field has a usable default.

    Durations are in seconds and say how long a stack stays ``*_IN_PROGRESS``
    before Heat reports ``*_COMPLETE`` (or ``*_FAILED`` when a fault says so).
    """

    host: str = "127.0.0.1"
    port: int = 5000
    region: str = "RegionOne"
    domain_id: str = "default"
    domain_name: str = "Default"
    user_id: str = "0f5c4b1e6a7d4c3e9b2a1d0c8e7f6a5b"
    username: str = "lab"
    # New for every cloud unless given: the machines' shells run on this
    # computer, and nothing a learner reads in the source or the docs logs in.
    password: str = field(default_factory=lambda: secrets.token_urlsafe(18))
    project_id: str = "6e3f1c2d4b5a49788a9b0c1d2e3f4a5b"
    project_name: str = "labs"
    token_ttl: float = 3600.0
    durations: dict = field(
        default_factory=lambda: {"create": 3.0, "suspend": 2.0, "resume": 2.0, "delete": 1.0}
    )
    # Seed for the random choices of fractional faults, so a run can be replayed.
    seed: int | None = None
    # Machines behind the servers: SSH on each server's floating IP (see
    # machines.py). Off for pure API load tests.
    machines: bool = True
    # The port the machines' SSH servers listen on; None: 22 where this
    # process may bind it, else fallback_ssh_port. ``CloudSim.ssh_port`` says
    # which it is.
    ssh_port: int | None = None
    fallback_ssh_port: int = 2222
    # Seconds from CREATE_COMPLETE until a new machine accepts logins.
    boot_time: float = 0.5
    # Folders no machine sees (an empty tmpfs in its place), beyond those it
    # never sees (see sandbox.py): where namespaces can be had.
    private_paths: tuple = ()

    def __post_init__(self):
        if not _is_loopback(self.host):
            raise ValueError(f"the fake cloud listens on loopback addresses only (it gives shells), not {self.host!r}")
        unknown = set(self.durations) - set(OPERATIONS)
        if unknown:
            raise ValueError(f"unknown operation(s) in durations: {', '.join(sorted(unknown))}")
        for op in OPERATIONS:
            self.durations.setdefault(op, 0.0)
            if not math.isfinite(self.durations[op]):
                raise ValueError(f"duration of {op} must be a finite number of seconds, not {self.durations[op]}")
            if self.durations[op] < 0:
                raise ValueError(f"duration of {op} must not be negative")
        if not (math.isfinite(self.token_ttl) and self.token_ttl > 0):
            raise ValueError("token_ttl must be a finite, positive number of seconds")
        if not self.password:
            raise ValueError("the password must not be empty")
        self.private_paths = tuple(self.private_paths)
        for path in self.private_paths:
            if not (isinstance(path, str) and os.path.isabs(path) and os.path.realpath(path) != "/"):
                raise ValueError(f"private_paths must be absolute paths of folders other than /, not {path!r}")
        for name in ("ssh_port", "fallback_ssh_port"):
            value = getattr(self, name)
            if value is not None and not (isinstance(value, int) and 0 < value < 65536):
                raise ValueError(f"{name} must be a TCP port number (1..65535), not {value!r}")


def choose_ssh_port(config, can_bind=None):
    """The port the machines listen on: the configured one, else 22 where
    this process may bind it, else the fallback."""
    if config.ssh_port is not None:
        return config.ssh_port
    return 22 if (can_bind or _may_bind_low_ports)() else config.fallback_ssh_port


def _may_bind_low_ports():
    """May this process bind a privileged port (root, or CAP_NET_BIND_SERVICE)?
    Tried on a loopback address no stack uses."""
    import socket
    probe = socket.socket()
    try:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind(("127.0.0.254", 22))
        return True
    except PermissionError:
        return False
    except OSError:
        return True  # taken, not forbidden
    finally:
        probe.close()


def _is_loopback(host):
    import ipaddress
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
