"""HTTP plumbing shared by the routes: the one declaration per route (its credential, body,
recent authentication and paging) that the parser, the auth guard and the API reference all read;
timestamps, response helpers, and the middleware that turns errors into the contract's shape."""

from __future__ import annotations

import functools
import json
import re
import time
import uuid
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any

from chalice import Blueprint
from chalice.app import Request, Response

from chalicelib import metrics
from chalicelib.errors import ApiError, BadRequestError, ServiceUnavailableError, UnauthorizedError, invalid_field
from chalicelib.logs import log_event
from chalicelib.services import get_services
from chalicelib.services.identity import Actor, Origin, Principal

MAX_BODY_BYTES = 64 * 1024
MAX_LIMIT = 100
USER_AGENT_MAX = 256
_BEARER = re.compile(r"Bearer +([\x21-\x7e]{1,4096})", re.IGNORECASE)
_DIGITS = re.compile(r"[0-9]{1,9}")
_RFC3339_LOCAL = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?")
_RFC3339 = re.compile(_RFC3339_LOCAL.pattern + r"([Zz]|[+-][0-9]{2}:[0-9]{2})")
_caller: ContextVar[str | None] = ContextVar("caller", default=None)
_TYPE_NAMES = {str: "a string", int: "a whole number", bool: "true or false", list: "a list", dict: "an object"}


class Credential(Enum):
    """Which credential a route takes; the value is how the reference names it."""

    NONE = "none"
    SESSION = "session token"
    ANY = "session token or API key"
    PENDING = "pending login token"


NONE, SESSION, ANY, PENDING = Credential.NONE, Credential.SESSION, Credential.ANY, Credential.PENDING


class Body:
    """A JSON object of known fields (unknown ones are refused).

    Of the fields named in ``exactly_one_of`` exactly one must be given (not null); of those in
    ``at_most_one_of``, one at most.
    """

    def __init__(
        self, *fields: Field, exactly_one_of: tuple[str, ...] = (), at_most_one_of: tuple[str, ...] = ()
    ) -> None:
        self.fields = fields
        self.exactly_one_of = exactly_one_of
        self.at_most_one_of = at_most_one_of

    @property
    def required(self) -> bool:
        """Whether a request must send this body (it has a required field or a one-of rule)."""
        return bool(self.exactly_one_of) or any(f.required for f in self.fields)


@dataclass(frozen=True)
class Field:
    """One field of a body: what the parser enforces and the reference documents, said once.

    ``type`` is str, int, bool, list, dict (an object of any fields) or a Body (a nested object of
    known fields). Lengths count the characters of
    a string or the items of a list; ``pattern`` must match a string whole; ``item`` describes each
    item of a list; ``rule`` is what the 400 says when a string breaks its pattern or lengths.
    ``date_time`` strings are RFC 3339 timestamps, handed to the route as seconds since the epoch.
    """

    name: str
    type: type | Body = str
    required: bool = True
    nullable: bool = False
    min_length: int | None = None
    max_length: int | None = None
    pattern: str | None = None
    enum: tuple[str, ...] | None = None
    minimum: int | None = None
    maximum: int | None = None
    item: Field | None = None
    date_time: bool = False
    rule: str | None = None


@dataclass(frozen=True)
class Declaration:
    """Everything about a route that the parser, the auth guard and the reference read."""

    path: str
    method: str  # lower case, as OpenAPI spells it
    operation_id: str
    summary: str
    credential: Credential
    body: Body | None
    recent: bool
    paged: bool
    status: int
    errors: tuple[int, ...]


# Every declared route by (path, method): filled as the route modules are imported.
DECLARATIONS: dict[tuple[str, str], Declaration] = {}


@dataclass
class Call:
    """One request to a declared route: who is calling, the checked body and the page asked for."""

    request: Request
    principal: Principal | None
    body: dict[str, Any]
    limit: int = MAX_LIMIT
    cursor: str | None = None

    @property
    def who(self) -> Principal:
        assert self.principal is not None, "this route takes no credential"
        return self.principal

    @property
    def address(self) -> str:
        return client_address(self.request)

    @property
    def actor(self) -> Actor:
        """Who is calling and from where, as events record it (no one, on routes without a credential)."""
        origin, who = self.origin, self.principal
        if who is None:
            return Actor(address=origin.address, user_agent=origin.user_agent)
        return Actor(who.user.username, who.via, who.api_key_prefix, origin.address, origin.user_agent)

    @property
    def origin(self) -> Origin:
        headers = self.request.headers
        agent = headers.get("user-agent") if headers else None
        return Origin(self.address, agent[:USER_AGENT_MAX] if agent else None)


View = Callable[..., Any]


class Routes:
    """A Blueprint whose routes are each declared once, in their decorator."""

    def __init__(self, import_name: str) -> None:
        self.bp = Blueprint(import_name)

    def route(
        self,
        path: str,
        methods: list[str],
        auth: Credential,
        body: Body | None = None,
        recent: bool = False,
        paged: bool = False,
        status: int = 200,
        errors: tuple[int, ...] = (),
    ) -> Callable[[View], View]:
        """Declare and register a route. Its view takes the Call, then the path's parameters.

        ``errors`` lists the statuses the route may answer beyond those its declaration implies
        (400 for a body or a page, 401 for a credential, 403 for a session-only or recent route,
        404 for a path with parameters, 415 for a body).
        """
        (method,) = methods

        def register(view: View) -> View:
            summary = (view.__doc__ or view.__name__).strip().splitlines()[0]
            declaration = Declaration(
                path, method.lower(), view.__name__, summary, auth, body, recent, paged, status, errors
            )
            DECLARATIONS[(path, declaration.method)] = declaration

            @functools.wraps(view)
            def handler(**params: str) -> Any:
                result = view(accept(declaration, self.bp.current_request), **params)
                if result is None:
                    return no_content()
                if isinstance(result, Response) or declaration.status == 200:
                    return result
                return reply(result, status=declaration.status)

            self.bp.route(path, methods=[method])(handler)
            return view

        return register


def accept(declaration: Declaration, request: Request) -> Call:
    """Authenticate and parse a request as its route's declaration says (401, 403, 400)."""
    principal = authenticate(request, declaration.credential)
    if declaration.recent:
        get_services().auth.require_recent(principal)
    # A route without fields takes no body, or an empty object.
    call = Call(request, principal, parse_body(request, declaration.body or Body()))
    if declaration.paged:
        call.limit, call.cursor = page_params(request)
    return call


def authenticate(request: Request, credential: Credential) -> Principal | None:
    """The caller, by the credential the route takes (None for routes that take none)."""
    if credential is NONE:
        return None
    auth = get_services().auth
    if credential is PENDING:
        principal = auth.authenticate_pending(bearer(request))
    else:
        principal = auth.authenticate(bearer(request), session_only=credential is SESSION)
    _caller.set(principal.user_id)  # for the request's log line
    return principal


def parse_body(request: Request, body: Body) -> dict[str, Any]:
    """The request's JSON object, checked against ``body``: 400 naming the field otherwise.

    Absent optional fields are left out of the result; ``date_time`` fields become seconds.
    """
    raw = request.raw_body or b""
    if isinstance(raw, str):
        raw = raw.encode()
    if not raw and not body.required:
        return {}  # a body whose every field is optional may be left out
    if len(raw) > MAX_BODY_BYTES:
        raise BadRequestError(f"body: at most {MAX_BODY_BYTES} bytes")
    try:
        value = json.loads(raw.decode("utf-8"), parse_constant=_refuse_constant)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise BadRequestError("body: not valid JSON") from None
    if not isinstance(value, dict):
        raise BadRequestError("body: must be a JSON object")
    return _check_object(value, body, "")


def _check_object(value: dict[str, Any], body: Body, prefix: str) -> dict[str, Any]:
    known = {f.name for f in body.fields}
    for name in value:
        if name not in known:
            raise invalid_field(prefix + name, "unknown field")
    checked: dict[str, Any] = {}
    for f in body.fields:
        if f.name in value:
            checked[f.name] = _check_value(value[f.name], f, prefix + f.name)
        elif f.required:
            raise invalid_field(prefix + f.name, "required")
    for group, at_most in ((body.exactly_one_of, False), (body.at_most_one_of, True)):
        given = [name for name in group if checked.get(name) is not None]
        if group and (len(given) > 1 or (not at_most and not given)):
            names = ", ".join(prefix + name for name in group)
            raise BadRequestError(f"{names}: give {'at most' if at_most else 'exactly'} one of them")
    return checked


def _check_value(value: Any, f: Field, name: str) -> Any:
    if value is None:
        if not f.nullable:
            raise invalid_field(name, f"must be {_type_name(f)}")
        return None
    if isinstance(f.type, Body):
        if not isinstance(value, dict):
            raise invalid_field(name, "must be an object")
        return _check_object(value, f.type, name + ".")
    if not isinstance(value, f.type) or (f.type is int and isinstance(value, bool)):
        raise invalid_field(name, f"must be {_type_name(f)}")
    if isinstance(value, (str, list)):
        unit = "items" if isinstance(value, list) else "characters"
        if f.min_length is not None and len(value) < f.min_length:
            raise invalid_field(name, f.rule or f"at least {f.min_length} {unit}")
        if f.max_length is not None and len(value) > f.max_length:
            raise invalid_field(name, f.rule or f"at most {f.max_length} {unit}")
    if isinstance(value, int) and not (
        (f.minimum is None or value >= f.minimum) and (f.maximum is None or value <= f.maximum)
    ):
        raise invalid_field(name, f"a whole number from {f.minimum} to {f.maximum}")
    if isinstance(value, str):
        if f.pattern is not None and not re.fullmatch(f.pattern, value):
            raise invalid_field(name, f.rule or "not in the expected form")
        if f.enum is not None and value not in f.enum:
            raise invalid_field(name, "one of " + ", ".join(f.enum))
        if f.date_time:
            return parse_timestamp(value, name)
    if isinstance(value, list) and f.item is not None:
        return [_check_value(v, f.item, name) for v in value]
    return value


def _type_name(f: Field) -> str:
    return "an object" if isinstance(f.type, Body) else _TYPE_NAMES[f.type]


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
    line per request (ids, route, status, latency; never a credential or a body) and its metrics
    (chalicelib/metrics.py: one EMF line)."""
    started = time.perf_counter()
    _caller.set(None)
    metrics.begin_request()
    cause = None
    try:
        response = get_response(event)
    except ApiError as exc:
        response = Response(
            body={"Code": exc.code, "Message": exc.message}, status_code=exc.status, headers=dict(exc.headers())
        )
        if isinstance(exc, ServiceUnavailableError):
            cause = exc.cause
    if event.path.startswith("/v1/") and event.path not in _CACHEABLE:
        response.headers.setdefault("Cache-Control", "no-store")
    context = event.context or {}
    latency_ms = round((time.perf_counter() - started) * 1000, 2)
    log_event(
        "request",
        request_id=context.get("requestId") or uuid.uuid4().hex,
        method=event.method,
        route=event.path,
        status=response.status_code,
        user_id=_caller.get(),
        latency_ms=latency_ms,
    )
    metrics.end_request(event.method, event.path, response.status_code, latency_ms, cause)
    return response
