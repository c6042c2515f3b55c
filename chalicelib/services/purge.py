"""The scheduled purge of expired sessions and every other record that expires, and the finisher of
account deletions whose request died half-way (their tombstones are due at once)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from chalicelib.config import Settings
from chalicelib.store.expiry import Keys, PurgeReport, purge_expired
from chalicelib.store.tables import USERS
from chalicelib.store.users import tombstone_user_id

if TYPE_CHECKING:
    from chalicelib.services.deletion import AccountDeletion

# How often app.py schedules the purge (tests/functional/test_purge.py checks that they agree): a
# deletion that died is finished within one interval, and the integrity checker gives it two.
INTERVAL_SECONDS = 3600


class PurgeService:
    def __init__(self, settings: Settings, clock: Callable[[], int], deletion: Callable[[], AccountDeletion]) -> None:
        self.settings = settings
        self.clock = clock
        self._deletion = deletion

    def run(self) -> dict[str, PurgeReport]:
        """Delete what has expired by now, and finish every account deletion left half-way (its
        tombstone goes once the rest of the account has); returns what was read and deleted, per
        table (``users``: the tombstones, and in ``cascaded`` the records of their accounts)."""
        return purge_expired(self.settings, self.clock(), finishers={USERS.name: self._finish_deletions})

    def finish_deletions(self) -> PurgeReport:
        """The purge's part for account deletions alone: finish those left half-way."""
        finishers = {USERS.name: self._finish_deletions}
        return purge_expired(self.settings, self.clock(), finishers, only={USERS.name})[USERS.name]

    def _finish_deletions(self, keys: Keys) -> int:
        return self._deletion().finish_tombstoned([tombstone_user_id(k) for k in keys])
