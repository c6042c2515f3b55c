"""The users table: ``USER#<id>`` holds a user; ``USERNAME#<lower>`` and ``EMAIL#<lower>`` claim
uniqueness, written in the same transaction as the user."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from chalicelib.config import Settings
from chalicelib.store import dynamo
from chalicelib.store.tables import USERS


@dataclass(frozen=True)
class User:
    user_id: str
    username: str
    email: str
    password_hash: str
    created_at: int
    # Two-factor state, managed by the two-factor service.
    totp_secret: str | None = None
    totp_last_step: int = 0
    recovery_hashes: tuple[str, ...] = field(default_factory=tuple)
    pending_totp_secret: str | None = None
    pending_totp_expires_at: int = 0

    @property
    def two_factor_enabled(self) -> bool:
        return self.totp_secret is not None


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


def _parse_user(item: dict[str, Any]) -> User:
    return User(
        user_id=item["user_id"],
        username=item["username"],
        email=item["email"],
        password_hash=item["password_hash"],
        created_at=item["created_at"],
        totp_secret=item.get("totp_secret"),
        totp_last_step=item.get("totp_last_step", 0),
        recovery_hashes=tuple(sorted(item.get("recovery_hashes", ()))),
        pending_totp_secret=item.get("pending_totp_secret"),
        pending_totp_expires_at=item.get("pending_totp_expires_at", 0),
    )


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

    def create(self, user: User) -> None:
        """Store a new user and claim its username and email in one transaction.

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
        }
        items = [
            _user_key(user.user_id) | record,
            _username_key(user.username) | claim,
            _email_key(user.email) | claim,
        ]
        request = [
            {"Put": {"TableName": self.table, "Item": dynamo.to_item(i), "ConditionExpression": absent}} for i in items
        ]
        dynamo.transact(request, on_condition_failure=self._taken(user))

    @staticmethod
    def _taken(user: User) -> dynamo.ConditionFailureHandler:
        def raise_taken(failed: list[int]) -> None:
            if 1 in failed:
                raise UsernameTakenError(user.username)
            if 2 in failed:
                raise EmailTakenError(user.email)

        return raise_taken
