"""A machine's one shell: bash on a PTY that outlives its logins.

Every machine of a cloud shares one event loop, so nothing here may wait
on a learner: the PTY is non-blocking both ways. Typed (or pasted) input
that the shell does not read yet is queued up to INPUT_QUEUE bytes; past
that the login stops reading its SSH channel, and SSH's flow control makes
the client wait. Output is read only while every attached login takes it
up to OUTPUT_QUEUE bytes behind; past that the shell waits on its terminal,
as it would behind a slow real one.
"""

import asyncio
import contextlib
import fcntl
import os
import signal
import struct
import subprocess
import termios
import threading

import asyncssh

# Recent terminal output a new login sees first, as a reattaching screen does.
SCROLLBACK = 64 * 1024
INPUT_QUEUE = 64 * 1024
OUTPUT_QUEUE = 256 * 1024


class Shell:
    """A bash on a PTY that outlives its logins; every attached login sees it."""

    def __init__(self, argv, home, environment, spawn_options):
        """Start ``argv`` (a command that makes the PTY its controlling terminal) on a new PTY."""
        self.master, slave = os.openpty()
        self.proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, cwd=home, env=environment,
                                     close_fds=True, **spawn_options)
        os.close(slave)
        os.set_blocking(self.master, False)
        self.pid = self.proc.pid
        self.scrollback = bytearray()
        self.attached = set()
        self.loop = asyncio.get_running_loop()
        self.closed = False
        self._input = bytearray()  # typed, not yet taken by the PTY
        self._writing = False  # waiting for the PTY to take input
        self._room = asyncio.Event()  # the input queue is below INPUT_QUEUE
        self._room.set()
        self._reading = True
        self._catching_up = None  # the task waiting for slow logins
        self.loop.add_reader(self.master, self._output)

    def alive(self):
        return not self.closed and self.proc.poll() is None

    # -- output ----------------------------------------------------------------------

    def _output(self):
        try:
            data = os.read(self.master, 65536)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self.close()
            return
        self.scrollback += data
        del self.scrollback[:-SCROLLBACK]
        for process in list(self.attached):
            process.stdout.write(data)
        behind = [p for p in self.attached if p.channel.get_write_buffer_size() > OUTPUT_QUEUE]
        if behind:
            self.loop.remove_reader(self.master)
            self._reading = False
            self._catching_up = asyncio.ensure_future(self._catch_up(behind))

    async def _catch_up(self, behind):
        # A login that left (or whose connection broke) is caught up too.
        await asyncio.gather(*(p.stdout.drain() for p in behind), return_exceptions=True)
        if not self.closed and not self._reading:
            self._reading = True
            self.loop.add_reader(self.master, self._output)

    # -- input ---------------------------------------------------------------------

    async def send(self, data):
        """Queue input for the shell; return once the queue has room again."""
        if self.closed:
            return  # its descriptor may be another file's by now
        self._input += data
        self._flush()
        await self._room.wait()

    def _flush(self):
        if self.closed:
            return
        try:
            written = os.write(self.master, self._input) if self._input else 0
        except BlockingIOError:
            written = 0
        except OSError:  # the shell is gone
            written = len(self._input)
        del self._input[:written]
        if self._input and not self._writing:
            self.loop.add_writer(self.master, self._flush)
            self._writing = True
        elif not self._input and self._writing:
            self.loop.remove_writer(self.master)
            self._writing = False
        if len(self._input) < INPUT_QUEUE:
            self._room.set()
        else:
            self._room.clear()

    def resize(self, width, height):
        if not self.closed:
            fcntl.ioctl(self.master, termios.TIOCSWINSZ, struct.pack("HHHH", height, width, 0, 0))

    async def attach(self, process):
        self.attached.add(process)
        width, height, _, _ = process.get_terminal_size()
        if width and height:
            self.resize(width, height)
        if self.scrollback:
            process.stdout.write(bytes(self.scrollback))
        try:
            while self.alive():
                try:
                    data = await process.stdin.read(4096)
                except asyncssh.TerminalSizeChanged as change:
                    self.resize(change.width, change.height)
                    continue
                if not data:
                    break  # the login ended; the shell goes on
                await self.send(data)
        except (asyncssh.BreakReceived, asyncssh.SignalReceived):
            pass
        finally:
            self.attached.discard(process)
        process.exit(0)

    def close(self):
        if self.closed:
            return
        self.closed = True
        self._room.set()
        for remove in (self.loop.remove_reader, self.loop.remove_writer):
            with contextlib.suppress(ValueError, OSError):
                remove(self.master)
        for process in list(self.attached):
            process.exit(0)
        self.attached.clear()
        if self.proc.poll() is None:
            # In a machine's namespaces the process is nsenter's, which leads
            # no group (nothing is killed here): the machine ends what runs there.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.pid, signal.SIGKILL)
            threading.Thread(target=self.proc.wait, daemon=True).start()  # reap it
        with contextlib.suppress(OSError):
            os.close(self.master)
