"""The API functions the block and operators call, without a worker."""

import pytest
from django.db import connection
from django.utils import timezone
from hastexo_cloudsim.heat import NAME_RE

from hastexo_lab import api
from hastexo_lab import lifecycle as lc
from hastexo_lab.models import Stack

from .factories import make_stack


@pytest.mark.parametrize("course, learner, lab", [
    ("course-v1:Org+Ceph+2026_T1", "5afe5d9bb03796557ee2614f5c9611fb", ""),
    ("course-v1:Örg+Ünïcode+Run", "abc", "lab one"),
    ("x" * 300, "y" * 64, "z" * 50),
])
def test_stack_names_are_valid_heat_names(course, learner, lab):
    name = api.stack_name(course, learner, lab)
    assert NAME_RE.match(name)
    assert len(name) <= 143
    assert name == api.stack_name(course, learner, lab)


def test_stack_names_stay_unique_when_shortened():
    assert api.stack_name("x" * 300, "a") != api.stack_name("x" * 300, "b")
    assert api.stack_name("c", "learner", "lab1") != api.stack_name("c", "learner", "lab2")
    assert api.stack_name("c", "y" * 64 + "1") != api.stack_name("c", "y" * 64 + "2")


@pytest.mark.parametrize("first, second", [
    (("c", "bob bob"), ("c", "bob+bob")),
    (("c", "bob-bob"), ("c", "bob_bob")),
    (("a-b", "c"), ("a", "b-c")),
    (("c", "learner", ""), ("c", "learner", "-")),
    (("course-v1:O+C+R", "x"), ("course-v1-O-C-R", "x")),
    (("c", "Bob"), ("c", "bob")),
])
def test_different_learners_never_share_a_stack_name(first, second):
    assert api.stack_name(*first) != api.stack_name(*second)


def test_stack_names_stay_readable():
    name = api.stack_name("course-v1:Org+Ceph+2026", "5afe5d9bb03796557ee2614f5c9611fb")
    assert name.startswith("hxl-course-v1-Org-Ceph-2026-5afe5d9bb03796557ee2614f5c9611fb-")


@pytest.mark.django_db
def test_delete_is_refused_while_deleting():
    stack = make_stack(lc.DELETE_IN_PROGRESS)
    assert not api.delete(stack)
    assert Stack.objects.get(pk=stack.pk).status == lc.DELETE_IN_PROGRESS


@pytest.mark.django_db
def test_suspend_only_from_running():
    assert not api.suspend(make_stack(lc.SUSPEND_COMPLETE))
    stack = make_stack(lc.RESUME_COMPLETE)
    assert api.suspend(stack)
    assert stack.status == lc.SUSPEND_PENDING


@pytest.mark.django_db
@pytest.mark.parametrize("status", [lc.CREATE_COMPLETE, lc.RESUME_COMPLETE])
def test_a_learners_keepalive_is_one_statement_even_when_too_soon(django_assert_num_queries, status):
    stack = make_stack(status, suspend_timeout=120, last_activity=timezone.now() - timezone.timedelta(seconds=60))
    # MySQL and MariaDB 10 cannot return what an UPDATE changed: they read the status after it.
    statements = 2 if connection.vendor == "mysql" else 1
    with django_assert_num_queries(statements):
        reply = api.keepalive_by_name(stack.name, 300, 0)
    assert reply["phase"] == api.READY and reply["status"] == status
    stack.refresh_from_db()
    moved = stack.suspend_by
    assert moved > timezone.now() + timezone.timedelta(seconds=290)
    assert stack.suspend_timeout == 300
    # A second keepalive moments later: no more statements, and nothing moves.
    with django_assert_num_queries(statements):
        reply = api.keepalive_by_name(stack.name, 300, 0)
    assert reply["status"] == status
    stack.refresh_from_db()
    assert stack.suspend_by == moved
    assert stack.log.count() == 1
