"""A software passkey authenticator for the tests: an EC P-256 key (cryptography), "none"
attestation with CBOR (cbor2) authenticator data, and assertions signed with the key, as a browser
hands them to a relying party (PublicKeyCredential.toJSON())."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from typing import Any

import cbor2
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

UP, UV, BE, BS, AT = 0x01, 0x04, 0x08, 0x10, 0x40


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class SoftwareAuthenticator:
    """One passkey on one authenticator: ``create`` registers it, ``get`` signs in with it."""

    def __init__(self, origin: str, rp_id: str) -> None:
        self.origin = origin
        self.rp_id = rp_id
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.credential_id = secrets.token_bytes(32)
        self.counter = 0
        self.user_handle: str | None = None

    @property
    def id(self) -> str:
        return b64(self.credential_id)

    def cose_key(self) -> bytes:
        numbers = self.key.public_key().public_numbers()
        # COSE_Key: kty EC2 (2), alg ES256 (-7), crv P-256 (1), x, y.
        return bytes(
            cbor2.dumps({1: 2, 3: -7, -1: 1, -2: numbers.x.to_bytes(32, "big"), -3: numbers.y.to_bytes(32, "big")})
        )

    def client_data(self, kind: str, challenge: str, origin: str | None = None) -> bytes:
        data = {"type": kind, "challenge": challenge, "origin": origin or self.origin, "crossOrigin": False}
        return json.dumps(data).encode()

    def create(
        self, options: dict[str, Any], origin: str | None = None, rp_id: str | None = None, flags: int = UP | UV | BE
    ) -> dict[str, Any]:
        """The RegistrationResponseJSON for ``options`` (PublicKeyCredentialCreationOptionsJSON)."""
        self.user_handle = options["user"]["id"]
        rp_hash = hashlib.sha256((rp_id or self.rp_id).encode()).digest()
        attested = bytes(16) + len(self.credential_id).to_bytes(2, "big") + self.credential_id + self.cose_key()
        auth_data = rp_hash + bytes([flags | AT]) + self.counter.to_bytes(4, "big") + attested
        attestation = cbor2.dumps({"fmt": "none", "attStmt": {}, "authData": auth_data})
        return {
            "id": self.id,
            "rawId": self.id,
            "type": "public-key",
            "response": {
                "clientDataJSON": b64(self.client_data("webauthn.create", options["challenge"], origin)),
                "attestationObject": b64(attestation),
                "transports": ["internal", "hybrid"],
            },
            "authenticatorAttachment": "platform",
            "clientExtensionResults": {},
        }

    def get(
        self,
        options: dict[str, Any],
        origin: str | None = None,
        rp_id: str | None = None,
        counter: int | None = None,
        flags: int = UP | UV | BE,
        forge: bool = False,
    ) -> dict[str, Any]:
        """The AuthenticationResponseJSON for ``options``; the counter goes up by one unless
        ``counter`` says what to claim; ``forge`` signs with another key."""
        self.counter = self.counter + 1 if counter is None else counter
        rp_hash = hashlib.sha256((rp_id or self.rp_id).encode()).digest()
        auth_data = rp_hash + bytes([flags]) + self.counter.to_bytes(4, "big")
        client_data = self.client_data("webauthn.get", options["challenge"], origin)
        key = ec.generate_private_key(ec.SECP256R1()) if forge else self.key
        signature = key.sign(auth_data + hashlib.sha256(client_data).digest(), ec.ECDSA(hashes.SHA256()))
        return {
            "id": self.id,
            "rawId": self.id,
            "type": "public-key",
            "response": {
                "clientDataJSON": b64(client_data),
                "authenticatorData": b64(auth_data),
                "signature": b64(signature),
                "userHandle": self.user_handle,
            },
            "authenticatorAttachment": "platform",
            "clientExtensionResults": {},
        }
