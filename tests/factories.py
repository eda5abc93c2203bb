"""Stack rows for tests, in any state, without going through the tasks."""

import itertools

from django.utils import timezone

from hastexo_lab import lifecycle as lc
from hastexo_lab.models import Stack, StackLog

_numbers = itertools.count(1)


def make_stack(status=lc.CREATE_COMPLETE, **fields):
    """A Stack row in ``status``, with a log row that explains how it got there."""
    n = next(_numbers)
    now = timezone.now()
    values = {
        "name": f"hxl-test-{n}",
        "course_id": "course-v1:Org+Lab+Run",
        "anonymous_student_id": f"anon{n}",
        "status": status,
        "status_changed_at": now,
        "suspend_by": now + timezone.timedelta(seconds=120),
        "last_activity": now,
        "reachable_at": now if status in lc.UP else None,
    }
    values.update(fields)
    stack = Stack.objects.create(**values)
    StackLog.objects.create(stack=stack, from_status="", to_status=status, reason="made by a test", created_at=now)
    return stack
