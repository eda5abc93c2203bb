"""Terminal tickets: the right to open one terminal session, once, for a few
seconds, in one browser.

A ticket is a random token. The database keeps its SHA-256 only, with what
it grants: the stack, the learner, the user on the lab, the port, read-only
or not (the block's own settings at the moment it was minted). It is bound
to a browser key: a random value in an HttpOnly cookie of the learner's
browser, which the browser sends to the gateway with the WebSocket's
handshake; a ticket that leaks out of the page is refused anywhere else.
Over HTTPS that cookie is partitioned (see ``browser_cookie``).
Redeeming is one conditional UPDATE, so two redemptions of one ticket can
never both succeed.
"""

import hashlib
import logging
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.utils import timezone

from .. import lifecycle as lc
from ..models import Stack, TerminalTicket

log = logging.getLogger(__name__)

# The cookie holding the browser key; HttpOnly, so the page's scripts never see it.
BROWSER_COOKIE = "hastexo_lab_terminal"
_TOKEN = re.compile(r"[A-Za-z0-9_-]{32,128}")
# Redeemed and expired tickets are kept this long (for the operators' eyes), then deleted.
KEEP = timedelta(hours=1)
# Browser keys looked at for one redemption; a browser has one or two.
MAX_KEYS = 4


class TicketRefused(Exception):
    """A ticket that opens nothing; ``message`` is for the learner's page."""

    def __init__(self, reason, message):
        super().__init__(reason)
        self.reason, self.message = reason, message


@dataclass(frozen=True)
class Grant:
    """What a redeemed ticket opens."""

    stack_id: int
    stack_name: str
    host: str
    port: int
    protocol: str
    username: str
    read_only: bool
    anonymous_student_id: str


def _digest(value):
    return hashlib.sha256(value.encode()).hexdigest()


def valid_browser_key(value):
    return isinstance(value, str) and _TOKEN.fullmatch(value) is not None


def new_browser_key():
    return secrets.token_urlsafe(32)


def browser_cookie(browser_key, *, https):
    """The Set-Cookie header's value that keeps ``browser_key`` in the browser.

    In the learning MFE the LMS's page is a frame of the MFE's, which may be
    on another site: a SameSite=Strict (or Lax) cookie never goes with the
    gateway's handshake there. Over HTTPS the cookie is SameSite=None and
    Partitioned (CHIPS): the browser keeps it in a jar of the top-level site
    it was set under and sends it only below that site, so a stranger's page
    that frames the LMS has no key to send. Browsers refuse SameSite=None
    without Secure, so over plain HTTP (a development site) it stays Strict.
    """
    if not valid_browser_key(browser_key):
        raise ValueError("not a browser key")
    attributes = [f"{BROWSER_COOKIE}={browser_key}", "Path=/", "HttpOnly"]
    attributes += ["Secure", "SameSite=None", "Partitioned"] if https else ["SameSite=Strict"]
    return "; ".join(attributes)


def browser_keys(cookie_header):
    """Every browser key in a Cookie header. A browser may send two cookies
    of that name (a partitioned one and an older one of the top-level site);
    a ticket minted for either is the browser's."""
    keys = []
    for pair in (cookie_header or "").split(";"):
        name, _, value = pair.strip().partition("=")
        value = value.strip().strip('"')
        if name.strip() == BROWSER_COOKIE and valid_browser_key(value) and value not in keys:
            keys.append(value)
    return keys[:MAX_KEYS]


def is_open(stack, anonymous_student_id):
    """Is ``stack`` this learner's, and ready for a terminal?"""
    return (stack is not None and stack.anonymous_student_id == anonymous_student_id and stack.status in lc.UP
            and stack.reachable_at is not None and bool(stack.ip))


def mint(stack, *, anonymous_student_id, browser_key, username, port, protocol, read_only, ttl):
    """A ticket for ``stack``, which must be the learner's and ready; None if it is not."""
    if not is_open(stack, anonymous_student_id):
        return None
    if not valid_browser_key(browser_key):
        raise ValueError("a ticket needs the browser's key")
    token = secrets.token_urlsafe(32)
    now = timezone.now()
    TerminalTicket.objects.create(
        token_hash=_digest(token), browser_hash=_digest(browser_key), stack=stack,
        anonymous_student_id=anonymous_student_id, username=username, port=port, protocol=protocol,
        read_only=bool(read_only), created_at=now, expires_at=now + timedelta(seconds=ttl))
    return token


NOT_VALID = "This terminal link is not valid. Reload the page to open your lab's terminal."
EXPIRED = "This terminal link has expired. Reload the page to open your lab's terminal."
USED = "This terminal link was used already. Reload the page to open your lab's terminal."
NOT_READY = "Your lab is not running right now; it reconnects when it is back."


def redeem(token, browser_key, client=None):
    """The Grant a ticket gives, once; TicketRefused (logged) for anything else.
    ``browser_key``: the key the browser presented, or a list of its keys;
    ``client``: the address it came from, for the log."""
    sender = f" from {client}" if client else ""
    if not isinstance(token, str) or not _TOKEN.fullmatch(token):
        return _refuse(f"malformed ticket{sender}", NOT_VALID)
    ticket = TerminalTicket.objects.select_related("stack").filter(token_hash=_digest(token)).first()
    if ticket is None:
        return _refuse(f"unknown ticket{sender}", NOT_VALID)
    where = f"(ticket {ticket.pk}, stack {ticket.stack.name}){sender}"
    presented = [browser_key] if isinstance(browser_key, str) else list(browser_key or ())[:MAX_KEYS]
    if not any(valid_browser_key(key) and secrets.compare_digest(_digest(key), ticket.browser_hash)
               for key in presented):
        return _refuse(f"ticket presented by another browser {where}", NOT_VALID)
    now = timezone.now()
    taken = TerminalTicket.objects.filter(pk=ticket.pk, redeemed_at__isnull=True, expires_at__gt=now).update(
        redeemed_at=now)
    if not taken:
        ticket.refresh_from_db()
        if ticket.redeemed_at is not None:
            return _refuse(f"ticket replayed {where}", USED)
        return _refuse(f"ticket expired {where}", EXPIRED)
    stack = Stack.objects.filter(pk=ticket.stack_id).first()
    if stack is None or stack.anonymous_student_id != ticket.anonymous_student_id:
        return _refuse(f"ticket for a stack that is gone {where}", NOT_VALID)
    if stack.status not in lc.UP or not stack.ip:
        return _refuse(f"ticket for a stack that is {stack.status} {where}", NOT_READY)
    return Grant(stack_id=stack.pk, stack_name=stack.name, host=stack.ip, port=ticket.port,
                 protocol=ticket.protocol, username=ticket.username, read_only=ticket.read_only,
                 anonymous_student_id=ticket.anonymous_student_id)


def _refuse(reason, message):
    log.warning("terminal ticket refused: %s", reason)
    raise TicketRefused(reason, message)


def forget_old(now=None):
    """Delete tickets that can no longer be redeemed; returns how many."""
    cutoff = (now or timezone.now()) - KEEP
    deleted, _ = TerminalTicket.objects.filter(expires_at__lt=cutoff).delete()
    return deleted
