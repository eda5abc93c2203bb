"""Celery tasks for the lab lifecycle: thin wrappers around ``operations``.

Each task takes a stack id (never a secret), is acknowledged only after it
ran (``acks_late``; a task whose worker died is delivered again), and runs
the operation, which is safe to repeat. Transient cloud errors are retried
with exponential backoff and jitter, a bounded number of times; then, or on a
permanent error, the stack is moved to a state that says what went wrong.
Follow-up work (the next poll, the next provider) is sent as a new message.
"""

import logging
import random
import time

from celery import shared_task
from django.db import close_old_connections, transaction

from . import checks, conf, metrics, operations, schedule, sweeps
from .providers import ProviderConfigError, ProviderError, TransientProviderError

log = logging.getLogger(__name__)

# Each task makes a handful of HTTP calls with their own timeouts (connect and
# read, 10 s and 60 s by default), so two minutes is generous.
SOFT_TIME_LIMIT = 120
TIME_LIMIT = 150
TASK_OPTIONS = {
    "bind": True,
    "acks_late": True,
    "reject_on_worker_lost": True,
    "soft_time_limit": SOFT_TIME_LIMIT,
    "time_limit": TIME_LIMIT,
    "ignore_result": True,
    # Retries are counted by hand in _run(), which knows the settings.
    "max_retries": None,
}


def _retry_countdown(retries):
    """Exponential backoff with jitter: 0.5-1x of 2^n times the first poll delay."""
    settings = conf.get_settings()
    ceiling = min(settings.poll_max * 8, settings.poll_initial * 2 ** (retries + 1))
    return ceiling * random.uniform(0.5, 1.0)


def _run(task, kind, operation, stack_id, *args):
    try:
        follow = operation(stack_id, *args, task_id=task.request.id or "")
    except operations.LaunchBusy as busy:
        # Not a failure: another copy of this message is still creating.
        log.info("%s of stack %s: %s", kind, stack_id, busy)
        raise task.retry(countdown=busy.retry_in, exc=busy)
    except TransientProviderError as err:
        retries = task.request.retries
        if retries < conf.get_settings().task_retries:
            log.warning("%s of stack %s: %s; retry %d", kind, stack_id, err.message, retries + 1)
            raise task.retry(countdown=_retry_countdown(retries), exc=err)
        follow = operations.give_up(kind, stack_id, err, *args, task_id=task.request.id or "")
    except (ProviderError, ProviderConfigError) as err:
        log.error("%s of stack %s failed for good: %s", kind, stack_id, err)
        follow = operations.give_up(kind, stack_id, err, *args, task_id=task.request.id or "")
    if isinstance(follow, list):
        enqueue_many(follow)
    else:
        enqueue(follow)


def enqueue_check(check_id, scripts, username):
    """Send a progress check's task once the current transaction commits. The
    scripts travel with it (the author's content; no secret: the worker reads
    the lab's key from the stack's row). Checks have a queue of their own: a
    learner's script may run for minutes, and must not hold up launches."""
    queue = conf.get_settings().check_queue
    transaction.on_commit(lambda: check.apply_async((check_id, list(scripts), username), queue=queue))


@shared_task(name="hastexo_lab.check", bind=True, acks_late=True, reject_on_worker_lost=True, ignore_result=True,
             max_retries=None, soft_time_limit=3_700, time_limit=3_720)
def check(self, check_id, scripts, username, failed_logins=0):
    """Run a progress check; while the lab comes up, or cannot be reached
    yet, look again later (never sleep). The failed logins so far travel
    with the retry, so that they are bounded per check."""
    close_old_connections()
    again = checks.run(check_id, scripts, username, failed_logins)
    if again:
        raise self.retry(countdown=again.countdown, args=(check_id, scripts, username, again.failed_logins))


def enqueue(follow):
    """Send a FollowUp as a task message, once the current transaction commits."""
    if follow is None:
        return
    task = TASKS[follow.kind]
    if follow.kind == "poll":
        args = (follow.stack_id, follow.seq)
    elif follow.kind == "watch":
        args = (list(follow.stack_ids),)
    else:
        args = (follow.stack_id,)
    queue = conf.get_settings().task_queue
    transaction.on_commit(lambda: task.apply_async(args, countdown=follow.countdown or None, queue=queue))


# Stacks per message when the sweeps send work in bulk.
BATCH = 100


def enqueue_many(follow_ups):
    """Send many FollowUps: immediate suspends, resumes, launches and deletes
    go in messages of up to BATCH stack ids each; the rest one by one."""
    batches = {}
    for follow in follow_ups:
        if follow.kind in OPERATIONS and not follow.countdown:
            batches.setdefault(follow.kind, []).append(follow.stack_id)
        else:
            enqueue(follow)
    queue = conf.get_settings().task_queue
    for kind, ids in batches.items():
        for start in range(0, len(ids), BATCH):
            chunk = ids[start:start + BATCH]
            transaction.on_commit(lambda k=kind, c=chunk: run_batch.apply_async((k, c), queue=queue))


@shared_task(name="hastexo_lab.launch_stack", **TASK_OPTIONS)
def launch_stack(self, stack_id):
    _run(self, "launch", operations.launch, stack_id)


@shared_task(name="hastexo_lab.poll_stack", **TASK_OPTIONS)
def poll_stack(self, stack_id, seq):
    _run(self, "poll", operations.poll, stack_id, seq)


@shared_task(name="hastexo_lab.watch_stacks", **TASK_OPTIONS)
def watch_stacks(self, stack_ids):
    _run(self, "watch", operations.watch_many, stack_ids)


@shared_task(name="hastexo_lab.suspend_stack", **TASK_OPTIONS)
def suspend_stack(self, stack_id):
    _run(self, "suspend", operations.suspend, stack_id)


@shared_task(name="hastexo_lab.resume_stack", **TASK_OPTIONS)
def resume_stack(self, stack_id):
    _run(self, "resume", operations.resume, stack_id)


@shared_task(name="hastexo_lab.delete_stack", **TASK_OPTIONS)
def delete_stack(self, stack_id):
    _run(self, "delete", operations.delete, stack_id)


# FollowUp kind -> the task that does it.
TASKS = {"launch": launch_stack, "poll": poll_stack, "watch": watch_stacks, "suspend": suspend_stack,
         "resume": resume_stack, "delete": delete_stack}
# The kinds a batch message can carry, and what each does for one stack.
OPERATIONS = {"launch": operations.launch, "suspend": operations.suspend, "resume": operations.resume,
              "delete": operations.delete}


@shared_task(name="hastexo_lab.run_batch", **TASK_OPTIONS)
def run_batch(self, kind, stack_ids):
    """One operation for many stacks; a stack whose cloud call fails is
    handed to its own task, which retries it with backoff."""
    operation, single = OPERATIONS[kind], TASKS[kind]
    queue = conf.get_settings().task_queue
    if kind == "suspend":
        enqueue_many(operations.suspend_many(stack_ids, task_id=self.request.id or ""))
        return
    for stack_id in stack_ids:
        try:
            enqueue(operation(stack_id, task_id=self.request.id or ""))
        except Exception as err:  # one bad stack never stops the batch
            log.warning("%s of stack %s in a batch failed (%s); retrying it on its own", kind, stack_id, err)
            countdown = err.retry_in if isinstance(err, operations.LaunchBusy) else _retry_countdown(0)
            # A launch this batch claimed may be created again only by a task
            # of the id that claimed it.
            same_id = self.request.id if kind == "launch" else None
            single.apply_async((stack_id,), countdown=countdown, queue=queue, task_id=same_id)


# -- periodic sweeps (Celery beat) -----------------------------------------------

def _sweep(name, function):
    """Run a sweep; a database or broker hiccup is logged, and the next tick tries again."""
    close_old_connections()
    began, done = time.monotonic(), None
    try:
        result = function()
        done = result if isinstance(result, int) else len(result)
        return done
    except Exception:
        log.exception("%s: this run failed; the next one will try again", name)
        return None
    finally:
        metrics.sweep_ran(name, time.monotonic() - began, done)
        close_old_connections()


@shared_task(name="hastexo_lab.suspender", ignore_result=True, soft_time_limit=SOFT_TIME_LIMIT,
             time_limit=TIME_LIMIT)
def suspender():
    return _sweep("suspender", sweeps.suspend_idle)


@shared_task(name="hastexo_lab.reaper", ignore_result=True, soft_time_limit=SOFT_TIME_LIMIT,
             time_limit=TIME_LIMIT)
def reaper():
    deleted = _sweep("reaper", sweeps.reap_unused)
    _sweep("reaper (zombies)", sweeps.find_zombies)
    _sweep("reaper (terminal tickets)", sweeps.forget_old_tickets)
    return deleted


@shared_task(name="hastexo_lab.reconciler", ignore_result=True, soft_time_limit=SOFT_TIME_LIMIT,
             time_limit=TIME_LIMIT)
def reconciler():
    return _sweep("reconciler", sweeps.reconcile)


@shared_task(name="hastexo_lab.reconcile_stacks", **TASK_OPTIONS)
def reconcile_stacks(self, stack_ids, who="an operator"):
    """An operator's reconcile of chosen stacks (the admin, the command)."""
    close_old_connections()
    sweeps.reconcile_stacks(stack_ids, who=who)


def enqueue_reconcile(stack_ids, who):
    queue = conf.get_settings().task_queue
    for start in range(0, len(stack_ids), BATCH):
        chunk = list(stack_ids[start:start + BATCH])
        transaction.on_commit(lambda c=chunk: reconcile_stacks.apply_async((c, who), queue=queue))


def beat_schedule():
    """The Celery beat entries for the sweeps, at the configured intervals
    (``schedule.entries``). In the LMS they are in CELERYBEAT_SCHEDULE
    already; for a beat of one's own, or django-celery-beat, they are here."""
    return schedule.entries(conf.get_settings())
