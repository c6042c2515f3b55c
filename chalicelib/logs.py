"""Structured logs: one JSON object per line, ids and figures only, never a credential.

The logger sits outside Chalice's own ``latchkey`` logger (which drops INFO and does not
propagate), so its records reach the Lambda runtime's root handler, and pytest's caplog.
"""

from __future__ import annotations

import json
import logging
from typing import Any

_log = logging.getLogger("latchkey_events")
_log.setLevel(logging.INFO)


def log_event(event: str, **fields: Any) -> None:
    """Log ``event`` with ``fields`` as one JSON line. Callers pass ids and numbers, not secrets."""
    _log.info(json.dumps({"event": event} | fields, separators=(",", ":"), default=str))
