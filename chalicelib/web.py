"""HTTP plumbing shared by the routes: body parsing and validation, the auth guard, pagination,
timestamps, response helpers, and the middleware that turns errors into the contract's shape."""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from chalice.app import Request, Response

from chalicelib.errors import ApiError, BadRequestError, UnauthorizedError, invalid_field
from chalicelib.logs import log_event
from chalicelib.services import get_services
from chalicelib.services.auth import Principal

MAX_BODY_BYTES = 64 * 1024
MAX_LIMIT = 100
_BEARER = re.compile(r"Bearer +([\x21-\x7e]{1,4096})", re.IGNORECASE)
_DIGITS = re.compile(r"[0-9]{1,9}")
_RFC3339_LOCAL = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?")
_RFC3339 = re.compile(_RFC3339_LOCAL.pattern + r"([Zz]|[+-][0-9]{2}:[0-9]{2})")
_caller: ContextVar[str | None] = ContextVar("caller", default=None)
_TYPE_NAMES = {str: "a string", int: "a whole number", bool: "true or false", list: "a list"}


@dataclass(frozen=True)
class Field:
    """One field a route's body may hold."""

    name: str
    type: type = str
    required: bool = True
    nullable: bool = False
    max_length: int | None = None  # characters of a string, items of a list


def parse_body(request: Request, fields: tuple[Field, ...]) -> dict[str, Any]:
    """The request's JSON object, checked against ``fields``: 400 naming the field otherwise.

    Unknown fields are refused; absent optional fields are left out of the result.
    """
    raw = request.raw_body or b""
    if isinstance(raw, str):
        raw = raw.encode()
    if len(raw) > MAX_BODY_BYTES:
        raise BadRequestError(f"body: at most {MAX_BODY_BYTES} bytes")
    try:
        body = json.loads(raw.decode("utf-8"), parse_constant=_refuse_constant)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise BadRequestError("body: not valid JSON") from None
    if not isinstance(body, dict):
        raise BadRequestError("body: must be a JSON object")
    known = {f.name: f for f in fields}
    for name in body:
        if name not in known:
            raise invalid_field(name, "unknown field")
    for f in fields:
        if f.name not in body:
            if f.required:
                raise invalid_field(f.name, "required")
            continue
        value = body[f.name]
        if value is None:
            if not f.nullable:
                raise invalid_field(f.name, f"must be {_TYPE_NAMES[f.type]}")
            continue
        if not isinstance(value, f.type) or (f.type is int and isinstance(value, bool)):
            raise invalid_field(f.name, f"must be {_TYPE_NAMES[f.type]}")
        if f.max_length is not None and isinstance(value, (str, list)) and len(value) > f.max_length:
            unit = "items" if f.type is list else "characters"
            raise invalid_field(f.name, f"at most {f.max_length} {unit}")
    return body


def parse_no_body(request: Request) -> None:
    """A route without fields takes no body, or an empty JSON object; anything else is a 400."""
    if request.raw_body:
        parse_body(request, ())


def _refuse_constant(name: str) -> None:
    raise ValueError(name)


def bearer(request: Request) -> str:
    """The credential of ``Authorization: Bearer …``. Raises UnauthorizedError without one."""
    header = request.headers.get("authorization")
    if not header:
        raise UnauthorizedError("Authorization: a Bearer credential is required.")
    match = _BEARER.fullmatch(header.strip())
    if not match:
        raise UnauthorizedError("Authorization: expected 'Bearer <credential>'.")
    return match.group(1)


def require_user(request: Request) -> Principal:
    """The caller, by session token or API key."""
    return _seen(get_services().auth.authenticate(bearer(request)))


def require_session(request: Request) -> Principal:
    """The caller, by session token only: an API key gets 403."""
    return _seen(get_services().auth.authenticate(bearer(request), session_only=True))


def require_pending(request: Request) -> Principal:
    """The caller, by pending login token only."""
    return _seen(get_services().auth.authenticate_pending(bearer(request)))


def _seen(principal: Principal) -> Principal:
    _caller.set(principal.user_id)  # for the request's log line
    return principal


def page_params(request: Request) -> tuple[int, str | None]:
    """``?limit`` (1-100, default 100) and ``?cursor`` of a list request."""
    params: Mapping[str, str] = request.query_params or {}
    raw_limit = params.get("limit")
    limit = MAX_LIMIT
    if raw_limit is not None:
        # ASCII digits only: str.isdigit() also takes "²", which int() refuses (a 500, found by hypothesis).
        if not _DIGITS.fullmatch(raw_limit) or not 1 <= int(raw_limit) <= MAX_LIMIT:
            raise invalid_field("limit", f"a whole number from 1 to {MAX_LIMIT}")
        limit = int(raw_limit)
    cursor = params.get("cursor") or None
    if cursor is not None and len(cursor) > 2048:
        raise invalid_field("cursor", "not a cursor from this list")
    return limit, cursor


def client_address(request: Request) -> str:
    """The caller's address as API Gateway saw it."""
    identity = (request.context or {}).get("identity") or {}
    return str(identity.get("sourceIp") or "unknown")


def timestamp(seconds: int | None) -> str | None:
    """RFC 3339 UTC with a Z, second precision."""
    if seconds is None:
        return None
    return datetime.fromtimestamp(seconds, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_timestamp(value: str, field: str) -> int:
    """Seconds since the epoch of an RFC 3339 timestamp with a zone. 400 naming ``field`` otherwise."""
    # RFC 3339 only, as the API reference's date-time says: fromisoformat alone also takes ISO 8601's
    # other forms (2026-W48-5, 20261127T180000, no seconds), which the reference would refuse.
    if not _RFC3339.fullmatch(value):
        if _RFC3339_LOCAL.fullmatch(value):
            raise invalid_field(field, "the timestamp needs a time zone, such as Z")
        raise invalid_field(field, "an RFC 3339 timestamp such as 2026-11-27T18:00:00Z")
    try:
        parsed = datetime.fromisoformat(value.upper().replace("Z", "+00:00"))
    except ValueError:
        raise invalid_field(field, "an RFC 3339 timestamp such as 2026-11-27T18:00:00Z") from None
    return int(parsed.timestamp())


def reply(body: Any, status: int = 200, headers: dict[str, str | list[str]] | None = None) -> Response:
    return Response(body=body, status_code=status, headers=headers or {})


def no_content() -> Response:
    return Response(body="", status_code=204)


# Responses on these paths may be cached; every other response is marked no-store, since nearly
# all of them carry a credential or account data.
_CACHEABLE = ("/v1/health", "/v1/openapi.json")


def error_middleware(event: Request, get_response: Callable[[Request], Response]) -> Response:
    """Turn the API's errors into ``{"Code", "Message"}`` responses with their headers, and log one
    line per request (ids, route, status, latency; never a credential or a body)."""
    started = time.perf_counter()
    _caller.set(None)
    try:
        response = get_response(event)
    except ApiError as exc:
        response = Response(
            body={"Code": exc.code, "Message": exc.message}, status_code=exc.status, headers=dict(exc.headers())
        )
    if event.path.startswith("/v1/") and event.path not in _CACHEABLE:
        response.headers.setdefault("Cache-Control", "no-store")
    context = event.context or {}
    log_event(
        "request",
        request_id=context.get("requestId") or uuid.uuid4().hex,
        method=event.method,
        route=event.path,
        status=response.status_code,
        user_id=_caller.get(),
        latency_ms=round((time.perf_counter() - started) * 1000, 2),
    )
    return response
