"""A fake machine's own view of the computer, by Linux namespaces.

Run as root, where the kernel allows it, each machine that somebody logged
in to gets namespaces of its own, held by a first process (sandbox_init.py)
that runs as the machine's user; its shell, commands and checks enter them
(``nsenter``) as that user:

- a mount namespace: the host's /tmp, /var/tmp, /dev/shm, /root, /home,
  /mnt, /media, /srv, the folder of the machines' homes, the directory the
  cloud was started from (where ``make demo`` keeps its database and secret
  key) and the cloud's ``private_paths`` are empty tmpfs (64 MB each); the
  machine's home is where it was. The rest of the file system (/usr, /etc,
  ...) is the host's, read as the machine's user may;
- a PID namespace with its own /proc: ``ps`` shows the machine's processes
  only;
- a UTS namespace: the server's name as host name;
- an IPC namespace: System V shared memory and queues of its own.

The network is the host's (a lab's servers reach each other on their
loopback addresses, where their SSH servers listen), and so is the kernel.

Where this cannot be had (not root, no ``nsenter``, a kernel or container
that refuses namespaces) machines run without, and ``MachineHost`` logs a
warning naming what is not isolated.
"""

import json
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

INIT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "sandbox_init.py")

# Covered by an empty tmpfs in every machine: writable by all as on any
# machine (mode 1777), or not (0755).
SHARED = ("/tmp", "/var/tmp", "/dev/shm")
PRIVATE = ("/root", "/home", "/mnt", "/media", "/srv")
# Never covered, nor what holds them (a machine needs them), even where the
# cloud was started from one of them or asked to hide one.
NEEDED = ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/usr", "/etc", "/dev", "/proc", "/sys", "/var", "/opt", "/run")

NOT_CONFINED = ("the fake machines get no namespaces of their own here ({reason}): each shell sees this "
                "computer's processes and host name, and every file its user may read (not another lab's "
                "home, nor the demo's data folder, which are closed to it)")

_probed = None
_probing = threading.Lock()


def hidden_paths(machines_root, private=()):
    """[(path, tmpfs mode)] a machine does not see: what every machine may
    use has an empty one of its own, the host's private folders are empty."""
    hidden = [(path, "1777") for path in SHARED]
    wanted = [os.path.realpath(path) for path in (*PRIVATE, machines_root, os.getcwd(), *private)]
    hidden += [(path, "755") for path in wanted if _coverable(path)]
    return list(dict.fromkeys(hidden))


def _coverable(path):
    """May a machine do without ``path``? Not without the system's folders,
    nor without what holds them."""
    return not any(needed == path or needed.startswith(path.rstrip("/") + "/") for needed in NEEDED) \
        and not path.startswith(("/proc/", "/sys/", "/dev/"))


def host_name(name):
    """A valid host name from a server's name."""
    return re.sub(r"[^A-Za-z0-9-]+", "-", name).strip("-")[:63].strip("-") or "machine"


class Sandbox:
    """One machine's namespaces, held by their process 1 (running as its user)."""

    def __init__(self, proc, pid, home, uid, gid):
        self.proc, self.pid, self.home, self.uid, self.gid = proc, pid, home, uid, gid

    @classmethod
    def start(cls, home, hostname, uid, gid, hide, timeout=10.0):
        """New namespaces for a machine (blocking); OSError saying why where they cannot be had."""
        if not shutil.which("nsenter"):
            raise OSError("nsenter (util-linux) is not installed")
        proc = subprocess.Popen([sys.executable, "-I", "-S", INIT], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}, cwd="/")
        proc.stdin.write(json.dumps({"home": home, "hostname": hostname, "uid": uid, "gid": gid,
                                     "hide": [list(entry) for entry in hide]}).encode())
        proc.stdin.close()
        said = _read_all(proc.stdout, timeout).decode(errors="replace").splitlines()
        pid = next((int(line[4:]) for line in said if line.startswith("pid ") and line[4:].isdigit()), None)
        if "ready" not in said or pid is None:
            _end(proc, pid)
            why = next((line[8:] for line in said if line.startswith("failed: ")), None)
            raise OSError(why or "its first process did not start: " + " / ".join(said[-3:]))
        return cls(proc, pid, home, uid, gid)

    def alive(self):
        return self.proc.poll() is None

    def enter(self, argv):
        """``argv`` as a command that runs it in the namespaces, as the machine's user, in its home."""
        return ["nsenter", f"--target={self.pid}", "--mount", "--uts", "--ipc", "--pid", f"--setuid={self.uid}",
                f"--setgid={self.gid}", f"--wdns={self.home}", *argv]

    def stop(self):
        """End everything in the namespaces (blocking)."""
        _end(self.proc, self.pid)


def _read_all(stream, timeout):
    """What ``stream`` gives until its end, for at most ``timeout`` seconds."""
    data, deadline = bytearray(), time.monotonic() + timeout
    while (left := deadline - time.monotonic()) > 0:
        ready, _, _ = select.select([stream], [], [], left)
        if not ready:
            break
        chunk = os.read(stream.fileno(), 4096)
        if not chunk:
            break
        data += chunk
    stream.close()
    return bytes(data)


def _end(proc, pid):
    if pid is not None:
        try:
            os.kill(pid, signal.SIGKILL)  # process 1: the kernel ends the rest of its namespace
        except ProcessLookupError:
            pass
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def available():
    """None where machines can have namespaces of their own, else why not
    (tried once per process: a namespace made, entered and ended)."""
    global _probed
    with _probing:
        if _probed is None:
            _probed = _probe()
        return _probed or None


def _probe():
    if os.geteuid() != 0:
        return "the fake cloud is not running as root"
    home = tempfile.mkdtemp(prefix="hastexo-cloudsim-probe-")
    try:
        sandbox = Sandbox.start(home, "probe", os.getuid(), os.getgid(), [("/mnt", "755")])
        try:
            done = subprocess.run(sandbox.enter(["hostname"]), capture_output=True, text=True, timeout=10)
            if done.returncode != 0 or done.stdout.strip() != "probe":
                return f"nsenter failed: {done.stderr.strip() or done.returncode}"
        finally:
            sandbox.stop()
    except (OSError, subprocess.SubprocessError) as exc:
        return str(exc)
    finally:
        shutil.rmtree(home, ignore_errors=True)
    return ""
