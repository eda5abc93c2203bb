"""SSH to a learner's lab (asyncssh), as the stack's user with the stack's key
or password, read from the stack's row on the server side.

The lab's host key is recorded at the stack's first connection and verified
at every later one: a changed host key is refused, never trusted silently.
A new stack (a launch, a reset) starts with none recorded.
"""

import logging
from dataclasses import dataclass, field

import asyncssh

from . import clouds
from .models import Stack

log = logging.getLogger(__name__)

CONNECT_TIMEOUT = 10.0
KEEPALIVE_INTERVAL = 15


class HostKeyChanged(Exception):
    """The lab presented another host key than the one recorded for it."""


@dataclass(frozen=True)
class Login:
    stack_id: int
    host: str
    port: int
    username: str
    host_key: str = ""
    private_key: str = field(default="", repr=False)
    password: str = field(default="", repr=False)


def login_for(stack, username, port=None):
    """How to log in to ``stack``'s lab on ``port`` (the block's choice;
    default: the stack's). Server side only: it holds secrets."""
    secrets = stack.secrets()
    return Login(stack_id=stack.pk, host=stack.ip, port=clouds.lab_port(stack, port), username=username,
                 host_key=stack.host_key, private_key=secrets["private_key"], password=secrets["password"])


def record_host_key(stack_id, host_key):
    """Keep the host key first seen; True if it is (now) the recorded one."""
    Stack.objects.filter(pk=stack_id, host_key="").update(host_key=host_key)
    return Stack.objects.filter(pk=stack_id, host_key=host_key).exists()


def remember_host_key(login, seen):
    """After a first connection (none recorded at login): keep the key seen;
    HostKeyChanged if another connection recorded a different one meanwhile."""
    if not login.host_key and not record_host_key(login.stack_id, seen):
        raise HostKeyChanged("another host key was recorded meanwhile")


async def connect(login, timeout=CONNECT_TIMEOUT):
    """An SSH connection to the lab; returns (connection, host key seen).

    Raises HostKeyChanged, asyncssh.PermissionDenied, OSError or
    asyncio.TimeoutError."""
    options = {"username": login.username, "connect_timeout": timeout, "keepalive_interval": KEEPALIVE_INTERVAL,
               "client_keys": [asyncssh.import_private_key(login.private_key)] if login.private_key else None,
               "password": login.password or None, "agent_path": None, "config": None,
               "preferred_auth": "publickey,password,keyboard-interactive"}
    if login.host_key:
        options["known_hosts"] = ([asyncssh.import_public_key(login.host_key)], [], [])
    else:
        options["known_hosts"] = None
    try:
        conn = await asyncssh.connect(login.host, login.port, **options)
    except asyncssh.HostKeyNotVerifiable as exc:
        log.error("stack %s: the lab's SSH host key changed (%s); refusing it", login.stack_id, exc)
        raise HostKeyChanged(str(exc)) from None
    seen = conn.get_server_host_key().export_public_key().decode().strip()
    return conn, seen
