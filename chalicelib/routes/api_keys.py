"""Routes of the contract's api keys section (to be built)."""

from __future__ import annotations

from chalice import Blueprint

bp = Blueprint(__name__)
