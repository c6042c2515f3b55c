"""The dashboard's page and files over real HTTP from the dev server: what Chalice's local server
sends a browser (content types and security headers), without a browser."""

from __future__ import annotations

import pytest
import requests

from tests.e2e.conftest import DevServer

pytestmark = pytest.mark.e2e


def test_the_page_and_its_files_have_their_headers_over_http(server: DevServer) -> None:
    page = requests.get(f"{server.url}/", timeout=5)
    assert page.status_code == 200 and page.headers["Content-Type"] == "text/html; charset=utf-8"
    assert "'unsafe-inline'" not in page.headers["Content-Security-Policy"]
    assert page.headers["X-Frame-Options"] == "DENY" and page.headers["Referrer-Policy"] == "no-referrer"
    script = requests.get(f"{server.url}/dashboard/app.js", timeout=5)
    assert script.status_code == 200 and script.headers["Content-Type"] == "text/javascript; charset=utf-8"
    assert script.headers["X-Content-Type-Options"] == "nosniff"
    assert requests.get(f"{server.url}/dashboard/missing.js", timeout=5).status_code == 404


def test_browser_accept_headers_get_text_not_base64(server: DevServer) -> None:
    """Chalice base64-encodes bodies of its binary types; none of the dashboard's files is one."""
    navigation = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"
    page = requests.get(f"{server.url}/", headers={"Accept": navigation}, timeout=5)
    assert page.status_code == 200 and page.text.startswith("<!doctype html>")
    image = "image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8"
    icon = requests.get(f"{server.url}/dashboard/icon.svg", headers={"Accept": image}, timeout=5)
    assert icon.status_code == 200 and icon.headers["Content-Type"] == "image/svg+xml; charset=utf-8"
    assert icon.text.startswith("<svg")
    style = requests.get(f"{server.url}/dashboard/style.css", headers={"Accept": "text/css,*/*;q=0.1"}, timeout=5)
    assert style.status_code == 200 and style.headers["Content-Type"] == "text/css; charset=utf-8"
