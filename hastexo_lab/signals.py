"""Celery worker signals: a worker serves its metrics on ``metrics_port``,
and a pool process that ends is forgotten by the multiprocess metrics."""

import os


def _worker_ready(sender=None, **kwargs):
    from . import conf, metrics
    port = conf.get_settings().metrics_port
    if port:
        metrics.serve_worker_metrics(port)


def _process_ended(pid=None, **kwargs):
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess
        multiprocess.mark_process_dead(pid or os.getpid())


def connect():
    from celery import signals
    signals.worker_ready.connect(_worker_ready, weak=False, dispatch_uid="hastexo_lab.metrics")
    signals.worker_process_shutdown.connect(_process_ended, weak=False, dispatch_uid="hastexo_lab.metrics_dead")
