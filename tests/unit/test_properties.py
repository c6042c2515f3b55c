"""Property-based tests of the parsers and validators: whatever arrives, they answer with the
contract's errors (chalicelib/errors.py) or a value, never with anything else."""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st
from jsonschema import FormatChecker

from chalicelib.errors import ApiError, BadRequestError, UnauthorizedError
from chalicelib.openapi import document
from chalicelib.rules import check_email, check_username
from chalicelib.security.api_keys import BASE62, PREFIX, RANDOM_LENGTH, generate_api_key, has_valid_checksum
from chalicelib.security.api_keys import _checksum as checksum
from chalicelib.security.tokens import InvalidTokenError, verify_token
from chalicelib.services.passwords import check_password
from chalicelib.services.views import timestamp
from chalicelib.store.dynamo import InvalidCursorError, decode_cursor, encode_cursor
from chalicelib.web import MAX_BODY_BYTES, Body, Field, bearer, page_params, parse_body, parse_timestamp

DATE_TIME = FormatChecker(["date-time"])
# Examples per property: enough to find the classic mistakes, small enough for CI on 2 cores.
EXAMPLES = 300
FIELDS = Body(
    Field("name", max_length=64),
    Field("description", required=False, nullable=True, max_length=256),
    Field("count", type=int, required=False),
    Field("flag", type=bool, required=False),
    Field("ids", type=list, required=False, max_length=100),
)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=12), inner, max_size=5),
    max_leaves=25,
)
FIELD_VALUES = st.none() | st.booleans() | st.integers() | st.text(max_size=300) | st.lists(st.text(), max_size=120)
BODIES = st.dictionaries(
    st.sampled_from(["name", "description", "count", "flag", "ids"]) | st.text(max_size=8), FIELD_VALUES, max_size=6
)


@dataclass
class FakeRequest:
    """The two attributes of Chalice's Request that the parsers read."""

    raw_body: bytes | str | None = None
    query_params: dict[str, str] | None = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)


def only_contract_errors(call: Any, *args: Any) -> Any:
    """Run ``call``; any exception but the API's own fails the test."""
    try:
        return call(*args)
    except ApiError as exc:
        assert exc.status < 500, exc
        return exc


@settings(max_examples=EXAMPLES)
@given(st.binary(max_size=400))
@example(b"[" * 100_000)  # nesting deeper than the JSON decoder's recursion limit
@example(b"1" * 5000)  # an integer longer than Python converts
@example(b'{"name": NaN}')
@example(b"\xff\xfe{}")
def test_parse_body_of_arbitrary_bytes(raw: bytes) -> None:
    only_contract_errors(parse_body, FakeRequest(raw), FIELDS)


@settings(max_examples=EXAMPLES)
@given(JSON_VALUES)
def test_parse_body_of_arbitrary_json(value: Any) -> None:
    outcome = only_contract_errors(parse_body, FakeRequest(json.dumps(value)), FIELDS)
    if not isinstance(outcome, ApiError):
        assert isinstance(value, dict) and value == outcome


@settings(max_examples=EXAMPLES)
@given(BODIES)
def test_parse_body_accepts_exactly_the_declared_shape(body: dict[str, Any]) -> None:
    outcome = only_contract_errors(parse_body, FakeRequest(json.dumps(body)), FIELDS)
    known = {f.name: f for f in FIELDS.fields}

    def fits(f: Field, value: Any) -> bool:
        if value is None:
            return f.nullable
        if f.type is int and isinstance(value, bool):
            return False
        if not isinstance(value, f.type):
            return False
        return f.max_length is None or not isinstance(value, (str, list)) or len(value) <= f.max_length

    valid = set(body) <= set(known) and "name" in body and all(fits(known[k], v) for k, v in body.items())
    assert (outcome == body) if valid else isinstance(outcome, BadRequestError)


def test_parse_body_refuses_a_body_over_the_limit() -> None:
    with pytest.raises(BadRequestError, match="body"):
        parse_body(FakeRequest(b" " * (MAX_BODY_BYTES + 1)), FIELDS)


@settings(max_examples=EXAMPLES)
@given(st.dictionaries(st.sampled_from(["limit", "cursor", "other"]), st.text(max_size=2100), max_size=3))
@example({"limit": "²"})  # a digit to str.isdigit, not to int()
@example({"limit": "\u0661\u0660"})  # Arabic-Indic digits, which int() would take
@example({"limit": "0100"})
def test_page_params_of_arbitrary_query_strings(params: dict[str, str]) -> None:
    outcome = only_contract_errors(page_params, FakeRequest(query_params=params))
    if isinstance(outcome, ApiError):
        return
    limit, cursor = outcome
    assert 1 <= limit <= 100
    raw = params.get("limit")
    assert raw is None or (raw.isascii() and raw.isdigit() and int(raw) == limit)
    assert cursor == (params.get("cursor") or None)


@settings(max_examples=EXAMPLES)
@given(st.text(max_size=60))
@example("9999-12-31T23:59:59-23:59")
@example("0001-01-01T00:00:00+23:59")
@example("2026-11-27T18:00:00")
@example("2026-11-27 18:00:00z")
@example("2026-W48-5T18:00:00+00:00")  # ISO 8601 forms that fromisoformat takes and RFC 3339 does not
@example("20261127T180000+00:00")
@example("2026-11-27T18:00+00:00")
@example("2026-11-27T18:00:00.5z")
def test_parse_timestamp_of_arbitrary_text(text: str) -> None:
    outcome = only_contract_errors(parse_timestamp, text, "expires_at")
    if isinstance(outcome, ApiError):
        assert outcome.message.startswith("expires_at: ")
    else:
        assert isinstance(outcome, int)
        # The app never accepts a timestamp that the API reference (format: date-time) refuses.
        assert DATE_TIME.conforms(text, "date-time"), text


@settings(max_examples=100)  # time zones are slow to draw
@given(st.datetimes(timezones=st.timezones()).map(lambda d: d.isoformat(timespec="seconds")))
def test_parse_timestamp_accepts_rfc3339_with_any_offset(text: str) -> None:
    assume(DATE_TIME.conforms(text, "date-time"))
    assert isinstance(parse_timestamp(text, "expires_at"), int)


@settings(max_examples=EXAMPLES)
@given(st.integers(min_value=0, max_value=253402300799))
def test_timestamps_round_trip(seconds: int) -> None:
    text = timestamp(seconds)
    assert text is not None and text.endswith("Z") and len(text) == 20
    assert parse_timestamp(text, "t") == seconds


@settings(max_examples=EXAMPLES)
@given(st.text(max_size=300), st.text(max_size=300), st.text(max_size=300))
def test_signup_validators_of_arbitrary_text(username: str, email: str, password: str) -> None:
    for check, args in (
        (check_username, (username,)),
        (check_email, (email,)),
        (check_password, (password, username, email)),
    ):
        outcome = only_contract_errors(check, *args)
        if isinstance(outcome, ApiError):
            assert isinstance(outcome, BadRequestError)
            assert outcome.message.split(":")[0] in ("username", "email", "password")


def signup_schema(field: str) -> dict[str, Any]:
    signup = document()["paths"]["/v1/signup"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    return dict(signup["properties"][field])


@settings(max_examples=EXAMPLES)
@given(st.emails() | st.text(max_size=40) | st.from_regex(r"[^@]{1,8}@[^@]{1,8}\.[^@]{1,5}", fullmatch=True))
@example("a\x7f@b.co")
@example("a\ufeff@b.co")
def test_the_reference_accepts_every_email_the_app_accepts(email: str) -> None:
    if isinstance(only_contract_errors(check_email, email), ApiError):
        return
    schema = signup_schema("email")
    assert schema["minLength"] <= len(email) <= schema["maxLength"] and re.search(schema["pattern"], email), email


@settings(max_examples=EXAMPLES)
@given(st.from_regex(r"[A-Za-z][A-Za-z0-9_]{2,31}", fullmatch=True))
def test_every_username_of_the_contract_is_accepted_unless_reserved(username: str) -> None:
    outcome = only_contract_errors(check_username, username)
    reserved = username.lower() in {"root", "admin", "administrator", "system", "support", "me"}
    assert isinstance(outcome, BadRequestError) == reserved


CURSOR_TEXT = st.text(max_size=200) | st.binary(max_size=150).map(
    lambda raw: base64.urlsafe_b64encode(raw).decode().rstrip("=")
)


@settings(max_examples=EXAMPLES)
@given(CURSOR_TEXT)
@example(encode_cursor({"user_id": "u1", "key_id": "k1"}))
@example("W" * 2048)
def test_decode_cursor_of_arbitrary_text(cursor: str) -> None:
    try:
        key = decode_cursor(cursor, ["user_id", "key_id"], {"user_id": "u1"})
    except InvalidCursorError:
        return
    assert set(key) == {"user_id", "key_id"} and key["user_id"] == "u1"


@settings(max_examples=EXAMPLES)
@given(st.integers(min_value=1, max_value=2000))
def test_decode_cursor_of_deeply_nested_json(depth: int) -> None:
    cursor = base64.urlsafe_b64encode(b"[" * depth + b"]" * depth).decode()
    with pytest.raises(InvalidCursorError):
        decode_cursor(cursor, ["user_id"], {})


@settings(max_examples=EXAMPLES)
@given(st.dictionaries(st.sampled_from(["user_id", "key_id"]), st.text(min_size=1, max_size=40), min_size=2))
def test_cursors_round_trip(key: dict[str, str]) -> None:
    assert decode_cursor(encode_cursor(key), ["user_id", "key_id"], {"user_id": key["user_id"]}) == key


@settings(max_examples=EXAMPLES)
@given(st.text(max_size=5000))
@example("Bearer " + "x" * 4097)
@example("bearer\tabc")
def test_bearer_of_arbitrary_headers(header: str) -> None:
    outcome = only_contract_errors(bearer, FakeRequest(headers={"authorization": header}))
    if isinstance(outcome, ApiError):
        assert isinstance(outcome, UnauthorizedError)
    else:
        assert outcome and header.strip().lower().startswith("bearer ")


@settings(max_examples=EXAMPLES)
@given(st.text(max_size=300) | st.lists(st.text("AZaz09-_=", max_size=60), min_size=3, max_size=3).map(".".join))
@example("eyJhbGciOiJub25lIn0.eyJzdWIiOiJ1In0.")
def test_verify_token_of_arbitrary_text(token: str) -> None:
    with pytest.raises(InvalidTokenError):
        verify_token(token, b"k" * 48, 2_000_000_000)


@settings(max_examples=EXAMPLES)
@given(st.text(max_size=60) | st.text("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_", max_size=45))
@example("lk_" + "A" * 38)
@example("lk_" + "\u0661" * 38)  # digits to str.isdigit, not base62
def test_api_key_checksum_of_arbitrary_text(text: str) -> None:
    assert has_valid_checksum(text) in (True, False)


@settings(max_examples=EXAMPLES)
@given(st.data())
def test_every_single_character_change_or_truncation_of_a_key_fails_its_checksum(data: st.DataObject) -> None:
    # A key drawn by hypothesis (not by secrets), so that every example can be replayed.
    random_part = data.draw(st.text(BASE62, min_size=RANDOM_LENGTH, max_size=RANDOM_LENGTH))
    key = PREFIX + random_part + checksum(PREFIX + random_part)
    assert has_valid_checksum(key) and len(key) == len(generate_api_key())
    position = data.draw(st.integers(min_value=0, max_value=len(key) - 1))
    replacement = data.draw(st.characters(codec="utf-8").filter(lambda c: c != key[position]))
    assert not has_valid_checksum(key[:position] + replacement + key[position + 1 :])
    assert not has_valid_checksum(key[: data.draw(st.integers(min_value=0, max_value=len(key) - 1))])


# --- scoped keys: effective permissions are role ∩ scope -----------------------------------------

_ROLES = st.sampled_from(["owner", "developer", "operator", "observer", "nobody"])
_PERMISSION_SETS = st.none() | st.lists(
    st.sampled_from(["read", "write", "operate", "manage_collaborators", "delete"]), min_size=1, unique=True
)


@settings(max_examples=EXAMPLES)
@given(_ROLES, _PERMISSION_SETS, st.none() | st.lists(st.sampled_from(["A" * 26, "B" * 26]), min_size=1))
def test_a_scope_never_grants_what_the_role_lacks(role: str, permissions: list[str] | None, apps: Any) -> None:
    from chalicelib.rules import PERMISSIONS
    from chalicelib.services.applications import Access, effective_permissions
    from chalicelib.store.api_keys import Scope
    from chalicelib.store.applications import Application
    from chalicelib.store.grants import Grant

    scope = Scope(tuple(apps) if apps else None, tuple(permissions) if permissions is not None else None)
    role_permissions = set(PERMISSIONS.get(role, ()))
    wanted = role_permissions if permissions is None else role_permissions & set(permissions)
    got = effective_permissions(role, scope)
    assert set(got) == wanted and len(got) == len(set(got))
    access = Access(Application("A" * 26, "app", None, "u", "owner", 0), Grant("A" * 26, "u", "u", role, 0), scope)
    assert access.permissions == got
    for permission in ("read", "write", "operate", "manage_collaborators", "delete"):
        try:
            access.require(permission)
            allowed = True
        except Exception:
            allowed = False
        assert allowed == (permission in wanted)
