"""Progress checks: the author's scripts, run on the learner's lab over SSH.

A check logs in as the stack's user with the stack's key (the host key
verified as recorded at the first connection) and runs each script from the
SSH channel's standard input, in the user's home, with the interpreter its
``#!`` line names (bash where it has none), for at most
``remote_exec_timeout`` seconds. Nothing is written to the lab's disk, so a
learner cannot read the scripts there, nor swap them before they run. A
script passes when it exits 0; the start of its stderr is its hint. The whole
check is bounded by ``check_timeout``.

A lab is the learner's machine, and may be hostile: its output is read as it
comes and all but a hint's worth is dropped, a failure after login (the lab
refuses to run the script) ends the check at once, and only a lab that cannot
be reached at all is tried again, a few times.

Grading policy, the same on every path: the score published to the LMS is
the best result of the learner's checks in this lab unit (passed / total,
times the block's weight): checking again never lowers a grade.
"""

import asyncio
import logging
import re
import shlex
from typing import NamedTuple

import asyncssh
from django.db import IntegrityError, transaction
from django.utils import timezone

from . import conf, labssh, metrics
from . import lifecycle as lc
from .models import ProgressCheck, Stack

log = logging.getLogger(__name__)

HINT_LIMIT = 2000  # characters of one failed script's stderr kept as its hint
OUTPUT_LIMIT = 4 * HINT_LIMIT  # bytes of stderr held at most: a hint's worth of UTF-8
RETRY_WHILE_STARTING = 1.0  # seconds between looks while the lab comes up
# Logins tried per check; a lab that cannot be reached after them fails the check.
CONNECT_ATTEMPTS = 3
# A check still running this long after check_timeout lost its worker (a
# crash, a restart): whoever looks at it next ends it.
STALE_AFTER = 60

TOO_LONG = "The check took too long and was stopped. Please try again."
UNREACHABLE = "Your lab could not be reached for the check. Please try again."
REFUSED = "Your lab did not let the check run. Please try again, or reset your lab."
INTERRUPTED = "The check was interrupted. Please try again."


class LookAgain(NamedTuple):
    """Run the check again after ``countdown`` seconds; ``failed_logins``
    counts the connections that failed so far."""

    countdown: float
    failed_logins: int = 0


class CannotConnect(Exception):
    """No SSH session with the lab: refused, timed out, or the login failed."""


def start(stack, *, anonymous_student_id, usage_id, total):
    """The learner's running check in this lab unit, or a new one.
    Returns (check, created)."""
    now = timezone.now()
    running = ProgressCheck.objects.filter(anonymous_student_id=anonymous_student_id, usage_id=usage_id,
                                           status=ProgressCheck.RUNNING).first()
    if running is not None and not _ended_as_lost(running):
        return running, False
    try:
        with transaction.atomic():
            check = ProgressCheck.objects.create(
                stack=stack, anonymous_student_id=anonymous_student_id, usage_id=usage_id, total=total,
                started_at=now, resumed_lab=stack.status not in lc.UP)
    except IntegrityError:  # a second click at the same moment
        return ProgressCheck.objects.get(anonymous_student_id=anonymous_student_id, usage_id=usage_id,
                                         status=ProgressCheck.RUNNING), False
    return check, True


def latest(anonymous_student_id, usage_id):
    """The learner's last check in this lab unit (one whose worker was lost is ended first), or None."""
    check = ProgressCheck.objects.filter(anonymous_student_id=anonymous_student_id,
                                         usage_id=usage_id).order_by("-started_at", "-pk").first()
    if check is not None and _ended_as_lost(check):
        check.refresh_from_db()
    return check


def _ended_as_lost(check):
    """True if ``check`` is still running long after it should have ended,
    and so was ended now: its task is gone (the worker died and the broker
    gave up on it, or the queue was purged), and nothing else would end it."""
    if check.status != ProgressCheck.RUNNING:
        return False
    if (timezone.now() - check.started_at).total_seconds() <= conf.get_settings().check_timeout + STALE_AFTER:
        return False
    log.warning("check %s on stack %s: still running long after its time; its worker was lost",
                check.pk, check.stack_id)
    _finish(check, ProgressCheck.FAILED, message=INTERRUPTED)
    return True


def best(anonymous_student_id, usage_id):
    """(passed, total) of the best finished check, or None."""
    results = ProgressCheck.objects.filter(anonymous_student_id=anonymous_student_id, usage_id=usage_id,
                                           status=ProgressCheck.DONE, total__gt=0).values_list("passed", "total")
    return max(results, key=lambda result: (result[0] / result[1], result[0]), default=None)


def claim_publication(check):
    """True once per finished check: the caller publishes its grade."""
    return bool(ProgressCheck.objects.filter(pk=check.pk, status=ProgressCheck.DONE, published=False)
                .update(published=True))


def run(check_id, scripts, username, failed_logins=0):
    """Run a check (the Celery task's body). Returns None when done, or a
    LookAgain: the lab is still coming up, or could not be reached yet."""
    settings = conf.get_settings()
    check = ProgressCheck.objects.select_related("stack").filter(pk=check_id).first()
    if check is None or check.status != ProgressCheck.RUNNING or _ended_as_lost(check):
        return None
    stack = check.stack
    waited = (timezone.now() - check.started_at).total_seconds()
    if stack.status not in lc.UP or stack.reachable_at is None:
        if waited > settings.check_timeout or stack.status in lc.ABSENT or stack.status in lc.FAILED:
            _finish(check, ProgressCheck.FAILED, message="Your lab could not be started for the check. "
                                                         "Please try again.")
            return None
        return LookAgain(RETRY_WHILE_STARTING, failed_logins)
    login = labssh.login_for(stack, username)
    where = f"check {check.pk} on stack {stack.name}"
    try:
        results, seen = asyncio.run(asyncio.wait_for(_run_all(login, scripts, settings, where),
                                                     max(5.0, settings.check_timeout - waited)))
        labssh.remember_host_key(login, seen)
    except TimeoutError:
        _finish(check, ProgressCheck.FAILED, message=TOO_LONG)
        return None
    except labssh.HostKeyChanged:
        _finish(check, ProgressCheck.FAILED, message="Your lab's identity has changed, so it was not checked. "
                                                     "Please reset the lab.")
        return None
    except CannotConnect as exc:
        failed_logins += 1
        log.warning("%s: cannot reach the lab (%s), attempt %d of %d", where, exc, failed_logins, CONNECT_ATTEMPTS)
        # Growing pauses: a lab that is rebooting gets a few seconds.
        again = RETRY_WHILE_STARTING * 2 ** failed_logins
        if failed_logins < CONNECT_ATTEMPTS and waited + again < settings.check_timeout and _still_up(stack):
            return LookAgain(again, failed_logins)
        _finish(check, ProgressCheck.FAILED, message=UNREACHABLE)
        return None
    except (OSError, asyncssh.Error) as exc:
        # Logged in, then refused or cut off: the lab's doing (it was
        # suspended, or its user broke it), which a retry would only repeat.
        log.warning("%s: the lab stopped the check after login (%s)", where, exc.__class__.__name__)
        _finish(check, ProgressCheck.FAILED, message=REFUSED if _still_up(stack) else UNREACHABLE)
        return None
    passed = sum(1 for ok, _ in results if ok)
    hints = [hint for ok, hint in results if not ok and hint]
    _finish(check, ProgressCheck.DONE, passed=passed, hints=hints)
    log.info("%s: %d of %d passed", where, passed, len(results))
    return None


def _still_up(stack):
    return Stack.objects.filter(pk=stack.pk, status__in=list(lc.UP)).exists()


def _finish(check, status, message="", passed=0, hints=()):
    if ProgressCheck.objects.filter(pk=check.pk, status=ProgressCheck.RUNNING).update(
            status=status, running=None, message=message, passed=passed, hints=list(hints), finished_at=timezone.now()):
        metrics.CHECKS.labels(status).inc()


async def _run_all(login, scripts, settings, where):
    """[(passed, hint)] of the scripts, and the host key seen, over one
    login; CannotConnect if there is none."""
    try:
        conn, seen = await labssh.connect(login)
    except labssh.HostKeyChanged:
        raise
    except (OSError, asyncssh.Error, TimeoutError) as exc:
        raise CannotConnect(exc.__class__.__name__) from exc
    try:
        results = []
        for number, script in enumerate(scripts, 1):
            results.append(await _run_one(conn, number, script, settings.remote_exec_timeout, where))
        return results, seen
    finally:
        conn.close()


async def _run_one(conn, number, script, limit, where):
    """(passed, hint) of one script."""
    text = script.replace("\r\n", "\n")
    try:
        status, stderr, dropped = await asyncio.wait_for(
            _execute(conn, command_for(text, limit), text.encode("utf-8", errors="replace")), limit + 10)
    except TimeoutError:
        return False, f"Check {number} did not finish within {limit} seconds."
    if dropped:
        log.info("%s: script %d wrote %d bytes more than a hint; dropped", where, number, dropped)
    hint = stderr.decode("utf-8", errors="replace").strip()[:HINT_LIMIT]
    if status == 0:
        return True, ""
    if status in (124, 137):
        return False, hint or f"Check {number} did not finish within {limit} seconds."
    return False, hint


def command_for(script, limit):
    """The shell command that runs ``script`` on the lab, sent on the SSH
    channel's standard input, so that it never lands on the lab's disk. The
    interpreter reads it from a pipe (``cat``'s: an SSH server may hand the
    shell a socket, which cannot be opened by name) as file descriptor 3; the
    script's own standard input is empty, its stdout dropped there.
    ``timeout`` kills it at ``limit``."""
    interpreter = " ".join(shlex.quote(word) for word in interpreter_of(script))
    return f"cd && cat | timeout -k 2 {int(limit)} {interpreter} /dev/fd/3 3<&0 </dev/null >/dev/null"


def interpreter_of(script):
    """The command a script's ``#!`` line names, read as the kernel reads
    it (the interpreter, then the rest of the line as one argument), or
    bash for a script without one."""
    line = script[2:].split("\n", 1)[0].strip() if script.startswith("#!") else ""
    if not line:
        return ["bash"]
    return re.split(r"[ \t]+", line, maxsplit=1)


async def _execute(conn, command, script):
    """Run ``command`` with ``script`` on its standard input. Returns (exit
    status, the start of stderr, bytes of output dropped). Whatever the lab
    sends is read as it comes and counted, never held: a lab may send
    gigabytes."""
    process = await conn.create_process(command, encoding=None)
    try:
        try:
            process.stdin.write(script)
            process.stdin.write_eof()
        except BrokenPipeError:
            pass  # the interpreter is gone already; its status says why
        (stderr, dropped_err), (_, dropped_out) = await asyncio.gather(
            _read_start(process.stderr, OUTPUT_LIMIT), _read_start(process.stdout, 0))
        await process.wait_closed()
    finally:
        process.close()
    return process.exit_status, stderr, dropped_err + dropped_out


async def _read_start(stream, limit):
    """The first ``limit`` bytes of ``stream`` and how many came after them."""
    kept, dropped = bytearray(), 0
    while chunk := await stream.read(64 * 1024):
        room = limit - len(kept)
        kept += chunk[:room]
        dropped += max(0, len(chunk) - room)
    return bytes(kept), dropped
