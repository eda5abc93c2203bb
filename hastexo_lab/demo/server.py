"""Run the demo: two fake clouds, a Celery worker thread, and on one port
(uvicorn) the workbench and the terminal gateway, as an LMS's web proxy
puts them side by side.

Each lab is a shell on this computer. As root, the fake clouds run every
machine as an OS user of its own, which cannot read the demo's data folder
(0700) nor reach the clouds or this web server (both refuse connections from
machine users). The web server answers only to the host names it serves, so
a page of another site cannot reach it by DNS rebinding.
"""

import ipaddress
import json
import logging
import os
import socket
import sys
import threading
import time

try:
    from hastexo_cloudsim import CloudConfig, CloudSim, isolation, sandbox
except ImportError:  # the demo's extra is not installed: run() says so
    CloudSim = None

log = logging.getLogger(__name__)

SAMPLES = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                       "samples", "hot")


# The names a browser on this computer reaches a loopback address by.
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")


def is_loopback(host):
    """Is ``host`` a loopback address (or localhost)?"""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def demo_hosts(host, extra=()):
    """The Host header values the demo answers: the address it listens on
    (this computer's names, where that is every address), loopback, and the
    names the operator adds."""
    names = [*LOOPBACK_NAMES, *extra]
    if host in ("", "0.0.0.0", "::"):
        names += [socket.gethostname(), socket.getfqdn()]
    else:
        names.append(f"[{host}]" if ":" in host else host)
    return list(dict.fromkeys(names))


def run(host="127.0.0.1", port=8000, data_dir="var/demo", create_time=5.0, suspend_time=3.0,
        resume_time=3.0, delete_time=2.0, allowed_hosts=()):
    if CloudSim is None:
        print("hastexo-lab demo: the fake cloud is not installed; install the demo extra "
              "(pip install -e cloudsim -e '.[demo]', as `make demo` does)", file=sys.stderr)
        return 2

    if not os.path.isfile(os.path.join(SAMPLES, "lab.yaml")):
        print(f"hastexo-lab demo: the sample template is missing ({SAMPLES}/lab.yaml); "
              "run the demo from a source checkout", file=sys.stderr)
        return 2
    # The demo's secret key (which also keys the labs' secrets at rest) and
    # database: for this user only, never for the labs' shells.
    os.makedirs(data_dir, mode=0o700, exist_ok=True)
    os.chmod(data_dir, 0o700)
    durations = {"create": create_time, "suspend": suspend_time, "resume": resume_time, "delete": delete_time}
    # The data folder is hidden from the machines wherever it is (the start
    # folder, where it is by default, is hidden anyway).
    private = (os.path.abspath(data_dir),)
    clouds = [CloudSim(CloudConfig(port=0, durations=dict(durations), private_paths=private)).start()
              for _ in range(2)]
    os.environ["DJANGO_SETTINGS_MODULE"] = "hastexo_lab.demo.settings"
    os.environ["HASTEXO_LAB_DEMO_DIR"] = os.path.abspath(data_dir)
    hosts = demo_hosts(host, allowed_hosts)
    os.environ["HASTEXO_LAB_DEMO_HOSTS"] = json.dumps(hosts)
    _write_settings(data_dir, {
        "providers": {"default": clouds[0].provider_config(), "backup": clouds[1].provider_config()},
        "template_dir": SAMPLES,
        "terminal_url": "/hastexo-lab-terminal/",
        "poll_initial": 0.5,
        # Short, so that leaving a lab and coming back shows within minutes.
        "suspend_timeout": 60,
        "suspend_interval": 10,
        "js_timeouts": {"idle": 90_000},
    })

    import django
    django.setup()
    from django.core.management import call_command

    call_command("migrate", run_syncdb=True, verbosity=0)
    from django.conf import settings
    os.chmod(settings.DATABASES["default"]["NAME"], 0o600)
    listener = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((host, port))  # a port in use is said before anything starts
    listener.listen(128)
    port = listener.getsockname()[1]
    worker = _start_worker()
    stopping = threading.Event()
    _start_sweeps(stopping)
    import uvicorn

    from ..terminal.server import config
    server = uvicorn.Server(config(_web_app(), host, port))
    url = f"http://{host}:{port}/"
    print(f"hastexo_lab demo on {url}", flush=True)
    print(f"  labs:   {url}scenario/hastexo_lab.0/?student=alice  (any ?student= is a learner)")
    print(f"  clouds: {clouds[0].auth_url} (default), {clouds[1].auth_url} (backup); "
          f"machines' SSH on port {clouds[0].ssh_port}")
    print(f"  data:   {os.path.abspath(data_dir)}")
    data = os.path.abspath(data_dir)
    data_option = "" if data == os.path.abspath("var/demo") else f" --data-dir {data}"
    print(f"  manage: python -m hastexo_lab.demo.manage{data_option} hastexo_lab list  (suspend, resume, ...: "
          "its worker here does them)")
    print(f"  metrics: {url}hastexo-lab/metrics  (Authorization: Bearer <the token in "
          f"{os.path.join(data, 'metrics_token')}>)")
    print(f"  hosts:  {', '.join(hosts)} (--allowed-host for more)")
    if not is_loopback(host):
        print(f"  EXPOSED on {host}: whoever reaches port {port} can open any learner's lab, a shell on this "
              "computer")
    if clouds[0].machines.isolating:
        print("  shells: each lab machine runs as an OS user of its own"
              + (", in namespaces of its own (files, processes, host name)" if clouds[0].machines.confining else ""))
        if not clouds[0].machines.confining:
            print(f"WARNING: {sandbox.NOT_CONFINED.format(reason=clouds[0].machines.unconfined)}", file=sys.stderr,
                  flush=True)
    else:
        print(f"WARNING: {isolation.NOT_ISOLATED}", file=sys.stderr, flush=True)
    print("Press Ctrl+C to stop.", flush=True)
    # uvicorn stops on SIGINT/SIGTERM, then raises the signal again for the
    # handlers it found: these let the demo stop its worker and clouds too.
    import signal
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: None)
    server.run(sockets=[listener])
    stopping.set()
    worker.stop(in_sighandler=False)
    for cloud in clouds:
        cloud.stop()
    print("Stopped.", flush=True)
    return 0


def _start_worker():
    from celery.worker import WorkController

    from .. import conf
    from ..celery import app

    settings = conf.get_settings()
    # One worker for both queues: the demo has one process.
    worker = WorkController(app=app, pool="threads", concurrency=4,
                            queues=[settings.task_queue, settings.check_queue],
                            without_heartbeat=True, without_mingle=True, without_gossip=True,
                            loglevel="WARNING")
    threading.Thread(target=worker.start, name="celery-worker", daemon=True).start()
    return worker


def _write_settings(data_dir, block_settings):
    """The block's settings, where the demo's Django settings read them, in
    this process and in an operator's command beside it (for this user only:
    they hold the fake clouds' accounts)."""
    path = os.path.join(data_dir, "settings.json")
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        json.dump(block_settings, handle, indent=2)


def _forget_taken_messages(older_than=60):
    """The broker keeps each message it handed to the worker (in the data
    folder, see the demo's settings). Once the worker has read one it is not
    needed; a minute after it was taken (moving it changed its ctime), it has
    long been read."""
    from django.conf import settings

    folder = settings.BROKER_FOLDERS["taken"]
    now = time.time()
    for name in os.listdir(folder):
        path = os.path.join(folder, name)
        try:
            if now - os.stat(path).st_ctime > older_than:
                os.remove(path)
        except FileNotFoundError:
            pass


def _start_sweeps(stopping):
    """What Celery beat does in production: run the sweeps on their intervals."""
    from .. import conf, tasks

    def loop():
        settings = conf.get_settings()
        ticks = 0
        # A first run at once: after a restart the fake clouds are new and
        # empty, and the reconciler tells earlier learners their labs are gone.
        while True:
            tasks.suspender()
            tasks.reconciler()
            _forget_taken_messages()
            ticks += 1
            if ticks * settings.suspend_interval >= settings.delete_interval:
                tasks.reaper()
                ticks = 0
            if stopping.wait(settings.suspend_interval):
                return

    threading.Thread(target=loop, name="sweeps", daemon=True).start()


def _web_app():
    """The workbench (Django, its static files included) and, under its root
    path, the terminal gateway."""
    from django.conf import settings
    from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler
    from django.core.asgi import get_asgi_application

    from ..terminal.gateway import Gateway

    workbench = ASGIStaticFilesHandler(get_asgi_application())
    gateway = Gateway.from_settings()
    refuse_machines = isolation.available()

    async def app(scope, receive, send):
        if scope["type"] in ("http", "websocket"):
            # Before the gateway too: its same-origin check trusts the Host header.
            if not _known_host(scope, settings.ALLOWED_HOSTS):
                return await _refuse(scope, send, 400, b"Bad Request: unknown host")
            peer, local = scope.get("client"), scope.get("server")
            if refuse_machines and peer and local and isolation.from_machine(local, peer):
                return await _refuse(scope, send, 403, b"Forbidden: not from a lab's shell")
        if scope["type"] in ("lifespan", "websocket") or scope.get("path", "").startswith(gateway.root):
            return await gateway(scope, receive, send)
        return await workbench(scope, receive, send)
    return app


def _known_host(scope, allowed):
    from django.http.request import split_domain_port, validate_host

    host = dict(scope.get("headers") or ()).get(b"host", b"").decode("latin-1")
    domain, _ = split_domain_port(host)
    return bool(domain) and validate_host(domain, allowed)


async def _refuse(scope, send, status, body):
    if scope["type"] == "websocket":
        return await send({"type": "websocket.close", "code": 1008})  # the server answers 403
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
