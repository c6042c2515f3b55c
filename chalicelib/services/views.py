"""The contract's resource shapes (User, ApiKey, Application, Collaborator, tokens), built from what
the services return, so that routes shape replies without knowing the store's records."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from chalicelib.services.api_keys import ApiKey
    from chalicelib.services.applications import Access, Grant, Person
    from chalicelib.services.events import Event
    from chalicelib.services.sessions import IssuedToken
    from chalicelib.store.device_codes import UserCode
    from chalicelib.store.passkeys import Passkey
    from chalicelib.store.sessions import Session
    from chalicelib.store.users import User


def timestamp(seconds: int | None) -> str | None:
    """RFC 3339 UTC with a Z, second precision."""
    if seconds is None:
        return None
    return datetime.fromtimestamp(seconds, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def user_view(user: User) -> dict[str, Any]:
    return {
        "id": user.user_id,
        "username": user.username,
        "email": user.email,
        "email_verified": user.email_verified,
        "created_at": timestamp(user.created_at),
        "two_factor_enabled": user.two_factor_enabled,
    }


def token_view(token: IssuedToken) -> dict[str, Any]:
    return {"token": token.token, "expires_at": timestamp(token.expires_at)}


def api_key_view(key: ApiKey) -> dict[str, Any]:
    """The contract's ApiKey: never the key or its hash."""
    return {
        "id": key.key_id,
        "name": key.name,
        "description": key.description,
        "prefix": key.prefix,
        "created_at": timestamp(key.created_at),
        "expires_at": timestamp(key.expires_at),
        "last_used_at": timestamp(key.last_used_at),
        "scope": scope_view(key),
    }


def scope_view(key: ApiKey) -> dict[str, Any] | None:
    if key.scope is None:
        return None
    applications, permissions = key.scope.applications, key.scope.permissions
    return {
        "applications": list(applications) if applications is not None else None,
        "permissions": list(permissions) if permissions is not None else None,
    }


def application_view(access: Access) -> dict[str, Any]:
    app = access.app
    return {
        "id": app.app_id,
        "name": app.name,
        "description": app.description,
        "owner": app.owner_username,
        "created_at": timestamp(app.created_at),
        "role": access.role,
        "permissions": list(access.permissions),
    }


def collaborator_view(grant: Grant) -> dict[str, Any]:
    return {"username": grant.username, "role": grant.role, "added_at": timestamp(grant.added_at)}


def person_view(person: Person) -> dict[str, Any]:
    """A collaborator of the caller's applications, with each of them."""
    return {
        "username": person.username,
        "applications": [
            {"id": app.app_id, "name": app.name, "role": grant.role, "added_at": timestamp(grant.added_at)}
            for app, grant in person.applications
        ],
    }


def event_view(event: Event) -> dict[str, Any]:
    return {
        "id": event.event_id,
        "type": event.type,
        "created_at": timestamp(event.created_at),
        "actor": event.actor,
        "via": event.via,
        "api_key_prefix": event.api_key_prefix,
        "address": event.address,
        "user_agent": event.user_agent,
        "details": event.details,
    }


def session_view(session: Session, current_id: str | None) -> dict[str, Any]:
    """The contract's Session: its id (never its token), times, where its login came from."""
    return {
        "id": session.session_id,
        "created_at": timestamp(session.created_at),
        "expires_at": timestamp(session.expires_at),
        "authenticated_at": timestamp(session.authenticated_at),
        "last_used_at": timestamp(session.last_used_at),
        "address": session.address,
        "user_agent": session.user_agent,
        "current": session.session_id == current_id,
    }


def passkey_view(passkey: Passkey) -> dict[str, Any]:
    """A passkey as the API shows it: never its public key or counter."""
    return {
        "id": passkey.credential_id,
        "name": passkey.name,
        "created_at": timestamp(passkey.created_at),
        "last_used_at": timestamp(passkey.last_used_at),
        "transports": list(passkey.transports),
        "backed_up": passkey.backed_up,
    }


def device_request_view(code: UserCode, user_code: str) -> dict[str, Any]:
    """A pending device login as its approval page shows it: who asked, from where and when."""
    return {
        "user_code": user_code,
        "client_name": code.client_name,
        "address": code.address,
        "user_agent": code.user_agent,
        "requested_at": timestamp(code.created_at),
        "expires_at": timestamp(code.expires_at),
    }
