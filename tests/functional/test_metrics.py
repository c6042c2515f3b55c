"""Metrics: real requests and a real purge write CloudWatch embedded metric format (EMF) lines on
stdout (valid EMF, one line per request), and every alarm of the deployment template watches a
metric these lines write."""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Callable, Iterator
from typing import Any

import deploy_template
import pytest
from botocore.awsrequest import AWSResponse
from botocore.exceptions import ConnectionClosedError

from chalicelib import metrics
from chalicelib.errors import ServiceUnavailableError
from chalicelib.services import Services
from chalicelib.store import dynamo
from chalicelib.store.tables import TABLES
from tests.conftest import Api, FakeClock

# CloudWatch's units (PutMetricData's StandardUnit): an EMF line with another is dropped whole.
UNITS = {
    "Seconds", "Microseconds", "Milliseconds", "Bytes", "Kilobytes", "Megabytes", "Gigabytes", "Terabytes",
    "Bits", "Kilobits", "Megabits", "Gigabits", "Terabits", "Percent", "Count", "Bytes/Second",
    "Kilobytes/Second", "Megabytes/Second", "Gigabytes/Second", "Terabytes/Second", "Bits/Second",
    "Kilobits/Second", "Megabits/Second", "Gigabits/Second", "Terabits/Second", "Count/Second", "None",
}  # fmt: skip
WEEK = 604800


@pytest.fixture(autouse=True)
def metrics_on(monkeypatch: pytest.MonkeyPatch) -> None:
    """Outside a deployed stack the lines are written only when asked for."""
    monkeypatch.setenv(metrics.ENABLE_VARIABLE, "1")


def emf_lines(capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    """The EMF documents written to stdout since the last call, each checked against the EMF spec."""
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith('{"_aws"')]
    for line in lines:
        assert_valid_emf(line)
    return lines


def assert_valid_emf(doc: dict[str, Any]) -> None:
    """The rules of the embedded metric format's specification that CloudWatch enforces."""
    meta = doc["_aws"]
    assert isinstance(meta["Timestamp"], int) and meta["Timestamp"] > 1_600_000_000_000  # milliseconds
    assert meta["CloudWatchMetrics"], doc
    for directive in meta["CloudWatchMetrics"]:
        assert directive["Namespace"] == metrics.NAMESPACE
        assert isinstance(directive["Dimensions"], list) and directive["Dimensions"]
        for dimension_set in directive["Dimensions"]:
            assert isinstance(dimension_set, list) and 1 <= len(dimension_set) <= 30
            for name in dimension_set:  # a dimension's value is a string at the top level
                assert isinstance(doc.get(name), str) and doc[name], (name, doc)
        assert 1 <= len(directive["Metrics"]) <= 100
        for metric in directive["Metrics"]:
            assert set(metric) <= {"Name", "Unit", "StorageResolution"} and metric["Unit"] in UNITS
            value = doc.get(metric["Name"])  # a metric's value is a number at the top level
            assert isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value), doc


def points(lines: list[dict[str, Any]]) -> set[tuple[str, str, tuple[tuple[str, str], ...]]]:
    """(namespace, metric, dimensions with their values) of every data point the lines make."""
    found = set()
    for doc in lines:
        for directive in doc["_aws"]["CloudWatchMetrics"]:
            for dimension_set in directive["Dimensions"]:
                dims = tuple(sorted((name, doc[name]) for name in dimension_set))
                found |= {(directive["Namespace"], m["Name"], dims) for m in directive["Metrics"]}
    return found


def request_logs(caplog: pytest.LogCaptureFixture) -> list[dict[str, Any]]:
    return [json.loads(r.getMessage()) for r in caplog.records if r.name == "latchkey_events"]


# --- injected faults -------------------------------------------------------------------------------


class _Body:
    def __init__(self, body: bytes) -> None:
        self.body = body

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self.body


def _error(status: int, code: str) -> Callable[[Any], AWSResponse]:
    def reply(request: Any) -> AWSResponse:
        body = json.dumps({"__type": f"com.amazonaws.dynamodb.v20120810#{code}", "message": "injected"}).encode()
        return AWSResponse(request.url, status, {"Content-Type": "application/x-amz-json-1.0"}, _Body(body))

    return reply


def _drop(request: Any) -> AWSResponse:
    raise ConnectionClosedError(endpoint_url=request.url)


FAULTS = {
    metrics.THROTTLED: _error(400, "ThrottlingException"),
    metrics.UNAVAILABLE: _error(500, "InternalServerError"),
    metrics.TIMEOUT: _drop,
}


class Outage:
    """While on, every DynamoDB call of the app answers ``fault`` (boto3 retries nothing)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setattr(dynamo, "RETRY_ATTEMPTS", 1)
        dynamo.reset_client()
        self.fault: Callable[[Any], AWSResponse] | None = None
        dynamo.client().meta.events.register("before-send.dynamodb", self.before_send)

    def before_send(self, request: Any, **_: Any) -> AWSResponse | None:
        return self.fault(request) if self.fault else None


@pytest.fixture
def outage(api: Api, monkeypatch: pytest.MonkeyPatch) -> Iterator[Outage]:
    injected = Outage(monkeypatch)
    yield injected
    injected.fault = None  # the tables are dropped after the test


# --- requests --------------------------------------------------------------------------------------


def test_each_request_writes_one_line_with_its_route_status_class_and_latency(
    api: Api, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    token = api.signup("alice").body["token"]
    assert api.get("/v1/user", token=token).status == 200
    assert api.get("/v1/applications/app_doesnotexist", token=token).status == 404
    assert api.post("/v1/signup", {"username": "bob"}).status == 400
    lines = emf_lines(capsys)
    assert [(line[metrics.ROUTE], line[metrics.STATUS_CLASS]) for line in lines] == [
        ("POST /v1/signup", "2xx"),
        ("GET /v1/user", "2xx"),
        ("GET /v1/applications/{id}", "4xx"),  # the route's template: no id becomes a dimension
        ("POST /v1/signup", "4xx"),
    ]
    assert all(line[metrics.REQUESTS] == 1 and line[metrics.STAGE] == metrics.LOCAL_STAGE for line in lines)
    # The latency is the request log line's, and nothing else is counted on these.
    assert [line[metrics.LATENCY] for line in lines] == [log["latency_ms"] for log in request_logs(caplog)]
    assert all(line[metrics.LATENCY] > 0 for line in lines)
    counted = {metrics.LOGIN_FAILURES, metrics.LOCKOUTS_STARTED, metrics.SERVICE_UNAVAILABLE, metrics.CAUSE}
    assert not any(counted & set(line) for line in lines)
    # Route and status class by themselves, by status class alone, and all requests of the stage.
    assert (metrics.NAMESPACE, metrics.REQUESTS, (("Stage", "local"),)) in points(lines)
    assert (metrics.NAMESPACE, metrics.REQUESTS, (("Stage", "local"), ("StatusClass", "4xx"))) in points(lines)


def test_no_line_is_written_outside_a_stack_unless_asked_for(
    api: Api, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(metrics.ENABLE_VARIABLE)
    monkeypatch.delenv(metrics.STAGE_VARIABLE, raising=False)
    assert api.get("/v1/health").status == 200
    assert emf_lines(capsys) == []


def test_the_stage_dimension_is_the_functions_stage(
    api: Api, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(metrics.STAGE_VARIABLE, "prod")
    assert api.get("/v1/health").status == 200
    [line] = emf_lines(capsys)
    assert line[metrics.STAGE] == "prod"


def test_a_failed_login_is_counted_on_its_requests_line(api: Api, capsys: pytest.CaptureFixture[str]) -> None:
    api.signup("alice")
    emf_lines(capsys)
    assert api.login("alice", "a wrong password").status == 401
    assert api.login("nobody", "a wrong password").status == 401  # a name that is nobody's counts too
    assert api.login("alice").status == 200
    lines = emf_lines(capsys)
    assert [line.get(metrics.LOGIN_FAILURES) for line in lines] == [1, 1, None]
    assert [line[metrics.STATUS_CLASS] for line in lines] == ["4xx", "4xx", "2xx"]
    assert (metrics.NAMESPACE, metrics.LOGIN_FAILURES, (("Stage", "local"),)) in points(lines)


def test_the_lockouts_started_are_those_the_security_log_records(
    api: Api, services: Services, capsys: pytest.CaptureFixture[str]
) -> None:
    token = api.signup("alice").body["token"]
    limit = services.settings.login_failures_per_account
    statuses = [api.login("alice", "wrong password").status for _ in range(limit + 1)]
    assert statuses == [401] * limit + [429]
    lines = [line for line in emf_lines(capsys) if line[metrics.ROUTE] == "POST /v1/login"]
    started = [line.get(metrics.LOCKOUTS_STARTED, 0) for line in lines]
    # The 10th failure locks the account from this address and starts its doubling wait; the 429
    # that follows is no failure (a login during a lockout is not tried) and starts nothing.
    assert started == [0] * (limit - 1) + [2, 0]
    assert [line.get(metrics.LOGIN_FAILURES, 0) for line in lines] == [1] * limit + [0]
    events = api.get("/v1/user/events", token=token).body["events"]
    assert sum(started) == len([e for e in events if e["type"] == "login.locked"])


def test_a_held_sessions_lockout_is_counted(api: Api, alice: str, capsys: pytest.CaptureFixture[str]) -> None:
    wrong = {"password": "not my password"}
    statuses = [api.post("/v1/user/reauthenticate", wrong, token=alice).status for _ in range(6)]
    assert statuses == [401] * 5 + [429] or statuses[-1] == 429, statuses
    lines = [line for line in emf_lines(capsys) if line[metrics.ROUTE] == "POST /v1/user/reauthenticate"]
    assert [line.get(metrics.LOCKOUTS_STARTED, 0) for line in lines] == [0, 0, 0, 0, 1, 0]


@pytest.mark.parametrize("cause", metrics.CAUSES)
def test_a_503_is_counted_with_its_cause(
    api: Api, alice: str, outage: Outage, capsys: pytest.CaptureFixture[str], cause: str
) -> None:
    emf_lines(capsys)
    outage.fault = FAULTS[cause]
    reply = api.get("/v1/user", token=alice)
    assert reply.status == 503 and reply.body["Code"] == "ServiceUnavailableError"
    outage.fault = None
    assert api.get("/v1/user", token=alice).status == 200
    down, up = emf_lines(capsys)
    assert (down[metrics.STATUS_CLASS], down[metrics.CAUSE], down[metrics.SERVICE_UNAVAILABLE]) == ("5xx", cause, 1)
    assert (metrics.NAMESPACE, metrics.SERVICE_UNAVAILABLE, (("Cause", cause), ("Stage", "local"))) in points([down])
    assert metrics.SERVICE_UNAVAILABLE not in up and metrics.CAUSE not in up


# --- the purge -------------------------------------------------------------------------------------


def invoke_purge(api: Api) -> Any:
    event = api.client.events.generate_cw_event(
        source="aws.events", detail_type="Scheduled Event", detail={}, resources=["arn:aws:events:::rule/purge"]
    )
    return api.client.lambda_.invoke("purge_expired_sessions", event)


def test_the_purge_writes_what_it_removed_per_table_and_its_success(
    api: Api, services: Services, clock: FakeClock, capsys: pytest.CaptureFixture[str]
) -> None:
    user_id = api.signup("alice").body["user"]["id"]
    for _ in range(3):
        services.sessions.issue(user_id)
    clock.advance(WEEK + 1)  # the four sessions (sign-up's too) have expired
    emf_lines(capsys)
    reply = invoke_purge(api)
    assert reply.payload["sessions"]["deleted"] == 4
    lines = emf_lines(capsys)
    removed = {line[metrics.TABLE]: line[metrics.PURGE_ITEMS_REMOVED] for line in lines if metrics.TABLE in line}
    assert removed == {table.name: 4 if table.name == "sessions" else 0 for table in TABLES if table.expires}
    [success] = [line for line in lines if metrics.PURGE_SUCCEEDED in line]
    assert success[metrics.PURGE_SUCCEEDED] == 1 and success is lines[-1]


def test_a_failing_purge_writes_no_success(api: Api, outage: Outage, capsys: pytest.CaptureFixture[str]) -> None:
    outage.fault = FAULTS[metrics.THROTTLED]
    with pytest.raises(ServiceUnavailableError):
        invoke_purge(api)
    assert not any(metrics.PURGE_SUCCEEDED in line for line in emf_lines(capsys))


# --- the alarms ------------------------------------------------------------------------------------


def alarm_metrics(alarm: dict[str, Any]) -> list[dict[str, Any]]:
    """The metrics an alarm watches: its own, or those of its metric math."""
    properties = alarm["Properties"]
    if "MetricName" in properties:
        return [{k: properties[k] for k in ("Namespace", "MetricName", "Dimensions")}]
    return [query["MetricStat"]["Metric"] for query in properties["Metrics"] if "MetricStat" in query]


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_every_alarm_watches_a_metric_that_real_requests_and_the_purge_write(
    api: Api,
    outage: Outage,
    services: Services,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    stage: str,
) -> None:
    template = deploy_template.merge_template(stage)
    functions = [r for r in template["Resources"].values() if "Environment" in r.get("Properties", {})]
    [value] = {f["Properties"]["Environment"]["Variables"][metrics.STAGE_VARIABLE] for f in functions}
    monkeypatch.setenv(metrics.STAGE_VARIABLE, value)
    # What production sees: requests, a lockout, a 503, a purge.
    api.signup("alice")
    for _ in range(services.settings.login_failures_per_account):
        api.login("alice", "wrong password")
    outage.fault = FAULTS[metrics.THROTTLED]
    assert api.get("/v1/health").status in (200, 503)
    assert api.login("alice").status == 503
    outage.fault = None
    invoke_purge(api)
    written = points(emf_lines(capsys))

    alarms = {k: v for k, v in template["Resources"].items() if v.get("Type") == "AWS::CloudWatch::Alarm"}
    tables = {deploy_template.logical_id(t): t for t in TABLES}
    throttled = set()
    for name, alarm in alarms.items():
        watched = alarm_metrics(alarm)
        assert watched, name
        for metric in watched:
            dims = tuple(sorted((d["Name"], d["Value"]) for d in metric["Dimensions"]))
            if metric["Namespace"] == "AWS/DynamoDB":
                assert metric["MetricName"] in ("ReadThrottleEvents", "WriteThrottleEvents"), name
                table = tables[dict(dims)["TableName"]["Ref"]]
                assert dict(dims).get("GlobalSecondaryIndexName", None) in (None, *(i.name for i in table.indexes))
                throttled.add(table.name)
                continue
            # One of the metrics chalicelib/metrics.py declares, and one this test's requests wrote.
            assert (metric["MetricName"], frozenset(dict(dims))) in metrics.WRITTEN, (name, metric)
            assert (metric["Namespace"], metric["MetricName"], dims) in written, (name, metric)
        assert alarm["Properties"]["AlarmActions"] == [{"Ref": "AlarmTopic"}], name
    assert throttled == {t.name for t in TABLES}  # every table has its throttle alarm
    watched_names = {m["MetricName"] for a in alarms.values() for m in alarm_metrics(a)}
    assert {
        metrics.REQUESTS,
        metrics.SERVICE_UNAVAILABLE,
        metrics.LOCKOUTS_STARTED,
        metrics.PURGE_SUCCEEDED,
    } <= watched_names
