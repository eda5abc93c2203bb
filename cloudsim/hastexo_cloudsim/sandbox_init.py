"""The first process of a fake machine's namespaces (see sandbox.py).

The fake cloud runs this file as root with ``python -I -S``, so it needs
nothing but the standard library, and hands it its orders as JSON on
standard input: {"home", "hostname", "uid", "gid", "hide": [[path, mode]]}.
It makes new mount, PID, UTS and IPC namespaces, forks their process 1 and
waits for it. Process 1 covers each path to hide with an empty tmpfs (the
machine's home shown again where it was), mounts /proc of its PID
namespace, takes the host name, says it is ready, becomes the machine's
user and reaps the namespace's orphans until it is killed, which ends
everything in the namespace.

It writes two lines, in either order: "pid N" (process 1's number outside)
and "ready", or "failed: why".
"""

import ctypes
import json
import os
import signal
import socket
import sys

CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWPID = 0x00020000, 0x04000000, 0x08000000, 0x20000000
MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_BIND, MS_REC, MS_PRIVATE = 0x2, 0x4, 0x8, 0x1000, 0x4000, 0x40000
PR_SET_PDEATHSIG = 1

libc = ctypes.CDLL(None, use_errno=True)


def _checked(result, what):
    if result != 0:
        number = ctypes.get_errno()
        raise OSError(number, f"{what}: {os.strerror(number)}")


def _encoded(text):
    return None if text is None else text.encode()


def mount(source, target, kind, flags, data=None):
    _checked(libc.mount(_encoded(source), _encoded(target), _encoded(kind), flags, _encoded(data)), f"mount {target}")


def set_up(orders):
    """The machine's view of the computer (as root, in its new namespaces)."""
    mount(None, "/", None, MS_REC | MS_PRIVATE)  # nothing done here shows outside
    home = orders["home"]
    kept = os.open(home, os.O_PATH | os.O_DIRECTORY)  # reachable once covered
    for path, mode in sorted(orders["hide"]):  # a folder before what is inside it
        if os.path.isdir(path) and not os.path.islink(path):
            mount("tmpfs", path, "tmpfs", MS_NOSUID | MS_NODEV, f"mode={mode},size=64m")
    original = os.fstat(kept)
    try:
        visible = os.stat(home)
    except FileNotFoundError:
        visible = None
    if visible is None or (visible.st_dev, visible.st_ino) != (original.st_dev, original.st_ino):
        os.makedirs(home, mode=0o755, exist_ok=True)
        mount(f"/proc/self/fd/{kept}", home, None, MS_BIND)
    os.close(kept)
    mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    socket.sethostname(orders["hostname"])


def become_the_machine(orders):
    """Process 1 from here on: the machine's user, reaping orphans."""
    quiet = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(quiet, fd)
    os.setgroups([])
    os.setgid(orders["gid"])
    os.setuid(orders["uid"])
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)  # after setuid, which clears it
    os.chdir("/")
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGCHLD})
    while True:
        try:
            while os.waitpid(-1, os.WNOHANG)[0]:
                pass
        except ChildProcessError:
            pass
        signal.sigwait({signal.SIGCHLD})


def main():
    orders = json.loads(sys.stdin.read())
    # Ctrl+C in the terminal of the cloud reaches its whole process group:
    # this process stays to reap process 1 until the cloud kills the machine.
    for number in (signal.SIGINT, signal.SIGHUP):
        signal.signal(number, signal.SIG_IGN)
    _checked(libc.unshare(CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWUTS | CLONE_NEWIPC), "unshare")
    child = os.fork()
    if child == 0:
        try:
            set_up(orders)
        except Exception as exc:
            print(f"failed: {exc}", flush=True)
            os._exit(1)
        print("ready", flush=True)
        become_the_machine(orders)
    print(f"pid {child}", flush=True)
    quiet = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(quiet, fd)
    os.waitpid(child, 0)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Exception as exc:
        print(f"failed: {exc}", flush=True)
        sys.exit(1)
