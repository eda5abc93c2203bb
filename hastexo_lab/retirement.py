"""When the platform retires a learner: their labs are deleted at the cloud,
and what the lab tables keep of them loses everything that says who they were.

The platform's user retirement sends ``USER_RETIRE_LMS_MISC``
(openedx.core.djangoapps.user_api.accounts.signals), with ``user=``, from the
pipeline's "retire misc" step: the signal plugins listen to. The app's
``plugin_app["signals_config"]`` connects ``retire_learner`` to it by its
dotted path, so nothing here imports the platform; and ``forget_deleted_stack``
to the stack log's ``post_save``.

What a retired learner leaves, and what becomes of it:

- their stacks are deleted at the cloud, through the lifecycle (a reset's
  pending relaunch is called off); the rows stay, for the usage reports, with
  no learner and an alias for the anonymous id: one per retirement, so that a
  report still counts them as one learner with their hours;
- a stack's name carries the anonymous id, but it is how the cloud finds the
  stack until the delete is done: the name is replaced then
  (``forget_deleted_stack``), at once for a stack that is gone already;
- the stacks' status reasons and error messages and their log's reasons: the
  name and the anonymous id replaced wherever they appear;
- progress checks: the alias, and what the lab printed (hints, message) cleared;
  scores and times stay;
- terminal tickets: the alias, and the hash of the browser's key cleared.

Stack.username and TerminalTicket.username are the lab's account (the
block's, the same for every learner), not the learner's.
"""

import functools
import logging
import secrets

from django.db import transaction
from django.db.models import Q, Value
from django.db.models.functions import Replace

from . import api
from . import lifecycle as lc
from .models import ProgressCheck, Stack, StackLog, TerminalTicket

log = logging.getLogger(__name__)

RETIRED = "retired-"
REASON = "the learner's account was retired"
# The platform's anonymous ids are 32 hex digits. A shorter one (a user id
# where a runtime has no anonymous ids) would be found inside other words
# and numbers: it is searched for in the free texts only as part of the
# stack's name.
_SEARCHABLE = 16


def retire_learner(sender, user=None, **kwargs):
    """Receiver of the platform's ``USER_RETIRE_LMS_MISC``."""
    if user is None:
        return
    alias = retire(user.pk)
    if alias is not None:
        log.info("a learner was retired: their lab stacks are being deleted and now belong to %s", alias,
                 extra={"hastexo_lab": {"event": "retired", "learner": alias}})


def retire(user_id):
    """Delete the labs of the user ``user_id`` and take who they were out of
    every row about them; returns the alias the rows now carry, or None when
    there were none (so also when they were retired already)."""
    with transaction.atomic():
        anonymous_ids = set(Stack.objects.filter(learner_id=user_id).values_list("anonymous_student_id", flat=True))
        anonymous_ids.discard("")
        stacks = list(Stack.objects.filter(Q(learner_id=user_id) | Q(anonymous_student_id__in=anonymous_ids))
                      .order_by("pk").values_list("pk", "name", "course_id"))
        if not stacks:
            return None
        alias = RETIRED + secrets.token_hex(12)
        ids = [pk for pk, _, _ in stacks]
        Stack.objects.filter(pk__in=ids).update(learner=None, anonymous_student_id=alias, relaunch_after_delete=False)
        for pk, name, course_id in stacks:
            _replace([pk], name, retired_name(course_id, alias, pk))
        for anonymous_id in anonymous_ids:
            if len(anonymous_id) >= _SEARCHABLE:
                _replace(ids, anonymous_id, alias)
        ProgressCheck.objects.filter(anonymous_student_id__in=anonymous_ids).update(
            anonymous_student_id=alias, hints=[], message="")
        TerminalTicket.objects.filter(anonymous_student_id__in=anonymous_ids).update(
            anonymous_student_id=alias, browser_hash="")
        # In the same transaction: a retirement that fails half-way leaves
        # nothing done, and the platform's retry finds the learner again.
        for stack in Stack.objects.filter(pk__in=ids).order_by("pk"):
            if stack.status == lc.DELETE_COMPLETE:
                forget_name(stack.pk)
            elif stack.status in lc.DELETABLE:
                api.delete(stack, reason=REASON)
            # Otherwise a delete is under way, or failed and the reconciler
            # tries it again; forget_deleted_stack renames it once it is done.
    return alias


def retired_name(course_id, alias, stack_id):
    """A retired learner's stack's name, once the cloud no longer needs the old one."""
    return api.stack_name(course_id, alias, str(stack_id))


def forget_name(stack_id):
    """Rename a retired learner's stack that is deleted at the cloud, and
    replace the old name in its texts; True if it did. A stack a relaunch
    took back meanwhile keeps its name (the cloud needs it again)."""
    stack = Stack.objects.filter(pk=stack_id, status=lc.DELETE_COMPLETE,
                                 anonymous_student_id__startswith=RETIRED).first()
    if stack is None:
        return False
    new = retired_name(stack.course_id, stack.anonymous_student_id, stack.pk)
    with transaction.atomic():
        if not Stack.objects.filter(pk=stack.pk, name=stack.name, status=lc.DELETE_COMPLETE).exclude(
                name=new).update(name=new):
            return False
        _replace([stack.pk], stack.name, new)
    log.info("stack #%s of a retired learner is deleted: renamed %s", stack.pk, new)
    return True


def forget_deleted_stack(sender, instance=None, created=False, **kwargs):
    """Receiver of the stack log's ``post_save``: the transition to
    DELETE_COMPLETE writes a log row; once it commits, a retired learner's
    stack gets a name of its own (``forget_name``)."""
    if created and instance.to_status == lc.DELETE_COMPLETE:
        transaction.on_commit(functools.partial(_forget_after_commit, instance.stack_id))


def _forget_after_commit(stack_id):
    # The delete is done and committed; a failure here must not look like its failure.
    try:
        forget_name(stack_id)
    except Exception:
        log.exception("stack #%s: could not rename the deleted stack of a retired learner", stack_id)


def _replace(stack_ids, old, new):
    """``old`` becomes ``new`` in the free texts of the stacks and of their log."""
    for field in ("status_reason", "error_message"):
        Stack.objects.filter(pk__in=stack_ids, **{f"{field}__contains": old}).update(
            **{field: Replace(field, Value(old), Value(new))})
    # The log is append-only, but not to the point of keeping who a retired learner was.
    StackLog.objects.filter(stack_id__in=stack_ids, reason__contains=old).update(
        reason=Replace("reason", Value(old), Value(new)))
