"""A hostile lab for the checks' tests: an SSH server on localhost that
takes any key, then misbehaves the way a learner who is root on their lab
could make it: it floods every command's output, refuses to run anything
after the login, or drops every connection before the login. It counts
connections and logins, and a Stack row points at it (``stack_for``)."""

import asyncio
import threading

import asyncssh

from hastexo_lab import crypto

from .factories import make_stack

FLOOD, REFUSE, DROP = "flood", "refuse", "drop"


class HostileLab:
    """Use as a context manager: the server runs in a thread of its own."""

    def __init__(self, behaviour, flood_bytes=0):
        self.behaviour = behaviour
        self.flood_bytes = flood_bytes
        self.connections = self.logins = self.commands = 0
        self.port = None
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server = None

    def __enter__(self):
        self._thread.start()
        self._server = asyncio.run_coroutine_threadsafe(self._listen(), self._loop).result(10)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    def __exit__(self, *exc_info):
        async def close():
            self._server.close()
            await self._server.wait_closed()
        asyncio.run_coroutine_threadsafe(close(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    async def _listen(self):
        options = {"process_factory": self._flood} if self.behaviour == FLOOD else {}
        return await asyncssh.create_server(
            lambda: _Server(self), "127.0.0.1", 0, encoding=None, sftp_factory=None,
            server_host_keys=[asyncssh.generate_private_key("ssh-ed25519")], **options)

    async def _flood(self, process):
        """Whatever the command: the same megabytes on stdout and stderr, then failure."""
        self.commands += 1
        chunk = b"x" * 65536
        sent = 0
        try:
            while sent < self.flood_bytes:
                process.stdout.write(chunk)
                process.stderr.write(chunk)
                await process.stdout.drain()
                await process.stderr.drain()
                sent += len(chunk)
            process.exit(1)
        except (BrokenPipeError, ConnectionError, asyncssh.Error):
            pass  # the worker hung up: fine


class _Server(asyncssh.SSHServer):
    def __init__(self, lab):
        self.lab = lab

    def connection_made(self, conn):
        self.lab.connections += 1
        if self.lab.behaviour == DROP:
            conn.abort()

    def begin_auth(self, username):
        return True

    def public_key_auth_supported(self):
        return True

    def validate_public_key(self, username, key):
        return True

    def auth_completed(self):
        self.lab.logins += 1

    def session_requested(self):
        return False  # REFUSE: nothing runs after the login (FLOOD's sessions go to its process factory)


def stack_for(lab, **fields):
    """A ready Stack row whose lab is ``lab``."""
    key = asyncssh.generate_private_key("ssh-ed25519").export_private_key().decode()
    return make_stack(ip="127.0.0.1", port=lab.port, private_key_encrypted=crypto.encrypt(key), **fields)
