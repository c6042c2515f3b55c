"""The scheduled purge of expired sessions and every other record that expires."""

from __future__ import annotations

from collections.abc import Callable

from chalicelib.config import Settings
from chalicelib.store.expiry import PurgeReport, purge_expired


class PurgeService:
    def __init__(self, settings: Settings, clock: Callable[[], int]) -> None:
        self.settings = settings
        self.clock = clock

    def run(self) -> dict[str, PurgeReport]:
        """Delete what has expired by now; returns what was read and deleted, per table."""
        return purge_expired(self.settings, self.clock())
