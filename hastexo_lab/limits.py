"""The usage limit: running time per learner over a window, and what a
learner over it meets (``lab_usage_limit``, ``lab_usage_window``,
``lab_usage_limit_breach_policy``).

The running time comes from the stack log, by the same aggregation as the
usage report (``usage``), across all of the learner's courses. A learner over
the limit is logged (no policy), told (``warn``), or refused new launches and
resumes until enough of their running time has left the window (``block``);
a lab already running is never stopped by the limit.
"""

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.utils import timezone
from django.utils.translation import gettext as _

from . import conf, usage

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Verdict:
    used: float  # running seconds in the window
    limit: int
    window: int  # seconds; 0: all time
    policy: str | None
    # When the window has room again, with no more running; None: never
    # (an all-time limit).
    until: datetime | None

    @property
    def over(self):
        return self.used >= self.limit

    @property
    def blocks(self):
        return self.over and self.policy == "block"

    @property
    def warns(self):
        return self.over and self.policy == "warn"

    def message(self):
        hours = _hours(self.limit)
        if self.window:
            days = max(1, round(self.window / 86_400))
            spent = _("You have used your lab time: %(hours)s hours in the last %(days)s days.") % {
                "hours": hours, "days": days}
        else:
            spent = _("You have used your lab time: %(hours)s hours.") % {"hours": hours}
        if not self.blocks:
            return spent
        if self.until is None:
            return spent + " " + _("New labs cannot be started; please contact the course team.")
        return spent + " " + _("You can start a lab again after %(when)s (UTC).") % {
            "when": self.until.strftime("%Y-%m-%d %H:%M")}


def _hours(seconds):
    value = seconds / 3600
    return f"{value:.0f}" if value == int(value) else f"{value:.1f}"


def verdict(learner_id, anonymous_student_id, now=None):
    """The learner's standing against the limit; None when there is no limit.
    A learner over it is logged, whatever the policy."""
    settings = conf.get_settings()
    if settings.lab_usage_limit is None:
        return None
    now = now or timezone.now()
    window = settings.lab_usage_window
    since = now - timedelta(seconds=window) if window else None
    who = {"learner_id": learner_id} if learner_id else {"anonymous_student_id": anonymous_student_id}
    used = usage.running_seconds(since, now, **who)
    until = None
    if used >= settings.lab_usage_limit and window:
        until = _room_again(usage.running_spans(since, now, **who), used - settings.lab_usage_limit, window)
    found = Verdict(used, settings.lab_usage_limit, window, settings.lab_usage_limit_breach_policy, until)
    if found.over:
        log.warning("learner %s is over the lab usage limit: %.0f of %d running seconds (window %d s, policy %s)",
                    learner_id or anonymous_student_id, used, found.limit, window, found.policy or "log only",
                    extra={"learner": anonymous_student_id, "usage_seconds": round(used), "policy": found.policy})
    return found


def _room_again(spans, excess, window):
    """When the oldest ``excess`` running seconds (and a minute more, so a
    launch has some room) have left the window: the moment after which the
    learner is under the limit again, if they run nothing meanwhile."""
    excess += 60
    for start, end in spans:
        length = (end - start).total_seconds()
        if length >= excess:
            return start + timedelta(seconds=excess) + timedelta(seconds=window)
        excess -= length
    return spans[-1][1] + timedelta(seconds=window) if spans else None
