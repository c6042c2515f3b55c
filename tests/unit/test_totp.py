"""The TOTP helpers: RFC 6238 vectors, the accepted window, recovery codes and the setup QR code."""

from __future__ import annotations

import base64
import hashlib
import re
import xml.etree.ElementTree as ET

import pyotp
import pytest
import segno

from chalicelib.security import totp

RFC_SECRET = base64.b32encode(b"12345678901234567890").decode()  # RFC 6238's SHA-1 key, ASCII


@pytest.mark.parametrize(
    "at, code",
    [
        (59, "94287082"),
        (1111111109, "07081804"),
        (1111111111, "14050471"),
        (1234567890, "89005924"),
        (2000000000, "69279037"),
    ],
)
def test_rfc_6238_sha1_vectors(at: int, code: str) -> None:
    assert totp.matching_step(RFC_SECRET, code, at, digits=8, window=0) == at // 30
    # Apps show 6 digits: the same HOTP value, truncated modulo 10^6.
    assert totp.matching_step(RFC_SECRET, code[-6:], at, window=0) == at // 30
    assert totp.code_at_step(RFC_SECRET, at // 30) == code[-6:]


def test_one_step_either_side_is_accepted_and_no_more() -> None:
    secret = totp.new_secret()
    now = 2_000_000_015
    step = now // 30
    for offset in (-1, 0, 1):
        assert totp.matching_step(secret, totp.code_at_step(secret, step + offset), now) == step + offset
    for offset in (-3, -2, 2, 3):
        code = totp.code_at_step(secret, step + offset)
        if all(code != totp.code_at_step(secret, step + d) for d in (-1, 0, 1)):
            assert totp.matching_step(secret, code, now) is None


def test_steps_already_spent_are_not_matched() -> None:
    secret = totp.new_secret()
    now = 2_000_000_015
    step = now // 30
    code = totp.code_at_step(secret, step)
    assert totp.matching_step(secret, code, now, after=step - 1) == step
    assert totp.matching_step(secret, code, now, after=step) is None
    assert totp.matching_step(secret, totp.code_at_step(secret, step + 1), now, after=step) == step + 1


def test_codes_agree_with_pyotp_as_authenticator_apps_compute_them() -> None:
    secret = totp.new_secret()
    app = pyotp.TOTP(secret)  # the defaults every app uses: SHA-1, 6 digits, 30 s
    for at in (0, 59, 1_700_000_000, 2_000_000_000):
        assert totp.matching_step(secret, app.at(at), at, window=0) == at // 30


@pytest.mark.parametrize("raw", ["12345", "1234567", "12345a", "", "\uff11\uff12\uff13\uff14\uff15\uff16"])
def test_malformed_codes_are_refused(raw: str) -> None:
    assert totp.normalize_code(raw) is None


def test_codes_may_be_typed_with_spaces() -> None:
    assert totp.normalize_code(" 123 456 ") == "123456"


def test_secret_is_160_bits_of_base32() -> None:
    secret = totp.new_secret()
    assert re.fullmatch(r"[A-Z2-7]{32}", secret)
    assert len(base64.b32decode(secret)) == 20
    assert totp.new_secret() != secret


def test_provisioning_uri_has_the_contract_form() -> None:
    uri = totp.provisioning_uri("JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP", "alice", "Latchkey")
    assert uri == "otpauth://totp/Latchkey:alice?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&issuer=Latchkey"
    parsed = pyotp.parse_uri(uri)
    assert parsed.secret == "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP" and parsed.issuer == "Latchkey"


def test_recovery_codes_are_ten_unique_grouped_codes_of_80_bits() -> None:
    codes = totp.new_recovery_codes()
    assert len(codes) == 10 and len(set(codes)) == 10
    alphabet = totp.RECOVERY_ALPHABET
    assert len(alphabet) == 32 and not set("ILOU") & set(alphabet)
    for code in codes:
        assert re.fullmatch(r"[0-9A-Z]{4}(-[0-9A-Z]{4}){3}", code)
        assert all(c in alphabet for c in code.replace("-", ""))
    assert totp.RECOVERY_CODE_LENGTH * 5 >= 80  # 5 bits a character


def test_recovery_codes_are_normalized_before_hashing() -> None:
    code = "ABCD-EFGH-JKMN-0011"
    expected = hashlib.sha256(b"ABCDEFGHJKMN0011").hexdigest()
    for typed in (code, code.lower(), "abcd efgh jkmn 0011", "ABCDEFGHJKMN0011", "abcd-efgh-jkmn-OoIl"):
        assert totp.hash_recovery_code(typed) == expected
    assert code not in expected


@pytest.mark.parametrize(
    "raw", ["ABCD-EFGH-JKMN", "ABCD-EFGH-JKMN-PQRSX", "ABCD-EFGH-JKMN-PQRU", "\u00c4BCD-EFGH-JKMN-PQRS"]
)
def test_malformed_recovery_codes_are_refused(raw: str) -> None:
    assert totp.normalize_recovery_code(raw) is None


def svg_modules(svg: str) -> list[list[bool]]:
    """The dark modules of one of segno's SVGs, read back from its path (rows of the symbol)."""
    root = ET.fromstring(svg)  # noqa: S314 (our own output)
    width = int(root.attrib["width"])
    path = root.find("{http://www.w3.org/2000/svg}path")
    assert path is not None
    scale = float(re.fullmatch(r"scale\(([\d.]+)\)", path.attrib.get("transform", "scale(1)")).group(1))  # type: ignore[union-attr]
    size = round(width / scale)
    grid = [[False] * size for _ in range(size)]
    x = y = 0.0
    for command, a, b in re.findall(r"([MmHh])\s*(-?[\d.]+)(?:[\s,]+(-?[\d.]+))?", path.attrib["d"]):
        if command == "M":
            x, y = float(a), float(b)
        elif command == "m":
            x, y = x + float(a), y + float(b)
        else:
            end = float(a) if command == "H" else x + float(a)
            for column in range(round(x), round(end)):
                grid[int(y)][column] = True
            x = end
    return grid


def test_qr_code_encodes_the_uri() -> None:
    uri = totp.provisioning_uri(totp.new_secret(), "alice", "Latchkey")
    svg = totp.qr_svg(uri)
    assert svg.startswith("<svg") and 'xmlns="http://www.w3.org/2000/svg"' in svg
    expected = segno.make(uri, error="m")
    drawn = svg_modules(svg)
    border = 4
    symbol = [row[border:-border] for row in drawn[border:-border]]
    assert symbol == [[bool(m) for m in row] for row in expected.matrix]
    # and a QR code of anything else differs
    other = segno.make(uri.replace("alice", "mallory"), error="m")
    assert symbol != [[bool(m) for m in row] for row in other.matrix]
