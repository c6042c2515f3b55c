"""Applications and their collaborators: roles, what each role may do, and who may see what.

``PERMISSIONS`` is the one place that says what a role may do; every check goes through
``Access.require``. A caller with no grant on an application gets 404 (they may not learn that it
exists); a caller whose role lacks the permission gets 403.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any, Literal

from chalicelib.config import Settings
from chalicelib.errors import BadRequestError, ConflictError, ForbiddenError, NotFoundError, invalid_field
from chalicelib.security.ids import new_id
from chalicelib.services.accounts import USERNAME_PATTERN
from chalicelib.store import dynamo
from chalicelib.store.applications import (
    Application,
    ApplicationChangedError,
    ApplicationNameTakenError,
    ApplicationStore,
)
from chalicelib.store.grants import (
    OWNER_ROLE,
    ApplicationGoneError,
    Grant,
    GrantExistsError,
    GrantMissingError,
    GrantStore,
)
from chalicelib.store.users import User, UserStore

READ, WRITE, OPERATE, MANAGE_COLLABORATORS, DELETE = "read", "write", "operate", "manage_collaborators", "delete"

# The contract's table of roles: the only place that says what a role may do.
PERMISSIONS: dict[str, tuple[str, ...]] = {
    OWNER_ROLE: (READ, WRITE, OPERATE, MANAGE_COLLABORATORS, DELETE),
    "developer": (READ, WRITE, OPERATE),
    "operator": (READ, OPERATE),
    "observer": (READ,),
}
COLLABORATOR_ROLES = tuple(role for role in PERMISSIONS if role != OWNER_ROLE)

NAME_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,64}")
DESCRIPTION_MAX = 256
_APP_ID = re.compile(r"[0-9A-Z]{26}")  # the shape of security.ids.new_id()
_ATTEMPTS = 5  # reads-and-writes retried when another request changed the application meanwhile
NOT_FOUND = "No such application."


class Keep(Enum):
    """A field that an update leaves as it is."""

    KEEP = "keep"


KEEP = Keep.KEEP


@dataclass(frozen=True)
class Access:
    """An application and the caller's grant on it."""

    app: Application
    grant: Grant

    @property
    def role(self) -> str:
        return self.grant.role

    @property
    def permissions(self) -> tuple[str, ...]:
        return PERMISSIONS.get(self.grant.role, ())

    def require(self, permission: str) -> None:
        """Raise ForbiddenError unless the caller's role has ``permission``."""
        if permission not in self.permissions:
            raise ForbiddenError(f"Your role on this application ({self.role}) does not allow {permission}.")


def check_name(name: str) -> None:
    if not NAME_PATTERN.fullmatch(name):
        raise invalid_field("name", "1-64 characters of letters, digits, '-' and '_'")


def check_description(description: str | None) -> None:
    if description is not None and len(description) > DESCRIPTION_MAX:
        raise invalid_field("description", f"at most {DESCRIPTION_MAX} characters")


def check_role(role: str) -> None:
    if role not in COLLABORATOR_ROLES:
        raise invalid_field("role", "one of " + ", ".join(COLLABORATOR_ROLES))


class ApplicationService:
    def __init__(self, settings: Settings, clock: Callable[[], int]) -> None:
        self.clock = clock
        self.apps = ApplicationStore(settings)
        self.grants = GrantStore(settings)
        self.users = UserStore(settings)

    # --- applications -------------------------------------------------------------------------

    def create(self, caller: User, name: str, description: str | None) -> Access:
        """A new application owned by ``caller``. Raises 400 for invalid fields, 409 if the name is taken."""
        check_name(name)
        check_description(description)
        now = self.clock()
        app = Application(
            app_id=new_id(),
            name=name,
            description=description,
            owner_id=caller.user_id,
            owner_username=caller.username,
            created_at=now,
        )
        grant = Grant(app.app_id, caller.user_id, caller.username, OWNER_ROLE, now)
        try:
            self.apps.create(app, with_entries=[self.grants.put_entry(grant)])
        except ApplicationNameTakenError:
            raise _name_taken() from None
        return Access(app, grant)

    def require(self, caller: User, app_id: str, permission: str) -> Access:
        """The caller's access to the application, which must include ``permission`` (404, 403)."""
        access = self.access(caller, app_id)
        access.require(permission)
        return access

    def get(self, caller: User, app_id: str) -> Access:
        """The application and the caller's grant, in one round trip. 404 without access, 403 without read."""
        access = self.access(caller, app_id)
        access.require(READ)
        return access

    def visible_to(self, caller: User, limit: int, cursor: str | None) -> tuple[list[Access], str | None]:
        """One page of the applications the caller owns or collaborates on, oldest first.

        The index of a user's grants lags behind the table, so each grant is confirmed with a
        strongly consistent read, in the same BatchGetItem as the applications: a removed
        collaborator no longer sees the application on the next request.
        """
        try:
            grants, next_cursor = self.grants.of_user(caller.user_id, limit, cursor)
        except dynamo.InvalidCursorError:
            raise invalid_field("cursor", "not a cursor from this list") from None
        refs: list[dynamo.Ref[Any]] = []
        for grant in grants:
            refs += [self.apps.ref(grant.app_id), self.grants.ref(grant.app_id, caller.user_id)]
        values: list[Any] = []
        for chunk in dynamo.chunked(refs, dynamo.BATCH_GET_LIMIT):
            values += dynamo.get_many(*chunk)
        page = [Access(app, grant) for app, grant in zip(values[::2], values[1::2], strict=True) if app and grant]
        return page, next_cursor

    def update(
        self, caller: User, app_id: str, name: str | None, description: str | None | Literal[Keep.KEEP] = KEEP
    ) -> Access:
        """Rename the application and/or change its description (None clears it). Needs write.

        A new name is claimed and the old one released in the same transaction as the rename.
        Raises 400, 403, 404, or 409 if the owner has another application of that name.
        """
        if name is not None:
            check_name(name)
        if not isinstance(description, Keep):
            check_description(description)
        for _ in range(_ATTEMPTS):
            access = self.access(caller, app_id)
            access.require(WRITE)
            app = access.app
            new_name = app.name if name is None else name
            new_description = app.description if isinstance(description, Keep) else description
            if (new_name, new_description) == (app.name, app.description):
                return access
            try:
                return Access(self.apps.update(app, new_name, new_description), access.grant)
            except ApplicationNameTakenError:
                raise _name_taken() from None
            except ApplicationChangedError:
                continue  # renamed or deleted meanwhile: read it again
        raise ConflictError("The application is being changed by another request; try again.")

    def delete(self, caller: User, app_id: str) -> None:
        """Delete the application, its name claim and every grant on it. Needs delete.

        The application goes first, in one transaction with its name: from then on every access
        check fails, whatever happens to the grants after.
        """
        for _ in range(_ATTEMPTS):
            access = self.access(caller, app_id)
            access.require(DELETE)
            try:
                self.apps.delete(access.app)
            except ApplicationChangedError:
                continue
            self.grants.delete_all(app_id)
            return
        raise ConflictError("The application is being changed by another request; try again.")

    # --- collaborators ------------------------------------------------------------------------

    def collaborators(
        self, caller: User, app_id: str, limit: int, cursor: str | None
    ) -> tuple[list[Grant], str | None]:
        """One page of the application's collaborators (the owner is not one). Needs read."""
        self.get(caller, app_id)
        try:
            return self.grants.collaborators(app_id, limit, cursor)
        except dynamo.InvalidCursorError:
            raise invalid_field("cursor", "not a cursor from this list") from None

    def put_collaborator(self, caller: User, app_id: str, username: str, role: str) -> tuple[Grant, bool]:
        """Add ``username`` as a collaborator with ``role``, or change their role. Needs manage_collaborators.

        Returns the grant and whether it is new. Raises 400 for a bad role or the owner's own
        username, 403, and 404 for an unknown application or username.
        """
        check_role(role)
        target_id = self._user_id(caller, username)
        for _ in range(_ATTEMPTS):
            access, target, existing = self._access_with_target(caller, app_id, target_id)
            access.require(MANAGE_COLLABORATORS)
            if target is None:
                raise NotFoundError("No such user.")
            if target.user_id == access.app.owner_id:
                raise BadRequestError("username: the owner of an application cannot be a collaborator on it")
            try:
                if existing is None:
                    grant = Grant(app_id, target.user_id, target.username, role, self.clock())
                    self.grants.add(grant, self.apps.exists_check(app_id))
                    return grant, True
                if existing.role == role:
                    return existing, False
                return self.grants.change_role(app_id, target.user_id, role), False
            except ApplicationGoneError:
                raise NotFoundError(NOT_FOUND) from None
            except (GrantExistsError, GrantMissingError):
                continue  # added or removed by another request meanwhile: read again
        raise ConflictError("The collaborator is being changed by another request; try again.")

    def remove_collaborator(self, caller: User, app_id: str, username: str) -> None:
        """Remove a collaborator: with manage_collaborators, or a collaborator removing themself.

        Raises 400 for the owner's own username, 403, and 404 for an unknown application, or a
        username that is not a collaborator.
        """
        target_id = self._user_id(caller, username)
        access, _, existing = self._access_with_target(caller, app_id, target_id)
        if target_id == access.app.owner_id:
            if caller.user_id == target_id or MANAGE_COLLABORATORS in access.permissions:
                raise BadRequestError("username: the owner of an application cannot be removed from it")
            access.require(MANAGE_COLLABORATORS)
        if target_id != caller.user_id:
            access.require(MANAGE_COLLABORATORS)
        if target_id is None or existing is None:
            raise NotFoundError("No such collaborator on this application.")
        try:
            self.grants.remove(app_id, target_id)
        except GrantMissingError:
            raise NotFoundError("No such collaborator on this application.") from None

    # --- access -------------------------------------------------------------------------------

    def access(self, caller: User, app_id: str) -> Access:
        """The application and the caller's grant, in one BatchGetItem. 404 if either is missing."""
        if not _APP_ID.fullmatch(app_id):
            raise NotFoundError(NOT_FOUND)
        app, grant = dynamo.get_many(self.apps.ref(app_id), self.grants.ref(app_id, caller.user_id))
        if app is None or grant is None:
            raise NotFoundError(NOT_FOUND)
        return Access(app, grant)

    def _access_with_target(
        self, caller: User, app_id: str, target_id: str | None
    ) -> tuple[Access, User | None, Grant | None]:
        """Like ``access``, also fetching another user and their grant in the same BatchGetItem."""
        if target_id is None or target_id == caller.user_id:
            access = self.access(caller, app_id)
            if target_id is None:
                return access, None, None
            own = None if access.grant.role == OWNER_ROLE else access.grant
            return access, caller, own
        if not _APP_ID.fullmatch(app_id):
            raise NotFoundError(NOT_FOUND)
        app, grant, target, existing = dynamo.get_many(
            self.apps.ref(app_id),
            self.grants.ref(app_id, caller.user_id),
            self.users.ref(target_id),
            self.grants.ref(app_id, target_id),
        )
        if app is None or grant is None:
            raise NotFoundError(NOT_FOUND)
        return Access(app, grant), target, existing

    def _user_id(self, caller: User, username: str) -> str | None:
        """The id of the user named ``username`` (any case), or None if there is none."""
        if username.lower() == caller.username.lower():
            return caller.user_id
        if not USERNAME_PATTERN.fullmatch(username):
            return None  # no such user could exist; and an email must not be looked up here
        return self.users.find_id(username)


def _name_taken() -> ConflictError:
    return ConflictError("name: you already have an application of that name")
