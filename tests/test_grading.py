"""Grades and completion as the platform computes them, and staff who view
a unit as a learner: a lab block with the platform's keys, a user service
that holds its user as the platform's does, and the platform's own
completion app (edx-completion)."""

import json

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone
from opaque_keys.edx.locator import BlockUsageLocator, CourseLocator
from waffle.testutils import override_switch
from webob import Request
from workbench.runtime import WorkbenchRuntime
from xblock.field_data import DictFieldData
from xblock.fields import ScopeIds
from xblock.reference.user_service import UserService, XBlockUser
from xblock.scorable import Score

from hastexo_lab import grading
from hastexo_lab import lifecycle as lc
from hastexo_lab.block import LabBlock
from hastexo_lab.models import ProgressCheck, Stack

from .factories import make_stack

pytestmark = pytest.mark.django_db

COURSE = CourseLocator("Org", "Lab", "2026")
USAGE = BlockUsageLocator(COURSE, "hastexo_lab", "lab1")
CHECKS = ["#!/bin/sh\nexit 0\n", "#!/bin/sh\nexit 1\n", "#!/bin/sh\nexit 0\n"]


class PlatformUserService(UserService):
    """Holds its Django user as the platform's user service does (the user
    the runtime is bound to; when staff view as a learner, the learner, with
    the staff member as ``real_user``)."""

    def __init__(self, django_user, anonymous_user_id, user_is_staff=False):
        super().__init__()
        self._django_user = django_user
        self._anonymous_user_id = anonymous_user_id
        self._user_is_staff = user_is_staff

    def get_current_user(self):
        user = XBlockUser(is_current_user=True)
        user.opt_attrs["edx-platform.anonymous_user_id"] = self._anonymous_user_id
        user.opt_attrs["edx-platform.user_id"] = self._django_user.pk
        user.opt_attrs["edx-platform.is_authenticated"] = True
        user.opt_attrs["edx-platform.user_is_staff"] = self._user_is_staff
        return user


class LmsLikeRuntime(WorkbenchRuntime):
    """State in memory, the platform's kind of user service, and the events
    the block publishes (grades, completion) recorded."""

    def __init__(self, user_service):
        super().__init__(str(user_service._django_user.pk))
        self.state = DictFieldData({})
        self.user_service = user_service
        self.events = []

    def service(self, block, service_name):
        if service_name == "field-data":
            return self.state
        if service_name == "user":
            return self.user_service
        return super().service(block, service_name)

    def publish(self, block, event_type, event_data):
        self.events.append((event_type, dict(event_data)))


def learner(name="learner", viewed_by=None):
    user = get_user_model().objects.create(username=name)
    if viewed_by is not None:
        # What the platform does when staff view the course as this learner.
        user.real_user = viewed_by
    return user


def make_block(user, anonymous_id="anon-learner", staff=False, **fields):
    runtime = LmsLikeRuntime(PlatformUserService(user, anonymous_id, user_is_staff=staff))
    block = runtime.construct_xblock_from_class(LabBlock, ScopeIds(str(user.pk), "hastexo_lab", USAGE, USAGE))
    block.stack_user_name = "training"
    for name, value in fields.items():
        setattr(block, name, value)
    return block


def handle(block, handler, data, method="POST"):
    request = Request.blank("/", method=method, body=json.dumps(data).encode(), content_type="application/json")
    return block.runtime.handle(block, handler, request)


def finished_check(block, passed, total):
    return ProgressCheck.objects.create(
        stack=make_stack(), anonymous_student_id=block.learner_id, usage_id=str(USAGE), status=ProgressCheck.DONE,
        running=None, passed=passed, total=total, started_at=timezone.now(), finished_at=timezone.now())


# -- grades ------------------------------------------------------------------------

def test_only_a_lab_with_checks_is_scored_and_out_of_its_checks():
    user = learner()
    plain = make_block(user)
    assert plain.has_score is False and plain.max_score() is None
    checked = make_block(user, tests=CHECKS)
    assert checked.has_score is True and checked.max_score() == 3.0
    # Unattempted: its possible points count from the start, none earned.
    assert checked.get_score() == Score(0.0, 3.0) and not checked.has_submitted_answer()


def test_a_rescore_recomputes_from_the_kept_checks_and_an_override_sticks():
    block = make_block(learner(), tests=CHECKS)
    finished_check(block, 1, 3)
    finished_check(block, 2, 3)
    assert block.has_submitted_answer()
    block.rescore(only_if_higher=False)
    assert ("grade", {"value": 2.0, "max_value": 3.0, "only_if_higher": False}) in block.runtime.events
    # An instructor's override, as the platform applies it.
    block.set_score(Score(3.0, block.max_score()))
    assert block.get_score() == Score(3.0, 3.0)
    # The author dropped a check since: the best result is scaled to the lab as it is.
    block.tests = CHECKS[:2]
    assert block.calculate_score() == Score(round(2 * 2 / 3, 6), 2.0)


def test_a_grade_alone_never_completes_a_lab_in_the_platform():
    """The platform's completion app marks a scored block complete whenever a
    grade arrives, unless the block keeps its own completion."""
    from completion.handlers import scorable_block_completion
    from completion.models import BlockCompletion
    from completion.services import CompletionService
    from eventtracking import tracker
    tracker.register_tracker(tracker.Tracker())  # the platform's event tracker, with nowhere to send events
    user = learner()
    with override_switch("completion.enable_completion_tracking", active=True):
        scorable_block_completion(sender=None, user_id=user.pk, course_id=str(COURSE), usage_id=str(USAGE),
                                  weighted_earned=0.0, weighted_possible=3.0)
    assert not BlockCompletion.objects.exists(), "a check at 0 of 3 must not complete the lab"
    # Nor is a lab without checks complete just for being looked at.
    assert not CompletionService(user, COURSE).can_mark_block_complete_on_view(make_block(user))


def test_completion_is_the_share_of_checks_passed():
    block = make_block(learner(), tests=CHECKS)
    finished_check(block, 0, 3)
    block.publish_check_result()
    assert ("completion", {"completion": 0.0}) not in block.runtime.events
    finished_check(block, 2, 3)
    block.publish_check_result()
    assert ("completion", {"completion": 2 / 3}) in block.runtime.events
    finished_check(block, 3, 3)
    block.publish_check_result()
    assert block.runtime.events[-1] == ("completion", {"completion": 1.0})


def test_a_lab_without_checks_is_complete_after_being_used_for_a_while(lab_settings):
    block = make_block(learner())
    now = timezone.now()
    stack = make_stack(lc.CREATE_COMPLETE, name=block.stack_name, anonymous_student_id=block.learner_id,
                       reachable_at=now - timezone.timedelta(seconds=10))
    assert json.loads(handle(block, "keepalive", {}).body)["phase"] == "ready"
    assert not [e for e in block.runtime.events if e[0] == "completion"], "not after ten seconds"
    Stack.objects.filter(pk=stack.pk).update(reachable_at=now - timezone.timedelta(seconds=grading.USED_FOR + 5))
    handle(block, "keepalive", {})
    handle(block, "keepalive", {})
    assert [e for e in block.runtime.events if e[0] == "completion"] == [("completion", {"completion": 1.0})]


# -- staff viewing as a learner ------------------------------------------------------

def test_staff_viewing_as_a_learner_see_the_lab_and_start_nothing(workbench_settings):
    staff = get_user_model().objects.create(username="staff", is_staff=True)
    viewed = make_block(learner(viewed_by=staff), stack_template_path="lab.yaml")
    reply = json.loads(handle(viewed, "status", {"launch": True}).body)
    assert reply["observer"] is True and reply["phase"] == "absent"
    assert "viewing this lab as the learner sees it" in reply["message"]
    assert not Stack.objects.exists(), "nothing launched in the learner's name"
    for handler, data in (("reset", {"confirm": True}), ("check_progress", {}), ("set_port", {"port": 22})):
        assert handle(viewed, handler, data).status_code == 403, handler
    assert handle(viewed, "terminal_ticket", {}).status_code == 403

    # The learner's own lab: shown as it is, kept as it is.
    deadline = timezone.now() + timezone.timedelta(seconds=30)
    make_stack(lc.CREATE_COMPLETE, name=viewed.stack_name, anonymous_student_id=viewed.learner_id,
               suspend_by=deadline, reachable_at=timezone.now())
    reply = json.loads(handle(viewed, "keepalive", {}).body)
    assert reply["phase"] == "ready" and "terminal_url" not in reply
    assert Stack.objects.get().suspend_by == deadline, "a staff member's view does not keep the lab alive"
    assert "observer" in str(viewed.student_view().content) or viewed.observing


def test_the_learner_themselves_launch_as_usual(workbench_settings):
    block = make_block(learner(), stack_template_path="lab.yaml")
    assert not block.observing
    reply = json.loads(handle(block, "status", {"launch": True}).body)
    assert reply["phase"] == "queued" and Stack.objects.count() == 1
