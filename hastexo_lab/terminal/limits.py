"""What one gateway process lets a client address and a learner hold: open
sockets, sockets that have not shown a valid ticket yet, open sessions, and
tickets per second (``conf.TerminalLimits``).

Everything is counted in this process's memory: the gateway is one event
loop, so no lock is needed, and a learner who reaches several gateway
processes (behind a balancer) is bounded in each.
"""

import time
from dataclasses import dataclass

# The largest binary message the gateway takes (the page splits a paste into
# messages of at most this), and the largest paste the page sends at all.
MAX_MESSAGE = 64 * 1024
MAX_PASTE = 1024 * 1024

# A rate's bucket holds this many seconds' worth: a class that opens its
# labs at once, or a learner who reloads a few tabs, is not refused.
BURST_SECONDS = 10

TOO_FAST = "Too many terminal connections in a short time. Trying again in a few seconds..."
TOO_MANY = ("Your lab's terminal is open in too many windows. Close one of them, "
            "and the terminal here connects again by itself.")


class Refused(Exception):
    """A limit says no; ``reason`` is for the log. Once the socket is open,
    ``message`` is for the page, which tries again after ``retry_after``
    seconds (before, the handshake is refused and the page tries again later)."""

    def __init__(self, reason, message=None, retry_after=None):
        super().__init__(reason)
        self.reason, self.message, self.retry_after = reason, message, retry_after


class Rate:
    """A token bucket: ``per_second`` on average, bursts of BURST_SECONDS' worth."""

    __slots__ = ("tokens", "at")

    def __init__(self, capacity, now):
        self.tokens, self.at = capacity, now

    def take(self, per_second, now):
        """One token, if there is one now."""
        capacity = per_second * BURST_SECONDS
        self.tokens = min(capacity, self.tokens + (now - self.at) * per_second)
        self.at = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True

    def full(self, per_second, now):
        """Refilled to its burst: as good as a new bucket."""
        return self.tokens + (now - self.at) * per_second >= per_second * BURST_SECONDS


@dataclass(eq=False)
class Slot:
    """One accepted socket: its client address, and its learner once a
    ticket has been redeemed (until then it is pending)."""

    address: str
    learner: str | None = None
    pending: bool = True


class Admission:
    """The counts and rates of one gateway process."""

    def __init__(self, limits, clock=time.monotonic):
        self.limits, self.clock = limits, clock
        self.sockets = set()
        self.pending = {}  # address -> sockets of it without a valid ticket yet
        self.sessions = {}  # learner -> open sessions
        self._by_address = {}  # address -> Rate of tickets presented
        self._by_learner = {}  # learner -> Rate of tickets redeemed

    def admit(self, address):
        """A Slot for a new socket from ``address``; Refused over a bound."""
        limits = self.limits
        if len(self.sockets) >= limits.max_sockets:
            raise Refused(f"{len(self.sockets)} sockets open, the most this process takes")
        waiting = sum(self.pending.values())
        if waiting >= limits.max_pending:
            raise Refused(f"{waiting} sockets without a ticket yet, the most this process takes")
        if self.pending.get(address, 0) >= limits.max_pending_per_address:
            raise Refused(f"{self.pending[address]} sockets of this address without a ticket yet")
        slot = Slot(address)
        self.sockets.add(slot)
        self.pending[address] = self.pending.get(address, 0) + 1
        return slot

    def presenting(self, slot):
        """A ticket comes from ``slot``'s address: within its rate?"""
        self._take(self._by_address, slot.address, self.limits.redeem_rate_per_address,
                   f"tickets from {slot.address} faster than {self.limits.redeem_rate_per_address:g} a second")

    def start_session(self, slot, learner):
        """``slot`` redeemed a ticket of ``learner``: the learner's rate and
        sessions allow one more? It is no longer pending either way."""
        self._settle(slot)
        self._take(self._by_learner, learner, self.limits.redeem_rate_per_learner,
                   f"tickets of learner {learner} faster than {self.limits.redeem_rate_per_learner:g} a second")
        open_sessions = self.sessions.get(learner, 0)
        if open_sessions >= self.limits.max_sessions_per_learner:
            raise Refused(f"learner {learner} has {open_sessions} terminals open already", TOO_MANY, 10)
        self.sessions[learner] = open_sessions + 1
        slot.learner = learner

    def release(self, slot):
        """The socket of ``slot`` is closed."""
        if slot not in self.sockets:
            return
        self.sockets.discard(slot)
        self._settle(slot)
        if slot.learner is not None:
            self._decrement(self.sessions, slot.learner)
            slot.learner = None

    def forget_idle(self):
        """Drop the rates that have refilled: they are as good as new, and a
        stream of addresses must not fill the process's memory."""
        now = self.clock()
        for rates, per_second in ((self._by_address, self.limits.redeem_rate_per_address),
                                  (self._by_learner, self.limits.redeem_rate_per_learner)):
            for key in [key for key, rate in rates.items() if rate.full(per_second, now)]:
                del rates[key]

    def _settle(self, slot):
        if slot.pending:
            slot.pending = False
            self._decrement(self.pending, slot.address)

    def _take(self, rates, key, per_second, reason):
        now = self.clock()
        rate = rates.get(key)
        if rate is None:
            rate = rates[key] = Rate(per_second * BURST_SECONDS, now)
        if not rate.take(per_second, now):
            raise Refused(reason, TOO_FAST, max(1, round(1 / per_second)))

    @staticmethod
    def _decrement(counts, key):
        left = counts.get(key, 0) - 1
        if left > 0:
            counts[key] = left
        else:
            counts.pop(key, None)
