"""TOTP (RFC 6238) codes, recovery codes and the setup QR code: pure functions, the time is a parameter.

Codes use the parameters every authenticator app expects (Google Authenticator, Authy, 1Password):
HMAC-SHA-1, 6 digits, 30-second steps. pyotp and segno are imported where they are used, so a
request that checks no code does not load them.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pyotp

TOTP_DIGITS = 6
TOTP_STEP_SECONDS = 30
TOTP_WINDOW = 1  # steps accepted either side of the current one (clock drift, slow typing)
SECRET_BYTES = 20  # 160 bits, as RFC 4226 recommends

RECOVERY_CODE_COUNT = 10
# Crockford's base32: no I, L, O or U, so nothing looks like 1 or 0; 16 characters carry 80 bits.
RECOVERY_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
RECOVERY_CODE_LENGTH = 16
RECOVERY_GROUP = 4
# What people type for the letters left out, as Crockford's decoding reads them.
_LOOK_ALIKES = str.maketrans({"O": "0", "I": "1", "L": "1"})
_SEPARATORS = str.maketrans("", "", "- \t")


def new_secret() -> str:
    """A fresh TOTP secret: 160 random bits, base32 without padding (32 characters)."""
    import base64

    return base64.b32encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii")


def provisioning_uri(secret: str, username: str, issuer: str) -> str:
    """The ``otpauth://totp/<issuer>:<username>?secret=…&issuer=<issuer>`` URI that apps scan."""
    return _totp(secret, TOTP_DIGITS).provisioning_uri(name=username, issuer_name=issuer)


def time_step(at: int) -> int:
    """The TOTP step (counter) that contains the moment ``at`` (seconds since the epoch)."""
    return at // TOTP_STEP_SECONDS


def code_at_step(secret: str, step: int, digits: int = TOTP_DIGITS) -> str:
    """The code of ``secret`` for one step."""
    return str(_totp(secret, digits).generate_otp(step))


def matching_step(
    secret: str, code: str, at: int, *, after: int = -1, digits: int = TOTP_DIGITS, window: int = TOTP_WINDOW
) -> int | None:
    """The step, within ``window`` steps of the one containing ``at`` and later than ``after``,
    whose code is ``code``; None if there is none. ``code`` must already be normalized.

    The latest matching step wins, so a code shared by two steps spends the later one.
    """
    if len(code) != digits or not code.isdigit():
        return None
    current = time_step(at)
    otp = _totp(secret, digits)
    found = None
    for step in range(max(current - window, after + 1, 0), current + window + 1):
        # Compare every candidate, in constant time, so timing tells nothing of which step matched.
        if hmac.compare_digest(str(otp.generate_otp(step)), code):
            found = step
    return found


def normalize_code(raw: str) -> str | None:
    """A typed TOTP code without spaces, or None if it is not 6 digits."""
    code = raw.translate(_SEPARATORS)
    return code if len(code) == TOTP_DIGITS and code.isascii() and code.isdigit() else None


def new_recovery_codes(count: int = RECOVERY_CODE_COUNT) -> list[str]:
    """``count`` fresh recovery codes of 80 random bits each, as ``XXXX-XXXX-XXXX-XXXX``."""
    codes = []
    for _ in range(count):
        raw = "".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(RECOVERY_CODE_LENGTH))
        codes.append("-".join(raw[i : i + RECOVERY_GROUP] for i in range(0, RECOVERY_CODE_LENGTH, RECOVERY_GROUP)))
    return codes


def normalize_recovery_code(raw: str) -> str | None:
    """A typed recovery code in its canonical form (any case, dashes and spaces ignored, O read as
    0 and I or L as 1), or None if it cannot be one."""
    code = raw.translate(_SEPARATORS).upper().translate(_LOOK_ALIKES)
    if len(code) != RECOVERY_CODE_LENGTH or any(c not in RECOVERY_ALPHABET for c in code):
        return None
    return code


def hash_recovery_code(code: str) -> str:
    """The stored form of a recovery code: SHA-256 of its canonical form, in hex.

    80 random bits make a fast hash enough: there is nothing to guess from a dictionary.
    """
    canonical = normalize_recovery_code(code)
    if canonical is None:
        raise ValueError("not a recovery code")
    return hashlib.sha256(canonical.encode("ascii")).hexdigest()


def qr_svg(uri: str) -> str:
    """An SVG document showing ``uri`` as a QR code (medium error correction, 4 px modules)."""
    import io

    import segno

    out = io.BytesIO()
    segno.make(uri, error="m").save(out, kind="svg", scale=4, border=4, xmldecl=False)
    return out.getvalue().decode("utf-8")


def _totp(secret: str, digits: int) -> pyotp.TOTP:
    import pyotp

    return pyotp.TOTP(secret, digits=digits, digest=hashlib.sha1, interval=TOTP_STEP_SECONDS)
