"""Routes of the contract's two factor section (to be built)."""

from __future__ import annotations

from chalice import Blueprint

bp = Blueprint(__name__)
