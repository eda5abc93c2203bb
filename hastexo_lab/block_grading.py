"""The lab block's face to the platform's grades and completion: the
scorable-block interface (rescoring, instructors' overrides) and custom
completion. The policy itself is ``grading``; the checks' results are
``checks``."""

from django.utils import timezone
from xblock.completable import CompletableXBlockMixin
from xblock.core import XBlockMixin
from xblock.fields import Float, Scope
from xblock.scorable import ScorableXBlockMixin, Score

from . import api, checks, grading


class LabGradingMixin(CompletableXBlockMixin, ScorableXBlockMixin, XBlockMixin):
    """Scored only when the lab has checks; complete by the lab's own rule."""

    # The score last published for this learner (the platform's persisted
    # raw score, which an instructor's override sets too).
    raw_earned = Float(default=None, scope=Scope.user_state)
    raw_possible = Float(default=None, scope=Scope.user_state)
    # The completion last published, so that it is sent only when it grows.
    completion_published = Float(default=0.0, scope=Scope.user_state)

    @property
    def has_score(self):
        """Only a lab with checks is graded (the platform reads this)."""
        return bool(self.tests)

    def max_score(self):
        return grading.max_score(len(self.tests))

    # -- the scorable-block interface -----------------------------------------

    def _best_check(self):
        return checks.best(self.learner_id, str(self.scope_ids.usage_id))

    def has_submitted_answer(self):
        return self.raw_possible is not None or self._best_check() is not None

    def get_score(self):
        if self.raw_possible is None:
            return Score(0.0, self.max_score() or 0.0)
        return Score(self.raw_earned or 0.0, self.raw_possible)

    def set_score(self, score):
        self.raw_earned, self.raw_possible = float(score.raw_earned), float(score.raw_possible)

    def calculate_score(self):
        """The score from the checks kept in the database (a rescore)."""
        earned, possible = grading.score(self._best_check(), len(self.tests)) or (0.0, 0.0)
        return Score(earned, possible)

    def allows_rescore(self):
        return bool(self.tests)

    # -- what the block calls ------------------------------------------------------

    def publish_check_result(self):
        """After a finished check: publish the best score and the completion
        it earns."""
        best = self._best_check()
        result = grading.score(best, len(self.tests))
        if result is not None:
            score = Score(*result)
            self.set_score(score)
            self._publish_grade(score)
        self._complete(grading.completion_from_checks(best))

    def note_use(self, stack_name):
        """A keepalive from a ready lab: a lab without checks is complete once
        it has been used long enough."""
        if self.tests or self.completion_published >= 1.0:
            return
        stack = api.find(stack_name)
        if stack is not None and grading.used_long_enough(stack.reachable_at, timezone.now()):
            self._complete(1.0)

    def _complete(self, completion):
        if completion > (self.completion_published or 0.0):
            self.emit_completion(completion)
            self.completion_published = completion
