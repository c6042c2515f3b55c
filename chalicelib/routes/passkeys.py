"""Passkeys (WebAuthn): register one from a recent session, list, rename and delete them, and log in
with one (no username needed, or as the second step after a password)."""

from __future__ import annotations

from typing import Any

from chalicelib.errors import invalid_field
from chalicelib.services import get_services
from chalicelib.services.views import passkey_view, token_view
from chalicelib.web import NONE, SESSION, Body, Call, Field, Routes

api = Routes(__name__)
bp = api.bp

PASSKEY_NAME_MAX = 64
# base64url, as the browser's toJSON() gives binary values (padding tolerated).
B64URL = "^[A-Za-z0-9_-]+={0,2}$"
B64URL_RULE = "base64url"


def b64(name: str, max_length: int, required: bool = True, nullable: bool = False) -> Field:
    return Field(
        name,
        required=required,
        nullable=nullable,
        min_length=1,
        max_length=max_length,
        pattern=B64URL,
        rule=B64URL_RULE,
    )


CREDENTIAL_ID = b64("id", 1400)  # WebAuthn ids are at most 1023 bytes
# The browser's PublicKeyCredential.toJSON() of navigator.credentials.create() and .get() (WebAuthn
# Level 3's RegistrationResponseJSON and AuthenticationResponseJSON).
_COMMON = (
    CREDENTIAL_ID,
    b64("rawId", 1400),
    Field("type", enum=("public-key",)),
    Field("authenticatorAttachment", required=False, nullable=True, max_length=32),
    Field("clientExtensionResults", dict, required=False),
)
ATTESTATION = Body(
    *_COMMON[:3],
    Field(
        "response",
        Body(
            b64("clientDataJSON", 8192),
            b64("attestationObject", 32768),
            Field("transports", list, required=False, max_length=16, item=Field("transports", max_length=32)),
            b64("authenticatorData", 32768, required=False),
            b64("publicKey", 8192, required=False, nullable=True),
            Field("publicKeyAlgorithm", int, required=False, minimum=-(2**31), maximum=2**31),
        ),
    ),
    *_COMMON[3:],
)
ASSERTION = Body(
    *_COMMON[:3],
    Field(
        "response",
        Body(
            b64("clientDataJSON", 8192),
            b64("authenticatorData", 8192),
            b64("signature", 2048),
            b64("userHandle", 256, required=False, nullable=True),
        ),
    ),
    *_COMMON[3:],
)
CHALLENGE_ID = b64("challenge_id", 128)
PENDING_TOKEN = Field("pending_token", required=False, nullable=True, min_length=1, max_length=4096)
NAME = Field("name", min_length=1, max_length=PASSKEY_NAME_MAX)
REGISTER = Body(CHALLENGE_ID, Field("credential", ATTESTATION), Field("name", required=False, max_length=64))
RENAME = Body(NAME)
LOGIN_OPTIONS = Body(PENDING_TOKEN)
LOGIN = Body(
    CHALLENGE_ID,
    Field("credential", ASSERTION),
    Field("device_token", required=False, nullable=True, min_length=1, max_length=256),
    PENDING_TOKEN,
)
DEFAULT_NAME = "Passkey"


def _name(value: str | None) -> str:
    name = DEFAULT_NAME if value is None else value
    if not name.strip():
        raise invalid_field("name", f"1-{PASSKEY_NAME_MAX} characters, not blank")
    return name


@api.route("/v1/user/passkeys/registration/options", methods=["POST"], auth=SESSION, recent=True, errors=(409,))
def passkey_registration_options(call: Call) -> dict[str, Any]:
    """Begin registering a passkey: a challenge for this session and the options for navigator.credentials.create."""
    made = get_services().passkeys.registration_options(call.who)
    return {"challenge_id": made.challenge_id, "options": made.options}


@api.route("/v1/user/passkeys", methods=["POST"], auth=SESSION, body=REGISTER, recent=True, status=201, errors=(409,))
def create_passkey(call: Call) -> dict[str, Any]:
    """Register a passkey: the browser's attestation for a challenge of this session, and a name."""
    body = call.body
    name = _name(body.get("name"))
    passkey = get_services().passkeys.register(call.who, body["challenge_id"], body["credential"], name, call.actor)
    return passkey_view(passkey)


@api.route("/v1/user/passkeys", methods=["GET"], auth=SESSION, paged=True)
def list_passkeys(call: Call) -> dict[str, Any]:
    """Your passkeys, oldest first."""
    passkeys, next_cursor = get_services().passkeys.page(call.who.user_id, call.limit, call.cursor)
    return {"passkeys": [passkey_view(p) for p in passkeys], "next_cursor": next_cursor}


@api.route("/v1/user/passkeys/{id}", methods=["PATCH"], auth=SESSION, body=RENAME, errors=(409,))
def rename_passkey(call: Call, id: str) -> dict[str, Any]:
    """Rename one of your passkeys."""
    return passkey_view(get_services().passkeys.rename(call.who, id, _name(call.body["name"]), call.actor))


@api.route("/v1/user/passkeys/{id}", methods=["DELETE"], auth=SESSION, recent=True, status=204)
def delete_passkey(call: Call, id: str) -> None:
    """Delete one of your passkeys: it signs in no more."""
    get_services().passkeys.delete(call.who, id, call.actor)


@api.route("/v1/login/passkey/options", methods=["POST"], auth=NONE, body=LOGIN_OPTIONS, errors=(401,))
def passkey_login_options(call: Call) -> dict[str, Any]:
    """Begin a passkey login: a challenge and the options for navigator.credentials.get."""
    made = get_services().passkeys.login_options(call.body.get("pending_token"))
    return {"challenge_id": made.challenge_id, "options": made.options}


@api.route("/v1/login/passkey", methods=["POST"], auth=NONE, body=LOGIN, errors=(401, 429))
def passkey_login(call: Call) -> dict[str, Any]:
    """Log in with a passkey (no username; or the second step after a password): as POST /v1/login's reply."""
    body = call.body
    token = get_services().passkeys.login(
        body["challenge_id"],
        body["credential"],
        call.origin,
        call.actor,
        device_token=body.get("device_token"),
        pending_token=body.get("pending_token"),
    )
    return token_view(token) | {"two_factor_required": False, "device_token": token.device_token}
