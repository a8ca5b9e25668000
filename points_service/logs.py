"""Logs as one JSON object per line, each with the request id of the request (or command
run) that wrote it, so that a log line, an audit event and an ``X-Request-Id`` header can
be matched up.

Nothing personal goes into a log line: the request line names the endpoint (never the path,
which may hold a member number or a voucher code), and modules log ids, never names,
mobile numbers or member numbers. ``LOG_FORMAT=text`` prints the same lines as plain text.
"""

import json
import logging
import time

from .audit.service import current_request_id

REQUEST_LOG = logging.getLogger("points_service.requests")


class JsonFormatter(logging.Formatter):
    """``{"time", "level", "logger", "message", "request_id"[, "exception"]}`` plus the
    record's ``fields`` (a dict given as ``extra={"fields": {...}}``)."""

    def format(self, record):
        line = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": current_request_id(),
        }
        line.update(getattr(record, "fields", None) or {})
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


def log_handler(log_format):
    """A handler to standard error that writes ``log_format`` (``json`` or ``text``)."""
    handler = logging.StreamHandler()
    if log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    return handler


def log_request(request, response, seconds):
    """One line per request: method, endpoint, status and duration; no path, no query."""
    REQUEST_LOG.info(
        "%s %s %s",
        request.method,
        request.endpoint or "unmatched",
        response.status_code,
        extra={
            "fields": {
                "method": request.method,
                "endpoint": request.endpoint or "unmatched",
                "status": response.status_code,
                "duration_ms": round(seconds * 1000, 1),
            }
        },
    )
