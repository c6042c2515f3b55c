"""Health check and the API reference."""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

from chalice.app import Response

from chalicelib.web import NONE, Call, Routes

api = Routes(__name__)
bp = api.bp


@api.route("/v1/health", methods=["GET"], auth=NONE)
def health(call: Call) -> dict[str, Any]:
    """Whether the service is up."""
    return {"status": "ok"}


@lru_cache(maxsize=1)
def _openapi_text() -> str:
    from chalicelib.openapi import document

    return json.dumps(document(), separators=(",", ":"))


@api.route("/v1/openapi.json", methods=["GET"], auth=NONE)
def openapi(call: Call) -> Response:
    """This document."""
    return Response(body=_openapi_text(), headers={"Content-Type": "application/json"})
