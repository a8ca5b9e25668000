"""Prometheus metrics at ``/metrics``, for operators only.

- ``points_http_requests_total`` and ``points_http_request_duration_seconds``, by endpoint
  name (never by path: paths can hold member numbers and voucher codes), method and status;
- ``points_redemptions_total`` by channel: redemptions committed;
- ``points_ledger_write_failures_total``: transactions that wrote ledger entries and were
  rolled back instead of committed (a database failure, never a refusal by a rule, which
  is raised before anything is written);
- ``points_approval_backlog`` by kind: service records and change requests waiting for a
  decision, counted when scraped.

``/metrics`` answers only a request with ``Authorization: Bearer <METRICS_TOKEN>``: 401
with another token, 404 when no token is configured. Under gunicorn with several worker
processes the counts of every worker are added up through ``PROMETHEUS_MULTIPROC_DIR``
(``gunicorn.conf.py`` sets it up); with one process they live in memory.
"""

import hmac
import os
import time

from flask import Response, abort, g, request
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from sqlalchemy import event, func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from .logs import log_request

METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}

REQUESTS = Counter("points_http_requests", "HTTP requests answered", ["endpoint", "method", "status"])
LATENCY = Histogram(
    "points_http_request_duration_seconds",
    "Time to answer an HTTP request",
    ["endpoint", "method"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
REDEMPTIONS = Counter("points_redemptions", "Redemptions committed", ["channel"])
LEDGER_WRITE_FAILURES = Counter(
    "points_ledger_write_failures", "Transactions with ledger entries that were rolled back instead of committed"
)


class ApprovalBacklog:
    """Counts what waits for a decision when Prometheus asks (a query, not a live gauge,
    so that every worker and server reports the same figure)."""

    def __init__(self, app):
        self.app = app

    def collect(self):
        from .activities.models import ServiceRecord
        from .changes.models import ChangeRequest
        from .extensions import db

        family = GaugeMetricFamily("points_approval_backlog", "Items waiting for a decision", labels=["kind"])
        with self.app.app_context():
            try:
                records = db.session.scalar(select(func.count()).where(ServiceRecord.status == "pending"))
                changes = db.session.scalar(select(func.count()).where(ChangeRequest.status == "pending"))
            except SQLAlchemyError:
                return  # the request figures still go out; /readyz says what is wrong
            finally:
                db.session.remove()
        family.add_metric(["service_record"], records)
        family.add_metric(["change_request"], changes)
        yield family


def register_metrics(app):
    backlog = CollectorRegistry(auto_describe=False)
    backlog.register(ApprovalBacklog(app))
    _watch_ledger_sessions()

    def start_clock():
        g.metrics_started = time.perf_counter()

    # First of all hooks, so that a request refused by an earlier one is timed too.
    app.before_request_funcs.setdefault(None, []).insert(0, start_clock)

    @app.after_request
    def count_request(response):
        seconds = time.perf_counter() - g.pop("metrics_started")
        endpoint = request.endpoint or "unmatched"
        method = request.method if request.method in METHODS else "other"
        REQUESTS.labels(endpoint, method, str(response.status_code)).inc()
        LATENCY.labels(endpoint, method).observe(seconds)
        log_request(request, response, seconds)
        return response

    @app.get("/metrics")
    def metrics():
        token = app.config["METRICS_TOKEN"]
        if not token:
            abort(404)
        offered = request.headers.get("Authorization", "")
        if not hmac.compare_digest(offered.encode(), f"Bearer {token}".encode()):
            return Response("unauthorized\n", 401, {"WWW-Authenticate": "Bearer", "Content-Type": "text/plain"})
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            workers = CollectorRegistry()
            MultiProcessCollector(workers)
        else:
            workers = REGISTRY
        return Response(generate_latest(workers) + generate_latest(backlog), mimetype=CONTENT_TYPE_LATEST)


def _watch_ledger_sessions():
    """Count committed redemptions and rolled-back ledger writes, whichever service made them."""
    if event.contains(Session, "before_flush", _note_new_rows):
        return
    event.listen(Session, "before_flush", _note_new_rows)
    event.listen(Session, "after_commit", _count_commit)
    event.listen(Session, "after_rollback", _count_rollback)


def _note_new_rows(session, flush_context, instances):
    from .ledger.models import LedgerEntry
    from .perks.models import Redemption

    for row in session.new:
        if isinstance(row, LedgerEntry):
            session.info["ledger_writes"] = True
        elif isinstance(row, Redemption):
            session.info.setdefault("redemption_channels", []).append(row.channel)


def _count_commit(session):
    for channel in session.info.pop("redemption_channels", []):
        REDEMPTIONS.labels(channel).inc()
    session.info.pop("ledger_writes", None)


def _count_rollback(session):
    session.info.pop("redemption_channels", None)
    if session.info.pop("ledger_writes", None):
        LEDGER_WRITE_FAILURES.inc()
