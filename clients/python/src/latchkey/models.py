"""The API's resources as typed, read-only dataclasses; each keeps the JSON it was read from in ``raw``.

Timestamps become timezone-aware ``datetime`` objects (UTC). Fields the server adds later are kept in
``raw`` and otherwise ignored, so an older SDK keeps working against a newer server.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

T = TypeVar("T")


def parse_time(value: Any) -> datetime | None:
    """An RFC 3339 timestamp (``2026-11-27T18:00:00Z``) as an aware datetime; None stays None."""
    if value is None:
        return None
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def format_time(value: datetime | str) -> str:
    """A datetime (naive means UTC) as the API's timestamp; a string is passed on as it is."""
    if isinstance(value, str):
        return value
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value.replace(microsecond=0).isoformat() + "Z"


@dataclass(frozen=True)
class User:
    id: str
    username: str
    email: str
    created_at: datetime
    two_factor_enabled: bool
    email_verified: bool | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> User:
        return cls(
            id=data["id"],
            username=data["username"],
            email=data["email"],
            created_at=_time(data, "created_at"),
            two_factor_enabled=bool(data.get("two_factor_enabled", False)),
            email_verified=data.get("email_verified"),
            raw=data,
        )


@dataclass(frozen=True)
class Token:
    """A session token (or, after a password login with two-factor on, a pending one) and its expiry."""

    token: str
    expires_at: datetime
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Token:
        return cls(token=data["token"], expires_at=_time(data, "expires_at"), raw=data)


@dataclass(frozen=True)
class Login:
    """A login's reply: a session token, or a pending one when ``two_factor_required``.

    ``device_token`` comes with every completed login; send it with the next login of this account.
    """

    token: str
    expires_at: datetime
    two_factor_required: bool
    device_token: str | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Login:
        return cls(
            token=data["token"],
            expires_at=_time(data, "expires_at"),
            two_factor_required=bool(data.get("two_factor_required", False)),
            device_token=data.get("device_token"),
            raw=data,
        )


@dataclass(frozen=True)
class DeviceLogin:
    """A device login begun (RFC 8628 section 3.2): show ``user_code`` and ``verification_uri`` (or
    open ``verification_uri_complete``), and poll with ``device_code``, a secret, every ``interval``
    seconds."""

    device_code: str = field(repr=False)
    user_code: str
    verification_uri: str
    verification_uri_complete: str
    expires_in: int
    interval: int
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> DeviceLogin:
        return cls(
            device_code=data["device_code"],
            user_code=data["user_code"],
            verification_uri=data["verification_uri"],
            verification_uri_complete=data["verification_uri_complete"],
            expires_in=int(data["expires_in"]),
            interval=int(data["interval"]),
            raw=data,
        )


@dataclass(frozen=True)
class DeviceRequest:
    """A pending device login as its approval shows it: which client asked, from where and when."""

    user_code: str
    client_name: str
    address: str | None
    user_agent: str | None
    requested_at: datetime
    expires_at: datetime
    status: str | None = None  # "approved" or "denied", after a decision
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> DeviceRequest:
        return cls(
            user_code=data["user_code"],
            client_name=data["client_name"],
            address=data.get("address"),
            user_agent=data.get("user_agent"),
            requested_at=_time(data, "requested_at"),
            expires_at=_time(data, "expires_at"),
            status=data.get("status"),
            raw=data,
        )


@dataclass(frozen=True)
class Signup:
    user: User
    token: str
    expires_at: datetime
    device_token: str | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Signup:
        return cls(
            user=User.from_json(data["user"]),
            token=data["token"],
            expires_at=_time(data, "expires_at"),
            device_token=data.get("device_token"),
            raw=data,
        )


@dataclass(frozen=True)
class Scope:
    """What an API key may reach: None for either field means no limit of that kind."""

    applications: list[str] | None = None
    permissions: list[str] | None = None

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> Scope | None:
        if data is None:
            return None
        return cls(applications=data.get("applications"), permissions=data.get("permissions"))

    def to_json(self) -> dict[str, Any]:
        return {"applications": self.applications, "permissions": self.permissions}


@dataclass(frozen=True)
class ApiKey:
    id: str
    name: str
    description: str | None
    prefix: str
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    scope: Scope | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ApiKey:
        return cls(**_api_key_fields(data), raw=data)


@dataclass(frozen=True)
class NewApiKey(ApiKey):
    """A key just created (or rotated): the only time ``key`` itself is shown."""

    key: str = ""

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> NewApiKey:
        return cls(**_api_key_fields(data), key=data["key"], raw=data)


def _api_key_fields(data: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": data["id"],
        "name": data["name"],
        "description": data.get("description"),
        "prefix": data["prefix"],
        "created_at": _time(data, "created_at"),
        "expires_at": parse_time(data.get("expires_at")),
        "last_used_at": parse_time(data.get("last_used_at")),
        "scope": Scope.from_json(data.get("scope")),
    }


@dataclass(frozen=True)
class BatchDelete:
    deleted: list[str]
    not_found: list[str]
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> BatchDelete:
        return cls(deleted=list(data["deleted"]), not_found=list(data["not_found"]), raw=data)


@dataclass(frozen=True)
class Session:
    id: str
    created_at: datetime
    expires_at: datetime
    authenticated_at: datetime | None
    last_used_at: datetime | None
    address: str | None
    user_agent: str | None
    current: bool
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Session:
        return cls(
            id=data["id"],
            created_at=_time(data, "created_at"),
            expires_at=_time(data, "expires_at"),
            authenticated_at=parse_time(data.get("authenticated_at")),
            last_used_at=parse_time(data.get("last_used_at")),
            address=data.get("address"),
            user_agent=data.get("user_agent"),
            current=bool(data.get("current", False)),
            raw=data,
        )


@dataclass(frozen=True)
class Passkey:
    """A passkey (WebAuthn credential) of the user: ``id`` is its credential id, base64url."""

    id: str
    name: str
    created_at: datetime
    last_used_at: datetime | None
    transports: tuple[str, ...] = ()
    backed_up: bool = False
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Passkey:
        return cls(
            id=data["id"],
            name=data["name"],
            created_at=_time(data, "created_at"),
            last_used_at=parse_time(data.get("last_used_at")),
            transports=tuple(data.get("transports") or ()),
            backed_up=bool(data.get("backed_up", False)),
            raw=data,
        )


@dataclass(frozen=True)
class EmailVerification:
    email: str
    email_verified: bool
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> EmailVerification:
        return cls(email=data["email"], email_verified=bool(data["email_verified"]), raw=data)


@dataclass(frozen=True)
class TwoFactorStatus:
    enabled: bool
    pending: bool
    recovery_codes_remaining: int
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TwoFactorStatus:
        return cls(
            enabled=bool(data["enabled"]),
            pending=bool(data.get("pending", False)),
            recovery_codes_remaining=int(data.get("recovery_codes_remaining", 0)),
            raw=data,
        )


@dataclass(frozen=True)
class TwoFactorSetup:
    """A pending setup: give ``secret`` (or ``otpauth_uri``, or the QR code ``qr_svg``) to an authenticator."""

    secret: str
    otpauth_uri: str
    qr_svg: str
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TwoFactorSetup:
        return cls(secret=data["secret"], otpauth_uri=data["otpauth_uri"], qr_svg=data["qr_svg"], raw=data)


@dataclass(frozen=True)
class Application:
    id: str
    name: str
    description: str | None
    owner: str
    created_at: datetime
    role: str
    permissions: list[str]
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Application:
        return cls(
            id=data["id"],
            name=data["name"],
            description=data.get("description"),
            owner=data["owner"],
            created_at=_time(data, "created_at"),
            role=data["role"],
            permissions=list(data.get("permissions", [])),
            raw=data,
        )


@dataclass(frozen=True)
class Collaborator:
    username: str
    role: str
    added_at: datetime
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Collaborator:
        return cls(username=data["username"], role=data["role"], added_at=_time(data, "added_at"), raw=data)


@dataclass(frozen=True)
class SharedCollaborator(Collaborator):
    """The reply to sharing an application: ``added`` is False when they already were a collaborator."""

    added: bool = True

    @classmethod
    def from_reply(cls, data: dict[str, Any], added: bool) -> SharedCollaborator:
        return cls(
            username=data["username"], role=data["role"], added_at=_time(data, "added_at"), added=added, raw=data
        )


@dataclass(frozen=True)
class CollaboratorGrant:
    """One application a person collaborates on (in the organization's list of people)."""

    id: str
    name: str
    role: str
    added_at: datetime

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CollaboratorGrant:
        return cls(id=data["id"], name=data["name"], role=data["role"], added_at=_time(data, "added_at"))


@dataclass(frozen=True)
class OrganizationCollaborator:
    """Someone who collaborates on at least one of the caller's applications, with those applications."""

    username: str
    applications: list[CollaboratorGrant]
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> OrganizationCollaborator:
        grants = [CollaboratorGrant.from_json(a) for a in data.get("applications", [])]
        return cls(username=data["username"], applications=grants, raw=data)


@dataclass(frozen=True)
class Event:
    id: str
    type: str
    created_at: datetime
    actor: str | None
    via: str | None
    api_key_prefix: str | None
    address: str | None
    user_agent: str | None
    details: dict[str, Any]
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Event:
        return cls(
            id=data["id"],
            type=data["type"],
            created_at=_time(data, "created_at"),
            actor=data.get("actor"),
            via=data.get("via"),
            api_key_prefix=data.get("api_key_prefix"),
            address=data.get("address"),
            user_agent=data.get("user_agent"),
            details=dict(data.get("details") or {}),
            raw=data,
        )


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a list: its items and the cursor of the next page (None on the last)."""

    items: list[T]
    next_cursor: str | None
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def __iter__(self) -> Iterator[T]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)


def _time(data: dict[str, Any], name: str) -> datetime:
    parsed = parse_time(data[name])
    if parsed is None:
        raise ValueError(f"{name}: a timestamp was expected")
    return parsed
