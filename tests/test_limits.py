"""The usage limit, end to end through the block's handlers: log only, warn, block."""

import logging
from datetime import timedelta

import pytest
from django.utils import timezone

from hastexo_lab import lifecycle as lc
from hastexo_lab import limits
from hastexo_lab.models import Stack, StackLog

from .test_block import CHECKED, SSH, call
from .test_tasks import wait_ready

HOUR = 3600


def ran(student, hours, ago_hours, course="course-v1:Old+Lab+Run", name=None):
    """A past lab of ``student``: running for ``hours``, ending ``ago_hours`` ago, then deleted."""
    end = timezone.now() - timedelta(hours=ago_hours)
    start = end - timedelta(hours=hours)
    stack = Stack.objects.create(name=name or f"hxl-old-{student}-{ago_hours}", course_id=course,
                                 anonymous_student_id=student, status=lc.DELETE_COMPLETE, status_changed_at=end,
                                 provider="default")
    for status, at in ((lc.LAUNCH_PENDING, start), (lc.CREATE_IN_PROGRESS, start),
                       (lc.CREATE_COMPLETE, start), (lc.DELETE_PENDING, end), (lc.DELETE_COMPLETE, end)):
        StackLog.objects.create(stack=stack, to_status=status, created_at=at)
    return stack


def limit(settings, policy, limit_seconds=2 * HOUR, window=86_400):
    settings.XBLOCK_SETTINGS = {"hastexo_lab": dict(
        settings.XBLOCK_SETTINGS["hastexo_lab"], lab_usage_limit=limit_seconds, lab_usage_window=window,
        lab_usage_limit_breach_policy=policy)}


@pytest.fixture
def lab(client, workbench, workbench_settings):
    return client


@pytest.mark.django_db
def test_block_refuses_a_launch_and_says_until_when(lab, workbench_settings):
    limit(workbench_settings, "block")
    ran("alice", hours=1.5, ago_hours=20)
    ran("alice", hours=1, ago_hours=10)  # 2.5 h in the last day: over 2 h by half an hour
    reply = call(lab, SSH, "status", {"launch": True}).json()
    assert reply["phase"] == "limited"
    assert "You have used your lab time: 2 hours in the last 1 days." in reply["message"]
    until = timezone.datetime.fromisoformat(reply["until"])
    # The oldest lab's first 31 minutes (the excess and a minute) leave the window at 21.5 h - 31 min + 24 h.
    expected = timezone.now() - timedelta(hours=21.5) + timedelta(minutes=31) + timedelta(days=1)
    assert abs((until - expected).total_seconds()) < 5
    assert until.strftime("%Y-%m-%d %H:%M") in reply["message"]
    assert not Stack.objects.filter(anonymous_student_id="alice", course_id__startswith="course-v1:").exclude(
        status=lc.DELETE_COMPLETE).exists(), "no launch"
    # Someone else is not limited.
    assert call(lab, SSH, "status", {"launch": True}, student="bob").json()["phase"] == "queued"


@pytest.mark.django_db
@pytest.mark.parametrize("scenario, handler", [(SSH, "keepalive"), (CHECKED, "check_progress")])
def test_block_does_not_resume_a_suspended_lab(lab, workbench_settings, scenario, handler):
    limit(workbench_settings, "block")
    assert call(lab, scenario, "status", {"launch": True}).json()["phase"] == "queued"
    stack = Stack.objects.get(anonymous_student_id="alice", status=lc.LAUNCH_PENDING)
    Stack.objects.filter(pk=stack.pk).update(status=lc.SUSPEND_COMPLETE, provider="default")
    ran("alice", hours=3, ago_hours=2)
    reply = call(lab, scenario, handler, {}).json()
    assert "You have used your lab time" in reply["message"]
    assert reply.get("phase") == "limited" or reply.get("status") == "failed"
    stack.refresh_from_db()
    assert stack.status == lc.SUSPEND_COMPLETE
    # A reset removes the lab but builds no new one.
    call(lab, scenario, "reset", {"confirm": True})
    stack.refresh_from_db()
    assert stack.status == lc.DELETE_PENDING and not stack.relaunch_after_delete


@pytest.mark.django_db(transaction=True)
def test_warn_launches_and_says_so(lab, workbench_settings, worker):
    limit(workbench_settings, "warn")
    ran("alice", hours=3, ago_hours=2)
    reply = call(lab, SSH, "status", {"launch": True}).json()
    assert reply["phase"] == "queued"
    assert reply["notice"] == "You have used your lab time: 2 hours in the last 1 days."
    wait_ready(Stack.objects.exclude(status=lc.DELETE_COMPLETE).get(anonymous_student_id="alice"))


@pytest.mark.django_db
def test_no_policy_only_logs(lab, workbench_settings, caplog):
    caplog.set_level(logging.WARNING, logger="hastexo_lab.limits")
    limit(workbench_settings, None)
    ran("alice", hours=3, ago_hours=2)
    reply = call(lab, SSH, "status", {"launch": True}).json()
    assert reply["phase"] == "queued" and "notice" not in reply
    assert "learner alice is over the lab usage limit: 10800 of 7200 running seconds" in caplog.text


@pytest.mark.django_db
def test_running_time_outside_the_window_does_not_count(settings, workbench_settings):
    limit(workbench_settings, "block")
    ran("alice", hours=5, ago_hours=30)  # before the last day
    ran("alice", hours=1, ago_hours=1)
    verdict = limits.verdict(None, "alice")
    assert verdict.used == pytest.approx(HOUR, abs=2) and not verdict.over


@pytest.mark.django_db
def test_an_all_time_limit_blocks_for_good(workbench_settings):
    limit(workbench_settings, "block", window=0)
    ran("alice", hours=3, ago_hours=24 * 400)
    verdict = limits.verdict(None, "alice")
    assert verdict.blocks and verdict.until is None
    assert verdict.message() == ("You have used your lab time: 2 hours. New labs cannot be started; please "
                                 "contact the course team.")


@pytest.mark.django_db
def test_time_a_failed_delete_keeps_a_lab_up_is_not_the_learners(workbench_settings):
    limit(workbench_settings, "block")
    stuck = ran("alice", hours=1, ago_hours=1)
    StackLog.objects.filter(stack=stuck, to_status=lc.DELETE_COMPLETE).delete()
    StackLog.objects.create(stack=stuck, from_status=lc.DELETE_IN_PROGRESS, to_status=lc.DELETE_FAILED,
                            created_at=timezone.now() - timedelta(hours=1))
    verdict = limits.verdict(None, "alice")
    assert verdict.used == pytest.approx(HOUR, abs=5) and not verdict.over


@pytest.mark.django_db
def test_a_lab_on_its_way_up_goes_on_and_a_suspend_under_way_is_not_followed_by_a_resume(lab, workbench_settings):
    limit(workbench_settings, "block")
    assert call(lab, SSH, "status", {"launch": True}).json()["phase"] == "queued"
    stack = Stack.objects.get(anonymous_student_id="alice", status=lc.LAUNCH_PENDING)
    ran("alice", hours=3, ago_hours=2)
    # Being created already: the page goes on showing it (no new launch is needed).
    assert call(lab, SSH, "status", {"launch": True}).json()["phase"] == "queued"
    Stack.objects.filter(pk=stack.pk).update(status=lc.SUSPEND_IN_PROGRESS, provider="default")
    reply = call(lab, SSH, "keepalive", {}).json()
    assert reply["phase"] == "limited"
    stack.refresh_from_db()
    assert not stack.resume_requested
