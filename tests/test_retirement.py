"""A learner the platform retires: their labs deleted at the cloud, their
rows without anything that says who they were, nobody else's touched. The
platform's signal as it sends it, from a stand-in of its module at its path,
wired by edx-django-utils from the app's own plugin configuration."""

import sys
import types

import pytest
from celery.signals import before_task_publish
from django.db.models.signals import post_save
from django.dispatch import Signal
from django.utils import timezone
from edx_django_utils.plugins import connect_plugin_receivers, registry

from hastexo_lab import api, checks, retirement, tasks, usage
from hastexo_lab import lifecycle as lc
from hastexo_lab.models import ProgressCheck, Stack, StackLog, TerminalTicket
from hastexo_lab.terminal import tickets

from .factories import make_stack
from .helpers import heat_for, wait_for_gone, wait_until
from .test_tasks import providers, wait_ready, wait_status

SIGNALS = "openedx.core.djangoapps.user_api.accounts.signals"
COURSE = "course-v1:Org+Ceph+2026"
# The platform's anonymous ids: 32 hex digits.
ALICE, BOB = "a11ce" * 6 + "00", "b0b" * 10 + "00"


class LMSAccountRetirementView:
    """The sender: the platform's view of the retirement pipeline's "retire misc" step."""


@pytest.fixture
def platform(monkeypatch):
    """The platform's accounts signals at their path, and the app's receivers
    connected as the LMS connects every plugin's at start-up."""
    module = types.ModuleType(SIGNALS)
    module.USER_RETIRE_MAILINGS, module.USER_RETIRE_LMS_CRITICAL, module.USER_RETIRE_LMS_MISC = (
        Signal(), Signal(), Signal())
    parts = SIGNALS.split(".")
    for depth in range(1, len(parts)):
        name = ".".join(parts[:depth])
        monkeypatch.setitem(sys.modules, name, sys.modules.get(name) or types.ModuleType(name))
    monkeypatch.setitem(sys.modules, SIGNALS, module)
    # This app's plugin entry point only: others installed here (edx-completion)
    # name platform signals that only an LMS has.
    plugins = registry.get_plugin_app_configs
    monkeypatch.setattr(registry, "get_plugin_app_configs",
                        lambda project: [app for app in plugins(project) if app.name == "hastexo_lab"])
    connect_plugin_receivers("lms.djangoapp")
    yield module
    post_save.disconnect(sender=StackLog, dispatch_uid="hastexo_lab.retirement.forget_deleted_stack")


def retire(platform, user):
    """What the platform does: the signal, with the user being retired."""
    platform.USER_RETIRE_LMS_MISC.send(sender=LMSAccountRetirementView, user=user)


@pytest.fixture
def sent():
    """The names and first arguments of the tasks published."""
    tasks = []

    def record(sender=None, headers=None, body=None, **kwargs):
        tasks.append((sender, body[0][0] if isinstance(body, tuple) else None))
    before_task_publish.connect(record, weak=False)
    yield tasks
    before_task_publish.disconnect(record)


def everything():
    """Every field of every row of the lab tables, as text."""
    return repr([list(model.objects.order_by("pk").values())
                 for model in (Stack, StackLog, ProgressCheck, TerminalTicket)])


def lab(learner, anonymous_id, status, lab_key="env1", **fields):
    """A stack of the learner's, whose texts say who they are as Heat's
    reasons and a check script's output can, and a finished check."""
    name = api.stack_name(COURSE, anonymous_id, lab_key)
    stack = make_stack(status, name=name, course_id=COURSE, learner=learner, anonymous_student_id=anonymous_id,
                       provider="cloud-a", provider_stack_id="0f0f-id", ip="127.0.0.9",
                       status_reason=f"{name}: made by a test", **fields)
    StackLog.objects.create(stack=stack, from_status=status, to_status=status, created_at=timezone.now(),
                            reason=f"Resource DELETE failed: {name}-server-x1 ({anonymous_id})")
    check, _ = checks.start(stack, anonymous_student_id=anonymous_id, usage_id=f"block-v1:{lab_key}", total=3)
    ProgressCheck.objects.filter(pk=check.pk).update(
        status=ProgressCheck.DONE, running=None, passed=2, hints=[f"ls: /home/{anonymous_id}: no such file"],
        message="printed by the lab")
    return stack


def ticket(stack, anonymous_id):
    Stack.objects.filter(pk=stack.pk).update(reachable_at=timezone.now())
    stack.refresh_from_db()
    return tickets.mint(stack, anonymous_student_id=anonymous_id, browser_key=tickets.new_browser_key(),
                        username="training", port=22, protocol="ssh", read_only=False, ttl=30)


def learners_rows(anonymous_id):
    stacks = Stack.objects.filter(anonymous_student_id=anonymous_id)
    return repr([list(rows.order_by("pk").values()) for rows in (
        stacks, StackLog.objects.filter(stack__in=stacks),
        ProgressCheck.objects.filter(anonymous_student_id=anonymous_id),
        TerminalTicket.objects.filter(anonymous_student_id=anonymous_id))])


@pytest.mark.django_db
def test_a_retired_learners_labs_are_deleted_and_their_rows_keep_nothing_of_them(
        platform, sent, django_user_model, django_capture_on_commit_callbacks):
    alice = django_user_model.objects.create_user("alice", "alice@example.com")
    bob = django_user_model.objects.create_user("bob", "bob@example.com")
    running = lab(alice, ALICE, lc.CREATE_COMPLETE)
    alices_ticket = ticket(running, ALICE)
    resetting = lab(alice, ALICE, lc.DELETE_PENDING, "env2", relaunch_after_delete=True)
    gone = lab(alice, ALICE, lc.DELETE_COMPLETE, "env3")
    bobs = lab(bob, BOB, lc.CREATE_COMPLETE)
    ticket(bobs, BOB)
    bob_before = learners_rows(BOB)
    until = timezone.now()
    course_report = usage.report("course", until=until)

    with django_capture_on_commit_callbacks(execute=True):
        retire(platform, alice)

    # The running lab: deleted at the cloud through the lifecycle; the reset
    # under way is no longer followed by a fresh lab.
    running.refresh_from_db()
    assert running.status == lc.DELETE_PENDING
    assert running.log.last().reason == retirement.REASON
    assert sent == [(tasks.delete_stack.name, running.pk)]
    resetting.refresh_from_db()
    assert (resetting.status, resetting.relaunch_after_delete) == (lc.DELETE_PENDING, False)

    # No row is Alice's, and nothing in them says who she was, but the names
    # by which the cloud still finds the labs being deleted.
    assert not Stack.objects.filter(learner=alice).exists()
    alias = running.anonymous_student_id
    assert alias.startswith(retirement.RETIRED)
    rows = everything()
    for name in (running.name, resetting.name):
        assert ALICE in name
        rows = rows.replace(name, "")
    assert ALICE not in rows and "alice" not in rows
    gone.refresh_from_db()
    assert gone.name == retirement.retired_name(COURSE, alias, gone.pk)
    assert list(ProgressCheck.objects.exclude(anonymous_student_id=BOB).values_list(
        "anonymous_student_id", "passed", "hints", "message")) == [(alias, 2, [], "")] * 3
    with pytest.raises(tickets.TicketRefused):
        tickets.redeem(alices_ticket, tickets.new_browser_key())

    # Usage reports: the same hours and learners, without her identity.
    assert usage.report("course", until=until) == course_report
    assert {row["anonymous_student_id"] for row in usage.report("learner", until=until)} == {alias, BOB}

    # Once a delete is done, the name goes too.
    with django_capture_on_commit_callbacks(execute=True):
        lc.transition(resetting, lc.DELETE_PENDING, lc.DELETE_COMPLETE, f"deleted {resetting.name}")
        lc.transition(running, lc.DELETE_PENDING, lc.DELETE_COMPLETE, "deleted")
    assert ALICE not in everything()
    assert learners_rows(BOB) == bob_before

    # The platform retrying the step finds nothing more to do.
    with django_capture_on_commit_callbacks(execute=True):
        retire(platform, alice)
    assert len(sent) == 1 and ALICE not in everything()
    assert learners_rows(BOB) == bob_before


@pytest.mark.django_db
def test_a_learner_without_labs_is_retired_without_a_trace(platform, django_user_model):
    carol = django_user_model.objects.create_user("carol")
    theirs = make_stack(lc.CREATE_COMPLETE, anonymous_student_id=BOB)
    before = everything()
    retire(platform, carol)
    assert everything() == before and Stack.objects.get().status == lc.CREATE_COMPLETE == theirs.status


@pytest.mark.django_db(transaction=True)
def test_the_lab_is_deleted_at_the_cloud_and_then_loses_its_name(platform, worker, cloud, lab_settings,
                                                                django_user_model):
    alice = django_user_model.objects.create_user("alice")
    stack = wait_ready(api.launch(COURSE, ALICE, providers("cloud-a"), learner=alice))
    others = wait_ready(api.launch(COURSE, BOB, providers("cloud-a")))
    at_the_cloud = stack.provider_ref
    retire(platform, alice)
    wait_status(stack, lc.DELETE_COMPLETE)
    wait_for_gone(heat_for(cloud), at_the_cloud)
    wait_until(lambda: ALICE not in everything(), what="the deleted stack to lose its name")
    stack.refresh_from_db()
    assert stack.learner is None and stack.name.startswith("hxl-course-v1-Org-Ceph-2026-retired-")
    # The other learner's lab runs on, at the cloud too.
    others.refresh_from_db()
    assert others.status == lc.CREATE_COMPLETE
    assert heat_for(cloud).stacks.get(others.provider_ref).stack_status == "CREATE_COMPLETE"
