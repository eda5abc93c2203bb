"""Usage and cost reports from the stack log, checked against a plain Python
computation of the same intervals."""

import csv
import io
import itertools
import json
import random
from collections import defaultdict
from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth import get_user_model

from hastexo_lab import lifecycle as lc
from hastexo_lab import usage
from hastexo_lab.models import Stack, StackLog

pytestmark = pytest.mark.django_db

T0 = datetime(2024, 3, 1, 8, 0, tzinfo=UTC)
HOUR = 3600.0
_names = itertools.count(1)


def at(hours):
    return T0 + timedelta(hours=hours)


def stack(course="course-v1:O+C+1", anonymous="anon1", learner=None, provider="cloud-a"):
    n = next(_names)
    return Stack.objects.create(name=f"usage-{n}", course_id=course, anonymous_student_id=anonymous, learner=learner,
                                provider=provider, status=lc.LAUNCH_PENDING, status_changed_at=T0)


def lifecycle(target, *steps):
    """Log rows: (hours from T0, to_status), in order."""
    previous = lc.NEW
    for hours, status in steps:
        StackLog.objects.create(stack=target, from_status=previous, to_status=status, created_at=at(hours))
        previous = status
    return target


def one_lab(target, start=0.0):
    """Launched at start, up 2 h, suspended 3 h, up 1 h, then deleted."""
    return lifecycle(target, (start, lc.LAUNCH_PENDING), (start + 0.01, lc.CREATE_IN_PROGRESS),
                     (start + 0.1, lc.CREATE_COMPLETE), (start + 2.0, lc.SUSPEND_PENDING),
                     (start + 2.05, lc.SUSPEND_COMPLETE), (start + 5.0, lc.RESUME_PENDING),
                     (start + 5.1, lc.RESUME_COMPLETE), (start + 6.0, lc.DELETE_PENDING),
                     (start + 6.2, lc.DELETE_COMPLETE))


def user(name):
    return get_user_model().objects.create(username=name)


# --- the reference: plain Python over the same rows --------------------------------------------------------------

def expected_totals(since, until, *, course_id=None, learner_id=None):
    groups = defaultdict(lambda: [0.0, 0.0, 0, 0])
    for target in Stack.objects.all():
        if course_id is not None and target.course_id != course_id:
            continue
        if learner_id is not None and target.learner_id != learner_id:
            continue
        rows = sorted(StackLog.objects.filter(stack=target, created_at__lt=until), key=lambda r: (r.created_at, r.id))
        key = (target.course_id, target.anonymous_student_id, target.learner_id, target.provider)
        for row, following in zip(rows, [*rows[1:], None][:len(rows)], strict=True):
            end = until if following is None else following.created_at
            start = row.created_at if since is None else max(row.created_at, since)
            seconds = max(0.0, (end - start).total_seconds())
            if row.to_status in usage.RUNNING:
                groups[key][0] += seconds
            elif row.to_status in usage.SUSPENDED:
                groups[key][1] += seconds
            in_window = since is None or row.created_at >= since
            if row.to_status == lc.LAUNCH_PENDING and in_window:
                groups[key][2] += 1
            if row.to_status == lc.RESUME_PENDING and in_window:
                groups[key][3] += 1
    return {key: value for key, value in groups.items() if any(value)}


def random_lifecycles(seed, stacks=40):
    """Random walks through the lifecycle's transition table, a few courses,
    learners and providers; some rows share a timestamp (the id orders them)."""
    rng = random.Random(seed)
    users = [user(f"learner{seed}-{n}") for n in range(6)]
    for _ in range(stacks):
        who = rng.randrange(8)
        target = stack(course=f"course-v1:O+C+{rng.randrange(3)}", anonymous=f"anon{who}",
                       learner=users[who] if who < len(users) else None, provider=rng.choice(["a", "b", "c"]))
        when, status = T0 + timedelta(seconds=rng.uniform(0, 3 * 86400)), lc.NEW
        rows = []
        for _ in range(rng.randrange(1, 25)):
            status_next = rng.choice(sorted(lc.TRANSITIONS[status]))
            rows.append(StackLog(stack=target, from_status=status, to_status=status_next, created_at=when))
            status = status_next
            if rng.random() > 0.1:  # else the next row is at the same moment
                when += timedelta(seconds=rng.expovariate(1 / 7200), microseconds=rng.randrange(10 ** 6))
        StackLog.objects.bulk_create(rows)


def as_dict(usages):
    return {(u.course_id, u.anonymous_student_id, u.learner_id, u.provider):
            [u.running_seconds, u.suspended_seconds, u.launches, u.resumes] for u in usages}


def assert_same(got, want):
    assert set(got) == set(want)
    for key in want:
        assert got[key][0] == pytest.approx(want[key][0], abs=0.01), key
        assert got[key][1] == pytest.approx(want[key][1], abs=0.01), key
        assert got[key][2:] == want[key][2:], key


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_lifecycles_match_a_plain_interval_computation(seed):
    random_lifecycles(seed)
    rng = random.Random(seed * 7)
    windows = [(None, at(24 * 10)), (None, at(24 * 1.5))]
    for _ in range(4):
        since = T0 + timedelta(seconds=rng.uniform(0, 4 * 86400))
        windows.append((since, since + timedelta(seconds=rng.uniform(60, 2 * 86400))))
    for since, until in windows:
        assert_same(as_dict(usage.totals(since, until)), expected_totals(since, until))
    since, until = windows[2]
    learner = get_user_model().objects.get(username=f"learner{seed}-0")
    assert_same(as_dict(usage.totals(since, until, course_id="course-v1:O+C+1")),
                expected_totals(since, until, course_id="course-v1:O+C+1"))
    assert_same(as_dict(usage.totals(None, at(24 * 10), learner_id=learner.pk)),
                expected_totals(None, at(24 * 10), learner_id=learner.pk))
    spans = usage.running_spans(since, until, learner_id=learner.pk)
    assert sum((end - start).total_seconds() for start, end in spans) == pytest.approx(
        usage.running_seconds(since, until, learner_id=learner.pk), abs=0.01)
    assert spans == sorted(spans)


def test_one_lab_whole_and_clipped_to_a_window():
    one_lab(stack())
    (whole,) = usage.totals(None, at(100))
    # running: create 0.01 -> suspend done 2.05, resume 5.1 -> delete done 6.2; suspended 2.05 -> 5.1
    assert whole.running_seconds == pytest.approx((2.04 + 1.1) * HOUR, abs=0.01)
    assert whole.suspended_seconds == pytest.approx(3.05 * HOUR, abs=0.01)
    assert (whole.launches, whole.resumes, whole.provider) == (1, 1, "cloud-a")

    (clipped,) = usage.totals(at(1), at(5.5))
    assert clipped.running_seconds == pytest.approx((1.05 + 0.4) * HOUR, abs=0.01)
    assert clipped.suspended_seconds == pytest.approx(3.05 * HOUR, abs=0.01)
    assert (clipped.launches, clipped.resumes) == (0, 1)  # the launch was before the window

    (inside,) = usage.totals(at(3), at(4))
    assert (inside.running_seconds, inside.launches, inside.resumes) == (0.0, 0, 0)
    assert inside.suspended_seconds == pytest.approx(HOUR, abs=0.01)

    assert usage.totals(at(7), at(9)) == []  # deleted: nothing in the window
    assert usage.totals(at(-5), at(-1)) == []  # before the first row


def test_rows_at_or_after_until_are_ignored():
    one_lab(stack())
    (usage_,) = usage.totals(None, at(0.1))  # the CREATE_COMPLETE row is at until itself
    assert usage_.running_seconds == pytest.approx(0.09 * HOUR, abs=0.01)
    assert usage_.suspended_seconds == 0.0


def test_a_stack_still_running_at_until_counts_up_to_until():
    lifecycle(stack(), (0, lc.LAUNCH_PENDING), (0, lc.CREATE_IN_PROGRESS), (0.5, lc.CREATE_COMPLETE))
    (usage_,) = usage.totals(at(0.25), at(10))
    assert usage_.running_seconds == pytest.approx(9.75 * HOUR, abs=0.01)
    assert usage_.launches == 0
    (now,) = usage.totals(since=None)  # until: now
    assert now.running_seconds == pytest.approx((datetime.now(UTC) - T0).total_seconds(), abs=60)


def test_rows_at_the_same_moment_are_ordered_by_id():
    # Suspended and resumed in the same instant: the later row (RESUME_COMPLETE) is the state.
    lifecycle(stack(), (0, lc.LAUNCH_PENDING), (0, lc.CREATE_IN_PROGRESS), (0, lc.CREATE_COMPLETE),
              (1, lc.SUSPEND_PENDING), (1, lc.SUSPEND_COMPLETE), (1, lc.RESUME_PENDING), (1, lc.RESUME_COMPLETE),
              (3, lc.DELETE_PENDING), (3, lc.DELETE_COMPLETE))
    (usage_,) = usage.totals(None, at(5))
    assert usage_.running_seconds == pytest.approx(3 * HOUR, abs=0.01)
    assert (usage_.suspended_seconds, usage_.launches, usage_.resumes) == (0.0, 1, 1)


def test_launches_and_resumes_count_in_the_window_only():
    target = stack()
    lifecycle(target, (0, lc.LAUNCH_PENDING), (0.1, lc.CREATE_IN_PROGRESS), (0.2, lc.CREATE_COMPLETE),
              (1, lc.SUSPEND_PENDING), (1.1, lc.SUSPEND_COMPLETE), (2, lc.RESUME_PENDING), (2.1, lc.RESUME_COMPLETE),
              (3, lc.SUSPEND_PENDING), (3.1, lc.SUSPEND_COMPLETE), (4, lc.RESUME_PENDING), (4.1, lc.RESUME_COMPLETE))
    assert [(u.launches, u.resumes) for u in usage.totals(at(0), at(5))] == [(1, 2)]
    assert [(u.launches, u.resumes) for u in usage.totals(at(2), at(4))] == [(0, 1)]  # at since, not at until


def test_the_course_report_groups_learners_and_counts_them():
    alice, bob = user("alice"), user("bob")
    one_lab(stack(course="c1", anonymous="a-alice", learner=alice))
    one_lab(stack(course="c1", anonymous="a-alice", learner=alice), start=10)
    one_lab(stack(course="c1", anonymous="a-bob", learner=bob, provider="cloud-b"))
    one_lab(stack(course="c2", anonymous="a-bob2", learner=bob))
    rows = usage.report("course", None, at(100))
    assert [(r["course_id"], r["learners"], r["launches"], r["resumes"]) for r in rows] == [
        ("c1", 2, 3, 3), ("c2", 1, 1, 1)]
    assert rows[0]["hours_running"] == pytest.approx(3 * 3.14)
    assert rows[0]["hours_suspended"] == pytest.approx(3 * 3.05)
    assert list(rows[0]) == list(usage.COURSE_COLUMNS)
    assert [r["course_id"] for r in usage.report("course", None, at(100), course_id="c2")] == ["c2"]

    learners = usage.report("learner", None, at(100))
    assert [(r["course_id"], r["learner"], r["anonymous_student_id"], r["launches"]) for r in learners] == [
        ("c1", "alice", "a-alice", 2), ("c1", "bob", "a-bob", 1), ("c2", "bob", "a-bob2", 1)]
    assert list(learners[0]) == list(usage.LEARNER_COLUMNS)


def test_prices_cost_and_saving():
    alice = user("alice")
    one_lab(stack(course="c1", anonymous="a1", learner=alice, provider="cloud-a"))
    one_lab(stack(course="c1", anonymous="a1", learner=alice, provider="cloud-b"), start=20)
    prices = {"cloud-a": {"running": 1.0, "suspended": 0.1}, "cloud-b": {"running": 2.0, "suspended": 0.5}}
    (row,) = usage.report("learner", None, at(100), prices=prices)
    running, suspended = 3.14, 3.05  # hours per lab
    cost = running * 1.0 + suspended * 0.1 + running * 2.0 + suspended * 0.5
    always = (running + suspended) * 1.0 + (running + suspended) * 2.0
    assert row["hours_running"] == pytest.approx(2 * running)
    assert row["cost"] == pytest.approx(cost, abs=1e-4)
    assert row["cost_always_running"] == pytest.approx(always, abs=1e-4)
    assert row["saving"] == pytest.approx(always - cost, abs=1e-4)
    assert row["priced"] is True
    assert row["learner"] == "alice"
    for key in ("hours_running", "hours_suspended", "cost", "cost_always_running", "saving"):
        assert row[key] == round(row[key], 4)


def test_a_provider_without_a_price_costs_nothing_and_says_so():
    one_lab(stack(course="c1", anonymous="a1", provider="cloud-a"))
    one_lab(stack(course="c1", anonymous="a1", provider="unknown"), start=20)
    one_lab(stack(course="c1", anonymous="a2", provider="cloud-a"))
    prices = {"cloud-a": {"running": 1.0, "suspended": 0.25}}
    first, second = usage.report("learner", None, at(100), prices=prices)
    assert (first["anonymous_student_id"], first["learner"], first["priced"]) == ("a1", "", False)
    assert first["cost"] == pytest.approx(3.14 + 3.05 * 0.25, abs=1e-4)  # the unknown provider adds nothing
    assert first["hours_running"] == pytest.approx(2 * 3.14)
    assert second["priced"] is True
    (course,) = usage.report("course", None, at(100), prices=prices)
    assert course["priced"] is False
    assert all(not row["priced"] and row["cost"] == 0 for row in usage.report("learner", None, at(100)))


def test_bad_group_and_bad_window():
    with pytest.raises(ValueError, match="group"):
        usage.report("provider")
    with pytest.raises(ValueError, match="since"):
        usage.report("learner", at(5), at(5))
    with pytest.raises(ValueError, match="since"):
        usage.totals(at(6), at(5))
    with pytest.raises(ValueError, match="learner"):
        usage.running_seconds(at(0), at(1))


def test_csv_has_a_header_and_a_line_per_row():
    one_lab(stack(course="c1", anonymous="a1", learner=user("alice")))
    one_lab(stack(course="c2", anonymous="a2"))
    rows = usage.report("learner", None, at(100), prices={"cloud-a": {"running": 1.0, "suspended": 0.1}})
    out = io.StringIO()
    usage.write_csv(rows, out)
    lines = out.getvalue().splitlines()
    assert lines[0] == ",".join(usage.LEARNER_COLUMNS)
    parsed = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert [(r["course_id"], r["learner"], r["launches"]) for r in parsed] == [("c1", "alice", "1"), ("c2", "", "1")]
    assert float(parsed[0]["hours_running"]) == rows[0]["hours_running"]
    empty = io.StringIO()
    usage.write_csv([], empty)
    assert empty.getvalue() == ""


def test_json_round_trip():
    one_lab(stack(course="c1", anonymous="a1"))
    rows = usage.report("course", None, at(100), prices={"cloud-a": {"running": 1.5, "suspended": 0.2}})
    assert json.loads(usage.to_json(rows)) == rows
    assert json.loads(usage.to_json([])) == []


def test_one_learner_across_two_courses():
    alice, bob = user("alice"), user("bob")
    one_lab(stack(course="c1", anonymous="alice-c1", learner=alice))  # running 0.01-2.05, 5.1-6.2
    lifecycle(stack(course="c2", anonymous="alice-c2", learner=alice),  # running 1-4, overlaps the first
              (1, lc.LAUNCH_PENDING), (1, lc.CREATE_IN_PROGRESS), (1.5, lc.CREATE_COMPLETE),
              (4, lc.SUSPEND_PENDING), (4, lc.SUSPEND_COMPLETE))
    one_lab(stack(course="c1", anonymous="bob-c1", learner=bob))

    want = (2.04 + 1.1 + 3.0) * HOUR
    assert usage.running_seconds(None, at(100), learner_id=alice.pk) == pytest.approx(want, abs=0.01)
    assert usage.running_seconds(at(1.5), at(5.5), learner_id=alice.pk) == pytest.approx(
        (0.55 + 2.5 + 0.4) * HOUR, abs=0.01)
    assert usage.running_seconds(None, at(100), anonymous_student_id="alice-c2") == pytest.approx(3 * HOUR, abs=0.01)

    spans = usage.running_spans(at(1.5), at(5.5), learner_id=alice.pk)
    assert [(round((s - T0).total_seconds() / HOUR, 4), round((e - T0).total_seconds() / HOUR, 4))
            for s, e in spans] == [(1.5, 2.05), (1.5, 4.0), (5.1, 5.5)]
    assert all(s.tzinfo is not None and e.tzinfo is not None for s, e in spans)
    assert usage.running_spans(at(7), at(8), learner_id=alice.pk) == []
    whole = usage.running_spans(None, at(100), anonymous_student_id="alice-c1")
    assert [(round((s - T0).total_seconds() / HOUR, 4), round((e - T0).total_seconds() / HOUR, 4))
            for s, e in whole] == [(0.01, 2.05), (5.1, 6.2)]


def test_naive_datetimes_are_taken_in_the_current_time_zone():
    one_lab(stack())
    (aware,) = usage.totals(at(1), at(5.5))
    (naive,) = usage.totals(at(1).replace(tzinfo=None), at(5.5).replace(tzinfo=None))  # the tests' zone is UTC
    assert naive == aware
