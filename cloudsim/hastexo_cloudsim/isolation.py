"""Keeping learners' shells apart from the fake cloud and from each other.

Run as root, every machine has an OS user of its own, made for it at its
first login (``useradd --system``) and removed with it. Its shell, its
commands and its file transfers run as that user, so a learner reads,
writes and signals only what that user may: not the files of the process
running the cloud (a demo's secret key and database), not another
machine's home, not another machine's processes. The cloud's API (and the
demo's web server) refuse connections whose other end belongs to a machine
user, so a shell cannot drive the cloud even with its credentials.

Where the kernel allows, each machine also gets namespaces of its own
(its files, processes and host name; see sandbox.py). Machines keep the
network, and the loopback addresses of the other machines: a lab's servers
reach each other as on a real cloud. (A network namespace per machine would
cut those, as the machines' SSH servers listen in this one.)

Not run as root, none of this can be had: the machines' shells run as the
user running the cloud and can do whatever it can. ``MachineHost`` says so
in a warning.
"""

import contextlib
import ctypes
import logging
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import threading
import time

import asyncssh

log = logging.getLogger(__name__)

# The comment (GECOS field) of every machine user, followed by " (pid N)" of
# the process that made it: how the API tells them from everyone else, and
# how a later run finds those a killed run left behind.
MARKER = "hastexo cloudsim machine"

NOT_ISOLATED = ("the fake cloud is not running as root: its machines' shells run as this process's own "
                "user, and can read everything it can (a demo's secret key and database, other labs' "
                "homes), see and signal its processes and reach the cloud's API")

# useradd's exit status when another process holds the password file's lock.
_LOCKED = 10
# One useradd or userdel at a time from this process; other processes may
# still hold the lock (then: try again).
_accounts = threading.Lock()


def available():
    """Can machines get users of their own here (root, with useradd)?"""
    return os.geteuid() == 0 and bool(shutil.which("useradd") and shutil.which("userdel"))


class MachineUser:
    """The OS user one machine's shells run as."""

    def __init__(self, name, uid, gid):
        self.name, self.uid, self.gid = name, uid, gid

    @classmethod
    def create(cls, home):
        """A new system user (and group) with ``home`` as its home, which it is given.

        Never with a user id that processes of a removed user still hold
        (one stuck in the kernel outlives its user): they could reach the
        new machine's files."""
        held = []
        try:
            for _ in range(8):
                name = f"cs-{secrets.token_hex(5)}"
                _account(["useradd", "--system", "--user-group", "--no-create-home", "--home-dir", home,
                          "--shell", "/bin/bash", "--comment", f"{MARKER} (pid {os.getpid()})", name])
                entry = pwd.getpwnam(name)
                if not processes_of_user(entry.pw_uid):
                    break
                log.warning("user id %s still runs processes of a removed user; not given to a machine",
                            entry.pw_uid)
                held.append(name)  # kept while the next is made, so that it gets another id
            else:
                raise OSError("no user id free of a removed user's processes")
        finally:
            for stale in held:
                _account(["userdel", "--force", stale])
        user = cls(name, entry.pw_uid, entry.pw_gid)
        os.chown(home, user.uid, user.gid)
        os.chmod(home, 0o700)
        return user

    def spawn_options(self):
        """Popen's options to run a process as this user, with no other groups."""
        return {"user": self.uid, "group": self.gid, "extra_groups": []}

    def delete(self):
        """Kill whatever still runs as the user, then remove it (blocking)."""
        _remove(self.name, self.uid)


def _account(command):
    for attempt in range(50):
        with _accounts:
            done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode != _LOCKED:
            break
        time.sleep(0.02 * (attempt + 1))
    if done.returncode != 0:
        raise OSError(f"{command[0]} failed ({done.returncode}): {done.stderr.strip()}")


def _remove(name, uid):
    for _ in range(100):
        pids = processes_of_user(uid)
        if not pids:
            break
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.02)
    try:
        # --force: a killed process may still be a zombie its parent has not reaped.
        _account(["userdel", "--force", name])
    except OSError as exc:
        log.warning("machine user %s stays: %s", name, exc)


def remove_stale_users():
    """Remove the machine users of runs that ended without removing theirs."""
    for entry in pwd.getpwall():
        owner = _owner_pid(entry.pw_gecos)
        if owner is None or owner == os.getpid() or _alive(owner):
            continue
        log.info("removing machine user %s left by process %s", entry.pw_name, owner)
        _remove(entry.pw_name, entry.pw_uid)


def _owner_pid(comment):
    if not comment.startswith(MARKER + " (pid ") or not comment.endswith(")"):
        return None
    text = comment[len(MARKER) + 6:-1]
    return int(text) if text.isdigit() else None


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return True


def is_machine_user(uid):
    """Is ``uid`` a machine's user (of any fake cloud on this computer)?"""
    try:
        return pwd.getpwuid(uid).pw_gecos.startswith(MARKER)
    except KeyError:
        return False


def processes_of_user(uid):
    """The running processes (not zombies) any of whose user ids is ``uid``
    (Linux /proc): a set-user-ID program a learner started counts too."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/status", "rb") as handle:
                status = handle.read()
        except OSError:
            continue
        fields = dict(line.split(b":", 1) for line in status.splitlines() if b":" in line)
        if fields.get(b"State", b"").split()[:1] == [b"Z"]:
            continue
        if uid in {int(u) for u in fields.get(b"Uid", b"").split()}:
            found.append(int(entry))
    return found


# -- who is calling ---------------------------------------------------------------

def _proc_address(address, port):
    """An address as /proc/net/tcp[6] writes it: the raw bytes as
    native-endian 32-bit words in hex, then the port."""
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    raw = socket.inet_pton(family, address)
    words = [int.from_bytes(raw[i:i + 4], "little") for i in range(0, len(raw), 4)]
    return "".join(f"{word:08X}" for word in words) + f":{port:04X}"


def connection_owner(local, peer):
    """The uid owning the other end of a loopback TCP connection: ``local``
    and ``peer`` are (address, port) of this end. None when that end is not
    on this computer (or has closed)."""
    wanted = (_proc_address(*peer[:2]), _proc_address(*local[:2]))
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table, encoding="ascii") as handle:
                next(handle)  # the column names
                for line in handle:
                    fields = line.split()
                    if (fields[1], fields[2]) == wanted:
                        return int(fields[7])
        except OSError:
            continue
    return None


def from_machine(local, peer):
    """Does this loopback connection come from a machine's shell?"""
    owner = connection_owner(local, peer)
    return owner is not None and is_machine_user(owner)


# -- file transfers ------------------------------------------------------------------

_libc = ctypes.CDLL(None, use_errno=True)


@contextlib.contextmanager
def filesystem_identity(uid, gid):
    """Touch files as ``uid``:``gid`` in this thread only (Linux's
    filesystem ids, which leave the other threads and the other ids alone)."""
    old_gid = _libc.setfsgid(gid)
    old_uid = _libc.setfsuid(uid)
    try:
        if _libc.setfsuid(-1) != uid or _libc.setfsgid(-1) != gid:  # -1 only asks
            raise PermissionError(f"cannot act on files as {uid}:{gid}")
        yield
    finally:
        _libc.setfsuid(old_uid)
        _libc.setfsgid(old_gid)


class UserSFTPServer(asyncssh.SFTPServer):
    """SFTP in a machine's home, every file operation done as the machine's
    user: the server runs as root, and a symlink a learner makes in the
    home would otherwise lead it anywhere."""

    def __init__(self, channel, home, user):
        super().__init__(channel, chroot=home.encode())
        self.user = user

    def listdir(self, path):
        # Instead of the base class's scandir, which reads the directory
        # lazily, after the wrapped call has returned.
        local = self.map_path(path)
        return [asyncssh.SFTPName(name, attrs=asyncssh.SFTPAttrs.from_local(os.lstat(os.path.join(local, name))))
                for name in [b".", b"..", *os.listdir(local)]]


def _as_machine_user(method):
    def wrapped(self, *args, **kwargs):
        with filesystem_identity(self.user.uid, self.user.gid):
            return method(self, *args, **kwargs)
    wrapped.__name__ = method.__name__
    return wrapped


# Every operation that opens, lists or changes a path, or changes an open file's attributes.
for _name in ("open", "open56", "lstat", "stat", "fstat", "setstat", "lsetstat", "fsetstat", "remove", "mkdir",
              "rmdir", "realpath", "rename", "posix_rename", "readlink", "symlink", "link", "statvfs",
              "fstatvfs", "listdir"):
    setattr(UserSFTPServer, _name, _as_machine_user(getattr(UserSFTPServer, _name)))
