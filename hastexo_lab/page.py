"""What the learner's page is told besides a lab's phase: its times and the
score the platform counts (plain values in, plain data out), and the shape
of the replies that carry a credential."""

import json

from django.utils import timezone
from webob import Response

from . import estimates, grading
from . import lifecycle as lc


def times(stack, now=None):
    """The lab's clock for the page, in whole seconds: how long it has been
    up and when it is suspended unless the learner is active (a running
    lab); when it is likely ready (a lab on its way up, when the estimates
    know); how long a suspended lab is kept. Empty when there is nothing to
    say."""
    if stack is None:
        return {}
    now = now or timezone.now()
    found = {}
    if stack.status in lc.UP and stack.reachable_at is not None:
        found["up_for"] = _seconds(now - max(stack.reachable_at, stack.status_changed_at))
        if stack.suspend_by is not None:
            found["suspend_in"] = _seconds(stack.suspend_by - now)
    elif stack.status in (lc.SUSPEND_COMPLETE, lc.SUSPEND_FAILED) and stack.delete_by is not None:
        found["kept_for"] = _seconds(stack.delete_by - now)
    else:
        left = estimates.until_ready(stack, now)
        if left is not None and left > 0:
            found["ready_in"] = _seconds(left)
    return found


def _seconds(delta):
    """Whole seconds, never below zero, of a timedelta or a number of seconds."""
    value = delta.total_seconds() if hasattr(delta, "total_seconds") else delta
    return max(0, int(round(value)))


def score(earned_possible, best, weight, checks):
    """The score the platform counts for the learner (the persisted raw
    score, which an instructor's override sets too), in the lab's weighted
    points, and their best check so far: for the page's check result. None
    for a lab without checks."""
    earned, possible = earned_possible
    if not checks or not possible:
        return None
    points = grading.max_score(checks) if weight is None else weight
    reply = {"earned": round(points * earned / possible, 2), "possible": round(points, 2)}
    if best:
        reply.update(best_passed=best[0], best_total=best[1])
    return reply


def private_json(reply):
    """A JSON reply that holds a credential (a ticket, a blob): never cached."""
    response = Response(status=200, content_type="application/json", charset="utf-8", body=json.dumps(reply).encode())
    response.headers["Cache-Control"] = "no-store"
    return response


def is_https(request):
    """Was the page's request made over HTTPS (here, or at the proxy in front)?"""
    environ = request.environ
    return "https" in (environ.get("wsgi.url_scheme"), environ.get("HTTP_X_FORWARDED_PROTO"),
                       "https" if environ.get("HTTPS") == "on" else None)
