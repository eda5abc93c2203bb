"""Fault injection: make the fake cloud fail the way real clouds do.

A fault matches a kind of request (``create``, ``show``, ``auth``, ... or
``any``) or a kind of Heat operation (``create``, ``suspend``, ``resume``,
``delete``) and has one effect:

- ``fail``:  the operation ends ``*_FAILED`` with ``reason``;
- ``hang``:  the operation stays ``*_IN_PROGRESS`` forever;
- ``error``: the request is answered with HTTP ``status`` (default 503);
- ``slow``:  the request is answered after ``delay`` seconds;
- ``drop``:  the connection is closed without an answer.

The machines' SSH servers have faults of their own, with op ``ssh``:
``refuse`` (the connection is closed at once), ``hang`` (the login never
completes), ``slow`` (the login takes ``delay`` seconds) and ``drop`` (the
connection is cut ``delay`` seconds into the session).

It fires for the next ``count`` matches (default 1), or, with ``fraction``,
for that share of matches (``count`` then caps how often it fires).
"""

import itertools
import math
import random
import threading
from dataclasses import asdict, dataclass, field

from .config import OPERATIONS

OPERATION_EFFECTS = ("fail", "hang")
REQUEST_EFFECTS = ("error", "slow", "drop")
SSH_EFFECTS = ("refuse", "hang", "slow", "drop")
REQUEST_KINDS = ("auth", "versions", "create", "list", "lookup", "show", "outputs", "suspend",
                 "resume", "check", "update", "delete", "events", "resources", "template", "environment",
                 "validate", "resource_types", "template_versions")

# A day: longer than any test waits; sleeps far longer overflow the clocks.
MAX_DELAY = 86400

_ids = itertools.count(1)


@dataclass
class Fault:
    op: str
    effect: str
    count: int | None = None
    fraction: float | None = None
    reason: str = ""
    status: int = 503
    delay: float = 1.0
    fired: int = 0
    id: int = field(default_factory=lambda: next(_ids))

    def __post_init__(self):
        if self.op == "ssh":
            if self.effect not in SSH_EFFECTS:
                raise ValueError(f"an ssh fault's effect is one of {', '.join(SSH_EFFECTS)}, not {self.effect!r}")
        elif self.effect in OPERATION_EFFECTS:
            if self.op not in OPERATIONS:
                raise ValueError(f"effect {self.effect!r} needs an operation ({', '.join(OPERATIONS)}), "
                                 f"not {self.op!r}")
        elif self.effect in REQUEST_EFFECTS:
            if self.op != "any" and self.op not in REQUEST_KINDS:
                raise ValueError(f"unknown request kind {self.op!r} (use any or one of {', '.join(REQUEST_KINDS)})")
        else:
            raise ValueError(f"unknown effect {self.effect!r} "
                             f"(one of {', '.join(OPERATION_EFFECTS + REQUEST_EFFECTS)})")
        if self.fraction is not None and not 0 < float(self.fraction) <= 1:
            raise ValueError(f"fraction must be in (0, 1], not {self.fraction}")
        if self.count is None and self.fraction is None:
            self.count = 1
        if self.count is not None and int(self.count) < 1:
            raise ValueError(f"count must be at least 1, not {self.count}")
        if not 100 <= int(self.status) <= 599:
            raise ValueError(f"status must be an HTTP status code, not {self.status}")
        if not math.isfinite(float(self.delay)):
            raise ValueError(f"delay must be a finite number of seconds, not {self.delay}")
        if not 0 <= float(self.delay) <= MAX_DELAY:
            raise ValueError(f"delay must be between 0 and {MAX_DELAY} seconds, not {self.delay}")
        if not self.reason:
            self.reason = f"Injected fault: {self.op} {self.effect}"

    def as_dict(self):
        return asdict(self)


def parse_spec(spec):
    """Parse the CLI form ``OP:EFFECT[:key=value,...]``, e.g. ``create:fail:count=2``."""
    parts = spec.split(":", 2)
    if len(parts) < 2:
        raise ValueError(f"fault {spec!r} is not OP:EFFECT[:key=value,...]")
    options = {}
    if len(parts) == 3 and parts[2]:
        for item in parts[2].split(","):
            key, sep, value = item.partition("=")
            if not sep:
                raise ValueError(f"fault option {item!r} is not key=value")
            options[key.strip()] = value.strip()
    return make_fault(parts[0].strip(), parts[1].strip(), options)


def make_fault(op, effect, options):
    """Build a Fault from loosely typed options (CLI strings or JSON values)."""
    casts = {"count": int, "fraction": float, "status": int, "delay": float, "reason": str}
    unknown = set(options) - set(casts)
    if unknown:
        raise ValueError(f"unknown fault option(s): {', '.join(sorted(unknown))}")
    typed = {}
    for key, value in options.items():
        try:
            typed[key] = casts[key](value)
        except (TypeError, ValueError):
            raise ValueError(f"fault option {key} has a bad value: {value!r}")
    return Fault(op=op, effect=effect, **typed)


class FaultInjector:
    """The active faults of one cloud; safe to use from many threads."""

    def __init__(self, seed=None):
        self._faults = []
        self._lock = threading.Lock()
        self._random = random.Random(seed)

    def add(self, op, effect, **options):
        return self.install(Fault(op=op, effect=effect, **options))

    def install(self, fault):
        with self._lock:
            self._faults.append(fault)
        return fault

    def clear(self):
        with self._lock:
            self._faults.clear()

    def active(self):
        with self._lock:
            return [f.as_dict() for f in self._faults]

    def for_request(self, kind):
        """The request fault to apply to a request of this kind, if any."""
        return self._take(lambda f: f.op != "ssh" and f.effect in REQUEST_EFFECTS and f.op in (kind, "any"))

    def for_ssh(self):
        """The fault for an SSH connection to a machine arriving now, if any."""
        return self._take(lambda f: f.op == "ssh")

    def for_operation(self, op):
        """The operation fault (fail/hang) for a Heat operation starting now, if any."""
        return self._take(lambda f: f.effect in OPERATION_EFFECTS and f.op == op)

    def _take(self, matches):
        with self._lock:
            for fault in self._faults:
                if not matches(fault):
                    continue
                if fault.fraction is not None and self._random.random() >= fault.fraction:
                    continue
                fault.fired += 1
                if fault.count is not None:
                    fault.count -= 1
                    if fault.count == 0:
                        self._faults.remove(fault)
                return fault
        return None
