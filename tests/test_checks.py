"""Progress checks: the author's scripts on the fake cloud's SSH machines,
through a real worker; the result, the hints and the grade event."""

import logging
import time

import pytest

from hastexo_lab import api, checks, tasks
from hastexo_lab.models import ProgressCheck, Stack

from .helpers import at_once, wait_until
from .test_block import CHECKED, call
from .test_tasks import providers, wait_ready, wait_status

pytestmark = pytest.mark.django_db(transaction=True)

FAIL_WITH_HINT = "#!/bin/sh\necho 'Start the service first.' >&2\nexit 1\n"
PASS = "#!/bin/sh\nexit 0\n"


@pytest.fixture
def stack(worker, lab_settings):
    lab_settings.XBLOCK_SETTINGS["hastexo_lab"].update(remote_exec_timeout=2, check_timeout=20)
    lab_settings.XBLOCK_SETTINGS = dict(lab_settings.XBLOCK_SETTINGS)
    return wait_ready(api.launch("course-v1:Org+Lab+2026", "alice", providers("cloud-a")), timeout=15)


def run_check(stack, scripts, timeout=30):
    check, created = checks.start(stack, anonymous_student_id="alice", usage_id="unit", total=len(scripts))
    assert created
    tasks.enqueue_check(check.pk, scripts, "training")

    def finished():
        check.refresh_from_db()
        return check.status != ProgressCheck.RUNNING
    wait_until(finished, timeout=timeout, what="the check to finish")
    return check


def test_passes_failures_with_hints_and_none(stack):
    check = run_check(stack, [PASS, FAIL_WITH_HINT, "exit 0\n"])  # the last one has no shebang: bash runs it
    assert (check.status, check.passed, check.total) == ("done", 2, 3), check.message
    assert check.hints == ["Start the service first."]
    none = run_check(stack, [FAIL_WITH_HINT, "#!/bin/sh\nexit 3\n"])
    assert (none.passed, none.total, none.hints) == (0, 2, ["Start the service first."])
    assert checks.best("alice", "unit") == (2, 3), "the best result counts"


def test_scripts_run_on_the_lab_from_standard_input_not_from_a_file(stack):
    check = run_check(stack, ["#!/bin/bash\ntouch ~/was-here; [ ! -f \"$0\" ]\n", PASS])
    assert check.passed == 2, check.hints
    from .test_terminal import run_on_lab
    assert "was-here" in run_on_lab(stack, "ls")
    assert ".hastexo-check" not in run_on_lab(stack, "ls -a"), "no scripts' folder"


def test_a_hanging_script_is_killed_and_megabytes_are_cut(stack):
    began = time.monotonic()
    check = run_check(stack, ["#!/bin/sh\nsleep 600\n",
                              "#!/bin/sh\nhead -c 5000000 /dev/zero | tr '\\0' x >&2; exit 1\n",
                              "\x7fELF\x00\x01\x02 garbage \xff\xfe"])
    assert time.monotonic() - began < 15
    assert check.status == "done" and check.passed == 0 and check.total == 3
    assert any("did not finish within 2 seconds" in hint for hint in check.hints)
    assert max(len(hint) for hint in check.hints) <= checks.HINT_LIMIT


def test_a_changed_host_key_is_refused(stack):
    run_check(stack, [PASS])
    stack.refresh_from_db()
    assert stack.host_key.startswith("ssh-")
    import asyncssh
    Stack.objects.filter(pk=stack.pk).update(
        host_key=asyncssh.generate_private_key("ssh-ed25519").export_public_key().decode().strip())
    check = run_check(stack, [PASS])
    assert check.status == "failed" and "identity has changed" in check.message


def test_a_lab_suspended_during_a_check_ends_the_check(stack):
    check, _ = checks.start(stack, anonymous_student_id="alice", usage_id="unit", total=1)
    tasks.enqueue_check(check.pk, ["#!/bin/sh\nsleep 1.5; exit 0\n"], "training")
    time.sleep(0.5)
    api.suspend(stack)
    wait_until(lambda: ProgressCheck.objects.get(pk=check.pk).status != "running", timeout=30,
               what="the check to end")
    check.refresh_from_db()
    assert check.status in ("done", "failed") and check.finished_at is not None


def test_two_clicks_at_once_start_one_check(stack):
    results = at_once(lambda: checks.start(stack, anonymous_student_id="alice", usage_id="unit", total=1), 6)
    assert len(results) == 6
    assert sum(created for _, created in results) == 1
    assert len({check.pk for check, _ in results}) == 1


def test_the_database_itself_refuses_a_second_running_check():
    """Not a partial index (MySQL has none): a rule every database enforces."""
    from django.core import checks as django_checks
    from django.db import IntegrityError, transaction
    from django.utils import timezone

    from .factories import make_stack
    stack = make_stack()
    fields = dict(stack=stack, anonymous_student_id="alice", usage_id="unit", total=1, started_at=timezone.now())
    first = ProgressCheck.objects.create(**fields)
    with pytest.raises(IntegrityError), transaction.atomic():
        ProgressCheck.objects.create(**fields)
    checks._finish(first, ProgressCheck.DONE, passed=1)
    ProgressCheck.objects.create(**fields)  # the slot is free once the first ended
    ProgressCheck.objects.filter(pk=first.pk).update(running=None)
    assert ProgressCheck.objects.filter(running=None).count() == 1
    warnings = [w.id for w in django_checks.run_checks(databases=["default"]) if w.id.startswith("models.")]
    assert warnings == [], "no model rule the database leaves out"


# -- the block -----------------------------------------------------------------

@pytest.fixture
def checked_lab(client, workbench, workbench_settings, worker):
    workbench_settings.XBLOCK_SETTINGS["hastexo_lab"].update(remote_exec_timeout=5, check_timeout=30)
    workbench_settings.XBLOCK_SETTINGS = dict(workbench_settings.XBLOCK_SETTINGS)
    call(client, CHECKED, "status", {"launch": True})
    return client, wait_ready(Stack.objects.get(), timeout=15)


def follow(client, reply, timeout=30):
    deadline = time.monotonic() + timeout
    while reply["status"] == "running":
        assert time.monotonic() < deadline, reply
        time.sleep(0.2)
        reply = call(client, CHECKED, "check_result", {}).json()
    return reply


def test_the_block_checks_shows_hints_and_publishes_the_best_grade(checked_lab, caplog):
    client, stack = checked_lab
    caplog.set_level(logging.INFO, logger="workbench.runtime")
    reply = follow(client, call(client, CHECKED, "check_progress", {}).json())
    assert reply == {"status": "done", "heading": "Progress check result", "passed": 1, "total": 2,
                     "message": "1 of 2 checks passed.",
                     "hints": ["There is no file called done in your home folder yet."],
                     "score": {"earned": 1.0, "possible": 2.0, "best_passed": 1, "best_total": 2}}
    assert "XBlock event grade" in caplog.text and "'value': 1.0, 'max_value': 2.0" in caplog.text
    # Half the checks passed: half complete, not "complete because a grade arrived".
    assert "XBlock event completion" in caplog.text and "{'completion': 0.5}" in caplog.text
    from .test_terminal import run_on_lab
    run_on_lab(stack, "touch ~/done")
    caplog.clear()
    reply = follow(client, call(client, CHECKED, "check_progress", {}).json())
    assert (reply["passed"], reply["total"], "hints" in reply) == (2, 2, False)
    assert "'value': 2.0, 'max_value': 2.0" in caplog.text
    assert "{'completion': 1.0}" in caplog.text
    # A reload shows the last result, and publishes nothing again.
    caplog.clear()
    assert call(client, CHECKED, "check_result", {}).json()["passed"] == 2
    assert "XBlock event grade" not in caplog.text


def test_a_second_click_gets_the_running_check_and_a_suspended_lab_resumes_first(checked_lab):
    client, stack = checked_lab
    api.suspend(stack)
    wait_status(stack, "SUSPEND_COMPLETE")
    first = call(client, CHECKED, "check_progress", {}).json()
    second = call(client, CHECKED, "check_progress", {}).json()
    assert first["status"] == second["status"] == "running"
    assert "being started for the check" in first["message"]
    assert ProgressCheck.objects.count() == 1
    reply = follow(client, second)
    assert reply["status"] == "done" and reply["total"] == 2
    stack.refresh_from_db()
    assert stack.status == "RESUME_COMPLETE"


def test_no_check_without_a_lab(client, workbench, workbench_settings):
    reply = call(client, CHECKED, "check_progress", {}).json()
    assert reply["status"] == "failed" and "Start your lab first" in reply["message"]
    assert call(client, CHECKED, "check_result", {}).json() == {"status": "none"}


# -- readiness: an SSH login, not only an open port ------------------------------

def test_ready_means_the_lab_takes_the_users_ssh_login(worker, lab_settings):
    good = api.launch("c", "alice", providers("cloud-a"), username="training", launch_timeout=120)
    wait_ready(good, timeout=15)
    good.refresh_from_db()
    assert good.host_key.startswith("ssh-"), "the first login records the host key"
    # A lab whose machine answers but does not (yet) know the block's user is not ready.
    other = api.launch("c", "bob", providers("cloud-a"), username="nobody", launch_timeout=120)
    wait_status(other, "CREATE_COMPLETE", timeout=15)
    time.sleep(2)
    other.refresh_from_db()
    assert other.reachable_at is None and other.host_key == ""
