"""Fuzzed passkey attestations and assertions (random bytes, random CBOR, a real response with
its parts replaced or its bytes flipped): a 4xx with a Code, never a 500."""

from __future__ import annotations

import dataclasses
from typing import Any

import cbor2
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chalicelib.config import Settings
from chalicelib.services import Services, use_services
from tests.conftest import Api, FakeClock
from tests.passkey_authenticator import SoftwareAuthenticator, b64, unb64

ORIGIN, RP_ID = "https://id.example.com", "id.example.com"

CBOR_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**64), 2**64 - 1) | st.binary(max_size=80) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4)
    | st.dictionaries(st.integers(-5, 5) | st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
B64_BYTES = st.binary(max_size=400).map(b64).filter(bool)
# What replaces a part of a real response: random bytes, random CBOR, or a CBOR attestation object
# whose authData is random (the shapes py_webauthn parses by hand).
REPLACEMENTS = st.one_of(
    B64_BYTES,
    CBOR_VALUES.map(lambda v: b64(cbor2.dumps(v)) or "AA"),
    st.binary(max_size=300).map(lambda data: b64(cbor2.dumps({"fmt": "none", "attStmt": {}, "authData": data}))),
    st.binary(max_size=120).map(
        lambda data: b64(cbor2.dumps({"fmt": "packed", "attStmt": {"alg": -7}, "authData": data}))
    ),
)


@pytest.fixture
def services(settings: Settings, clock: FakeClock) -> Services:
    built = Services(dataclasses.replace(settings, public_url=ORIGIN, login_failures_per_address_per_hour=10**6), clock)
    use_services(built)
    return built


def mutate(credential: dict[str, Any], part: str, how: str, value: str, position: int) -> dict[str, Any]:
    response = dict(credential["response"])
    if how == "replace":
        response[part] = value
    else:  # flip one byte of the real value
        raw = bytearray(unb64(response[part]))
        raw[position % len(raw)] ^= 1 + position % 255
        response[part] = b64(bytes(raw))
    return credential | {"response": response}


def refused(reply: Any) -> None:
    assert 400 <= reply.status < 500 and reply.body.get("Code"), (reply.status, reply.body)


# The tables are shared by the examples; each takes a new challenge.
FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@FUZZ
@given(
    part=st.sampled_from(["clientDataJSON", "attestationObject"]),
    how=st.sampled_from(["replace", "flip"]),
    value=REPLACEMENTS,
    position=st.integers(0, 10_000),
)
def test_fuzzed_attestations_are_refused_never_a_500(
    api: Api, alice: str, part: str, how: str, value: str, position: int
) -> None:
    options = api.post("/v1/user/passkeys/registration/options", token=alice).body
    credential = SoftwareAuthenticator(ORIGIN, RP_ID).create(options["options"])
    body = {"challenge_id": options["challenge_id"], "credential": mutate(credential, part, how, value, position)}
    reply = api.post("/v1/user/passkeys", body, token=alice)
    if reply.status != 201:  # a flipped byte may land where nothing is checked (an unused flag)
        refused(reply)


@pytest.fixture
def registered(api: Api, alice: str) -> SoftwareAuthenticator:
    authenticator = SoftwareAuthenticator(ORIGIN, RP_ID)
    options = api.post("/v1/user/passkeys/registration/options", token=alice).body
    credential = authenticator.create(options["options"])
    assert (
        api.post(
            "/v1/user/passkeys", {"challenge_id": options["challenge_id"], "credential": credential}, token=alice
        ).status
        == 201
    )
    return authenticator


@FUZZ
@given(
    part=st.sampled_from(["clientDataJSON", "authenticatorData", "signature", "userHandle"]),
    how=st.sampled_from(["replace", "flip"]),
    value=REPLACEMENTS,
    position=st.integers(0, 10_000),
)
def test_fuzzed_assertions_are_refused_never_a_500(
    api: Api, registered: SoftwareAuthenticator, part: str, how: str, value: str, position: int
) -> None:
    options = api.post("/v1/login/passkey/options").body
    credential = mutate(registered.get(options["options"]), part, how, value, position)
    reply = api.post("/v1/login/passkey", {"challenge_id": options["challenge_id"], "credential": credential})
    if reply.status != 200:
        refused(reply)


@FUZZ
@given(
    credential=st.dictionaries(
        st.sampled_from(["id", "rawId", "type", "response"]),
        CBOR_VALUES.map(str) | B64_BYTES | st.dictionaries(st.text(max_size=20), B64_BYTES, max_size=4),
    )
)
def test_arbitrary_credential_objects_are_400s(api: Api, alice: str, credential: dict[str, Any]) -> None:
    options = api.post("/v1/login/passkey/options").body
    reply = api.post("/v1/login/passkey", {"challenge_id": options["challenge_id"], "credential": credential})
    refused(reply)
