"""API keys: their format, their checksum, and what is stored instead of them."""

from __future__ import annotations

import hashlib
import math
import re
import zlib

import pytest

from chalicelib.security.api_keys import (
    BASE62,
    RANDOM_LENGTH,
    display_prefix,
    generate_api_key,
    has_valid_checksum,
    hash_api_key,
)


def test_a_key_is_lk_then_32_random_base62_characters_then_a_6_character_checksum() -> None:
    key = generate_api_key()
    assert re.fullmatch(r"lk_[0-9A-Za-z]{32}[0-9A-Za-z]{6}", key)
    assert RANDOM_LENGTH * math.log2(len(BASE62)) >= 190
    assert has_valid_checksum(key)


def test_the_checksum_is_the_crc32_of_everything_before_it_in_base62() -> None:
    key = generate_api_key()
    value = 0
    for char in key[-6:]:
        value = value * 62 + BASE62.index(char)
    assert value == zlib.crc32(key[:-6].encode())


def test_keys_are_unique_and_use_the_whole_alphabet() -> None:
    keys = [generate_api_key() for _ in range(2000)]
    assert len(set(keys)) == len(keys)
    assert set("".join(k[3:35] for k in keys)) == set(BASE62)


def test_changing_any_one_character_breaks_the_checksum() -> None:
    key = generate_api_key()
    for position, original in enumerate(key):
        for replacement in BASE62 + "_-.":
            if replacement != original:
                typo = key[:position] + replacement + key[position + 1 :]
                assert not has_valid_checksum(typo), (position, replacement)


def test_swapping_neighbouring_characters_breaks_the_checksum() -> None:
    key = generate_api_key()
    for i in range(3, len(key) - 1):
        if key[i] != key[i + 1]:
            swapped = key[:i] + key[i + 1] + key[i] + key[i + 2 :]
            assert not has_valid_checksum(swapped)


@pytest.mark.parametrize(
    "candidate",
    ["", "lk_", "lk_" + "a" * 38, "LK_" + "a" * 38, "xx_" + "a" * 38, " lk_" + "a" * 38, "lk_" + "é" * 38],
)
def test_made_up_or_malformed_keys_fail_the_checksum(candidate: str) -> None:
    assert not has_valid_checksum(candidate)


def test_a_key_that_is_too_long_or_too_short_fails_even_with_a_matching_checksum() -> None:
    key = generate_api_key()
    for body in (key[:-7], key[:-6] + "x"):
        value = zlib.crc32(body.encode())
        digits = ""
        for _ in range(6):
            value, digit = divmod(value, 62)
            digits = BASE62[digit] + digits
        assert not has_valid_checksum(body + digits)


def test_the_stored_hash_is_the_sha256_of_the_key_and_the_prefix_its_first_8_characters() -> None:
    key = generate_api_key()
    assert hash_api_key(key) == hashlib.sha256(key.encode()).hexdigest()
    assert key not in hash_api_key(key)
    assert display_prefix(key) == key[:8] and display_prefix(key).startswith("lk_")
