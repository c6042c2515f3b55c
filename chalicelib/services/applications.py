"""Applications and their collaborators: roles, what each role may do, and who may see what.

``PERMISSIONS`` is the one place that says what a role may do; every check goes through
``Access.require``. A caller with no grant on an application gets 404 (they may not learn that it
exists); a caller whose role lacks the permission gets 403.

A caller is a User, or the Principal of a request: an API key's scope narrows what its user may do,
and ``ApplicationService.access`` (the one way to an application) applies it: an application
outside the scope is one the caller has no access to, and the permissions are the role's
intersected with the scope's. A scope is a filter over the user's grants, never a grant itself.

Every change of an application or its collaborators writes its event to the application's audit
log in the change's own transaction.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Literal, TypeAlias

from chalicelib.config import Settings
from chalicelib.errors import (
    BadRequestError,
    ConflictError,
    ForbiddenError,
    NotFoundError,
    UnauthorizedError,
    invalid_field,
)
from chalicelib.rules import (
    COLLABORATOR_ROLES,
    DELETE,
    DESCRIPTION_MAX,
    KEEP,
    MANAGE_COLLABORATORS,
    OWNER_ROLE,
    PERMISSIONS,
    READ,
    USERNAME_PATTERN,
    WRITE,
    Keep,
)
from chalicelib.security.ids import new_id
from chalicelib.services.identity import Actor
from chalicelib.store import dynamo
from chalicelib.store.api_keys import Scope
from chalicelib.store.applications import (
    Application,
    ApplicationChangedError,
    ApplicationNameTakenError,
    ApplicationStore,
)
from chalicelib.store.grants import (
    ApplicationGoneError,
    Grant,
    GrantExistsError,
    GrantMissingError,
    GrantStore,
)
from chalicelib.store.users import User, UserStore

if TYPE_CHECKING:
    from chalicelib.services.events import EventLog
    from chalicelib.services.identity import Principal

    Caller: TypeAlias = "User | Principal"

TRANSFER_ROLE = "developer"  # what the old owner becomes

NAME_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,64}")
_APP_ID = re.compile(r"[0-9A-Z]{26}")  # the shape of security.ids.new_id()
_ATTEMPTS = 5  # reads-and-writes retried when another request changed the application meanwhile
# A transfer is one transaction (at most 100 entries): the application, two name claims, the event,
# the two parties' grants, and every other collaborator's grant.
TRANSFER_COLLABORATORS_MAX = 100 - 6 + 1
OFFBOARD_PER_TRANSACTION = 25  # grant removals (each with its event) per transaction
NOT_FOUND = "No such application."


def effective_permissions(role: str, scope: Scope | None) -> tuple[str, ...]:
    """The role's permissions intersected with the scope's (in the contract's order)."""
    allowed = PERMISSIONS.get(role, ())
    if scope is None or scope.permissions is None:
        return allowed
    return tuple(p for p in allowed if p in scope.permissions)


def in_scope(scope: Scope | None, app_id: str) -> bool:
    """Whether a scope lets its key reach the application at all."""
    return scope is None or scope.applications is None or app_id in scope.applications


def _user(caller: Caller) -> User:
    return caller if isinstance(caller, User) else caller.user


def _scope(caller: Caller) -> Scope | None:
    return None if isinstance(caller, User) else caller.scope


@dataclass(frozen=True)
class Access:
    """An application, the caller's grant on it, and the scope of the caller's key (if any)."""

    app: Application
    grant: Grant
    scope: Scope | None = None

    @property
    def role(self) -> str:
        return self.grant.role

    @property
    def permissions(self) -> tuple[str, ...]:
        return effective_permissions(self.grant.role, self.scope)

    def require(self, permission: str) -> None:
        """Raise ForbiddenError unless the caller's role, within its key's scope, has ``permission``."""
        if permission in self.permissions:
            return
        if permission in PERMISSIONS.get(self.grant.role, ()):
            raise ForbiddenError(f"This API key's scope does not allow {permission}.")
        raise ForbiddenError(f"Your role on this application ({self.role}) does not allow {permission}.")


@dataclass(frozen=True)
class Person:
    """Someone who collaborates on applications of the caller: their grants, with each application."""

    username: str
    applications: list[tuple[Application, Grant]]


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
    def __init__(self, settings: Settings, clock: Callable[[], int], events: Callable[[], EventLog]) -> None:
        self.clock = clock
        self.apps = ApplicationStore(settings)
        self.grants = GrantStore(settings)
        self.users = UserStore(settings)
        self._events = events

    # --- applications -------------------------------------------------------------------------

    def create(self, caller: Caller, name: str, description: str | None, actor: Actor | None = None) -> Access:
        """A new application owned by the caller, with its ``application.created`` event.

        Raises 400 for invalid fields, 403 for a key scoped to applications, 409 if the name is taken.
        """
        user, scope = _user(caller), _scope(caller)
        if scope is not None and scope.applications is not None:
            raise ForbiddenError("This API key is scoped to some applications: it may not create applications.")
        check_name(name)
        check_description(description)
        now = self.clock()
        app = Application(
            app_id=new_id(),
            name=name,
            description=description,
            owner_id=user.user_id,
            owner_username=user.username,
            created_at=now,
        )
        grant = Grant(app.app_id, user.user_id, user.username, OWNER_ROLE, now)
        event = self._event(app.app_id, "application.created", caller, actor, name=name, description=description)
        try:
            # The owner's item must exist: an account being deleted gets no new application.
            owner_exists = self.users.exists_check(caller.user_id)
            self.apps.create(app, with_entries=[self.grants.put_entry(grant), event, owner_exists])
        except ApplicationNameTakenError:
            raise _name_taken() from None
        except ApplicationChangedError:
            raise UnauthorizedError("The account no longer exists.") from None
        return Access(app, grant, scope)

    def require(self, caller: Caller, app_id: str, permission: str) -> Access:
        """The caller's access to the application, which must include ``permission`` (404, 403)."""
        access = self.access(caller, app_id)
        access.require(permission)
        return access

    def get(self, caller: Caller, app_id: str) -> Access:
        """The application and the caller's grant, in one round trip. 404 without access, 403 without read."""
        access = self.access(caller, app_id)
        access.require(READ)
        return access

    def visible_to(self, caller: Caller, limit: int, cursor: str | None) -> tuple[list[Access], str | None]:
        """One page of the applications the caller owns or collaborates on (within its key's
        scope), by application id.

        The index of a user's grants lags behind the table, so each grant is confirmed with a
        strongly consistent read, in the same BatchGetItem as the applications: a removed
        collaborator no longer sees the application on the next request. A key scoped to
        applications lists those of them its user can still access: no index is read.
        """
        user, scope = _user(caller), _scope(caller)
        if scope is not None and scope.applications is not None:
            return self._visible_in_scope(user, scope, scope.applications, limit, cursor)
        try:
            grants, next_cursor = self.grants.of_user(user.user_id, limit, cursor)
        except dynamo.InvalidCursorError:
            raise invalid_field("cursor", "not a cursor from this list") from None
        page = [Access(app, grant, scope) for app, grant in self._confirm(user, [g.app_id for g in grants])]
        return page, next_cursor

    def accessible(self, user: User, app_ids: Sequence[str]) -> set[str]:
        """Those of ``app_ids`` that ``user`` can access now (strongly consistent reads)."""
        return {app.app_id for app, _ in self._confirm(user, [a for a in app_ids if _APP_ID.fullmatch(a)])}

    def _confirm(self, user: User, app_ids: Sequence[str]) -> list[tuple[Application, Grant]]:
        """The applications of ``app_ids`` on which ``user`` has a grant, with it: BatchGetItems of
        100 items (50 applications and their grants), strongly consistent."""
        refs: list[dynamo.Ref[Any]] = []
        for app_id in app_ids:
            refs += [self.apps.ref(app_id), self.grants.ref(app_id, user.user_id)]
        values: list[Any] = []
        for chunk in dynamo.chunked(refs, dynamo.BATCH_GET_LIMIT):
            values += dynamo.get_many(*chunk)
        return [(app, grant) for app, grant in zip(values[::2], values[1::2], strict=True) if app and grant]

    def _visible_in_scope(
        self, user: User, scope: Scope, app_ids: Sequence[str], limit: int, cursor: str | None
    ) -> tuple[list[Access], str | None]:
        # Pages follow the application ids, as the index does, and the cursor has the same form.
        ordered = sorted(app_ids)
        if cursor:
            try:
                after = dynamo.decode_cursor(cursor, ("user_id", "app_id"), {"user_id": user.user_id})["app_id"]
            except dynamo.InvalidCursorError:
                raise invalid_field("cursor", "not a cursor from this list") from None
            ordered = [a for a in ordered if a > after]
        page: list[Access] = []
        while ordered and len(page) < limit:
            chunk, ordered = ordered[: limit - len(page)], ordered[limit - len(page) :]
            page += [Access(app, grant, scope) for app, grant in self._confirm(user, chunk)]
        more = bool(ordered) and bool(page)
        next_cursor = dynamo.encode_cursor({"user_id": user.user_id, "app_id": page[-1].app.app_id}) if more else None
        return page, next_cursor

    def update(
        self,
        caller: Caller,
        app_id: str,
        name: str | None,
        description: str | None | Literal[Keep.KEEP] = KEEP,
        actor: Actor | None = None,
    ) -> Access:
        """Rename the application and/or change its description (None clears it). Needs write.

        A new name is claimed and the old one released in the same transaction as the rename and
        its ``application.updated`` event (the fields changed, each with its old and new value).
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
            changes = {
                field: {"old": old, "new": new}
                for field, old, new in (("name", app.name, new_name), ("description", app.description, new_description))
                if old != new
            }
            event = self._event(app_id, "application.updated", caller, actor, **changes)
            try:
                return replace(access, app=self.apps.update(app, new_name, new_description, with_entries=[event]))
            except ApplicationNameTakenError:
                raise _name_taken() from None
            except ApplicationChangedError:
                continue  # renamed or deleted meanwhile: read it again
        raise ConflictError("The application is being changed by another request; try again.")

    def delete(self, caller: Caller, app_id: str) -> None:
        """Delete the application, its name claim and every grant on it. Needs delete.

        The application is marked deleted first, in one transaction that releases its name: from
        then on every access check fails. Its grants go next, and the item last; if this request
        dies between the steps, the purge finishes them (it finds the marked application).
        """
        for _ in range(_ATTEMPTS):
            access = self.access(caller, app_id)
            access.require(DELETE)
            try:
                self.apps.delete(access.app, self.clock())
            except ApplicationChangedError:
                continue
            self.grants.delete_all(app_id)
            self.apps.remove(app_id)
            return
        raise ConflictError("The application is being changed by another request; try again.")

    # --- collaborators ------------------------------------------------------------------------

    def collaborators(
        self, caller: Caller, app_id: str, limit: int, cursor: str | None
    ) -> tuple[list[Grant], str | None]:
        """One page of the application's collaborators (the owner is not one). Needs read."""
        self.get(caller, app_id)
        try:
            return self.grants.collaborators(app_id, limit, cursor)
        except dynamo.InvalidCursorError:
            raise invalid_field("cursor", "not a cursor from this list") from None

    def put_collaborator(
        self, caller: Caller, app_id: str, username: str, role: str, actor: Actor | None = None
    ) -> tuple[Grant, bool]:
        """Add ``username`` as a collaborator with ``role``, or change their role. Needs manage_collaborators.

        Returns the grant and whether it is new. The ``collaborator.added`` or
        ``collaborator.role_changed`` event is written in the change's transaction. Raises 400 for
        a bad role or the owner's own username, 403, and 404 for an unknown application or username.
        """
        check_role(role)
        target_id = self._user_id(_user(caller), username)
        for _ in range(_ATTEMPTS):
            access, target, existing = self._access_with_target(caller, app_id, target_id)
            access.require(MANAGE_COLLABORATORS)
            if target is None:
                raise NotFoundError("No such user.")
            if target.user_id == access.app.owner_id:
                raise BadRequestError("username: the owner of an application cannot be a collaborator on it")
            try:
                if existing is None:
                    owner_id = access.app.owner_id
                    grant = Grant(app_id, target.user_id, target.username, role, self.clock(), owner_id)
                    event = self._event(
                        app_id, "collaborator.added", caller, actor, username=target.username, role=role
                    )
                    self.grants.add(grant, self.apps.grant_added_entry(app_id, owner_id), [event])
                    return grant, True
                if existing.role == role:
                    return existing, False
                event = self._event(
                    app_id,
                    "collaborator.role_changed",
                    caller,
                    actor,
                    username=existing.username,
                    **{"from": existing.role, "to": role},
                )
                return self.grants.change_role(existing, role, [event]), False
            except ApplicationGoneError:
                continue  # deleted, or transferred meanwhile: read again (a deleted one is a 404)
            except (GrantExistsError, GrantMissingError):
                continue  # added or removed by another request meanwhile: read again
        raise ConflictError("The collaborator is being changed by another request; try again.")

    def remove_collaborator(self, caller: Caller, app_id: str, username: str, actor: Actor | None = None) -> None:
        """Remove a collaborator: with manage_collaborators, or a collaborator removing themself
        (``collaborator.left``; a key whose scope lists permissions needs manage_collaborators
        among them to leave). The event is written in the removal's transaction.

        Raises 400 for the owner's own username, 403, and 404 for an unknown application, or a
        username that is not a collaborator.
        """
        user = _user(caller)
        target_id = self._user_id(user, username)
        access, _, existing = self._access_with_target(caller, app_id, target_id)
        if target_id == access.app.owner_id:
            if user.user_id == target_id or MANAGE_COLLABORATORS in access.permissions:
                raise BadRequestError("username: the owner of an application cannot be removed from it")
            access.require(MANAGE_COLLABORATORS)
        leaving = target_id == user.user_id
        if not leaving:
            access.require(MANAGE_COLLABORATORS)
        else:
            scope = _scope(caller)
            if scope is not None and scope.permissions is not None and MANAGE_COLLABORATORS not in scope.permissions:
                raise ForbiddenError("This API key's scope does not allow manage_collaborators (needed to leave).")
        if target_id is None or existing is None:
            raise NotFoundError("No such collaborator on this application.")
        if leaving:
            event = self._event(app_id, "collaborator.left", caller, actor, username=existing.username)
        else:
            event = self._event(
                app_id, "collaborator.removed", caller, actor, username=existing.username, role=existing.role
            )
        try:
            self.grants.remove(app_id, target_id, [event])
        except GrantMissingError:
            raise NotFoundError("No such collaborator on this application.") from None

    def transfer(self, caller: Caller, app_id: str, username: str, actor: Actor | None = None) -> Access:
        """Make the collaborator ``username`` the application's owner; the caller (its owner) stays
        on as a developer. Returns the application as the caller now sees it.

        One transaction: the application's owner (while it is still the caller's, not deleted, and
        no collaborator was added meanwhile), the two grants, every other grant's ``owner_id``, the
        new owner's name claim and the release of the old one's, and the ``application.transferred``
        event: at no moment has the application two owners or none.

        Raises 400 naming ``username`` (no such collaborator, the caller's own name), 403 for a
        caller who is not the owner, 404 without access, and 409 when the new owner has an
        application of that name, or the application has too many collaborators for one transaction.
        """
        user = _user(caller)
        target_id = self._user_id(user, username)
        for _ in range(_ATTEMPTS):
            access, target, existing = self._access_with_target(caller, app_id, target_id)
            if access.role != OWNER_ROLE:
                raise ForbiddenError("Only the owner of an application may transfer it.")
            if target_id == user.user_id:
                raise invalid_field("username", "you own this application already")
            if target is None or existing is None:
                raise invalid_field("username", "not a collaborator of this application")
            app = access.app
            parties = (target.user_id, user.user_id)  # the caller too: a stale read may list them
            others = [g for g in self.grants.all_collaborators(app_id) if g.user_id not in parties]
            if len(others) + 1 > TRANSFER_COLLABORATORS_MAX:
                raise ConflictError(
                    f"An application with more than {TRANSFER_COLLABORATORS_MAX} collaborators cannot be "
                    "transferred in one step: remove some first."
                )
            event = self._event(
                app_id,
                "application.transferred",
                caller,
                actor,
                username=target.username,
                **{"from": user.username, "to": target.username},
            )
            entries = [
                *self.apps.transfer_entries(app, target.user_id, target.username),  # positions 0-2
                *self.grants.transfer_entries(app_id, access.grant, existing, others),
                event,
            ]

            def raise_failure(failed: list[int]) -> None:
                if failed == [1]:  # only the new owner's claim of the name
                    raise ApplicationNameTakenError(app_id)
                raise ApplicationChangedError(app_id)

            try:
                dynamo.transact(entries, on_condition_failure=raise_failure)
            except ApplicationNameTakenError:
                raise ConflictError(f"name: {target.username} already has an application of that name") from None
            except ApplicationChangedError:
                continue  # changed meanwhile (a collaborator added or removed, renamed, deleted): read again
            moved = replace(app, owner_id=target.user_id, owner_username=target.username)
            mine = replace(access.grant, role=TRANSFER_ROLE, owner_id=target.user_id)
            return Access(moved, mine, _scope(caller))
        raise ConflictError("The application is being changed by another request; try again.")

    # --- the organization's people ------------------------------------------------------------

    def people(self, caller: Caller, limit: int, cursor: str | None) -> tuple[list[Person], str | None]:
        """One page of everyone who collaborates on an application the caller owns, by username,
        each with those applications (within the caller's key's scope; reading them needs read).

        Cost follows the page: a range of the ``by_owner`` index, then BatchGetItems confirming
        each grant and reading its application (the index lags the table).
        """
        user, scope = _user(caller), _scope(caller)
        if scope is not None and scope.permissions is not None and READ not in scope.permissions:
            raise ForbiddenError("This API key's scope does not allow read.")
        try:
            groups, next_cursor = self.grants.people_page(user.user_id, limit, cursor)
        except dynamo.InvalidCursorError:
            raise invalid_field("cursor", "not a cursor from this list") from None
        wanted = [g for group in groups for g in group if in_scope(scope, g.app_id)]
        refs: list[dynamo.Ref[Any]] = []
        for grant in wanted:
            refs += [self.apps.ref(grant.app_id), self.grants.ref(grant.app_id, grant.user_id)]
        values: list[Any] = []
        for chunk in dynamo.chunked(refs, dynamo.BATCH_GET_LIMIT):
            values += dynamo.get_many(*chunk)
        people: dict[str, Person] = {}
        for app, grant in zip(values[::2], values[1::2], strict=True):
            if app is None or grant is None or app.owner_id != user.user_id or grant.owner_id != user.user_id:
                continue  # removed, deleted or transferred since the index was written
            people.setdefault(grant.user_id, Person(grant.username, [])).applications.append((app, grant))
        return list(people.values()), next_cursor

    def offboard(self, caller: Caller, username: str, actor: Actor | None = None) -> list[str]:
        """Remove ``username`` from every application the caller owns; returns those applications' ids.

        Each removal is one conditional delete (the grant is still a collaborator's, on an
        application still the caller's) with its ``collaborator.removed`` event, 25 to a
        transaction: a request dying midway leaves each grant there or gone, and repeating the call
        finishes the job. Raises 404 for an unknown username or one on none of them.
        """
        user = _user(caller)
        target_id = self._user_id(user, username)
        if target_id is None or target_id == user.user_id:
            raise NotFoundError("No such collaborator on your applications.")
        grants = [g for g in self.grants.of_person(user.user_id, username) if g.user_id == target_id]
        groups = [
            [
                self.grants.remove_entry(g.app_id, g.user_id, owner_id=user.user_id),
                self._event(g.app_id, "collaborator.removed", caller, actor, username=g.username, role=g.role),
            ]
            for g in grants
        ]
        written = dynamo.transact_groups(groups, per_transaction=OFFBOARD_PER_TRANSACTION)
        removed = [g.app_id for g, ok in zip(grants, written, strict=True) if ok]
        if not removed:
            raise NotFoundError("No such collaborator on your applications.")
        return removed

    # --- access -------------------------------------------------------------------------------

    def _reachable(self, caller: Caller, app_id: str) -> bool:
        """Whether the caller could have access to the application at all: the one place where an
        id from a request, and an API key's scope of applications, are checked."""
        return bool(_APP_ID.fullmatch(app_id)) and in_scope(_scope(caller), app_id)

    def access(self, caller: Caller, app_id: str) -> Access:
        """The application and the caller's grant, in one BatchGetItem. 404 if either is missing,
        or the application is outside the caller's key's scope."""
        if not self._reachable(caller, app_id):
            raise NotFoundError(NOT_FOUND)
        app, grant = dynamo.get_many(self.apps.ref(app_id), self.grants.ref(app_id, _user(caller).user_id))
        if app is None or grant is None:
            raise NotFoundError(NOT_FOUND)
        return Access(app, grant, _scope(caller))

    def _access_with_target(
        self, caller: Caller, app_id: str, target_id: str | None
    ) -> tuple[Access, User | None, Grant | None]:
        """Like ``access``, also fetching another user and their grant in the same BatchGetItem."""
        user = _user(caller)
        if target_id is None or target_id == user.user_id:
            access = self.access(caller, app_id)
            if target_id is None:
                return access, None, None
            own = None if access.grant.role == OWNER_ROLE else access.grant
            return access, user, own
        if not self._reachable(caller, app_id):
            raise NotFoundError(NOT_FOUND)
        app, grant, target, existing = dynamo.get_many(
            self.apps.ref(app_id),
            self.grants.ref(app_id, user.user_id),
            self.users.ref(target_id),
            self.grants.ref(app_id, target_id),
        )
        if app is None or grant is None:
            raise NotFoundError(NOT_FOUND)
        return Access(app, grant, _scope(caller)), target, existing

    def _user_id(self, caller: User, username: str) -> str | None:
        """The id of the user named ``username`` (any case), or None if there is none."""
        if username.lower() == caller.username.lower():
            return caller.user_id
        if not USERNAME_PATTERN.fullmatch(username):
            return None  # no such user could exist; and an email must not be looked up here
        return self.users.find_id(username)

    def _event(self, app_id: str, type: str, caller: Caller, actor: Actor | None, **details: Any) -> dict[str, Any]:
        """The transaction entry of an event of the application's audit log."""
        events = self._events()
        if actor is None:
            actor = Actor(username=_user(caller).username, via=getattr(caller, "via", None))
        return events.entry(events.for_app(app_id, type, actor, **details))


def _name_taken() -> ConflictError:
    return ConflictError("name: you already have an application of that name")
