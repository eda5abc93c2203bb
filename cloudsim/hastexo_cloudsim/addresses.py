"""The loopback addresses of the fake machines: blocks of them per process.

Every fake cloud of a process takes its stacks' floating IPs and its
servers' loopback addresses (where the machines listen) from blocks of
127.0.0.0/8, 127.B.0.0/16 with B in 1..254, that no other process on this
computer holds: floating IPs from one, servers' addresses from another,
each up to 65,024 of them (the last octet skips 0 and 255), a further block
for the next 65,024. So two fake clouds on one computer (a demo and a test
run, two test runs) never listen on each other's addresses.

A claim is a TCP socket bound, not listening, to 127.B.255.255 (an address
no machine uses) on CLAIM_PORT, without SO_REUSEADDR: no other socket can
bind there while it is open, whoever owns it, and it goes with the process
however that ends (no lock file to clean up). A process takes the first
free blocks; where none is free it fails at once with AddressesExhausted.
"""

import itertools
import socket
import threading

BLOCKS = range(1, 255)
CLAIM_PORT = 65535
PER_BLOCK = 256 * 254


class AddressesExhausted(RuntimeError):
    """Every block of loopback addresses is held by another process."""


class Claim:
    """One block held: its number, until ``close()`` (or the process ends)."""

    def __init__(self, number, sock):
        self.number, self._socket = number, sock

    def close(self):
        self._socket.close()


def claim(blocks=None):
    """Hold the first free block of ``blocks`` (BLOCKS); AddressesExhausted if there is none."""
    blocks = BLOCKS if blocks is None else blocks
    for number in blocks:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            sock.bind((f"127.{number}.255.255", CLAIM_PORT))
        except OSError:
            sock.close()
            continue
        return Claim(number, sock)
    raise AddressesExhausted(
        f"no free block of loopback addresses for the fake machines: other processes on this computer hold all "
        f"of 127.{blocks[0]}.0.0/16 to 127.{blocks[-1]}.0.0/16 (each holds port {CLAIM_PORT} on the block's "
        f"address .255.255; `ss -tan sport = :{CLAIM_PORT}` lists them); stop one of them")


_lock = threading.Lock()
_held = []  # every Claim of this process, for its life
_spare = []  # held, not yet given to addresses
_given = {}  # (kind, chunk of PER_BLOCK numbers) -> its block number
_servers = itertools.count()


def reserve():
    """Hold the blocks the first floating IPs and servers will use, now:
    a process that finds none free fails at its start, not at a stack's."""
    with _lock:
        while len(_spare) + len(_given) < 2:
            _spare.append(_take())


def held():
    """The numbers of the blocks this process holds."""
    with _lock:
        return {c.number for c in _held}


def _take():
    taken = claim()
    _held.append(taken)
    return taken


def _address(kind, number):
    chunk, rest = divmod(number, PER_BLOCK)
    with _lock:
        if (kind, chunk) not in _given:
            _given[(kind, chunk)] = (_spare.pop(0) if _spare else _take()).number
        block = _given[(kind, chunk)]
    return f"127.{block}.{rest // 254}.{rest % 254 + 1}"


def floating_ip(stack_index):
    """The floating IP of the stack numbered ``stack_index``: the same for every call."""
    return _address("floating", stack_index)


def next_server_address():
    """A loopback address for a new server (where its machine listens)."""
    return _address("server", next(_servers))
