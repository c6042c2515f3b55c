"""Health check and the API reference."""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

from chalice import Blueprint
from chalice.app import Response

bp = Blueprint(__name__)


@bp.route("/v1/health", methods=["GET"])
def health() -> dict[str, Any]:
    return {"status": "ok"}


@lru_cache(maxsize=1)
def _openapi_text() -> str:
    from chalicelib.openapi import DOCUMENT

    return json.dumps(DOCUMENT, separators=(",", ":"))


@bp.route("/v1/openapi.json", methods=["GET"])
def openapi() -> Response:
    return Response(body=_openapi_text(), headers={"Content-Type": "application/json"})
