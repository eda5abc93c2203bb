"""What the learner's page is told besides the phase: the lab's clock and
the score the platform counts."""

from datetime import timedelta

import pytest
from django.utils import timezone

from hastexo_lab import lifecycle as lc
from hastexo_lab import page

from .factories import make_stack

pytestmark = pytest.mark.django_db


def test_a_running_lab_says_how_long_it_runs_and_when_it_is_suspended():
    now = timezone.now()
    stack = make_stack(lc.RESUME_COMPLETE, status_changed_at=now - timedelta(minutes=5),
                       reachable_at=now - timedelta(hours=2), suspend_by=now + timedelta(seconds=90))
    # Up since the resume, not since the first boot.
    assert page.times(stack, now) == {"up_for": 300, "suspend_in": 90}


def test_a_suspended_lab_says_how_long_it_is_kept():
    now = timezone.now()
    stack = make_stack(lc.SUSPEND_COMPLETE, delete_by=now + timedelta(days=2))
    assert page.times(stack, now) == {"kept_for": 2 * 86_400}


def test_a_lab_on_its_way_up_says_when_only_with_a_history():
    now = timezone.now()
    assert page.times(make_stack(lc.CREATE_IN_PROGRESS, provider="nowhere"), now) == {}
    assert page.times(None) == {}


@pytest.mark.parametrize("raw, best, weight, shown", [
    ((1.0, 2.0), (1, 2), 2.0, {"earned": 1.0, "possible": 2.0, "best_passed": 1, "best_total": 2}),
    # An instructor's override is what counts, whatever the checks said.
    ((2.0, 2.0), (0, 2), 2.0, {"earned": 2.0, "possible": 2.0, "best_passed": 0, "best_total": 2}),
    ((1.0, 3.0), None, None, {"earned": 1.0, "possible": 3.0}),
    ((1.0, 3.0), (1, 3), 1.0, {"earned": 0.33, "possible": 1.0, "best_passed": 1, "best_total": 3}),
])
def test_the_score_is_the_platforms_in_the_labs_points(raw, best, weight, shown):
    assert page.score(raw, best, weight, checks=3) == shown


def test_a_lab_without_checks_has_no_score():
    assert page.score((0.0, 0.0), None, 1.0, checks=0) is None
