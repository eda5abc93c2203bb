"""The worker and the page wait as long as this provider usually takes."""

from datetime import timedelta

import pytest
from django.utils import timezone

from hastexo_lab import api, estimates, operations
from hastexo_lab import lifecycle as lc
from hastexo_lab.models import Stack, StackLog

from .factories import make_stack

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh():
    estimates.forget()
    yield
    estimates.forget()


def history(provider="p", creates=(5.0, 5.2, 4.8), boots=(1.0, 1.1, 0.9), tag="old"):
    now = timezone.now()
    for n, (create, boot) in enumerate(zip(creates, boots, strict=True)):
        start = now - timedelta(minutes=10 + n)
        done = start + timedelta(seconds=create)
        stack = Stack.objects.create(name=f"{tag}-{provider}-{n}", course_id="c", anonymous_student_id=f"a{n}",
                                     status=lc.CREATE_COMPLETE, status_changed_at=done, provider=provider,
                                     reachable_at=done + timedelta(seconds=boot))
        StackLog.objects.create(stack=stack, from_status=lc.LAUNCH_PENDING, to_status=lc.CREATE_IN_PROGRESS,
                                created_at=start)
        StackLog.objects.create(stack=stack, from_status=lc.CREATE_IN_PROGRESS, to_status=lc.CREATE_COMPLETE,
                                created_at=done)


def creating(since, provider="p"):
    return Stack.objects.create(name=f"new-{provider}-{since}", course_id="c", anonymous_student_id="new",
                                status=lc.CREATE_IN_PROGRESS, provider=provider,
                                status_changed_at=timezone.now() - timedelta(seconds=since))


def test_a_low_quantile_of_the_providers_own_history():
    history(creates=(5.0, 5.2, 4.8, 5.1, 9.0), boots=(1.0, 1.1, 0.9, 1.0, 3.0))
    # 30th percentile by nearest rank: 4.8, 5.0, 5.1, 5.2, 9.0 -> 5.0; one slow case moves nothing.
    assert estimates.expected("p", lc.CREATE_IN_PROGRESS) == pytest.approx(5.0, abs=0.01)
    assert estimates.expected("p", estimates.BOOT) == pytest.approx(1.0, abs=0.01)
    assert estimates.expected("other", lc.CREATE_IN_PROGRESS) is None


def test_the_worker_polls_when_the_create_is_due_then_often_then_backs_off():
    history()
    assert operations._poll_after(creating(1.0)).countdown == pytest.approx(3.55, abs=0.1)  # 4.8 s, a quarter early
    assert operations._poll_after(creating(5.1)).countdown == operations.FAST_POLL
    slow = creating(30.0)  # an outlier: the usual backoff, no flood
    assert operations._poll_after(slow, 30.0).countdown == pytest.approx(7.5)


def test_without_history_the_worker_looks_often_at_first_then_backs_off_as_before():
    assert operations._poll_after(creating(1.0), 1.0).countdown == operations.FAST_POLL
    assert operations._poll_after(creating(40.0), 40.0).countdown == 10.0


def test_the_page_is_told_when_to_ask_next():
    history()
    reply = api.status_for(creating(2.0))
    assert reply["phase"] == "creating" and 3600 <= reply["poll_in"] <= 4000  # 2.8 s of Heat + 0.9 s of boot
    assert api.status_for(creating(5.5))["poll_in"] == api.LATE_POLL_MS  # a little late: often
    assert api.status_for(creating(9.0))["poll_in"] == api.OVERDUE_POLL_MS


def test_without_history_the_page_asks_often_at_first_then_backs_off():
    assert api.status_for(creating(2.0, provider="new"))["poll_in"] == api.LATE_POLL_MS
    assert api.status_for(creating(40.0, provider="new"))["poll_in"] == 10000
    assert api.status_for(creating(600.0, provider="new"))["poll_in"] == 15000


def test_a_queued_launch_or_resume_is_told_when_the_whole_wait_is_likely_over():
    history()
    queued = make_stack(lc.LAUNCH_PENDING, provider="p")
    assert 5000 <= api.status_for(queued)["poll_in"] <= 6300  # 5 s of Heat + 1 s of boot, from now
    assert api.status_for(make_stack(lc.LAUNCH_PENDING, provider="new"))["poll_in"] == api.LATE_POLL_MS


def test_a_history_still_filling_up_is_read_again_soon(monkeypatch):
    history()
    assert estimates.expected("p", lc.CREATE_IN_PROGRESS) == pytest.approx(4.8, abs=0.01)
    clock = [estimates.time.monotonic() + estimates.GROWING_TTL + 0.1]
    monkeypatch.setattr(estimates.time, "monotonic", lambda: clock[0])
    history(creates=(3.0, 3.0, 3.0, 3.0), boots=(1.0,) * 4, tag="newer")
    assert estimates.expected("p", lc.CREATE_IN_PROGRESS) < 5.0
