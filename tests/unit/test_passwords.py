"""argon2id password hashing."""

from chalicelib.security import passwords
from chalicelib.security.passwords import hash_password, verify_password


def test_hash_uses_argon2id_at_owasp_parameters() -> None:
    encoded = hash_password("a long enough password")
    assert encoded.startswith("$argon2id$v=19$m=19456,t=2,p=1$")


def test_verify_accepts_the_password_and_refuses_others() -> None:
    encoded = hash_password("a long enough password")
    assert verify_password(encoded, "a long enough password")
    assert not verify_password(encoded, "a long enough passworD")
    assert not verify_password(encoded, "")


def test_same_password_hashes_differently_each_time() -> None:
    assert hash_password("a long enough password") != hash_password("a long enough password")


def test_unknown_user_still_costs_one_verification() -> None:
    passwords._unknown_user_hash.cache_clear()
    assert not verify_password(None, "whatever password")
    # The stand-in hash was computed and verified against, as for a real user.
    assert passwords._unknown_user_hash.cache_info().currsize == 1
    assert not verify_password(None, "latchkey: no such user, same cost")


def test_malformed_hash_is_a_refusal_not_a_crash() -> None:
    assert not verify_password("not-a-hash", "a long enough password")
