"""A real Keystone and Heat (from PyPI, in .real-heat/venv) on this machine's
MariaDB and RabbitMQ, for the tests that check the lab against real Heat.

Each run gets its own databases (``hastexo_lab_realheat_<pid>_keystone`` and
``_heat``) and RabbitMQ vhost (``hastexo_lab_realheat_<pid>``), made fresh at
start and dropped at the end; those a run that died left behind are dropped
by the next one. Files (configuration, keys, logs) live in
``.real-heat/run-<pid>/``, kept after the run for reading the logs.
"""

import grp
import json
import os
import pwd
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import warnings

from keystoneauth1 import session as ks_session
from keystoneauth1.identity import v3

from ..helpers import ROOT

HOME = os.path.join(ROOT, ".real-heat")
VENV = os.environ.get("HASTEXO_LAB_REAL_HEAT_VENV", os.path.join(HOME, "venv"))
PYTHON = os.path.join(VENV, "bin", "python")
HERE = os.path.dirname(os.path.abspath(__file__))
IN_VENV = os.path.join(HERE, "in_venv.py")
MYSQL = (os.environ.get("MYSQL_HOST", "127.0.0.1"), int(os.environ.get("MYSQL_PORT", "3306")))
MYSQL_USER = os.environ.get("MYSQL_USER", "root")
MYSQL_PASSWORD = os.environ.get("MYSQL_PASSWORD", "")
RABBIT = ("127.0.0.1", 5672)
PREFIX = "hastexo_lab_realheat_"
# heat-engine takes 10-15 s to stop on SIGTERM; nothing of it is kept.
STOP_GRACE = 3


def missing():
    """What this machine lacks for a real Heat, in words; empty if nothing."""
    lacks = []
    if not os.access(PYTHON, os.X_OK):
        shown = os.path.relpath(VENV, ROOT) if VENV.startswith(ROOT + os.sep) else VENV
        lacks.append(f"the real Heat's virtualenv ({shown}: `make real-heat` installs it)")
    for label, (host, port) in (("MariaDB/MySQL", MYSQL), ("RabbitMQ", RABBIT)):
        try:
            socket.create_connection((host, port), timeout=2).close()
        except OSError as exc:
            lacks.append(f"{label} at {host}:{port} ({exc.strerror or exc})")
    return lacks


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class RealHeat:
    """Keystone (gunicorn), heat-engine and heat-api for one test run."""

    def __init__(self):
        self.tag = f"{PREFIX}{os.getpid()}"
        self.dir = os.path.join(HOME, f"run-{os.getpid()}")
        self.keystone_port = free_port()
        self.heat_port = free_port()
        while self.heat_port == self.keystone_port:
            self.heat_port = free_port()
        self.keystone_url = f"http://127.0.0.1:{self.keystone_port}"
        self.heat_url = f"http://127.0.0.1:{self.heat_port}"
        self.auth_url = self.keystone_url + "/v3"
        self.admin_password = secrets.token_hex(12)
        self.heat_password = secrets.token_hex(12)
        self.lab_password = secrets.token_hex(12)
        self.lab_project, self.lab_user = "labs", "lab"
        auth = MYSQL_USER + (f":{MYSQL_PASSWORD}" if MYSQL_PASSWORD else "")
        self.mysql_url = f"mysql+pymysql://{auth}@{MYSQL[0]}:{MYSQL[1]}"
        self.databases = {"keystone": f"{self.tag}_keystone", "heat": f"{self.tag}_heat"}
        self.vhost, self.exchange, self.vhost_made = self.tag, "heat", False
        self.processes = {}
        self.timings = {}

    # -- the provider's view -----------------------------------------------------

    def provider_config(self, **extra):
        """An ``openstack`` provider's settings for the lab project on this Heat."""
        return dict({"type": "openstack", "os_auth_url": self.auth_url, "os_username": self.lab_user,
                     "os_password": self.lab_password, "os_user_domain_id": "default",
                     "os_project_name": self.lab_project, "os_project_domain_id": "default",
                     "os_region_name": "RegionOne", "connect_timeout": 5, "read_timeout": 60}, **extra)

    def admin_session(self):
        """A keystoneauth session as Keystone's admin (for what the tests do behind the lab's back)."""
        auth = v3.Password(auth_url=self.auth_url, username="admin", password=self.admin_password,
                           project_name="admin", user_domain_id="default", project_domain_id="default")
        return ks_session.Session(auth=auth)

    def record(self, what, seconds):
        """Note how long something took (the run's summary lists them)."""
        self.timings.setdefault(what, []).append(seconds)

    # -- start and stop ------------------------------------------------------------

    def start(self, timeout=300):
        """Set up and start Keystone and Heat; returns self once Heat takes requests."""
        started = time.monotonic()
        deadline = started + timeout
        self._drop_leftovers()
        shutil.rmtree(self.dir, ignore_errors=True)
        os.makedirs(self.dir)
        self._in_venv("databases", self.mysql_url, *self.databases.values())
        self._make_vhost()
        self._write_configs()
        heat_sync = self._spawn("heat-db-sync", os.path.join(VENV, "bin", "heat-manage"),
                                "--config-file", self.heat_conf, "db_sync")
        self._set_up_keystone(deadline)
        self._finish(heat_sync, "heat-manage db_sync", deadline)
        self.record("set-up: databases, Keystone, Heat database", time.monotonic() - started)
        self.processes["heat-engine"] = self._spawn("heat-engine", os.path.join(VENV, "bin", "heat-engine"),
                                                    "--config-file", self.heat_conf)
        self.processes["heat-api"] = self._gunicorn("heat-api", self.heat_port, f"heat_api({self.heat_conf!r})")
        self._wait(lambda: self._in_venv("engine-up", self._db_url("heat"), check=False) == 0,
                   "heat-engine to register", deadline)
        self._wait(lambda: self._answers(self.heat_url + "/"), "heat-api to answer", deadline)
        self.record("set-up: in all, until Heat takes requests", time.monotonic() - started)
        return self

    def stop(self):
        """Stop the services (heat-engine is killed after a short grace: its
        state goes with its database), then drop the databases and vhost."""
        for process in self.processes.values():
            self._signal(process, signal.SIGTERM)
        bound = time.monotonic() + STOP_GRACE
        for process in self.processes.values():
            try:
                process.wait(max(0.1, bound - time.monotonic()))
            except subprocess.TimeoutExpired:
                self._signal(process, signal.SIGKILL)
                process.wait(10)
        self.processes.clear()
        self._in_venv("drop-databases", self.mysql_url, *self.databases.values(), check=False)
        if self.vhost_made:
            self._rabbitmqctl("delete_vhost", self.vhost, check=False)

    # -- pieces ------------------------------------------------------------------

    def _db_url(self, name):
        return f"{self.mysql_url}/{self.databases[name]}?charset=utf8mb4"

    def _drop_leftovers(self):
        """Databases, vhosts and run folders of runs whose process is gone."""
        def dead(name):
            found = re.match(re.escape(PREFIX) + r"(\d+)", name)
            return found and not _alive(int(found.group(1)))
        listed = self._in_venv("list-databases", self.mysql_url, PREFIX, capture=True)
        stale = [name for name in listed.split() if dead(name)]
        if stale:
            self._in_venv("drop-databases", self.mysql_url, *stale, check=False)
        vhosts = self._rabbitmqctl("list_vhosts", "--quiet", "--no-table-headers", check=False, capture=True)
        for vhost in (vhosts or "").split():
            if dead(vhost):
                self._rabbitmqctl("delete_vhost", vhost, check=False)
        os.makedirs(HOME, exist_ok=True)
        for entry in os.listdir(HOME):
            found = re.fullmatch(r"run-(\d+)", entry)
            if found and not _alive(int(found.group(1))):
                shutil.rmtree(os.path.join(HOME, entry), ignore_errors=True)

    def _make_vhost(self):
        """A vhost of its own; without rabbitmqctl, the default one, where
        only the exchange name keeps runs apart (and not their queues)."""
        if self._rabbitmqctl("add_vhost", self.vhost, check=False) is not None:
            self.vhost_made = True
            self._rabbitmqctl("set_permissions", "-p", self.vhost, "guest", ".*", ".*", ".*")
        else:
            warnings.warn("rabbitmqctl could not make a vhost: Heat uses RabbitMQ's default one, where another "
                          "run's Heat could take this one's messages", stacklevel=2)
            self.vhost, self.exchange = "", self.tag

    def _rabbitmqctl(self, *args, check=True, capture=False):
        """rabbitmqctl's output, or None where it is missing or failed (with check, raise)."""
        if shutil.which("rabbitmqctl") is None:
            if check:
                raise RuntimeError("rabbitmqctl is not installed")
            return None
        done = subprocess.run(["rabbitmqctl", *args], capture_output=True, text=True, timeout=60)
        if done.returncode != 0:
            if check:
                raise RuntimeError(f"rabbitmqctl {' '.join(args)}: {done.stderr.strip()}")
            return None
        return done.stdout if capture else ""

    def _write_configs(self):
        key_dirs = {name: os.path.join(self.dir, name) for name in ("fernet-keys", "credential-keys", "plugins")}
        for path in key_dirs.values():
            os.makedirs(path)
        self.keystone_conf = os.path.join(self.dir, "keystone.conf")
        self._write_ini(self.keystone_conf, {
            "DEFAULT": {"use_stderr": "true"},
            "database": {"connection": self._db_url("keystone")},
            "fernet_tokens": {"key_repository": key_dirs["fernet-keys"]},
            "credential": {"key_repository": key_dirs["credential-keys"]},
            # Heat's trustee logs in by password on every stack action: the
            # default hashing rounds would add a second or two to each.
            "identity": {"password_hash_rounds": "4"},
        })
        etc = os.path.join(VENV, "etc", "heat")
        trustee = {"auth_type": "password", "auth_url": self.keystone_url, "username": "heat",
                   "password": self.heat_password, "user_domain_id": "default"}
        self.heat_conf = os.path.join(self.dir, "heat.conf")
        self._write_ini(self.heat_conf, {
            "DEFAULT": {
                "use_stderr": "true",
                "transport_url": f"rabbit://guest:guest@{RABBIT[0]}:{RABBIT[1]}/{self.vhost}",
                "control_exchange": self.exchange,
                "num_engine_workers": "1",
                "auth_encryption_key": secrets.token_hex(16),
                "plugin_dirs": key_dirs["plugins"],
                "environment_dir": os.path.join(etc, "environment.d"),
                "template_dir": os.path.join(etc, "templates"),
                "heat_metadata_server_url": self.heat_url,
                "heat_waitcondition_server_url": self.heat_url + "/v1/waitcondition",
            },
            "database": {"connection": self._db_url("heat")},
            "paste_deploy": {"api_paste_config": os.path.join(etc, "api-paste.ini")},
            # Tokens checked with Keystone on every request (no cache), so that
            # a revoked one is refused at once.
            "keystone_authtoken": {"www_authenticate_uri": self.auth_url, "project_name": "service",
                                   "project_domain_id": "default", "token_cache_time": "-1", **trustee},
            "trustee": trustee,
            "clients_keystone": {"auth_uri": self.keystone_url},
            "oslo_messaging_notifications": {"driver": "noop"},
        })

    @staticmethod
    def _write_ini(path, sections):
        with open(path, "w", encoding="utf-8") as handle:
            for section, options in sections.items():
                handle.write(f"[{section}]\n")
                handle.writelines(f"{key} = {value}\n" for key, value in options.items())
                handle.write("\n")

    def _set_up_keystone(self, deadline):
        manage = [os.path.join(VENV, "bin", "keystone-manage"), "--config-file", self.keystone_conf]
        self._finish(self._spawn("keystone-db-sync", *manage, "db_sync"), "keystone-manage db_sync", deadline)
        owner = ["--keystone-user", pwd.getpwuid(os.getuid()).pw_name,
                 "--keystone-group", grp.getgrgid(os.getgid()).gr_name]
        for step in ("fernet_setup", "credential_setup"):
            self._finish(self._spawn(f"keystone-{step}", *manage, step, *owner), f"keystone-manage {step}", deadline)
        self._finish(self._spawn("keystone-bootstrap", *manage, "bootstrap",
                                 "--bootstrap-password", self.admin_password,
                                 "--bootstrap-region-id", "RegionOne",
                                 *(arg for kind in ("admin", "internal", "public")
                                   for arg in (f"--bootstrap-{kind}-url", self.auth_url))),
                     "keystone-manage bootstrap", deadline)
        self.processes["keystone"] = self._gunicorn("keystone", self.keystone_port,
                                                    f"keystone({self.keystone_conf!r})")
        self._wait(lambda: self._answers(self.auth_url), "Keystone to answer", deadline)
        spec = os.path.join(self.dir, "keystone-setup.json")
        with open(spec, "w", encoding="utf-8") as handle:
            json.dump({"auth_url": self.auth_url, "admin_password": self.admin_password,
                       "heat_password": self.heat_password, "lab_project": self.lab_project,
                       "lab_user": self.lab_user, "lab_password": self.lab_password,
                       "heat_url": self.heat_url}, handle)
        self._in_venv("keystone", spec)

    def _gunicorn(self, name, port, factory):
        return self._spawn(name, os.path.join(VENV, "bin", "gunicorn"), "--bind", f"127.0.0.1:{port}",
                           "--workers", "1", "--threads", "4", "--pythonpath", HERE, f"in_venv:{factory}")

    def _spawn(self, name, *command):
        path = os.path.join(self.dir, f"{name}.log")
        with open(path, "ab") as log:
            # A session of its own, so that a stop reaches the process's children.
            process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                       cwd=self.dir, start_new_session=True)
        process.log_path = path
        return process

    def _finish(self, process, what, deadline):
        try:
            code = process.wait(max(1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            self._signal(process, signal.SIGKILL)
            raise RuntimeError(f"{what} did not finish in time") from None
        if code != 0:
            raise RuntimeError(f"{what} failed ({code}): {self._log_tail(process)}")

    def _in_venv(self, *args, check=True, capture=False):
        done = subprocess.run([PYTHON, IN_VENV, *args], capture_output=True, text=True, timeout=120)
        if check and done.returncode != 0:
            raise RuntimeError(f"in_venv {args[0]} failed: {done.stderr.strip()[-2000:]}")
        return done.stdout if capture else done.returncode

    def _wait(self, ready, what, deadline):
        while not ready():
            for name, process in self.processes.items():
                if process.poll() is not None:
                    raise RuntimeError(f"{name} exited ({process.returncode}) while waiting for {what}: "
                                       f"{self._log_tail(process)}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"timed out waiting for {what} (logs in {self.dir})")
            time.sleep(0.25)

    @staticmethod
    def _answers(url):
        try:
            with urllib.request.urlopen(url, timeout=5):
                return True
        except urllib.error.HTTPError:
            return True  # it answered, if not with a 2xx
        except OSError:
            return False

    @staticmethod
    def _log_tail(process, size=3000):
        with open(process.log_path, encoding="utf-8", errors="replace") as handle:
            return handle.read()[-size:]

    @staticmethod
    def _signal(process, signum):
        try:
            os.killpg(process.pid, signum)
        except ProcessLookupError:
            pass


if __name__ == "__main__":
    # Start one by hand: python -m tests.real_heat.cloud (Ctrl+C stops it).
    heat = RealHeat()
    try:
        heat.start()
        print(json.dumps(heat.provider_config(), indent=2), file=sys.stderr)
        print(f"started: {heat.timings}; Press Ctrl+C to stop", file=sys.stderr)
        signal.pause()
    except KeyboardInterrupt:
        pass
    finally:
        heat.stop()
