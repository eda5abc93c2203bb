"""Prometheus metrics for operators.

Two kinds:

- counted where things happen, in whatever process does them (the LMS's
  handlers, the workers): transitions, the durations of launch, resume and
  suspend (from the stack log's own timestamps), failed provider calls by
  kind, sweep runs and their batch sizes, keepalives, progress checks;
- read from the database at scrape time: stacks by status and provider, and
  the stacks that need an operator. These are right however many processes
  there are, and are served by the LMS's endpoint only (so they are not
  counted twice).

With several processes per host (uWSGI or gunicorn workers, Celery's prefork
pool) set ``PROMETHEUS_MULTIPROC_DIR`` to an empty directory, per the client
library's multiprocess mode; each endpoint then reports what all processes
on its host counted.

Endpoints: the LMS's ``/hastexo-lab/metrics`` (a bearer token,
``metrics_token``) and, in a Celery worker, an HTTP server on
``metrics_port``.
"""

import hmac
import logging
import os
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily

log = logging.getLogger(__name__)

DURATION_BUCKETS = (1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 900, 1800, 3600)
TRANSITIONS = Counter("hastexo_lab_transitions", "Stack status changes, by the status moved to.", ["to_status"])
OPERATION_SECONDS = Histogram(
    "hastexo_lab_operation_seconds",
    "Launch, resume and suspend durations, from the request to done, by the stack log's timestamps.",
    ["operation", "provider"], buckets=DURATION_BUCKETS)
PROVIDER_ERRORS = Counter("hastexo_lab_provider_errors", "Failed calls to a provider, by kind.",
                          ["provider", "call", "kind"])
SWEEP_SECONDS = Histogram("hastexo_lab_sweep_seconds", "How long a sweep run took.", ["sweep"],
                          buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120))
SWEEP_STACKS = Histogram("hastexo_lab_sweep_stacks", "Stacks one sweep run acted on.", ["sweep"],
                         buckets=(0, 1, 10, 100, 1000, 10000, 100000))
SWEEP_FAILURES = Counter("hastexo_lab_sweep_failures", "Sweep runs that failed (the next one tries again).",
                         ["sweep"])
KEEPALIVES = Counter("hastexo_lab_keepalives", "Keepalives received from learners' pages.")
CHECKS = Counter("hastexo_lab_checks", "Progress checks run, by how they ended.", ["outcome"])

# (from, to) of a finished launch, resume or suspend -> (the operation, the
# state its request wrote). Other ways into the same states (a cancelled
# suspend back to running, an adopted suspended stack) are not durations.
_COMPLETIONS = {
    ("CREATE_IN_PROGRESS", "CREATE_COMPLETE"): ("launch", "LAUNCH_PENDING"),
    ("RESUME_IN_PROGRESS", "RESUME_COMPLETE"): ("resume", "RESUME_PENDING"),
    ("RESUME_PENDING", "RESUME_COMPLETE"): ("resume", "RESUME_PENDING"),
    ("SUSPEND_IN_PROGRESS", "SUSPEND_COMPLETE"): ("suspend", "SUSPEND_PENDING"),
    ("SUSPEND_PENDING", "SUSPEND_COMPLETE"): ("suspend", "SUSPEND_PENDING"),
}


def transitioned(stack_id, provider, from_state, to_state, at):
    """Count one transition; at the end of a launch, resume or suspend,
    observe how long it took since it was asked for (the log's timestamps)."""
    try:
        TRANSITIONS.labels(to_state).inc()
        if (from_state, to_state) not in _COMPLETIONS:
            return
        from .models import StackLog
        operation, start = _COMPLETIONS[(from_state, to_state)]
        began = (StackLog.objects.filter(stack_id=stack_id, to_status=start, created_at__lte=at)
                 .order_by("-created_at", "-id").values_list("created_at", flat=True).first())
        if began is not None:
            OPERATION_SECONDS.labels(operation, provider or "none").observe(max(0.0, (at - began).total_seconds()))
    except Exception:  # metrics never break the lifecycle
        log.exception("could not record the metrics of a transition")


def claimed(to_state, count):
    TRANSITIONS.labels(to_state).inc(count)


def provider_error(provider, call, error):
    from .providers.base import StackConflict, StackNotFound
    kind = ("not_found" if isinstance(error, StackNotFound) else "conflict" if isinstance(error, StackConflict)
            else "transient" if getattr(error, "transient", False) else "permanent")
    PROVIDER_ERRORS.labels(provider, call, kind).inc()
    return kind


def sweep_ran(sweep, seconds, stacks):
    SWEEP_SECONDS.labels(sweep).observe(seconds)
    if stacks is None:
        SWEEP_FAILURES.labels(sweep).inc()
    else:
        SWEEP_STACKS.labels(sweep).observe(stacks)


class StacksCollector:
    """Stacks by status and provider, and those needing an operator: one
    query each, at scrape time."""

    def collect(self):
        from django.db.models import Count

        from . import sweeps
        from .models import Stack
        stacks = GaugeMetricFamily("hastexo_lab_stacks", "Stacks by status and provider.",
                                   labels=["status", "provider"])
        for status, provider, count in (Stack.objects.values_list("status", "provider")
                                        .annotate(n=Count("id")).order_by()):
            stacks.add_metric([status, provider or "none"], count)
        yield stacks
        yield GaugeMetricFamily("hastexo_lab_stacks_needing_operator",
                                "Stacks the sweeps gave up on: an operator must look.",
                                value=Stack.objects.filter(sweeps.gave_up()).count())

    def describe(self):
        return []  # collected at scrape time only


def _counted_registry():
    """The registry with what this host's processes counted."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return registry
    return REGISTRY


def exposition(with_database=True):
    """(body, content type) of a scrape."""
    body = generate_latest(_counted_registry())
    if with_database:
        registry = CollectorRegistry(auto_describe=False)
        registry.register(StacksCollector())
        body += generate_latest(registry)
    return body, CONTENT_TYPE_LATEST


_server = None
LOOPBACK = ("127.0.0.1", "::1", "localhost")


def serve_worker_metrics(port, addr="127.0.0.1", token=""):
    """A worker's endpoint (once per process): what this host's workers
    counted, at ``/metrics``. With a token, a scrape must bring it as a
    bearer token; without one, only a loopback address is served (an open
    address with no token would hand the counts to anyone who asks)."""
    global _server
    if _server is not None or not port:
        return _server
    if not token and addr not in LOOPBACK:
        log.error("worker metrics not served: %s is not a loopback address and metrics_token is not set", addr)
        return None
    _server = _MetricsServer((addr, port), _handler_for(token))
    threading.Thread(target=_server.serve_forever, name="hastexo-lab-metrics", daemon=True).start()
    log.info("worker metrics on %s:%d%s", addr, port, " (bearer token)" if token else "")
    return _server


class _MetricsServer(ThreadingHTTPServer):
    daemon_threads = True
    address_family = socket.AF_INET

    def __init__(self, address, handler):
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, handler)


def _handler_for(token):
    expected = f"Bearer {token}".encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (the standard library's name)
            if self.path.split("?", 1)[0] != "/metrics":
                return self._reply(404, b"not found\n", "text/plain")
            given = self.headers.get("Authorization", "").encode()
            if token and not hmac.compare_digest(given, expected):
                return self._reply(401, b"a bearer token is needed\n", "text/plain",
                                   {"WWW-Authenticate": 'Bearer realm="hastexo_lab"'})
            return self._reply(200, generate_latest(_counted_registry()), CONTENT_TYPE_LATEST)

        def _reply(self, status, body, content_type, headers=None):
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format, *args):  # noqa: A002 (the standard library's name)
            log.debug("metrics scrape from %s: " + format, self.client_address[0], *args)

    return Handler
