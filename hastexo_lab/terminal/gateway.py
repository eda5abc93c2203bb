"""The terminal gateway: an ASGI application that serves the terminal page and
bridges its WebSocket to an SSH session on the learner's lab.

Under its root path (the path of the ``terminal_url`` setting) it serves:

- ``/``: the terminal page (xterm.js). It holds no secret and opens nothing
  by itself: the lab page that frames it (or opened it in a window of its
  own) hands it a ticket with ``postMessage``. Opened on its own, it says
  that it opens from the lab's unit; between sessions it keeps what the
  learner types, and resets the terminal for the next session, which the
  lab's login repaints.
- ``/static/<file>``: the page's scripts and styles.
- ``/ws``: the WebSocket, for pages of the origins the settings name (see
  origins.py). Its first message is ``{"ticket", "cols", "rows"}``;
  the gateway redeems the ticket (once, in the browser it was minted for),
  logs in to the lab with the stack's key, and from then on binary messages
  are the terminal's bytes both ways and text messages are JSON: the
  browser's ``{"type": "resize"}``, the gateway's ``ready``, ``refused``,
  ``error`` (``retry``, ``retry_after``), ``too-large`` and ``closed``. A
  read-only ticket's input is dropped here.
- ``/healthz``: ``ok``, for the proxy and the process manager.

One watcher looks at the states of all open sessions' stacks every few
seconds (one query), and ends the sessions of a lab that is being suspended
or deleted, with a message; the page asks for a new ticket when the lab is
back, and finds the same shell.

What one learner can cost the process is bounded: the counts and rates of
limits.py, and the bytes a session holds. Input waits until the lab's SSH
channel takes it, and the WebSocket is not read meanwhile, so uvicorn stops
reading its socket and the browser's sends wait; output is read from the
channel only as fast as uvicorn's transport takes it, and the channel's
window keeps the lab from sending more. A binary message over MAX_MESSAGE
is answered with ``too-large``; the page splits a paste into messages
under it.
"""

import asyncio
import json
import logging
import os
from html import escape
from urllib.parse import urlsplit

import asyncssh
from asgiref.sync import sync_to_async

from .. import conf
from .. import lifecycle as lc
from . import origins, tickets
from .limits import MAX_MESSAGE, MAX_PASTE, Admission, Refused

log = logging.getLogger(__name__)

STATIC = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "static")
# name under /static/ -> (file under the package's static folder, content type)
FILES = {
    "xterm.js": ("vendor/xterm/xterm.js", "text/javascript"),
    "xterm.css": ("vendor/xterm/xterm.css", "text/css"),
    "addon-fit.js": ("vendor/xterm/addon-fit.js", "text/javascript"),
    "terminal.js": ("terminal/terminal.js", "text/javascript"),
    "terminal.css": ("terminal/terminal.css", "text/css"),
}
# WebSocket close codes (4000-4999 are the application's; 1013: try again later).
CLOSED_BY_LAB, REFUSED, LAB_ERROR, BAD_REQUEST, LIMITED = 4000, 4001, 4002, 4003, 1013
# While the lab takes no input, the browser is written to this often: a
# browser that has gone is seen only that way (its socket is not read).
PROBE_INTERVAL = 5.0
# The most a closing message may wait for a browser that reads nothing.
CLOSE_TIMEOUT = 5.0

PAUSED = "Your lab is being paused. The terminal reconnects when it is back."
LAB_DOWN = "Your lab does not answer right now. Trying again..."
HOST_KEY = "Your lab's identity has changed, so the terminal will not connect. Please reset the lab."
TOO_LARGE = "That paste is too large ({kb} KB at most)."

PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Lab terminal</title>
<link rel="stylesheet" href="{root}static/xterm.css">
<link rel="stylesheet" href="{root}static/terminal.css">
</head>
<body>
<button type="button" class="hxl-screen-reader" aria-pressed="false">Screen reader mode</button>
<div class="hxl-terminal" data-socket="{root}ws" data-scheme="{scheme}" data-font-name="{font_name}"
     data-font-size="{font_size}" data-origins="{lab_origins}" data-max-message="{max_message}"
     data-max-paste="{max_paste}"></div>
<div class="hxl-state" role="status" aria-live="polite">Connecting...</div>
<script src="{root}static/xterm.js"></script>
<script src="{root}static/addon-fit.js"></script>
<script src="{root}static/terminal.js"></script>
</body>
</html>
"""


def _db(function):
    """Run Django ORM work off the event loop, in a thread of the pool."""
    return sync_to_async(function, thread_sensitive=False)


class Gateway:
    """The ASGI application. ``root`` is the path it is served under."""

    def __init__(self, root="/hastexo-lab-terminal/", frame_ancestors=(), watch_interval=2.0, appearance=None,
                 origins=(), limits=None):
        self.root = "/" + root.strip("/") + "/" if root.strip("/") else "/"
        # The lab pages' origins (the LMS's), where the gateway is not theirs.
        self.frame_ancestors = tuple(frame_ancestors)
        # The gateway page's own origins, as the settings name them.
        self.origins = tuple(origins)
        self.admission = Admission(limits or conf.TerminalLimits())
        # color scheme (Guacamole's names), font name, font size (points)
        self.appearance = dict(appearance or {})
        self.watch_interval = watch_interval
        self.sessions = {}  # stack id -> set of open Session
        self._watcher = None

    @property
    def limits(self):
        return self.admission.limits

    @limits.setter
    def limits(self, value):
        self.admission.limits = value

    @classmethod
    def from_settings(cls, **overrides):
        settings = conf.get_settings()
        own = origins.origin_of(settings.terminal_url)
        options = {"root": urlsplit(settings.terminal_url).path or "/",
                   "frame_ancestors": settings.terminal_frame_ancestors,
                   "origins": (own,) if own else (), "limits": settings.terminal_limits,
                   "appearance": {"scheme": settings.terminal_color_scheme, "font_name": settings.terminal_font_name,
                                  "font_size": settings.terminal_font_size or ""}}
        options.update(overrides)
        return cls(**options)

    async def __call__(self, scope, receive, send):
        if scope["type"] == "lifespan":
            return await self._lifespan(receive, send)
        path = scope.get("path", "")
        if not path.startswith(self.root) and path + "/" != self.root:
            if scope["type"] == "websocket":
                return await send({"type": "websocket.close", "code": 1008})
            return await _respond(send, 404, b"Not found")
        rest = path[len(self.root):]
        if scope["type"] == "websocket":
            if rest != "ws":
                return await send({"type": "websocket.close", "code": 1008})
            return await self._websocket(scope, receive, send)
        if scope["method"] not in ("GET", "HEAD"):
            return await _respond(send, 405, b"Method not allowed", [(b"allow", b"GET, HEAD")])
        if rest == "":
            return await self._page(send)
        if rest == "healthz":
            return await _respond(send, 200, b"ok")
        if rest.startswith("static/") and rest[len("static/"):] in FILES:
            return await self._static(send, rest[len("static/"):])
        return await _respond(send, 404, b"Not found")

    # -- HTTP -----------------------------------------------------------------

    def _security_headers(self):
        ancestors = " ".join(("'self'",) + self.frame_ancestors)
        policy = ("default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
                  f"connect-src 'self'; img-src 'self' data:; font-src 'self'; frame-ancestors {ancestors}; "
                  "base-uri 'none'; form-action 'none'")
        return [(b"content-security-policy", policy.encode()), (b"x-content-type-options", b"nosniff"),
                (b"referrer-policy", b"no-referrer")]

    async def _page(self, send):
        looks = {key: escape(str(self.appearance.get(key) or ""), quote=True)
                 for key in ("scheme", "font_name", "font_size")}
        # The page talks (postMessage) with lab pages of its own origin and of these only.
        lab_origins = escape(" ".join(origin.lower() for origin in self.frame_ancestors), quote=True)
        body = PAGE.format(root=self.root, lab_origins=lab_origins, max_message=MAX_MESSAGE, max_paste=MAX_PASTE,
                           **looks).encode()
        await _respond(send, 200, body, [(b"content-type", b"text/html; charset=utf-8"),
                                         (b"cache-control", b"no-store"), *self._security_headers()])

    async def _static(self, send, name):
        relative, content_type = FILES[name]
        try:
            with open(os.path.join(STATIC, relative), "rb") as handle:
                body = handle.read()
        except FileNotFoundError:
            log.error("terminal: %s is missing (build the static files: make static)", relative)
            return await _respond(send, 404, b"Not built")
        await _respond(send, 200, body, [(b"content-type", f"{content_type}; charset=utf-8".encode()),
                                         (b"cache-control", b"public, max-age=3600"),
                                         (b"x-content-type-options", b"nosniff")])

    # -- the WebSocket --------------------------------------------------------

    async def _websocket(self, scope, receive, send):
        message = await receive()
        if message["type"] != "websocket.connect":
            return
        address = _client(scope)
        problem = origins.refusal(_headers(scope), scope, self.frame_ancestors + self.origins)
        if problem:
            log.warning("terminal: refused a WebSocket from %s: %s", address, problem)
            return await send({"type": "websocket.close", "code": 1008})
        try:
            slot = self.admission.admit(address)
        except Refused as refused:
            # Before the handshake: uvicorn answers 403, and the page tries
            # again later, later each time.
            log.warning("terminal: refused a WebSocket from %s: %s", address, refused.reason)
            return await send({"type": "websocket.close", "code": 1008})
        try:
            await send({"type": "websocket.accept"})
            session = Session(self, receive, send, tickets.browser_keys(_cookies(scope)), slot)
            try:
                await session.run()
            finally:
                self._forget(session)
        finally:
            self.admission.release(slot)

    def _register(self, session):
        self.sessions.setdefault(session.grant.stack_id, set()).add(session)

    def _forget(self, session):
        if session.grant is not None:
            open_sessions = self.sessions.get(session.grant.stack_id, set())
            open_sessions.discard(session)
            if not open_sessions:
                self.sessions.pop(session.grant.stack_id, None)

    # -- the watcher ----------------------------------------------------------

    async def _lifespan(self, receive, send):
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                self.start_watching()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self._watcher is not None:
                    self._watcher.cancel()
                await send({"type": "lifespan.shutdown.complete"})
                return

    def start_watching(self):
        if self._watcher is None:
            self._watcher = asyncio.get_running_loop().create_task(self._watch())

    async def _watch(self):
        while True:
            await asyncio.sleep(self.watch_interval)
            self.admission.forget_idle()
            try:
                await self.check_stacks()
            except Exception:  # the next round tries again
                log.exception("terminal: checking the open sessions' labs failed")

    async def check_stacks(self):
        """End the sessions of labs that are no longer up (a suspend that is
        only pending may still be called off by the learner's typing)."""
        if not self.sessions:
            return
        states = await _db(_stack_states)(list(self.sessions))
        for stack_id, status in states.items():
            if status is None or status not in lc.UP | {lc.SUSPEND_PENDING}:
                for session in list(self.sessions.get(stack_id, ())):
                    await session.end(PAUSED, reason="paused")


def _stack_states(ids):
    from ..models import Stack
    found = dict(Stack.objects.filter(pk__in=ids).values_list("pk", "status"))
    return {stack_id: found.get(stack_id) for stack_id in ids}


class Session:
    """One browser terminal bridged to one SSH session."""

    def __init__(self, gateway, receive, send, browser_keys, slot):
        self.gateway, self.receive, self.send, self.browser_keys = gateway, receive, send, browser_keys
        self.slot = slot
        self.limits = gateway.limits
        self.grant = None
        self.conn = None
        self.process = None
        self.closed = False

    async def run(self):
        first = await self._first_message()
        if first is None:
            return
        admission = self.gateway.admission
        try:
            admission.presenting(self.slot)
            self.grant = await _db(tickets.redeem)(first.get("ticket"), self.browser_keys, self.slot.address)
            admission.start_session(self.slot, self.grant.anonymous_student_id)
        except tickets.TicketRefused as refused:
            return await self._close({"type": "refused", "message": refused.message}, REFUSED)
        except Refused as refused:
            log.warning("terminal: refused a session from %s: %s", self.slot.address, refused.reason)
            return await self._close({"type": "error", "message": refused.message, "retry": True,
                                      "retry_after": refused.retry_after}, LIMITED)
        self.gateway._register(self)
        if not await self._open_ssh(first):
            return
        await self._json({"type": "ready", "read_only": self.grant.read_only})
        log.info("terminal: session opened on stack %s for %s%s", self.grant.stack_name,
                 self.grant.anonymous_student_id, " (read-only)" if self.grant.read_only else "")
        pump = asyncio.ensure_future(self._lab_to_browser())
        try:
            await self._browser_to_lab()
        finally:
            pump.cancel()
            self._close_ssh()
            log.info("terminal: session closed on stack %s", self.grant.stack_name)

    async def _first_message(self):
        try:
            message = await asyncio.wait_for(self.receive(), self.limits.first_message_timeout)
        except TimeoutError:
            log.info("terminal: no ticket from %s within %s s", self.slot.address, self.limits.first_message_timeout)
            await self._close({"type": "refused", "message": tickets.NOT_VALID}, REFUSED)
            return None
        if message["type"] != "websocket.receive":
            self.closed = True
            return None
        try:
            first = json.loads(message.get("text") or "")
        except ValueError:
            first = None
        if not isinstance(first, dict):
            await self._close({"type": "refused", "message": tickets.NOT_VALID}, BAD_REQUEST)
            return None
        return first

    async def _open_ssh(self, first):
        from .. import labssh
        from ..models import Stack
        grant, limit = self.grant, self.limits.ssh_open_timeout
        deadline = asyncio.timeout(limit)

        def prepare():
            stack = Stack.objects.get(pk=grant.stack_id)
            return labssh.login_for(stack, grant.username, grant.port)
        try:
            # A lab may accept the connection and then answer nothing (a
            # frozen machine): the whole opening has one deadline.
            async with deadline:
                login = await _db(prepare)()
                self.conn, seen = await labssh.connect(login, timeout=min(limit, labssh.CONNECT_TIMEOUT))
                await _db(labssh.remember_host_key)(login, seen)
                cols, rows = _size(first)
                buffer = self.limits.session_buffer
                # The window is what the lab may send before the gateway
                # has passed it on to the browser.
                self.process = await self.conn.create_process(term_type="xterm-256color", term_size=(cols, rows),
                                                              encoding=None, window=buffer)
                self.process.channel.set_write_buffer_limits(high=buffer)
            return True
        except labssh.HostKeyChanged:
            self._close_ssh()
            await self._close({"type": "error", "message": HOST_KEY, "retry": False}, LAB_ERROR)
        except (TimeoutError, OSError, asyncssh.Error) as exc:
            why = f"no shell within {limit} s" if deadline.expired() else exc.__class__.__name__
            log.warning("terminal: cannot log in to stack %s at %s:%s for %s (%s)", grant.stack_name, grant.host,
                        grant.port, self.slot.address, why)
            self._close_ssh()
            await self._close({"type": "error", "message": LAB_DOWN, "retry": True}, LAB_ERROR)
        return False

    async def _lab_to_browser(self):
        # uvicorn's send waits while its transport holds more than its high
        # water mark; meanwhile the channel is not read, and its window
        # stops the lab.
        try:
            while True:
                data = await self.process.stdout.read(16384)
                if not data:
                    break
                await self.send({"type": "websocket.send", "bytes": data})
        except (asyncssh.Error, OSError):
            pass
        except asyncio.CancelledError:
            return
        await self.end("The terminal session ended.", reason="ended")

    async def _browser_to_lab(self):
        while not self.closed:
            message = await self.receive()
            if message["type"] == "websocket.disconnect":
                self.closed = True
                return
            data = message.get("bytes")
            if data is not None:
                if not await self._input(data):
                    return  # the lab's side or the browser is gone; the pump says so
                continue
            try:
                control = json.loads(message.get("text") or "")
            except ValueError:
                continue
            if isinstance(control, dict) and control.get("type") == "resize":
                cols, rows = _size(control)
                self.process.change_terminal_size(cols, rows)

    async def _input(self, data):
        """Pass the browser's bytes to the lab once it has room for them;
        False when either side is gone."""
        if len(data) > MAX_MESSAGE:
            log.info("terminal: a message of %s bytes from %s on stack %s is over the limit", len(data),
                     self.slot.address, self.grant.stack_name)
            await self._json({"type": "too-large", "limit": MAX_MESSAGE,
                              "message": TOO_LARGE.format(kb=MAX_MESSAGE // 1024)})
            return True
        if self.grant.read_only:
            return True
        try:
            self.process.stdin.write(data)
            return await self._drained()
        except (BrokenPipeError, ConnectionError, asyncssh.Error):
            return False

    async def _drained(self):
        """Wait until the channel's buffer is below its bound again. The
        WebSocket is not read meanwhile (and so not its disconnect either):
        a browser that has gone shows when written to, every PROBE_INTERVAL."""
        drain = asyncio.ensure_future(self.process.stdin.drain())
        try:
            while True:
                done, _ = await asyncio.wait({drain}, timeout=PROBE_INTERVAL)
                if done:
                    drain.result()
                    return True
                if not await self._browser_is_there():
                    return False
        finally:
            drain.cancel()

    async def _browser_is_there(self):
        try:
            # An empty message: nothing for the terminal to show.
            await asyncio.wait_for(self.send({"type": "websocket.send", "bytes": b""}), PROBE_INTERVAL)
        except TimeoutError:
            return True  # there, and not reading either; uvicorn's pings end it if it is dead
        except Exception:  # uvicorn's ClientDisconnected, an OSError: gone
            return False
        return True

    async def end(self, message, reason):
        """Close this session from the gateway's side, telling the page why."""
        self._close_ssh()
        await self._close({"type": "closed", "reason": reason, "message": message}, CLOSED_BY_LAB)

    def _close_ssh(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    async def _json(self, payload):
        await self.send({"type": "websocket.send", "text": json.dumps(payload)})

    async def _close(self, payload, code):
        if self.closed:
            return
        self.closed = True
        try:
            # Bounded: the watcher ends sessions one after another, and a
            # browser that reads nothing must not hold up the others.
            async with asyncio.timeout(CLOSE_TIMEOUT):
                await self._json(payload)
                await self.send({"type": "websocket.close", "code": code})
        except Exception:  # the browser is gone already, or reads nothing
            pass


def _size(message):
    def bounded(value, default, low, high):
        return value if isinstance(value, int) and not isinstance(value, bool) and low <= value <= high else default
    return bounded(message.get("cols"), 80, 10, 500), bounded(message.get("rows"), 24, 4, 200)


def _headers(scope):
    return {name.decode("latin-1").lower(): value.decode("latin-1") for name, value in scope.get("headers", [])}


def _client(scope):
    """The client's address, as uvicorn has it (behind a trusted proxy: the
    one it forwarded for)."""
    client = scope.get("client")
    return client[0] if client else "an unknown address"


def _cookies(scope):
    """The request's cookies as one Cookie header. HTTP/2 may send them in
    several headers; a parser of the whole (SimpleCookie) would also drop
    every cookie after one it finds malformed, another site's among them."""
    return "; ".join(value.decode("latin-1") for name, value in scope.get("headers", [])
                     if name.decode("latin-1").lower() == "cookie")


async def _respond(send, status, body, headers=None):
    headers = headers or [(b"content-type", b"text/plain; charset=utf-8")]
    await send({"type": "http.response.start", "status": status,
                "headers": [*headers, (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
