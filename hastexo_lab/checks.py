"""Progress checks: the author's scripts, run on the learner's lab over SSH.

A check logs in as the stack's user with the stack's key (the host key
verified as recorded at the first connection), makes a private temporary
folder, uploads each script by SFTP, runs it with a time limit
(``remote_exec_timeout``; a script without ``#!`` runs with bash), keeps its
exit status and the start of its stderr, and removes the folder. The whole
check is bounded by ``check_timeout``. A script passes when it exits 0.

Grading policy, the same on every path: the score published to the LMS is
the best result of the learner's checks in this lab unit (passed / total,
times the block's weight): checking again never lowers a grade.
"""

import asyncio
import logging
import shlex

import asyncssh
from django.db import IntegrityError, transaction
from django.utils import timezone

from . import conf, labssh, metrics
from . import lifecycle as lc
from .models import ProgressCheck, Stack

log = logging.getLogger(__name__)

HINT_LIMIT = 2000  # characters of one failed script's stderr kept as its hint
OUTPUT_LIMIT = 64 * 1024  # bytes read of a script's output at most
RETRY_WHILE_STARTING = 1.0  # seconds between looks while the lab comes up


def start(stack, *, anonymous_student_id, usage_id, total):
    """The learner's running check in this lab unit, or a new one.
    Returns (check, created)."""
    now = timezone.now()
    running = ProgressCheck.objects.filter(anonymous_student_id=anonymous_student_id, usage_id=usage_id,
                                           status=ProgressCheck.RUNNING).first()
    if running is not None:
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
    return ProgressCheck.objects.filter(anonymous_student_id=anonymous_student_id,
                                        usage_id=usage_id).order_by("-started_at", "-pk").first()


def best(anonymous_student_id, usage_id):
    """(passed, total) of the best finished check, or None."""
    results = ProgressCheck.objects.filter(anonymous_student_id=anonymous_student_id, usage_id=usage_id,
                                           status=ProgressCheck.DONE, total__gt=0).values_list("passed", "total")
    return max(results, key=lambda result: (result[0] / result[1], result[0]), default=None)


def claim_publication(check):
    """True once per finished check: the caller publishes its grade."""
    return bool(ProgressCheck.objects.filter(pk=check.pk, status=ProgressCheck.DONE, published=False)
                .update(published=True))


def run(check_id, scripts, username):
    """Run a check (the Celery task's body). Returns seconds until it should
    be looked at again (the lab is still coming up), or None when done."""
    settings = conf.get_settings()
    check = ProgressCheck.objects.select_related("stack").filter(pk=check_id).first()
    if check is None or check.status != ProgressCheck.RUNNING:
        return None
    stack = check.stack
    waited = (timezone.now() - check.started_at).total_seconds()
    if stack.status not in lc.UP or stack.reachable_at is None:
        if waited > settings.check_timeout or stack.status in lc.ABSENT or stack.status in lc.FAILED:
            _finish(check, ProgressCheck.FAILED, message="Your lab could not be started for the check. "
                                                         "Please try again.")
            return None
        return RETRY_WHILE_STARTING
    login = labssh.login_for(stack, username)
    try:
        results, seen = asyncio.run(asyncio.wait_for(_run_all(login, scripts, settings),
                                                     max(5.0, settings.check_timeout - waited)))
        labssh.remember_host_key(login, seen)
    except TimeoutError:
        _finish(check, ProgressCheck.FAILED, message="The check took too long and was stopped. Please try again.")
        return None
    except labssh.HostKeyChanged:
        _finish(check, ProgressCheck.FAILED, message="Your lab's identity has changed, so it was not checked. "
                                                     "Please reset the lab.")
        return None
    except (OSError, asyncssh.Error) as exc:
        log.warning("check %s on stack %s: cannot reach the lab (%s)", check.pk, stack.name, exc.__class__.__name__)
        if waited + RETRY_WHILE_STARTING < settings.check_timeout and _still_up(stack):
            return RETRY_WHILE_STARTING * 2
        _finish(check, ProgressCheck.FAILED, message="Your lab could not be reached for the check. "
                                                     "Please try again.")
        return None
    passed = sum(1 for ok, _ in results if ok)
    hints = [hint for ok, hint in results if not ok and hint]
    _finish(check, ProgressCheck.DONE, passed=passed, hints=hints)
    log.info("check %s on stack %s: %d of %d passed", check.pk, stack.name, passed, len(results))
    return None


def _still_up(stack):
    return Stack.objects.filter(pk=stack.pk, status__in=list(lc.UP)).exists()


def _finish(check, status, message="", passed=0, hints=()):
    if ProgressCheck.objects.filter(pk=check.pk, status=ProgressCheck.RUNNING).update(
            status=status, running=None, message=message, passed=passed, hints=list(hints), finished_at=timezone.now()):
        metrics.CHECKS.labels(status).inc()


async def _run_all(login, scripts, settings):
    conn, seen = await labssh.connect(login)
    try:
        # In the user's home (where both the commands and SFTP start), by a
        # relative name, private to the user.
        folder = (await conn.run("cd && umask 077 && mktemp -d .hastexo-check.XXXXXXXX", check=True,
                                 timeout=30)).stdout.strip()
        try:
            results = []
            async with conn.start_sftp_client() as sftp:
                for number, script in enumerate(scripts, 1):
                    results.append(await _run_one(conn, sftp, folder, number, script, settings.remote_exec_timeout))
            return results, seen
        finally:
            await conn.run(f"cd && rm -rf {shlex.quote(folder)}", timeout=30)
    finally:
        conn.close()


async def _run_one(conn, sftp, folder, number, script, limit):
    """(passed, hint) of one script."""
    path = f"{folder}/check-{number}"
    data = script.replace("\r\n", "\n").encode("utf-8", errors="replace")
    async with sftp.open(path, "wb") as handle:
        await handle.write(data)
    await sftp.chmod(path, 0o700)
    runner = "" if data.startswith(b"#!") else "bash "
    # stderr (cut) is the hint; stdout is dropped; the script is killed at the limit.
    command = (f"cd && timeout -k 2 {int(limit)} {runner}./{shlex.quote(path)} </dev/null 2>&1 1>/dev/null "
               f"| head -c {OUTPUT_LIMIT}; exit ${{PIPESTATUS[0]}}")
    try:
        result = await asyncio.wait_for(conn.run(f"bash -c {shlex.quote(command)}", encoding=None), limit + 10)
    except TimeoutError:
        return False, f"Check {number} did not finish within {limit} seconds."
    status = result.exit_status
    hint = (result.stdout or b"").decode("utf-8", errors="replace").strip()[:HINT_LIMIT]
    if status == 0:
        return True, ""
    if status in (124, 137):
        return False, hint or f"Check {number} did not finish within {limit} seconds."
    return False, hint
