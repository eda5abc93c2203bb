"""States, the transition table, and transition() as a compare-and-set."""

import threading

import pytest
from django.db import connection
from django.db.models import Q
from django.utils import timezone

from hastexo_lab import lifecycle as lc
from hastexo_lab.models import Stack, StackLog

from .factories import make_stack

pytestmark = pytest.mark.django_db


def test_the_table_is_closed_and_sane():
    for source, targets in lc.TRANSITIONS.items():
        for target in targets:
            assert target in lc.STATES, f"{source} -> {target}: unknown state"
    for state in lc.STATES:
        assert state in lc.TRANSITIONS, f"{state} has no way out"
    assert lc.DELETE_PENDING in lc.TRANSITIONS[lc.CREATE_IN_PROGRESS]
    assert lc.DELETE_PENDING not in lc.TRANSITIONS[lc.DELETE_IN_PROGRESS]
    assert lc.TRANSITIONS[lc.NEW] == {lc.LAUNCH_PENDING}


def test_disallowed_transitions_are_bugs():
    stack = make_stack(lc.SUSPEND_COMPLETE)
    with pytest.raises(lc.InvalidTransition, match="SUSPEND_COMPLETE -> CREATE_COMPLETE"):
        lc.transition(stack, lc.SUSPEND_COMPLETE, lc.CREATE_COMPLETE, "no")
    assert Stack.objects.get(pk=stack.pk).status == lc.SUSPEND_COMPLETE


def test_a_winning_transition_updates_and_logs_in_one_go():
    stack = make_stack(lc.CREATE_COMPLETE)
    before = stack.status_changed_at
    assert lc.transition(stack, (lc.CREATE_COMPLETE, lc.RESUME_COMPLETE), lc.SUSPEND_PENDING, "idle",
                         task_id="task-1", attempts=3)
    assert stack.status == lc.SUSPEND_PENDING
    assert stack.previous_status == lc.CREATE_COMPLETE
    assert stack.attempts == 3
    assert stack.status_changed_at >= before
    entry = stack.log.last()
    assert (entry.from_status, entry.to_status, entry.reason, entry.task_id) == (
        lc.CREATE_COMPLETE, lc.SUSPEND_PENDING, "idle", "task-1")


def test_a_losing_transition_changes_nothing():
    stack = make_stack(lc.SUSPEND_COMPLETE)
    assert not lc.transition(stack, lc.CREATE_COMPLETE, lc.SUSPEND_PENDING, "idle")
    assert Stack.objects.get(pk=stack.pk).status == lc.SUSPEND_COMPLETE
    assert stack.log.count() == 1


def test_extra_conditions_take_part_in_the_compare_and_set():
    future = timezone.now() + timezone.timedelta(minutes=5)
    stack = make_stack(lc.SUSPEND_PENDING, suspend_by=future)
    assert not lc.transition(stack, lc.SUSPEND_PENDING, lc.SUSPEND_IN_PROGRESS, "suspending",
                             where=Q(suspend_by__lte=timezone.now()))
    Stack.objects.filter(pk=stack.pk).update(suspend_by=timezone.now())
    assert lc.transition(stack, lc.SUSPEND_PENDING, lc.SUSPEND_IN_PROGRESS, "suspending",
                         where=Q(suspend_by__lte=timezone.now()))


def test_create_is_idempotent_on_the_name():
    fields = {"name": "hxl-x", "course_id": "c", "anonymous_student_id": "a"}
    stack, created = lc.create("launch requested", **fields)
    assert created and stack.status == lc.LAUNCH_PENDING
    again, created = lc.create("launch requested", **fields)
    assert not created and again.pk == stack.pk
    assert [(e.from_status, e.to_status) for e in stack.log.all()] == [("", lc.LAUNCH_PENDING)]


def test_log_rows_are_append_only():
    stack = make_stack()
    entry = stack.log.get()
    entry.reason = "rewritten"
    with pytest.raises(ValueError, match="append-only"):
        entry.save()


def test_retired_learner_keeps_the_stack(django_user_model):
    user = django_user_model.objects.create(username="leaving")
    stack = make_stack(learner=user)
    user.delete()
    stack.refresh_from_db()
    assert stack.learner is None


def race(stack_pk, from_states, targets):
    """Run one transition per target from as many threads at once; return who won."""
    barrier = threading.Barrier(len(targets))
    results = [None] * len(targets)

    def contend(i):
        try:
            stack = Stack.objects.get(pk=stack_pk)
            barrier.wait()
            results[i] = lc.transition(stack, from_states, targets[i], f"contender {i}")
        finally:
            connection.close()

    threads = [threading.Thread(target=contend, args=(i,)) for i in range(len(targets))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


@pytest.mark.django_db(transaction=True)
def test_racing_threads_exactly_one_wins():
    for _ in range(25):
        stack = make_stack(lc.CREATE_COMPLETE)
        results = race(stack.pk, (lc.CREATE_COMPLETE,), [lc.SUSPEND_PENDING] * 4)
        assert sorted(results) == [False, False, False, True]
        assert StackLog.objects.filter(stack=stack, to_status=lc.SUSPEND_PENDING).count() == 1


@pytest.mark.django_db(transaction=True)
def test_racing_different_transitions_exactly_one_wins():
    targets = [lc.SUSPEND_IN_PROGRESS, lc.CREATE_COMPLETE]
    for _ in range(25):
        stack = make_stack(lc.SUSPEND_PENDING, previous_status=lc.CREATE_COMPLETE)
        results = race(stack.pk, (lc.SUSPEND_PENDING,), targets)
        assert sorted(results) == [False, True]
        final = Stack.objects.get(pk=stack.pk).status
        assert results[targets.index(final)] is True
        assert StackLog.objects.filter(stack=stack).count() == 2
