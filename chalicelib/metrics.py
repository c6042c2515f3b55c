"""CloudWatch metrics as embedded metric format (EMF) lines on stdout: CloudWatch Logs turns each
line into metric data points, so a metric costs no API call, no client and no dependency.

Every name a metric or alarm uses is a constant here: the code writes them through this module
only, and the deployment template's alarms read the same constants (tests/functional/test_metrics.py
checks that every alarm watches a metric a real request writes).

A request writes one line, from the http middleware (web.error_middleware): its route and status
class, its latency, and what the services counted while it ran (login failures, lockouts started,
a 503's cause). The purge writes one line per table and one for its success. Lines are printed,
not logged: the Lambda runtime prefixes logged lines with the level and request id, and CloudWatch
reads EMF only from a line that is one JSON object.
"""

from __future__ import annotations

import json
import os
import sys
import time
from contextvars import ContextVar
from typing import Any

NAMESPACE = "Latchkey"
STAGE_VARIABLE = "LATCHKEY_STAGE"  # the deployment template gives the functions their stage
LOCAL_STAGE = "local"  # outside a deployed stack (tests, the dev server)
# Lines are written in a deployed stack (its stage set), or where this is "1": outside one (the dev
# server, the benchmarks) they would only crowd the console and the scripts' output.
ENABLE_VARIABLE = "LATCHKEY_METRICS"

# Dimensions (kept few-valued: a route is its template, such as "GET /v1/applications/{id}").
STAGE = "Stage"
ROUTE = "Route"
STATUS_CLASS = "StatusClass"  # "2xx", "3xx", "4xx", "5xx"
CAUSE = "Cause"  # why a request answered 503: one of CAUSES
TABLE = "Table"  # a table's logical name in store/tables.py, such as "sessions"

# Metrics.
REQUESTS = "Requests"
LATENCY = "Latency"
LOGIN_FAILURES = "LoginFailures"
LOCKOUTS_STARTED = "LockoutsStarted"
SERVICE_UNAVAILABLE = "ServiceUnavailable"
PURGE_ITEMS_REMOVED = "PurgeItemsRemoved"
PURGE_SUCCEEDED = "PurgeSucceeded"

# The causes of a 503: the database throttled (or a transaction kept losing races), it answered
# with a failure, or it did not answer in time (a timeout or a dropped connection).
THROTTLED, UNAVAILABLE, TIMEOUT = "throttled", "unavailable", "timeout"
CAUSES = (THROTTLED, UNAVAILABLE, TIMEOUT)

COUNT, MILLISECONDS = "Count", "Milliseconds"

# What each line declares: (metric names and units, dimension sets). CloudWatch keeps one metric per
# name and dimension set, so each set here is a metric that alarms and graphs can select.
_REQUEST = ({REQUESTS: COUNT}, ((STAGE, ROUTE, STATUS_CLASS), (STAGE, STATUS_CLASS), (STAGE,)))
_LATENCY = ({LATENCY: MILLISECONDS}, ((STAGE, ROUTE), (STAGE,)))
_UNAVAILABLE = ({SERVICE_UNAVAILABLE: COUNT}, ((STAGE, CAUSE), (STAGE,)))
_COUNTED = (LOGIN_FAILURES, LOCKOUTS_STARTED)  # counted by the services during a request, by stage
_PURGE_TABLE = ({PURGE_ITEMS_REMOVED: COUNT}, ((STAGE, TABLE),))
_PURGE = ({PURGE_SUCCEEDED: COUNT}, ((STAGE,),))

# (metric, dimension names) of every metric this module writes: what the template's alarms may watch.
WRITTEN: frozenset[tuple[str, frozenset[str]]] = frozenset(
    (name, frozenset(dimensions))
    for metrics, sets in (
        _REQUEST,
        _LATENCY,
        _UNAVAILABLE,
        *(({name: COUNT}, ((STAGE,),)) for name in _COUNTED),
        _PURGE_TABLE,
        _PURGE,
    )
    for name in metrics
    for dimensions in sets
)

# The counts of the request being answered: None outside a request (then a count is written at once).
_counts: ContextVar[dict[str, int] | None] = ContextVar("metric_counts", default=None)


def stage() -> str:
    return os.environ.get(STAGE_VARIABLE) or LOCAL_STAGE


def enabled() -> bool:
    return bool(os.environ.get(STAGE_VARIABLE)) or os.environ.get(ENABLE_VARIABLE) == "1"


def begin_request() -> None:
    """Start counting for a request (the middleware calls it first)."""
    _counts.set({})


def count(metric: str, value: int = 1) -> None:
    """Add ``value`` to ``metric`` (LOGIN_FAILURES, LOCKOUTS_STARTED) for the request being answered;
    outside a request, write it on a line of its own."""
    counts = _counts.get()
    if counts is None:
        _write({metric: COUNT}, ((STAGE,),), {STAGE: stage(), metric: value})
    else:
        counts[metric] = counts.get(metric, 0) + value


def status_class(status: int) -> str:
    return f"{status // 100}xx"


def end_request(method: str, route: str, status: int, latency_ms: float, cause: str | None = None) -> None:
    """Write the request's line: one request of ``route`` with its status class and latency, what
    was counted while it ran, and for a 503 its ``cause`` (one of CAUSES)."""
    counts = _counts.get() or {}
    _counts.set(None)
    values: dict[str, Any] = {
        STAGE: stage(),
        ROUTE: f"{method} {route}",
        STATUS_CLASS: status_class(status),
        REQUESTS: 1,
        LATENCY: latency_ms,
    }
    directives: list[Directive] = [_REQUEST, _LATENCY]
    if status == 503:
        values |= {CAUSE: cause or UNAVAILABLE, SERVICE_UNAVAILABLE: 1}
        directives.append(_UNAVAILABLE)
    counted = {name: counts[name] for name in _COUNTED if counts.get(name)}
    if counted:
        values |= counted
        directives.append(({name: COUNT for name in counted}, ((STAGE,),)))
    _write_many(directives, values)


def purge_finished(removed: dict[str, int]) -> None:
    """Write the purge's lines: the items it removed from each table (by logical name), and its success."""
    here = stage()
    for table, items in removed.items():
        _write(*_PURGE_TABLE, {STAGE: here, TABLE: table, PURGE_ITEMS_REMOVED: items})
    _write(*_PURGE, {STAGE: here, PURGE_SUCCEEDED: 1})


Directive = tuple[dict[str, str], tuple[tuple[str, ...], ...]]


def _write(metrics: dict[str, str], dimensions: tuple[tuple[str, ...], ...], values: dict[str, Any]) -> None:
    _write_many([(metrics, dimensions)], values)


def _write_many(directives: list[Directive], values: dict[str, Any]) -> None:
    if not enabled():
        return
    document = {
        "_aws": {
            "Timestamp": int(time.time() * 1000),
            "CloudWatchMetrics": [
                {
                    "Namespace": NAMESPACE,
                    "Dimensions": [list(dimensions) for dimensions in sets],
                    "Metrics": [{"Name": name, "Unit": unit} for name, unit in metrics.items()],
                }
                for metrics, sets in directives
            ],
        }
    } | values
    # One write of the whole line, flushed: Lambda may freeze the process as soon as it has answered.
    sys.stdout.write(json.dumps(document, separators=(",", ":")) + "\n")
    sys.stdout.flush()
