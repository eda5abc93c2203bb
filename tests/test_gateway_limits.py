"""What one learner, one address and one page may cost or reach at the
terminal gateway: memory under a flood of input to a lab that reads none,
sockets and sessions, ticket rates, message sizes, the SSH opening's time,
and which pages' WebSockets it takes. Real gateways (in a thread, or in a
process of its own where its memory is measured), real WebSockets, the fake
cloud's machines."""

import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time

import psutil
import pytest
import requests
from django.db import connection
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

from hastexo_lab import api, conf
from hastexo_lab.models import Stack
from hastexo_lab.terminal import gateway as gateway_module
from hastexo_lab.terminal import limits, tickets

from .helpers import ROOT, wait_until
from .test_tasks import providers, wait_ready
from .test_terminal import ALICE_BROWSER, BOB_BROWSER, Terminal, mint

pytestmark = pytest.mark.django_db(transaction=True)

MiB = 1024 * 1024


@pytest.fixture(autouse=True)
def terminal_log(caplog):
    caplog.set_level(logging.INFO, logger="hastexo_lab.terminal")


@pytest.fixture
def stack(worker, lab_settings):
    """Alice's ready lab."""
    return wait_ready(api.launch("course-v1:Org+Lab+2026", "alice", providers("cloud-a")), timeout=15)


def limited(gateway, **changes):
    """The gateway's limits: the defaults, but for ``changes``."""
    gateway.app.limits = conf.TerminalLimits(**changes)


def open_socket(port, host="localhost", origin=None, browser=ALICE_BROWSER):
    """A WebSocket to the gateway on ``port`` of this machine, whatever
    ``host`` the browser believes it reaches (its Host header)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    sock.settimeout(None)  # a send waits as long as the gateway makes it
    try:
        return connect(f"ws://{host}:{port}/hastexo-lab-terminal/ws", sock=sock, open_timeout=5,
                       origin=origin or f"http://{host}:{port}",
                       additional_headers={"Cookie": f"{tickets.BROWSER_COOKIE}={browser}"})
    except BaseException:
        sock.close()
        raise


def reply_to(ws, ticket, timeout=10):
    ws.send(json.dumps({"ticket": ticket, "cols": 80, "rows": 24}))
    deadline = time.monotonic() + timeout
    while True:
        message = ws.recv(timeout=max(0.1, deadline - time.monotonic()))
        if isinstance(message, str):
            return json.loads(message)


def shell_pids(marker):
    """The lab's processes running ``sleep <marker>``, and their shells."""
    found = set()
    for process in psutil.process_iter(["cmdline"]):
        if process.info["cmdline"] == ["sleep", str(marker)]:
            found.add(process.pid)
            found.add(process.ppid())
    return found


def kill(pids):
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


# -- memory: back-pressure both ways ---------------------------------------------

@pytest.fixture
def gateway_process(lab_settings):
    """``hastexo-lab terminal`` in a process of its own, on this test's database."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    database = connection.settings_dict["NAME"]
    env = dict(os.environ, HASTEXO_LAB_TEST_SETTINGS=json.dumps(lab_settings.XBLOCK_SETTINGS["hastexo_lab"]))
    if connection.vendor == "sqlite":
        env.update(DJANGO_SETTINGS_MODULE="bench.terminal_settings", HASTEXO_LAB_BENCH_DB=database)
    else:
        env.update(DJANGO_SETTINGS_MODULE="tests.project.settings", HASTEXO_LAB_TEST_DB_NAME=database)
    process = subprocess.Popen([sys.executable, "-m", "hastexo_lab", "terminal", "--port", str(port)], cwd=ROOT,
                               env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)

    def healthy():
        assert process.poll() is None, process.stderr.read()
        try:
            return requests.get(f"http://127.0.0.1:{port}/hastexo-lab-terminal/healthz", timeout=1).ok
        except requests.ConnectionError:
            return False
    wait_until(healthy, timeout=30, interval=0.2, what="the gateway to start")
    process.port = port
    yield process
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def test_a_learner_flooding_a_lab_that_reads_nothing_cannot_grow_the_gateway(gateway_process, stack):
    """The lab runs a foreground ``sleep``; the learner sends as fast as the
    gateway takes. The gateway takes a few buffers' worth, then stops
    reading the socket: its memory stays where it was."""
    ws = open_socket(gateway_process.port, host="127.0.0.1")
    assert reply_to(ws, mint(stack))["type"] == "ready"
    marker = 3607
    ws.send(f"stty -echo; sleep {marker}\n".encode())
    wait_until(lambda: shell_pids(marker), timeout=10, interval=0.1, what="the lab to sleep")
    gateway = psutil.Process(gateway_process.pid)
    before = gateway.memory_info().rss
    offered, sent = 128 * MiB, [0]
    # Lines a shell would take for comments, if it ever read them.
    chunk = (b"#" * 63 + b"\n") * 1024

    def flood():
        try:
            while sent[0] < offered:
                ws.send(chunk)
                sent[0] += len(chunk)
        except (ConnectionClosed, OSError):
            pass
    sender = threading.Thread(target=flood, daemon=True)
    sender.start()
    peak, began = before, time.monotonic()
    while time.monotonic() - began < 6 and sender.is_alive():
        peak = max(peak, gateway.memory_info().rss)
        time.sleep(0.1)
    stalled_at = sent[0]
    time.sleep(1)
    peak = max(peak, gateway.memory_info().rss)
    try:
        assert sender.is_alive() and sent[0] == stalled_at, f"the gateway took all {sent[0] // MiB} MiB"
        # What it took sits in the sockets' kernel buffers, on both of its
        # sides; its own buffers hold a few hundred KiB.
        assert stalled_at < 40 * MiB, stalled_at
        assert peak - before < 24 * MiB, f"the gateway grew by {(peak - before) / MiB:.0f} MiB"
    finally:
        kill(shell_pids(marker))
        gateway_process.terminate()
        sender.join(timeout=10)


def test_a_browser_that_leaves_while_its_input_waits_ends_its_session(gateway, stack):
    """The socket is not read while the lab takes no input, so the browser's
    leaving is seen by writing to it: the session ends, its counts with it."""
    ws = open_socket(gateway.port)
    assert reply_to(ws, mint(stack))["type"] == "ready"
    marker = 3613
    ws.send(f"stty -echo; sleep {marker}\n".encode())
    wait_until(lambda: shell_pids(marker), timeout=10, interval=0.1, what="the lab to sleep")
    chunk = (b"#" * 63 + b"\n") * 1024

    def flood():
        try:
            while True:
                ws.send(chunk)
        except (ConnectionClosed, OSError):
            pass
    sender = threading.Thread(target=flood, daemon=True)
    sender.start()
    time.sleep(2)
    admission = gateway.app.admission
    try:
        assert sender.is_alive(), "the gateway took everything"
        assert sum(admission.sessions.values()) == 1
        ws.socket.shutdown(socket.SHUT_RDWR)
        ws.socket.close()
        wait_until(lambda: not gateway.app.sessions and not admission.sessions and not admission.sockets,
                   timeout=gateway_module.PROBE_INTERVAL * 3, interval=0.2, what="the session to end")
    finally:
        kill(shell_pids(marker))
        sender.join(timeout=10)


# -- sizes -------------------------------------------------------------------------

def test_a_message_over_the_limit_gets_a_message_and_the_terminal_goes_on(gateway, stack):
    terminal = Terminal(gateway)
    assert terminal.open(mint(stack))["type"] == "ready"
    terminal.ws.send(b"x" * (limits.MAX_MESSAGE + 1))
    reply = terminal.control()
    assert reply["type"] == "too-large" and reply["limit"] == limits.MAX_MESSAGE
    assert reply["message"] == "That paste is too large (64 KB at most)."
    terminal.type("echo still-$((6*7))\n")
    terminal.read_until("still-42")
    # One far over it is not even read whole: the socket closes.
    terminal.ws.send(b"x" * (4 * limits.MAX_MESSAGE + 1))
    with pytest.raises(ConnectionClosed) as closed:
        while True:
            terminal.ws.recv(timeout=5)
    assert closed.value.rcvd.code == 1009


# -- counts and rates ----------------------------------------------------------------

def refused_at_handshake(gateway):
    with pytest.raises(InvalidStatus) as refused:
        open_socket(gateway.port)
    return refused.value.response


@pytest.mark.parametrize("bound, why", [
    ("max_pending_per_address", "2 sockets of this address without a ticket yet"),
    ("max_pending", "2 sockets without a ticket yet, the most this process takes"),
])
def test_sockets_without_a_ticket_are_few_and_short_lived(gateway, caplog, bound, why):
    limited(gateway, first_message_timeout=2, **{bound: 2})
    waiting = [open_socket(gateway.port) for _ in range(2)]
    assert refused_at_handshake(gateway).status_code == 403
    assert f"refused a WebSocket from 127.0.0.1: {why}" in caplog.text
    # Each is closed when its ticket does not come in time, and makes room.
    began = time.monotonic()
    for ws in waiting:
        assert json.loads(ws.recv(timeout=5)) == {"type": "refused", "message": tickets.NOT_VALID}
    assert time.monotonic() - began < 3
    wait_until(lambda: not gateway.app.admission.pending, timeout=5, what="the sockets to be forgotten")
    assert "no ticket from 127.0.0.1 within 2 s" in caplog.text
    open_socket(gateway.port).close()


def test_a_process_takes_so_many_sockets(gateway, stack, caplog):
    limited(gateway, max_sockets=2)
    first = open_socket(gateway.port)
    assert reply_to(first, mint(stack))["type"] == "ready"
    second = open_socket(gateway.port)
    assert reply_to(second, mint(stack))["type"] == "ready"
    assert refused_at_handshake(gateway).status_code == 403
    assert "refused a WebSocket from 127.0.0.1: 2 sockets open, the most this process takes" in caplog.text
    first.close()
    wait_until(lambda: len(gateway.app.admission.sockets) == 1, timeout=5, what="the socket to be forgotten")
    assert reply_to(open_socket(gateway.port), mint(stack))["type"] == "ready"


def test_a_learner_has_so_many_terminals(gateway, stack, caplog):
    limited(gateway, max_sessions_per_learner=2)
    open_ones = [open_socket(gateway.port) for _ in range(2)]
    for ws in open_ones:
        assert reply_to(ws, mint(stack))["type"] == "ready"
    reply = reply_to(open_socket(gateway.port), mint(stack))
    assert reply == {"type": "error", "message": limits.TOO_MANY, "retry": True, "retry_after": 10}
    assert "refused a session from 127.0.0.1: learner alice has 2 terminals open already" in caplog.text
    open_ones[0].close()
    wait_until(lambda: gateway.app.admission.sessions == {"alice": 1}, timeout=5, what="the session to end")
    assert reply_to(open_socket(gateway.port), mint(stack))["type"] == "ready"


def test_tickets_per_second_per_learner_and_per_address(gateway, stack, caplog):
    # Ten seconds' worth of a rate may come at once: here, one ticket.
    limited(gateway, redeem_rate_per_learner=0.1)
    assert reply_to(open_socket(gateway.port), mint(stack))["type"] == "ready"
    reply = reply_to(open_socket(gateway.port), mint(stack))
    assert reply["type"] == "error" and reply["message"] == limits.TOO_FAST and reply["retry_after"] == 10
    assert "refused a session from 127.0.0.1: tickets of learner alice faster than 0.1 a second" in caplog.text
    # An address is counted before the ticket is even looked up: a wrong one counts too.
    limited(gateway, redeem_rate_per_learner=100, redeem_rate_per_address=0.2)
    assert reply_to(open_socket(gateway.port), "x" * 43)["type"] == "refused"
    assert reply_to(open_socket(gateway.port), "y" * 43)["type"] == "refused"
    ticket = mint(stack)
    reply = reply_to(open_socket(gateway.port), ticket)
    assert reply["type"] == "error" and reply["message"] == limits.TOO_FAST
    assert "refused a session from 127.0.0.1: tickets from 127.0.0.1 faster than 0.2 a second" in caplog.text
    assert tickets.redeem(ticket, ALICE_BROWSER).stack_name == stack.name, "a refused ticket is still good"


def test_the_rates_forget_whom_they_have_not_seen_for_a_while():
    clock = [0.0]
    admission = limits.Admission(conf.TerminalLimits(), clock=lambda: clock[0])
    for n in range(1000):
        admission.presenting(limits.Slot(f"10.0.{n // 256}.{n % 256}"))
    assert len(admission._by_address) == 1000
    clock[0] += 0.05
    admission.forget_idle()
    assert len(admission._by_address) == 1000
    clock[0] += limits.BURST_SECONDS
    admission.forget_idle()
    assert not admission._by_address


# -- opening the lab's shell -----------------------------------------------------------

@pytest.fixture
def silent_lab():
    """A port that takes connections and never says a word (a lab whose
    SSH server hangs)."""
    listener = socket.create_server(("127.0.0.1", 0))
    held, stop = [], threading.Event()

    def take():
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except TimeoutError:
                pass
    thread = threading.Thread(target=take, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    listener.close()


def test_opening_the_shell_has_a_deadline(gateway, stack, silent_lab, caplog):
    limited(gateway, ssh_open_timeout=1)
    Stack.objects.filter(pk=stack.pk).update(ip="127.0.0.1")
    ws = open_socket(gateway.port)
    began = time.monotonic()
    reply = reply_to(ws, mint(stack, port=silent_lab), timeout=8)
    assert reply == {"type": "error", "message": gateway_module.LAB_DOWN, "retry": True}
    assert time.monotonic() - began < 3
    assert f"cannot log in to stack {stack.name} at 127.0.0.1:{silent_lab} for 127.0.0.1 (no shell within 1 s)" \
        in caplog.text
    wait_until(lambda: not gateway.app.admission.sessions, timeout=5, what="the session to be forgotten")


# -- which pages -----------------------------------------------------------------------

def test_a_page_of_another_site_is_refused_even_where_its_host_resolves_here(gateway, stack, caplog):
    """DNS rebinding: evil.example resolves to the gateway's address, so the
    browser sends Origin http://evil.example and Host evil.example."""
    ticket = mint(stack)
    with pytest.raises(InvalidStatus) as refused:
        open_socket(gateway.port, host="evil.example")
    assert refused.value.response.status_code == 403
    assert f"refused a WebSocket from 127.0.0.1: origin http://evil.example:{gateway.port} is the page's own, " \
           "but the settings do not name host evil.example" in caplog.text
    assert reply_to(open_socket(gateway.port), ticket)["type"] == "ready", "the ticket is still good"


def test_the_pages_the_settings_name_may_open_it(gateway, stack, settings):
    # A frame ancestor (the LMS's page), whatever host it reached.
    gateway.app.frame_ancestors = ("https://lms.example",)
    ws = open_socket(gateway.port, host="gateway.example", origin="https://lms.example")
    assert reply_to(ws, mint(stack))["type"] == "ready"
    # terminal_url's own origin, where it is absolute.
    gateway.app.origins = ("http://terminal.example:8090",)
    ws = open_socket(gateway.port, host="terminal.example", origin="http://terminal.example:8090")
    assert reply_to(ws, mint(stack))["type"] == "ready"
    # The page's own origin with a host Django's ALLOWED_HOSTS names ("*" names none).
    settings.ALLOWED_HOSTS = ["*"]
    with pytest.raises(InvalidStatus):
        open_socket(gateway.port, host="gateway.example")
    settings.ALLOWED_HOSTS = [".example.org"]
    ws = open_socket(gateway.port, host="labs.example.org")
    assert reply_to(ws, mint(stack))["type"] == "ready"
    # An address, or localhost, cannot be rebound.
    for host in ("127.0.0.1", "localhost"):
        assert reply_to(open_socket(gateway.port, host=host), mint(stack))["type"] == "ready"
    # No Origin at all: not a browser's page.
    with pytest.raises(InvalidStatus):
        connect(f"ws://127.0.0.1:{gateway.port}/hastexo-lab-terminal/ws", open_timeout=5,
                additional_headers={"Cookie": f"{tickets.BROWSER_COOKIE}={BOB_BROWSER}"})


def test_the_page_names_the_lab_origins_and_the_sizes(gateway):
    gateway.app.frame_ancestors = ("https://lms.example", "https://apps.example")
    page = requests.get(gateway.url + "/hastexo-lab-terminal/", timeout=5).text
    assert 'data-origins="https://lms.example https://apps.example"' in page
    assert f'data-max-message="{limits.MAX_MESSAGE}"' in page and f'data-max-paste="{limits.MAX_PASTE}"' in page
