"""How a lab counts in the platform's grades and completion.

The policy (README, "Grades and completion"):

- A lab is scored only when it has progress checks. Its raw score is out of
  the number of checks (``max_score``), so an unattempted lab adds its
  possible points to the subsection from the start; the platform applies the
  block's weight. The score is the learner's best check (passed / total,
  scaled to the lab's current number of checks): checking again never lowers
  it. A rescore computes it again from the checks kept in the database; an
  instructor's override replaces it until the next better check.
- Completion is the lab's own (``has_custom_completion``), never the
  platform's "a grade arrived, so it is complete": with checks, completion is
  the share of checks the best check passed (all passed: complete); without
  checks, the lab is complete once the learner has used it, ready, for
  ``USED_FOR`` seconds in one go (keepalives while it was up).

Nothing here knows XBlock: the block calls these with plain values.
"""

from datetime import timedelta

# A lab without checks is complete after this much use in one go (seconds).
USED_FOR = 120


def max_score(checks):
    """The raw points a lab is worth: one per check; None when unscored."""
    return float(checks) if checks else None


def score(best, checks):
    """(raw earned, raw possible) for the best check ``(passed, total)``
    (None: no finished check), in a lab of ``checks`` checks."""
    possible = max_score(checks)
    if possible is None:
        return None
    if not best or not best[1]:
        return 0.0, possible
    passed, total = best
    return round(possible * min(passed, total) / total, 6), possible


def completion_from_checks(best):
    """The share of checks the best check passed, 0.0 to 1.0."""
    if not best or not best[1]:
        return 0.0
    passed, total = best
    return max(0.0, min(1.0, passed / total))


def used_long_enough(reachable_at, now):
    """Has a lab that answers since ``reachable_at`` been used long enough
    (the learner's keepalives keep arriving) to count as complete?"""
    return reachable_at is not None and now - reachable_at >= timedelta(seconds=USED_FOR)
