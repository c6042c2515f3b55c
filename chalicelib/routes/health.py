"""Health check."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint

bp = Blueprint(__name__)


@bp.route("/v1/health", methods=["GET"])
def health() -> dict[str, Any]:
    return {"status": "ok"}
