"""The fake servers' machines: an SSH server (asyncssh) for each server, with
a real shell behind it. It listens on the server's floating IP, if one is
associated with it, and on a loopback address of its own, both from the
process's block of them (addresses.py; the admin API's ``/admin/machines``
lists them): the private addresses the cloud reports, as the template
defines them, are not routed on this host.

A machine accepts exactly the logins its template set up: the users of the
server's cloud-config, with the stack's key pair (and the keys cloud-config
lists) or the password cloud-config's ``chpasswd`` gives. A login with a
terminal attaches to the machine's one shell session (a bash on a real PTY,
in the machine's own home directory; see shell.py): a second login or a
reconnect finds the same shell and its recent output, as ``screen -xRR``
does on a real lab. ``ssh host command`` runs the command and returns its
output and exit status; SFTP works inside the home directory. Run as root,
all of it runs as the machine's own OS user (see isolation.py) and, where
the kernel allows, in namespaces of its own (sandbox.py); otherwise as the
cloud's own user.

Nothing runs for a machine until somebody logs in: an idle machine is one
listening socket. Suspending the stack freezes every process of the machine
(SIGSTOP to their process groups) and closes its port; resuming thaws them
(SIGCONT) and opens it again; deleting kills them and removes the home.

This is a development and test tool: it gives a shell on the computer that
runs it, to whoever has a stack's key. It listens on loopback addresses only.
"""

import asyncio
import hmac
import logging
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time

import asyncssh

from . import addresses, isolation, sandbox
from .config import choose_ssh_port
from .shell import Shell

log = logging.getLogger(__name__)

# Seconds a machine keeps trying to listen before it gives up.
LISTEN_PATIENCE = 2.0
# Desktop ports (RDP, VNC): they accept connections and close them at once.
# The machines have no desktop; this only lets a desktop lab's readiness
# wait see the machine up, as it sees SSH.
DESKTOP_PORTS = (3389, 5901)


def login_config(stack):
    """{server resource name: (addresses, users, passwords, host name)} for the servers of
    a fake stack, from its template as built. A server answers on its floating
    IP, if one is associated with it, and on a loopback address of its own
    (its private addresses are not routed here). Users and their keys come
    from the server's cloud-config (which, in a lab template, lists the
    stack's key pair)."""
    built, todo = {}, list(stack.resources.items())
    while todo:  # a group's members and a nested stack's resources are resources too
        name, entry = todo.pop()
        built[name] = entry
        todo.extend(((entry.get("hidden") or {}).get("members") or {}).items())
    configs = {r["reference"]: r["attributes"].get("config")
               for r in built.values() if r["type"].startswith("OS::Heat::") and "config" in r["attributes"]}
    # Floating IPs, Neutron's and Nova's older kind: reference -> address.
    floating_ips = {r["reference"]: r["attributes"]["floating_ip_address"]
                    for r in built.values() if r["type"] == "OS::Neutron::FloatingIP"}
    floating_ips.update({r["reference"]: r["attributes"]["ip"]
                         for r in built.values() if r["type"] == "OS::Nova::FloatingIP"})
    by_port, by_server = {}, {}
    for r in built.values():
        if r["type"] == "OS::Neutron::FloatingIP":
            by_port[r["properties"].get("port_id")] = floating_ips[r["reference"]]
    for r in built.values():
        props = r.get("properties", {})
        if r["type"] == "OS::Neutron::FloatingIPAssociation" and props.get("floatingip_id") in floating_ips:
            by_port[props.get("port_id")] = floating_ips[props["floatingip_id"]]
        elif r["type"] == "OS::Nova::FloatingIPAssociation" and props.get("floating_ip") in floating_ips:
            by_server[props.get("server_id")] = floating_ips[props["floating_ip"]]
    machines, private = {}, {}
    for name, r in built.items():
        if r["type"] not in SERVERS:
            continue
        props, hidden = r.get("properties", {}), r.get("hidden", {})
        public = [by_port[p] for p in hidden.get("ports", []) if p in by_port]
        public += [by_server[r["reference"]]] if r["reference"] in by_server else []
        addresses = [a for a in dict.fromkeys(public + [hidden.get("loopback")]) if a]
        users, passwords = _cloud_config_users(configs.get(props.get(SERVERS[r["type"]])))
        shown = r["attributes"].get("_show") or r["attributes"]  # an AWS instance keeps the server's apart
        machines[name] = (addresses, users, passwords, sandbox.host_name(str(shown.get("name") or name)))
        networks = r["attributes"].get("networks") or hidden.get("networks") or {}
        private[name] = [a for group in networks.values() for a in group]
    return machines, private


# The types with a machine behind them -> the property holding their user data.
SERVERS = {"OS::Nova::Server": "user_data", "AWS::EC2::Instance": "UserData"}


def _cloud_config_users(config):
    """Users (with their keys) and passwords as a cloud-config (a mapping) defines them."""
    users, passwords = {}, {}
    if not isinstance(config, dict):
        return {}, {}
    for entry in config.get("users") or []:
        if isinstance(entry, dict) and isinstance(entry.get("name"), str):
            users[entry["name"]] = [k for k in entry.get("ssh_authorized_keys") or [] if isinstance(k, str)]
    chpasswd = config.get("chpasswd") or {}
    for entry in chpasswd.get("users") or []:
        if isinstance(entry, dict) and isinstance(entry.get("password"), str):
            passwords[entry.get("name")] = entry["password"]
    for line in str(chpasswd.get("list") or "").splitlines():
        if ":" in line:
            name, password = line.split(":", 1)
            passwords[name.strip()] = password.strip()
    return users, {n: p for n, p in passwords.items() if n in users}


class Machine:
    """One fake server: its SSH port, its processes, its home directory."""

    def __init__(self, host, stack_id, name, addresses, users, passwords, hostname=None):
        self.host, self.stack_id, self.name, self.addresses = host, stack_id, name, list(addresses)
        self.hostname = hostname or sandbox.host_name(name)
        self.users = {user: {asyncssh.import_public_key(k).export_public_key() for k in keys if k.strip()}
                      for user, keys in users.items()}
        self.passwords = passwords
        self.home = tempfile.mkdtemp(prefix=f"machine-{name}-", dir=host.root)
        self.host_key = asyncssh.generate_private_key("ssh-ed25519")
        self.server = None
        self.desktop = []  # the listeners of DESKTOP_PORTS
        self.shell = None  # the one shell session, started at the first terminal login
        self.groups = set()  # process groups of this machine (shell and commands)
        self.entries = set()  # in its namespaces: the nsenter processes of its shell and commands
        self.frozen = False
        self.user = None  # its OS user (isolation.MachineUser), made at the first login where it can be
        self.sandbox = None  # its namespaces (sandbox.Sandbox), made with the user where they can be
        self._user_made = asyncio.Lock()
        self.destroyed = False
        self.failure = None  # why it cannot listen, once it has given up
        self.first_refusal = None  # when its last try to listen began failing

    # -- the port ---------------------------------------------------------------

    async def open(self):
        if self.server is not None:
            return
        self.server = await asyncssh.create_server(
            lambda: _Server(self), self.addresses, self.host.ssh_port, server_host_keys=[self.host_key],
            process_factory=self._session, sftp_factory=self._sftp, allow_scp=False, encoding=None,
            line_editor=False, reuse_address=True)
        for port in DESKTOP_PORTS:
            try:
                self.desktop.append(await asyncio.start_server(_hang_up, self.address, port, reuse_address=True))
            except OSError as exc:
                log.info("machine %s: no placeholder on port %s (%s)", self.name, port, exc.strerror)
        log.info("machine %s listening on %s port %s", self.name, ", ".join(self.addresses), self.host.ssh_port)

    @property
    def address(self):
        """The first address: the floating IP where there is one."""
        return self.addresses[0]

    async def close_port(self):
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()
            self.server = None
        for listener in self.desktop:
            listener.close()
        self.desktop = []

    # -- suspend, resume, delete ---------------------------------------------------

    def signal_all(self, signum):
        """Signal every process of the machine: each session it started (the
        shell, commands), including jobs the shell put in groups of their own,
        and with a user of its own whatever runs as that user (what left its
        sessions by setsid too)."""
        sessions = set(self.groups)
        members = _processes_of(sessions)
        for session in sessions - {sid for _, sid in members}:
            self.groups.discard(session)  # nothing of it is left
        pids = {pid for pid, _ in members}
        if self.user is not None:
            pids.update(isolation.processes_of_user(self.user.uid))
        # nsenter stops itself once it sees what it waits for stop, and goes
        # on only when told. Stopped here first, it would stop itself again
        # after being told; killed, it would not reap what it waits for (an
        # orphan of the namespace, which holds the namespace's end up). It
        # ends by itself once what it waits for has.
        for proc in list(self.entries):
            if not _running(proc):
                self.entries.discard(proc)
            elif signum == signal.SIGCONT:
                pids.add(proc.pid)
        for pid in pids:
            try:
                os.kill(pid, signum)
            except ProcessLookupError:
                pass

    async def launcher(self, argv):
        """``argv`` as the command that runs it on the machine, and Popen's
        options for it: in the machine's namespaces as its user, or as its
        user, or as this process's (what this computer allows). The user
        and namespaces are made at the first use."""
        if not self.host.isolating:
            return argv, {}
        async with self._user_made:
            if self.destroyed:
                raise OSError("the machine has been deleted")
            loop = asyncio.get_running_loop()
            if self.user is None:
                self.user = await loop.run_in_executor(None, isolation.MachineUser.create, self.home)
                log.info("machine %s runs as user %s", self.name, self.user.name)
            if self.host.confining and (self.sandbox is None or not self.sandbox.alive()):
                self.sandbox = await loop.run_in_executor(
                    None, sandbox.Sandbox.start, self.home, self.hostname, self.user.uid, self.user.gid,
                    self.host.hidden)
                log.info("machine %s has namespaces of its own (process %s)", self.name, self.sandbox.pid)
        if self.sandbox is not None:
            return self.sandbox.enter(argv), {}
        return argv, self.user.spawn_options()

    async def freeze(self):
        self.frozen = True
        self.signal_all(signal.SIGSTOP)
        await self.close_port()

    def thaw(self):
        self.frozen = False
        self.signal_all(signal.SIGCONT)

    async def destroy(self):
        await self.close_port()
        self.signal_all(signal.SIGCONT)
        self.signal_all(signal.SIGKILL)
        if self.shell is not None:
            self.shell.close()
        async with self._user_made:  # a login may be making it right now
            self.destroyed = True
            loop = asyncio.get_running_loop()
            if self.sandbox is not None:
                await loop.run_in_executor(None, self.sandbox.stop)
            if self.user is not None:
                await loop.run_in_executor(None, self.user.delete)
        shutil.rmtree(self.home, ignore_errors=True)

    # -- sessions ---------------------------------------------------------------

    def _environment(self, username, term="xterm-256color"):
        return {"HOME": self.home, "USER": username, "LOGNAME": username, "SHELL": "/bin/bash", "TERM": term,
                "LANG": "C.UTF-8", "PATH": "/usr/local/bin:/usr/bin:/bin", "PS1": f"{username}@{self.hostname}:\\w$ "}

    async def _session(self, process):
        username = process.get_extra_info("username")
        try:
            await self.launcher([])
        except OSError as exc:
            log.error("machine %s: no user or namespaces of its own to run in (%s)", self.name, exc)
            process.stderr.write(b"this machine cannot start a shell\r\n")
            process.exit(1)
            return
        if process.command is not None:
            await self._run(process, username)
        elif process.get_terminal_type() is not None:
            await self._attach(process, username)
        else:
            process.stderr.write(b"this machine needs a terminal for a shell (ssh -t)\r\n")
            process.exit(1)

    async def _run(self, process, username):
        """``ssh host command``: the command's output and exit status."""
        argv, options = await self.launcher(["/bin/bash", "-c", process.command])
        proc = await asyncio.create_subprocess_exec(
            *argv, cwd=self.home, env=self._environment(username), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, start_new_session=True, **options)
        self._track(proc)
        feeding = asyncio.ensure_future(_copy(process.stdin, proc.stdin, close=True))
        try:
            # All of its output first, then its exit status.
            await asyncio.gather(_copy(proc.stdout, process.stdout), _copy(proc.stderr, process.stderr))
            status = await proc.wait()
        finally:
            # The session stays in groups: what the command left running in the
            # background is the machine's too (signal_all forgets it once empty).
            feeding.cancel()
            self.entries.discard(proc)
        process.exit(status if status >= 0 else 128 - status)

    async def _attach(self, process, username):
        # setsid -c: a session of its own with the PTY as its controlling
        # terminal, so job control and Ctrl-C work as on a real machine.
        argv, options = await self.launcher(["setsid", "-c", "/bin/bash", "-i"])
        if self.shell is None or not self.shell.alive():
            environment = self._environment(username, process.get_terminal_type() or "xterm")
            self.shell = Shell(argv, self.home, environment, options)
            self._track(self.shell.proc)
        shell = self.shell
        await shell.attach(process)

    def _track(self, proc):
        """Count a process started for the machine as the machine's: by the
        session it began, or, in the machine's namespaces, as the nsenter
        waiting there for what it started (the machine's processes are
        known by their user then)."""
        if self.sandbox is not None:
            self.entries.add(proc)
        else:
            self.groups.add(proc.pid)

    async def _sftp(self, channel):
        await self.launcher([])
        if self.user is None:
            return asyncssh.SFTPServer(channel, chroot=self.home.encode())
        return isolation.UserSFTPServer(channel, self.home, self.user)


async def _copy(reader, writer, close=False):
    """Copy until end of file (then close ``writer`` if asked)."""
    try:
        while True:
            data = await reader.read(65536)
            if not data:
                break
            writer.write(data)
            await writer.drain()
    except (BrokenPipeError, ConnectionResetError, asyncssh.Error):
        pass
    if close:
        try:
            writer.close()
        except (BrokenPipeError, ConnectionResetError):
            pass


def _running(proc):
    """Is a process this one started (Popen or asyncio's) still running?"""
    if isinstance(proc, subprocess.Popen):
        proc.poll()
    return proc.returncode is None


async def _hang_up(reader, writer):
    writer.close()


def _processes_of(sessions):
    """(pid, session id) of the running processes in ``sessions`` (Linux /proc)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as handle:
                stat = handle.read()
        except OSError:
            continue
        # pid (comm) state ppid pgrp session ...; comm may hold spaces and parentheses.
        fields = stat[stat.rindex(b")") + 2:].split()
        if int(fields[3]) in sessions and fields[0] != b"Z":  # a zombie has ended already
            found.append((int(entry), int(fields[3])))
    return found


class _Server(asyncssh.SSHServer):
    def __init__(self, machine):
        self.machine = machine
        self.conn = self.fault = None

    def connection_made(self, conn):
        self.conn = conn

    def begin_auth(self, username):
        # A fault is for a login: a connection that goes no further (a
        # readiness probe) does not use it up.
        faults = self.machine.host.faults
        self.fault = faults.for_ssh() if faults is not None else None
        if self.fault is not None and self.fault.effect == "refuse":
            asyncio.get_running_loop().call_soon(self.conn.abort)
        elif self.fault is not None and self.fault.effect == "drop":
            asyncio.get_running_loop().call_later(self.fault.delay, self.conn.abort)
        return True  # every login must authenticate

    def public_key_auth_supported(self):
        return True

    async def validate_public_key(self, username, key):
        await self._faulty_login()
        return key.export_public_key() in self.machine.users.get(username, ())

    def password_auth_supported(self):
        return bool(self.machine.passwords)

    async def validate_password(self, username, password):
        await self._faulty_login()
        expected = self.machine.passwords.get(username)
        return expected is not None and hmac.compare_digest(expected.encode(), password.encode())

    async def _faulty_login(self):
        if self.fault is not None and self.fault.effect == "slow":
            await asyncio.sleep(self.fault.delay)
        elif self.fault is not None and self.fault.effect == "hang":
            await asyncio.Event().wait()


class MachineHost:
    """Every machine of one fake cloud, on an event loop of their own (a
    thread), kept in step with the stacks' states."""

    def __init__(self, engine, config, interval=0.1, faults=None):
        self.engine, self.config, self.interval, self.faults = engine, config, interval, faults
        self.ssh_port = choose_ssh_port(config)
        addresses.reserve()  # fails at once where every block of addresses is held
        self.isolating = isolation.available()
        # Why machines get no namespaces of their own here (None: they do).
        self.unconfined = sandbox.available() if self.isolating else "the fake cloud is not running as root"
        self.confining = self.unconfined is None
        self.root = tempfile.mkdtemp(prefix="hastexo-cloudsim-machines-")
        if self.isolating:
            os.chmod(self.root, 0o711)  # each machine's user may pass, to its home; no one may list
        self.hidden = sandbox.hidden_paths(self.root, config.private_paths)
        self.machines = {}  # (stack id, server name) -> Machine
        self._logins = {}  # stack id -> login_config(stack)
        self._generations = {}  # stack id -> the stack's generation its logins were read at
        self._names = {}  # stack id -> stack name
        self.loop = asyncio.new_event_loop()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="cloudsim-machines", daemon=True)

    def start(self):
        if not self.isolating:
            log.warning("%s", isolation.NOT_ISOLATED)
        elif not self.confining:
            log.warning("%s", sandbox.NOT_CONFINED.format(reason=self.unconfined))
        self._thread.start()
        return self

    def stop(self):
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)
        shutil.rmtree(self.root, ignore_errors=True)

    def find(self, stack_id, server=None):
        """The machines of a stack (for tests and the admin API)."""
        return [m for (sid, name), m in self.machines.items() if sid == stack_id and server in (None, name)]

    def describe(self):
        """Every machine: its stack, its server, the private addresses the
        cloud reports for it and the addresses it answers on here."""
        result = []
        for (stack_id, name), machine in list(self.machines.items()):
            logins = self._logins.get(stack_id)
            result.append({
                "stack_id": stack_id, "stack_name": self._names.get(stack_id), "server": name,
                "private_addresses": logins[1].get(name, []) if logins else [],
                "listen_addresses": machine.addresses, "port": self.ssh_port,
                "state": "failed" if machine.failure else "frozen" if machine.frozen else
                         "up" if machine.server is not None else "closed",
                "error": machine.failure, "logged_in": machine.shell is not None,
                "user": machine.user.name if machine.user is not None else None,
                "hostname": machine.hostname, "namespaces": machine.sandbox is not None,
            })
        return result

    def _run(self):
        asyncio.set_event_loop(self.loop)
        if self.isolating:
            isolation.remove_stale_users()
        self.loop.run_until_complete(self._keep_in_step())
        self.loop.run_until_complete(self._destroy_all())
        self.loop.close()

    async def _keep_in_step(self):
        while not self._stop.is_set():
            try:
                await self._step()
            except Exception:  # one bad stack never stops the others
                log.exception("machines: a step failed")
            await asyncio.sleep(self.interval)

    async def _step(self):
        now = self.engine.clock()
        for stack, state, since in self.engine.machine_states(now):
            if state == "gone":
                wanted = {}
                self._logins.pop(stack.id, None)
                self._names.pop(stack.id, None)
                self._generations.pop(stack.id, None)
            else:
                generation = stack.generation  # read first: a change after it is seen next step
                if self._generations.get(stack.id) != generation:
                    # New, or built anew (an update, a scaling group resized).
                    self._logins[stack.id] = login_config(stack)
                    self._names[stack.id] = stack.name
                    self._generations[stack.id] = generation
                    await self._drop_unwanted(stack.id, self._logins[stack.id][0])
                wanted = self._logins[stack.id][0]
            for name, spec in wanted.items():
                key = (stack.id, name)
                machine = self.machines.get(key)
                if state == "up":
                    if machine is None and now - since >= self.config.boot_time:
                        # The first boot takes its time; a resume does not.
                        machine = self.machines[key] = Machine(self, stack.id, name, *spec)
                        stack.had_machines = True
                    if machine is not None and machine.frozen:
                        machine.thaw()
                    if machine is not None:
                        await self._open(machine)
                elif state == "frozen" and machine is not None and not machine.frozen:
                    await machine.freeze()
            if state == "gone":
                for machine in self.find(stack.id):
                    await machine.destroy()
                    del self.machines[(stack.id, machine.name)]
                stack.had_machines = False

    async def _drop_unwanted(self, stack_id, wanted):
        """Machines whose server is gone from the stack, or was replaced (it
        answers elsewhere now): destroyed, a replacement boots afresh."""
        for machine in self.find(stack_id):
            spec = wanted.get(machine.name)
            if spec is None or list(spec[0]) != list(machine.addresses):
                await machine.destroy()
                del self.machines[(stack_id, machine.name)]

    async def _open(self, machine):
        """Open its port, or keep trying for LISTEN_PATIENCE seconds (a port
        of this process may still be closing), then give up and say why:
        another process holds the address."""
        if machine.failure is not None or machine.server is not None:
            return
        try:
            await machine.open()
            machine.first_refusal = None
        except OSError as exc:
            now = time.monotonic()
            if machine.first_refusal is None:
                machine.first_refusal = now
            elif now - machine.first_refusal > LISTEN_PATIENCE:
                machine.failure = (f"cannot listen on {', '.join(machine.addresses)} port {self.ssh_port}: "
                                   f"{exc.strerror or exc}; another process holds the address")
                log.error("machine %s of stack %s: %s; it stays down", machine.name,
                          self._names.get(machine.stack_id), machine.failure)

    async def _destroy_all(self):
        for machine in list(self.machines.values()):
            await machine.destroy()
        self.machines.clear()


def wait_for_port(address, port, timeout=10.0):
    """Wait until something accepts TCP connections on address:port."""
    import socket
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection((address, port), timeout=0.5).close()
            return True
        except OSError:
            time.sleep(0.05)
    return False
