"""The users table: ``USER#<id>`` holds a user; ``USERNAME#<lower>`` and ``EMAIL#<lower>`` claim
uniqueness, written in the same transaction as the user. ``DELETED#<id>`` is the tombstone of an
account whose deletion has begun and not yet finished (services/deletion.py).

TOTP secrets are stored as the two-factor service hands them over: KMS ciphertexts (binary). A
secret stored before they were encrypted is a base32 string, until its first use re-encrypts it
(or scripts/encrypt_totp_secrets.py does).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from boto3.dynamodb.types import Binary

from chalicelib.config import Settings
from chalicelib.store import dynamo
from chalicelib.store.tables import USERS, expiry_attributes

# A TOTP secret as stored: a KMS ciphertext, or (stored before encryption) the base32 secret itself.
StoredSecret = bytes | str


@dataclass(frozen=True)
class User:
    user_id: str
    username: str
    email: str
    password_hash: str
    created_at: int
    # Two-factor state, managed by the two-factor service.
    totp_secret: StoredSecret | None = None
    totp_last_step: int = 0
    recovery_hashes: tuple[str, ...] = field(default_factory=tuple)
    pending_totp_secret: StoredSecret | None = None
    pending_totp_expires_at: int = 0
    email_verified: bool = False
    # The WebAuthn user handle (base64url of 64 random bytes), made once at the first passkey
    # registration: what authenticators store for the account instead of any name.
    passkey_user_handle: str | None = None

    @property
    def two_factor_enabled(self) -> bool:
        return self.totp_secret is not None


@dataclass(frozen=True)
class Tombstone:
    """An account deletion begun and not finished: enough to find what is left of the user (every
    store finds a user's records by the id; the hour of the deletion names its counters)."""

    user_id: str
    deleted_at: int


class UsernameTakenError(Exception):
    pass


class EmailTakenError(Exception):
    pass


def _user_key(user_id: str) -> dict[str, str]:
    return {"pk": f"USER#{user_id}"}


def _username_key(username: str) -> dict[str, str]:
    return {"pk": f"USERNAME#{username.lower()}"}


def _email_key(email: str) -> dict[str, str]:
    return {"pk": f"EMAIL#{email.lower()}"}


def _tombstone_key(user_id: str) -> dict[str, str]:
    return {"pk": f"DELETED#{user_id}"}


def tombstone_user_id(key: dict[str, Any]) -> str:
    """The user id of a tombstone's key (as the purge finds it in the expiry index)."""
    return str(key["pk"]).removeprefix("DELETED#")


def _parse_tombstone(item: dict[str, Any]) -> Tombstone:
    return Tombstone(user_id=item["user_id"], deleted_at=item["deleted_at"])


def _parse_user(item: dict[str, Any]) -> User:
    return User(
        user_id=item["user_id"],
        username=item["username"],
        email=item["email"],
        password_hash=item["password_hash"],
        created_at=item["created_at"],
        totp_secret=_stored_secret(item.get("totp_secret")),
        totp_last_step=item.get("totp_last_step", 0),
        recovery_hashes=tuple(sorted(item.get("recovery_hashes", ()))),
        pending_totp_secret=_stored_secret(item.get("pending_totp_secret")),
        pending_totp_expires_at=item.get("pending_totp_expires_at", 0),
        email_verified=bool(item.get("email_verified", False)),
        passkey_user_handle=item.get("passkey_user_handle"),
    )


def _stored_secret(value: Any) -> StoredSecret | None:
    """A secret attribute as stored: bytes for a ciphertext (boto3 reads binary as Binary), or str."""
    if isinstance(value, Binary):
        return bytes(value.value)  # type: ignore[attr-defined]  # the stubs omit it
    return value if isinstance(value, (bytes, str)) else None


def _parse_claim(item: dict[str, Any]) -> str:
    return str(item["user_id"])


class UserStore:
    def __init__(self, settings: Settings) -> None:
        self.table = settings.table_name(USERS.name)

    def ref(self, user_id: str) -> dynamo.Ref[User]:
        return dynamo.Ref(self.table, _user_key(user_id), _parse_user)

    def get(self, user_id: str) -> User | None:
        user: User | None = dynamo.get_many(self.ref(user_id))[0]
        return user

    def find_id(self, login: str) -> str | None:
        """The id of the user whose username or (if ``login`` has an @) email is ``login``, any case."""
        key = _email_key(login) if "@" in login else _username_key(login)
        user_id: str | None = dynamo.get_many(dynamo.Ref(self.table, key, _parse_claim))[0]
        return user_id

    def create(self, user: User, with_entries: Sequence[dict[str, Any]] = ()) -> None:
        """Store a new user and claim its username and email in one transaction (with
        ``with_entries``: the event that records it).

        Raises UsernameTakenError or EmailTakenError if another user holds either, also when two
        sign-ups race: the transaction lets exactly one of them in.
        """
        absent = "attribute_not_exists(pk)"
        claim = {"user_id": user.user_id, "created_at": user.created_at}
        record = {
            "user_id": user.user_id,
            "username": user.username,
            "email": user.email,
            "password_hash": user.password_hash,
            "created_at": user.created_at,
            "email_verified": user.email_verified,
        }
        items = [
            _user_key(user.user_id) | record,
            _username_key(user.username) | claim,
            _email_key(user.email) | claim,
        ]
        request = [
            {"Put": {"TableName": self.table, "Item": dynamo.to_item(i), "ConditionExpression": absent}} for i in items
        ]
        dynamo.transact([*request, *with_entries], on_condition_failure=self._taken(user))

    @staticmethod
    def _taken(user: User) -> dynamo.ConditionFailureHandler:
        def raise_taken(failed: list[int]) -> None:
            if 1 in failed:
                raise UsernameTakenError(user.username)
            if 2 in failed:
                raise EmailTakenError(user.email)

        return raise_taken

    # Two-factor state. Every change is one conditional UpdateItem on the user's item: the condition
    # names the state the service checked, so a change made meanwhile (a restarted setup, a code
    # spent by a simultaneous request, a disable) makes the write fail instead of being overwritten.
    # Secrets are compared as stored: a ciphertext is the bytes read (KMS never makes the same one
    # twice), so the service passes back what it read. Where a write names a ``replacement``, a
    # secret read in plain text is replaced by that ciphertext in the same write.

    def start_totp_setup(self, user_id: str, secret: bytes, expires_at: int) -> bool:
        """Store (or replace) a pending TOTP setup with an encrypted secret. False if two-factor is on."""
        return self._update(
            user_id,
            "SET pending_totp_secret = :secret, pending_totp_expires_at = :expires",
            "attribute_exists(pk) AND attribute_not_exists(totp_secret)",
            {":secret": secret, ":expires": expires_at},
        )

    def enable_totp(
        self,
        user_id: str,
        pending: StoredSecret,
        secret: bytes,
        step: int,
        recovery_hashes: list[str],
        now: int,
        with_entries: Sequence[dict[str, Any]] = (),
    ) -> bool:
        """Turn the pending setup stored as ``pending`` into the user's second factor, encrypted as
        ``secret``, with ``step`` already spent. False if that setup is no longer pending and live."""
        return self._update(
            user_id,
            "SET totp_secret = :secret, totp_last_step = :step, recovery_hashes = :hashes "
            "REMOVE pending_totp_secret, pending_totp_expires_at",
            "attribute_not_exists(totp_secret) AND pending_totp_secret = :pending AND pending_totp_expires_at > :now",
            {":pending": pending, ":secret": secret, ":step": step, ":hashes": set(recovery_hashes), ":now": now},
            with_entries,
        )

    def spend_second_factor(
        self,
        user_id: str,
        secret: StoredSecret,
        factor: SecondFactor,
        replacement: bytes | None = None,
        with_entries: Sequence[dict[str, Any]] = (),
    ) -> bool:
        """Spend a checked TOTP step (only if later than the last one spent) or recovery code (only
        if still unused). False if it was spent already, or two-factor changed meanwhile."""
        condition, values = _factor_condition(secret, factor)
        sets = _replacing(replacement, values)
        if factor.step is not None:
            update = "SET " + ", ".join(["totp_last_step = :step", *sets])
        else:
            update = ("SET " + ", ".join(sets) + " " if sets else "") + "DELETE recovery_hashes :spent"
            values[":spent"] = {factor.recovery_hash}
        return self._update(user_id, update, condition, values, with_entries)

    def replace_recovery_codes(
        self,
        user_id: str,
        secret: StoredSecret,
        factor: SecondFactor,
        hashes: list[str],
        replacement: bytes | None = None,
        with_entries: Sequence[dict[str, Any]] = (),
    ) -> bool:
        """Spend ``factor`` and replace every recovery code, in one write. False as for spending."""
        condition, values = _factor_condition(secret, factor)
        sets = ["recovery_hashes = :hashes", *_replacing(replacement, values)]
        if factor.step is not None:
            sets.append("totp_last_step = :step")
        values |= {":hashes": set(hashes)}
        return self._update(user_id, "SET " + ", ".join(sets), condition, values, with_entries)

    def encrypt_stored_secret(self, user_id: str, attribute: str, plain: str, secret: bytes) -> bool:
        """Replace ``attribute`` (``totp_secret`` or ``pending_totp_secret``), stored in plain text as
        ``plain``, by its ciphertext ``secret``. False if it holds something else by now."""
        assert attribute in ("totp_secret", "pending_totp_secret")
        return self._update(
            user_id,
            f"SET {attribute} = :secret",
            f"{attribute} = :plain",
            {":plain": plain, ":secret": secret},
        )

    def disable_totp(
        self, user_id: str, secret: StoredSecret, factor: SecondFactor, with_entries: Sequence[dict[str, Any]] = ()
    ) -> bool:
        """Spend ``factor`` and turn two-factor off, in one write. False as for spending.

        ``totp_last_step`` stays: it is harmless, and reset when two-factor is enabled again.
        """
        condition, values = _factor_condition(secret, factor)
        update = "REMOVE totp_secret, recovery_hashes, pending_totp_secret, pending_totp_expires_at"
        if factor.step is not None:
            update = "SET totp_last_step = :step " + update
        return self._update(user_id, update, condition, values, with_entries)

    def _update(
        self,
        user_id: str,
        update: str,
        condition: str,
        values: dict[str, Any],
        with_entries: Sequence[dict[str, Any]] = (),
    ) -> bool:
        """One conditional update of the user's item: alone, or in a transaction with
        ``with_entries`` (the event that records it). False if its condition failed."""
        request: dict[str, Any] = {
            "TableName": self.table,
            "Key": dynamo.to_item(_user_key(user_id)),
            "UpdateExpression": update,
            "ConditionExpression": condition,
            "ExpressionAttributeValues": dynamo.to_item(values),
        }
        if not with_entries:
            return dynamo.if_condition_holds(lambda: dynamo.client().update_item(**request)) is not None
        try:
            dynamo.transact([{"Update": request}, *with_entries], on_condition_failure=_condition_failed)
        except _ConditionFailedError:
            return False
        return True

    # Email, password and the account's end (services/email.py, passwords.py, deletion.py). A mailed
    # token's hash is also kept on the user, one attribute per kind (``token_attribute``), and the
    # transaction that spends a token requires it there: a newer token of the kind replaces it, so
    # an earlier one stops working at once, whatever the tokens table's index says.

    def current_token_entry(self, user_id: str, kind: str, token_hash: str) -> dict[str, Any]:
        """A transaction entry making ``token_hash`` the user's one live token of ``kind``."""
        return {
            "Update": {
                "TableName": self.table,
                "Key": dynamo.to_item(_user_key(user_id)),
                "UpdateExpression": "SET #token = :hash",
                "ConditionExpression": "attribute_exists(pk)",
                "ExpressionAttributeNames": {"#token": token_attribute(kind)},
                "ExpressionAttributeValues": dynamo.to_item({":hash": token_hash}),
            }
        }

    def spend_token_entry(
        self, user_id: str, kind: str, token_hash: str, set_values: dict[str, Any], expect: dict[str, Any]
    ) -> dict[str, Any]:
        """A transaction entry setting ``set_values`` on the user if ``token_hash`` is still their live
        token of ``kind`` (which it forgets) and their attributes are still as ``expect`` says."""
        names = {"#token": token_attribute(kind)}
        values: dict[str, Any] = {":hash": token_hash}
        sets, conditions = [], ["#token = :hash"]
        for i, (name, value) in enumerate(set_values.items()):
            names[f"#s{i}"], values[f":s{i}"] = name, value
            sets.append(f"#s{i} = :s{i}")
        for i, (name, value) in enumerate(expect.items()):
            names[f"#e{i}"], values[f":e{i}"] = name, value
            conditions.append(f"#e{i} = :e{i}")
        return {
            "Update": {
                "TableName": self.table,
                "Key": dynamo.to_item(_user_key(user_id)),
                "UpdateExpression": f"SET {', '.join(sets)} REMOVE #token",
                "ConditionExpression": " AND ".join(conditions),
                "ExpressionAttributeNames": names,
                "ExpressionAttributeValues": dynamo.to_item(values),
            }
        }

    def ref_with_token(self, user_id: str, kind: str) -> dynamo.Ref[tuple[User, str | None]]:
        """The user and the hash of their live token of ``kind`` (None without one)."""
        attribute = token_attribute(kind)
        return dynamo.Ref(self.table, _user_key(user_id), lambda item: (_parse_user(item), item.get(attribute)))

    def claim_ref(self, email: str) -> dynamo.Ref[str]:
        """The claim of an address: the id of the user who holds it."""
        return dynamo.Ref(self.table, _email_key(email), _parse_claim)

    def move_email_entries(self, user_id: str, old_email: str, new_email: str, created_at: int) -> list[dict[str, Any]]:
        """Transaction entries releasing the user's claim of ``old_email`` and claiming ``new_email``
        (the second fails if someone holds it)."""
        return [
            {
                "Delete": {
                    "TableName": self.table,
                    "Key": dynamo.to_item(_email_key(old_email)),
                    "ConditionExpression": "user_id = :id",
                    "ExpressionAttributeValues": dynamo.to_item({":id": user_id}),
                }
            },
            {
                "Put": {
                    "TableName": self.table,
                    "Item": dynamo.to_item(_email_key(new_email) | {"user_id": user_id, "created_at": created_at}),
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            },
        ]

    def exists_check(self, user_id: str) -> dict[str, Any]:
        """A transaction entry that fails unless the user still exists (an application's create
        carries it, so that none is created for an account being deleted)."""
        return {
            "ConditionCheck": {
                "TableName": self.table,
                "Key": dynamo.to_item(_user_key(user_id)),
                "ConditionExpression": "attribute_exists(pk)",
            }
        }

    def set_passkey_user_handle(self, user_id: str, handle: str) -> bool:
        """Give the user its passkey user handle, once: False if it has one already (or is gone)."""
        return self._update(
            user_id,
            "SET passkey_user_handle = :handle",
            "attribute_exists(pk) AND attribute_not_exists(passkey_user_handle)",
            {":handle": handle},
        )

    def change_password(self, user_id: str, old_hash: str, new_hash: str) -> bool:
        """Replace the password hash if it is still ``old_hash``. False if it changed meanwhile."""
        return self._update(
            user_id,
            "SET password_hash = :new",
            "attribute_exists(pk) AND password_hash = :old",
            {":new": new_hash, ":old": old_hash},
        )

    def delete_entries(self, user: User, now: int) -> list[dict[str, Any]]:
        """Transaction entries deleting the user's item, releasing its username and email, and
        writing its tombstone: from their commit on, the name and the address are free, no
        credential of the user works, and the purge will finish the deletion if its request dies.

        The tombstone is due at once (``expires_at`` is ``now``): the next purge finds it.
        """
        mine = {
            "ConditionExpression": "user_id = :id",
            "ExpressionAttributeValues": dynamo.to_item({":id": user.user_id}),
        }
        key = _tombstone_key(user.user_id)
        tombstone = key | {"user_id": user.user_id, "deleted_at": now} | expiry_attributes(USERS, key["pk"], now)
        return [
            {"Delete": {"TableName": self.table, "Key": dynamo.to_item(_user_key(user.user_id)), **mine}},
            {"Delete": {"TableName": self.table, "Key": dynamo.to_item(_username_key(user.username)), **mine}},
            {"Delete": {"TableName": self.table, "Key": dynamo.to_item(_email_key(user.email)), **mine}},
            {"Put": {"TableName": self.table, "Item": dynamo.to_item(tombstone)}},
        ]

    def tombstone_ref(self, user_id: str) -> dynamo.Ref[Tombstone]:
        return dynamo.Ref(self.table, _tombstone_key(user_id), _parse_tombstone)

    def remove_tombstone(self, user_id: str) -> None:
        """Delete a tombstone: the last step of a deletion, once nothing of the user is left."""
        dynamo.client().delete_item(TableName=self.table, Key=dynamo.to_item(_tombstone_key(user_id)))


class _ConditionFailedError(Exception):
    pass


def _condition_failed(failed: list[int]) -> None:
    raise _ConditionFailedError


def token_attribute(kind: str) -> str:
    """The user item's attribute holding the hash of the user's live mailed token of ``kind``."""
    return f"live_{kind}_token"


@dataclass(frozen=True)
class SecondFactor:
    """A second factor the service has checked, to spend in a write: a TOTP step, or the hash of
    a recovery code."""

    step: int | None = None
    recovery_hash: str | None = None


def _replacing(replacement: bytes | None, values: dict[str, Any]) -> list[str]:
    """The SET clause that stores ``replacement`` as the secret (none without one)."""
    if replacement is None:
        return []
    values[":replacement"] = replacement
    return ["totp_secret = :replacement"]


def _factor_condition(secret: StoredSecret, factor: SecondFactor) -> tuple[str, dict[str, Any]]:
    """The condition under which ``factor`` may be spent: two-factor is still on with ``secret``,
    and the step is later than the last one spent, or the recovery code is still there."""
    if factor.step is not None:
        return (
            "totp_secret = :secret AND (attribute_not_exists(totp_last_step) OR totp_last_step < :step)",
            {":secret": secret, ":step": factor.step},
        )
    return (
        "totp_secret = :secret AND contains(recovery_hashes, :hash)",
        {":secret": secret, ":hash": factor.recovery_hash},
    )
