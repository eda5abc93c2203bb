"""The built-in terminal: tickets minted for a learner's ready lab, redeemed
once by the gateway (uvicorn, real WebSockets), bridged to a real SSH
session on the fake cloud's machine."""

import asyncio
import json
import logging
import time
from datetime import timedelta

import asyncssh
import pytest
from django.utils import timezone
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from hastexo_lab import api, labssh
from hastexo_lab.models import Stack, TerminalTicket
from hastexo_lab.terminal import tickets

from .test_tasks import providers, wait_ready

pytestmark = pytest.mark.django_db(transaction=True)

ALICE_BROWSER = "a" * 43
BOB_BROWSER = "b" * 43


@pytest.fixture
def stack(worker, lab_settings):
    return wait_ready(api.launch("course-v1:Org+Lab+2026", "alice", providers("cloud-a")), timeout=15)


def mint(stack, browser=ALICE_BROWSER, learner="alice", read_only=False, ttl=30, port=22):
    return tickets.mint(stack, anonymous_student_id=learner, browser_key=browser, username="training",
                        port=port, protocol="ssh", read_only=read_only, ttl=ttl)


class Terminal:
    """The browser's side of the protocol, over a real WebSocket."""

    def __init__(self, gateway, browser=ALICE_BROWSER, origin=None):
        headers = {"Cookie": f"{tickets.BROWSER_COOKIE}={browser}"} if browser else {}
        self.ws = connect(f"ws://localhost:{gateway.port}/hastexo-lab-terminal/ws",
                          origin=origin or gateway.origin, additional_headers=headers, open_timeout=5)
        self.output = b""

    def open(self, ticket, cols=100, rows=30):
        self.ws.send(json.dumps({"ticket": ticket, "cols": cols, "rows": rows}))
        return self.control()

    def control(self, timeout=10):
        """The next JSON message (terminal bytes before it are kept)."""
        deadline = time.monotonic() + timeout
        while True:
            message = self.ws.recv(timeout=max(0.1, deadline - time.monotonic()))
            if isinstance(message, str):
                return json.loads(message)
            self.output += message

    def type(self, text):
        self.ws.send(text.encode())

    def read_until(self, marker, timeout=10):
        deadline = time.monotonic() + timeout
        while marker.encode() not in self.output:
            message = self.ws.recv(timeout=max(0.1, deadline - time.monotonic()))
            if isinstance(message, str):
                raise AssertionError(f"expected {marker!r}, got {message}")
            self.output += message
        return self.output.decode(errors="replace")

    def close(self):
        self.ws.close()


def run_on_lab(stack, command):
    secrets = stack.secrets()

    async def go():
        async with asyncssh.connect(stack.ip, 22, username="training", known_hosts=None,
                                    client_keys=[asyncssh.import_private_key(secrets["private_key"])]) as conn:
            return (await conn.run(command)).stdout
    return asyncio.run(asyncio.wait_for(go(), 15))


def test_a_ticket_opens_a_real_shell_on_the_learners_lab(gateway, stack, caplog):
    caplog.set_level(logging.DEBUG)
    terminal = Terminal(gateway)
    assert terminal.open(mint(stack)) == {"type": "ready", "read_only": False}
    terminal.type("echo hello-$((6*7)); tput cols\n")
    seen = terminal.read_until("hello-42")
    terminal.read_until("100")
    assert "hello-42" in seen
    terminal.ws.send(json.dumps({"type": "resize", "cols": 120, "rows": 40}))
    terminal.type("tput cols\n")
    terminal.read_until("120")
    terminal.type("printf '\\xc3\\xa9t\\xc3\\xa9\\n'\n")  # UTF-8 both ways
    terminal.read_until("été")
    terminal.close()
    stack.refresh_from_db()
    assert stack.host_key.startswith("ssh-"), "the lab's host key is recorded at the first connection"
    secrets = stack.secrets()
    assert "session opened" in caplog.text
    assert secrets["password"] not in caplog.text and "PRIVATE KEY" not in caplog.text
    assert secrets["private_key"].splitlines()[1] not in caplog.text


@pytest.mark.parametrize("case", ["replayed", "other browser", "no cookie", "forged", "expired", "garbage"])
def test_tickets_that_open_nothing(gateway, stack, case, caplog):
    caplog.set_level(logging.WARNING, logger="hastexo_lab.terminal")
    ticket = mint(stack)
    browser = ALICE_BROWSER
    if case == "replayed":
        first = Terminal(gateway)
        assert first.open(ticket)["type"] == "ready"
        first.close()
    elif case == "other browser":
        browser = BOB_BROWSER
    elif case == "no cookie":
        browser = None
    elif case == "forged":
        ticket = ticket[:-4] + ("AAAA" if not ticket.endswith("AAAA") else "BBBB")
    elif case == "expired":
        TerminalTicket.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    terminal = Terminal(gateway, browser=browser)
    if case == "garbage":
        terminal.ws.send("not json")
    else:
        terminal.ws.send(json.dumps({"ticket": ticket}))
    reply = terminal.control()
    assert reply["type"] == "refused"
    expected = {"replayed": tickets.USED, "expired": tickets.EXPIRED}.get(case, tickets.NOT_VALID)
    assert reply["message"] == expected
    from websockets.exceptions import ConnectionClosed
    with pytest.raises(ConnectionClosed):
        terminal.ws.recv(timeout=5)  # and the socket is closed
    if case != "garbage":
        assert "terminal ticket refused" in caplog.text


def test_no_ticket_for_another_learners_stack_or_a_lab_that_is_not_ready(stack):
    assert mint(stack, learner="bob") is None
    api.suspend(stack)
    stack.refresh_from_db()
    assert mint(stack) is None


def test_a_ticket_for_a_stack_that_is_no_longer_up_is_refused(gateway, stack):
    ticket = mint(stack)
    Stack.objects.filter(pk=stack.pk).update(status="SUSPEND_PENDING")
    reply = Terminal(gateway).open(ticket)
    assert reply == {"type": "refused", "message": tickets.NOT_READY}


def test_a_websocket_from_another_origin_is_refused(gateway, stack):
    with pytest.raises(InvalidStatus):
        Terminal(gateway, origin="http://evil.example")


def test_read_only_is_enforced_by_the_gateway(gateway, stack):
    terminal = Terminal(gateway)
    assert terminal.open(mint(stack, read_only=True)) == {"type": "ready", "read_only": True}
    terminal.type("touch typed-while-read-only\n")
    time.sleep(1)
    terminal.close()
    assert run_on_lab(stack, "ls") == "" or "typed-while-read-only" not in run_on_lab(stack, "ls")
    # The same shell, written to by a read-write session, is seen by the read-only one.
    writer = Terminal(gateway)
    writer.open(mint(stack))
    watcher = Terminal(gateway)
    watcher.open(mint(stack, read_only=True))
    writer.type("echo from-the-writer\n")
    watcher.read_until("from-the-writer")


def test_suspend_ends_the_session_and_resume_reattaches_to_the_same_shell(gateway, stack, cloud):
    terminal = Terminal(gateway)
    terminal.open(mint(stack))
    terminal.type("export KEPT=still-$((40+2)); (i=0; while true; do i=$((i+1)); echo $i > count; sleep 0.1; done) &\n")
    time.sleep(0.5)
    api.suspend(stack)
    closed = terminal.control(timeout=15)
    assert closed["type"] == "closed" and closed["reason"] == "paused"
    api.launch("course-v1:Org+Lab+2026", "alice", providers("cloud-a"))
    stack = wait_ready(stack, timeout=20)
    again = Terminal(gateway)
    assert again.open(mint(stack))["type"] == "ready"
    again.type("echo $KEPT; cat count; sleep 0.5; cat count\n")
    seen = again.read_until("still-42")
    assert "still-42" in seen


def test_a_changed_host_key_is_refused(gateway, stack):
    first = Terminal(gateway)
    first.open(mint(stack))
    first.close()
    other = asyncssh.generate_private_key("ssh-ed25519").export_public_key().decode().strip()
    Stack.objects.filter(pk=stack.pk).update(host_key=other)
    reply = Terminal(gateway).open(mint(stack))
    assert reply["type"] == "error" and reply["retry"] is False and "identity has changed" in reply["message"]


def test_a_reset_lab_starts_with_no_host_key(stack):
    from .test_tasks import wait_status
    Stack.objects.filter(pk=stack.pk).update(host_key="ssh-ed25519 AAAAold")
    api.delete(stack)
    wait_status(stack, "DELETE_COMPLETE", timeout=15)
    relaunched = api.launch("course-v1:Org+Lab+2026", "alice", providers("cloud-a"))
    assert relaunched.pk == stack.pk and relaunched.host_key == ""


def test_the_page_and_its_files_hold_no_secret_and_forbid_strangers_framing(gateway, stack):
    import requests
    secrets = stack.secrets()
    page = requests.get(gateway.url + "/hastexo-lab-terminal/", timeout=5)
    assert page.status_code == 200 and "xterm.js" in page.text
    policy = page.headers["Content-Security-Policy"]
    assert "frame-ancestors 'self'" in policy and "script-src 'self'" in policy
    for name in ("xterm.js", "xterm.css", "addon-fit.js", "terminal.js", "terminal.css"):
        reply = requests.get(f"{gateway.url}/hastexo-lab-terminal/static/{name}", timeout=5)
        assert reply.status_code == 200, name
        assert secrets["private_key"] not in reply.text and secrets["password"] not in reply.text
    assert stack.name not in page.text
    assert requests.get(gateway.url + "/hastexo-lab-terminal/healthz", timeout=5).text == "ok"
    assert requests.get(gateway.url + "/hastexo-lab-terminal/static/../settings.py", timeout=5).status_code == 404
    assert requests.post(gateway.url + "/hastexo-lab-terminal/", timeout=5).status_code == 405


def test_login_details_never_show_their_secrets(stack):
    login = labssh.login_for(stack, "training")
    assert "PRIVATE" not in repr(login) and stack.secrets()["password"] not in repr(login)


def test_redeeming_one_ticket_at_once_from_many_threads_succeeds_once(stack):
    """Aimed at the window between reading a ticket and marking it used:
    eight threads redeem the same ticket at the same moment, many rounds."""
    from .helpers import at_once
    rounds = 60
    for _ in range(rounds):
        ticket = mint(stack)

        def redeem(ticket=ticket):
            try:
                return tickets.redeem(ticket, ALICE_BROWSER)
            except tickets.TicketRefused as refused:
                return refused.message
        results = at_once(redeem, 8)
        assert len(results) == 8
        assert sum(isinstance(r, tickets.Grant) for r in results) == 1, results
        assert results.count(tickets.USED) == 7


def test_old_tickets_are_forgotten(stack):
    mint(stack)
    assert tickets.forget_old(timezone.now() + timedelta(hours=2)) == 1
    assert not TerminalTicket.objects.exists()


# -- the block's handler --------------------------------------------------------

def ticket_call(client, scenario, student="alice", method="post", cookie=None):
    from .test_block import usage_id
    url = f"/handler/{usage_id(client, scenario, student)}/terminal_ticket/?student={student}"
    if cookie:
        client.cookies[tickets.BROWSER_COOKIE] = cookie
    if method == "get":
        return client.get(url)
    return client.post(url, "{}", content_type="application/json")


@pytest.fixture
def ready_lab(client, workbench, workbench_settings, worker):
    from .test_block import SSH, call
    call(client, SSH, "status", {"launch": True})
    return client, wait_ready(Stack.objects.get(), timeout=15)


def test_the_handler_mints_for_the_learners_ready_lab_with_the_blocks_settings(ready_lab):
    from .test_block import READ_ONLY, SSH
    client, stack = ready_lab
    assert ticket_call(client, SSH, method="get").status_code == 405
    response = ticket_call(client, SSH)
    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    from http.cookies import SimpleCookie
    cookie = SimpleCookie(response["Set-Cookie"])[tickets.BROWSER_COOKIE]
    assert cookie["httponly"] and cookie["samesite"] == "Strict" and cookie["path"] == "/"
    client.cookies[tickets.BROWSER_COOKIE] = cookie.value
    ticket = response.json()["ticket"]
    grant = tickets.redeem(ticket, cookie.value)
    assert (grant.stack_name, grant.port, grant.read_only, grant.username) == (stack.name, 22, False, "training")
    # Another block of the course shares the stack, read-only: its tickets are.
    response = ticket_call(client, READ_ONLY)
    assert not response.has_header("Set-Cookie"), "the browser's key is kept"
    grant = tickets.redeem(response.json()["ticket"], cookie.value)
    assert grant.stack_name == stack.name and grant.read_only is True
    text = response.content.decode()
    assert stack.secrets()["password"] not in text and "PRIVATE" not in text and stack.name not in text


def test_the_handler_mints_nothing_for_a_lab_that_is_not_ready_or_another_learners(ready_lab):
    from .test_block import RDP, SSH
    client, stack = ready_lab
    reply = ticket_call(client, SSH, student="bob").json()
    assert reply["ticket"] is None and reply["phase"] == "absent"
    reply = ticket_call(client, RDP).json()
    assert reply["ticket"] is None and reply["final"] is True and "Guacamole" in reply["message"]
    api.suspend(stack)
    assert ticket_call(client, SSH).json()["ticket"] is None
