"""Celery worker signals: the lab worker serves its metrics on
``metrics_port``, and a pool process that ends is forgotten by the
multiprocess metrics.

The app is installed into the LMS, so these signals are connected in every
Celery worker the LMS's settings start, the platform's own lms-worker
included. Only a worker that consumes the lab queue or the checks' queue
serves the metrics.
"""

import logging
import os

log = logging.getLogger(__name__)


def consumes_lab_queue(consumer):
    """Does the worker of ``consumer`` (a Celery Consumer) take lab tasks or
    progress checks?"""
    from . import conf
    settings = conf.get_settings()
    # The queues given with --queues, else all the app knows.
    consumed = consumer.app.amqp.queues.consume_from
    return settings.task_queue in consumed or settings.check_queue in consumed


def _worker_ready(sender=None, **kwargs):
    from . import conf, metrics
    settings = conf.get_settings()
    if not settings.metrics_port:
        return
    if sender is None or not consumes_lab_queue(sender):
        log.info("not a lab worker (it consumes neither the lab queue nor the checks' queue): no lab metrics here")
        return
    metrics.serve_worker_metrics(settings.metrics_port, addr=settings.metrics_address, token=settings.metrics_token)


def _process_ended(pid=None, **kwargs):
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess
        multiprocess.mark_process_dead(pid or os.getpid())


def connect():
    from celery import signals
    signals.worker_ready.connect(_worker_ready, weak=False, dispatch_uid="hastexo_lab.metrics")
    signals.worker_process_shutdown.connect(_process_ended, weak=False, dispatch_uid="hastexo_lab.metrics_dead")
