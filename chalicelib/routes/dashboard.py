"""The dashboard: its HTML page at ``/`` and its scripts, styles and icon under ``/dashboard/``.

The files live in ``chalicelib/dashboard/`` (so Lambda gets them) and are read once per container.
Every reply carries the security headers below; the page's scripts are separate files, so the
Content-Security-Policy allows scripts from this origin only.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

from chalice import Blueprint
from chalice.app import Response

from chalicelib.errors import NotFoundError

bp = Blueprint(__name__)

ASSETS = Path(__file__).resolve().parent.parent / "dashboard"
PAGE = "index.html"
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml; charset=utf-8",
}
_ASSET_NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,63}\.(?:js|css|svg)")
# Segments of unreserved characters only: no //host, no quotes, nothing to escape.
_PAGE_PATH = re.compile(r"(?:/[A-Za-z0-9._~-]{1,64}){0,8}/?")
_BASE_PLACEHOLDER = '<base href="/">'

# img-src allows data: for the two-factor QR code, an SVG shown as <img src="data:...">: an image
# runs no script. Nothing is loaded from another origin.
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "form-action 'none'",
        "base-uri 'self'",
        "frame-ancestors 'none'",
    )
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    # Revalidate on every load, so a deploy shows at once; nothing here is secret.
    "Cache-Control": "no-cache",
}


@cache
def assets() -> dict[str, str]:
    """Every dashboard file by name, read on first use and kept for the container's life."""
    return {
        path.name: path.read_text(encoding="utf-8")
        for path in ASSETS.iterdir()
        if path.is_file() and path.suffix in CONTENT_TYPES
    }


def _file_response(name: str) -> Response:
    headers: dict[str, str | list[str]] = {**SECURITY_HEADERS, "Content-Type": CONTENT_TYPES[Path(name).suffix]}
    return Response(body=assets()[name], status_code=200, headers=headers)


def base_href(request_path: str) -> str:
    """The page's own path with a trailing slash, which its relative links resolve against.

    Behind API Gateway the page is at the stage's path (/api or /api/) or a custom domain's base
    path; anything but plain path segments falls back to /.
    """
    if not _PAGE_PATH.fullmatch(request_path):
        return "/"
    return request_path if request_path.endswith("/") else request_path + "/"


@bp.route("/", methods=["GET"])
def page() -> Response:
    path = str((bp.current_request.context or {}).get("path") or "/")
    response = _file_response(PAGE)
    response.body = response.body.replace(_BASE_PLACEHOLDER, f'<base href="{base_href(path)}">', 1)
    return response


@bp.route("/dashboard/{name}", methods=["GET"])
def asset(name: str) -> Response:
    if not _ASSET_NAME.fullmatch(name) or name not in assets():
        raise NotFoundError("No such dashboard file.")
    return _file_response(name)
