"""The security log and the applications' audit logs: what happened, who did it, how and from where.

Services record an event with the change it describes: in the change's own transaction where the
change is one write (``entry``), or right after a change that takes several (``record``), so that a
request dying midway can lose at most the tail of a change's record, never invent a change. An
event never holds a password, token, key, secret or code: ``details`` carry ids, names and prefixes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chalicelib.config import Settings
from chalicelib.errors import invalid_field
from chalicelib.security.ids import new_id
from chalicelib.services.identity import Actor
from chalicelib.store import dynamo
from chalicelib.store.events import Event, EventStore, app_stream, user_stream

__all__ = ["Actor", "Event", "EventLog"]

DAY = 86400


class EventLog:
    def __init__(self, settings: Settings, clock: Callable[[], int]) -> None:
        self.settings = settings
        self.clock = clock
        self.store = EventStore(settings)

    def for_user(self, user_id: str, type: str, actor: Actor, **details: Any) -> Event:
        """A new event of ``user_id``'s security log (not yet written)."""
        return self._event(user_stream(user_id), type, actor, details)

    def for_app(self, app_id: str, type: str, actor: Actor, **details: Any) -> Event:
        """A new event of an application's audit log (not yet written)."""
        return self._event(app_stream(app_id), type, actor, details)

    def entry(self, event: Event) -> dict[str, Any]:
        """The transaction entry that writes ``event`` with its change."""
        return self.store.put_entry(event)

    def record(self, *events: Event) -> None:
        """Write events on their own (see the module's docstring for when)."""
        self.store.put(*events)

    def user_page(self, user_id: str, limit: int, cursor: str | None) -> tuple[list[Event], str | None]:
        return self._page(user_stream(user_id), limit, cursor)

    def app_page(self, app_id: str, limit: int, cursor: str | None) -> tuple[list[Event], str | None]:
        return self._page(app_stream(app_id), limit, cursor)

    def forget_user(self, user_id: str) -> None:
        """Delete a user's security log (with the account)."""
        self.store.delete_stream(user_stream(user_id))

    def _page(self, stream: str, limit: int, cursor: str | None) -> tuple[list[Event], str | None]:
        try:
            return self.store.page(stream, limit, cursor, self.clock())
        except dynamo.InvalidCursorError:
            raise invalid_field("cursor", "not a cursor from this list") from None

    def _event(self, stream: str, type: str, actor: Actor, details: dict[str, Any]) -> Event:
        now = self.clock()
        return Event(
            stream=stream,
            event_id=new_id(),
            type=type,
            created_at=now,
            expires_at=now + self.settings.event_retention_days * DAY,
            actor=actor.username,
            via=actor.via,
            api_key_prefix=actor.api_key_prefix,
            address=actor.address,
            user_agent=actor.user_agent,
            details=details,
        )
