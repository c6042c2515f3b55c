"""Routes of the contract's applications section (to be built)."""

from __future__ import annotations

from chalice import Blueprint

bp = Blueprint(__name__)
