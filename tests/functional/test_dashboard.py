"""The dashboard's page and files: content types, security headers, and no inline script."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser

import pytest

from app import app
from chalicelib.routes import dashboard
from tests.conftest import Api

SECURITY_HEADERS = {
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "x-content-type-options": "nosniff",
}


def fetch(api: Api, path: str, **headers: str) -> tuple[int, dict[str, str], str]:
    """A GET as a browser sends it: no Content-Type, an Accept for anything."""
    reply = api.client.http.request("GET", path, headers={"Accept": "*/*", **headers})
    return reply.status_code, {k.lower(): v for k, v in reply.headers.items()}, reply.body.decode("utf-8")


def csp_directives(policy: str) -> dict[str, list[str]]:
    directives = {}
    for part in policy.split(";"):
        name, *values = part.split()
        directives[name] = values
    return directives


class PageParts(HTMLParser):
    """What the page refers to and whether anything in it could run as inline script."""

    def __init__(self) -> None:
        super().__init__()
        self.references: list[str] = []
        self.inline: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        for name, value in attrs:
            if name.startswith("on"):
                self.inline.append(f"<{tag} {name}>")
            if name in ("href", "src") and value and value.strip().lower().startswith("javascript:"):
                self.inline.append(f"<{tag} {name}=javascript:>")
        if tag == "script":
            self._in_script = True
            if not attributes.get("src"):
                self.inline.append("<script> without src")
        for name in ("src", "href"):
            value = attributes.get(name)
            if value and tag in ("script", "link", "img") and not value.startswith(("#", "data:")):
                self.references.append(value)

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.inline.append("script body")


def test_the_page_is_html_with_the_security_headers(api: Api) -> None:
    status, headers, body = fetch(api, "/")
    assert status == 200
    assert headers["content-type"] == "text/html; charset=utf-8"
    assert body.startswith("<!doctype html>")
    for name, value in SECURITY_HEADERS.items():
        assert headers[name] == value
    policy = csp_directives(headers["content-security-policy"])
    assert policy["default-src"] == ["'none'"]
    assert policy["script-src"] == ["'self'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert "data:" in policy["img-src"]  # the two-factor QR code, an SVG shown as an <img>
    for directive in ("default-src", "script-src", "style-src"):
        assert not {"'unsafe-inline'", "'unsafe-eval'", "*"} & set(policy[directive])


def test_the_page_has_no_inline_script_and_loads_nothing_from_another_origin(api: Api) -> None:
    parts = PageParts()
    parts.feed(fetch(api, "/")[2])
    assert parts.inline == []
    assert parts.references, "the page refers to its script and stylesheet"
    for reference in parts.references:
        # Relative, so that the page works under API Gateway's stage path (/api/) too.
        assert not re.match(r"^([a-z]+:|/)", reference), reference


def _module_imports(source: str) -> list[str]:
    return re.findall(r"""^import .* from "\./([a-z0-9-]+\.js)";$""", source, re.MULTILINE)


@pytest.mark.parametrize(
    "name, content_type",
    [
        ("app.js", "text/javascript; charset=utf-8"),
        ("style.css", "text/css; charset=utf-8"),
        ("icon.svg", "image/svg+xml; charset=utf-8"),
    ],
)
def test_files_have_their_content_type_and_the_security_headers(api: Api, name: str, content_type: str) -> None:
    status, headers, body = fetch(api, f"/dashboard/{name}")
    assert status == 200 and body
    assert headers["content-type"] == content_type
    for header, value in SECURITY_HEADERS.items():
        assert headers[header] == value
    assert "content-security-policy" in headers


def test_every_file_the_page_and_its_modules_load_is_served(api: Api) -> None:
    parts = PageParts()
    parts.feed(fetch(api, "/")[2])
    pending = [reference.removeprefix("dashboard/") for reference in parts.references]
    seen: set[str] = set()
    while pending:
        name = pending.pop()
        if name in seen:
            continue
        seen.add(name)
        status, headers, body = fetch(api, f"/dashboard/{name}")
        assert status == 200, name
        if name.endswith(".js"):
            assert headers["content-type"].startswith("text/javascript")
            pending.extend(_module_imports(body))
    assert {"app.js", "api.js", "ui.js", "auth.js", "tokens.js", "twofactor.js", "applications.js"} <= seen


def test_scripts_never_turn_data_into_html_or_code(api: Api) -> None:
    """What the API returns (names, descriptions, the QR SVG) is only ever set as text."""
    for name in sorted(dashboard.assets()):
        if name.endswith(".js"):
            source = fetch(api, f"/dashboard/{name}")[2]
            for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"):
                assert sink not in source, f"{name} uses {sink}"


def test_the_session_token_is_kept_in_session_storage_only(api: Api) -> None:
    scripts = {n: fetch(api, f"/dashboard/{n}")[2] for n in sorted(dashboard.assets()) if n.endswith(".js")}
    assert "sessionStorage" in scripts["api.js"]
    assert "document.cookie" not in "".join(scripts.values())
    # localStorage keeps the device tokens alone (no credential on their own), and only api.js touches it.
    assert [n for n, source in scripts.items() if "localStorage" in source] == ["api.js"]
    assert re.findall(r"localStorage\.(\w+)\(([A-Z_]+)", scripts["api.js"]) == [
        ("getItem", "DEVICES_KEY"),
        ("setItem", "DEVICES_KEY"),
    ]


@pytest.mark.parametrize("name", ["nope.js", "index.html", "..%2Fweb.py", "style.css.map", "APP.JS"])
def test_an_unknown_file_is_a_404_in_the_contract_shape(api: Api, name: str) -> None:
    status, _, body = fetch(api, f"/dashboard/{name}")
    assert status == 404
    assert json.loads(body)["Code"] == "NotFoundError"


def test_files_are_read_once_per_container(api: Api) -> None:
    dashboard.assets.cache_clear()
    for _ in range(3):
        fetch(api, "/")
        fetch(api, "/dashboard/app.js")
    assert dashboard.assets.cache_info().misses == 1


def gateway_event(request_path: str) -> dict:
    """API Gateway's event for GET / as the page is reached at ``request_path`` (stage included)."""
    return {
        "resource": "/",
        "path": "/",
        "httpMethod": "GET",
        "headers": {"accept": "text/html"},
        "multiValueHeaders": {"accept": ["text/html"]},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": "/",
            "httpMethod": "GET",
            "path": request_path,
            "stage": "api",
            "identity": {"sourceIp": "203.0.113.9"},
        },
        "body": None,
        "isBase64Encoded": False,
    }


@pytest.mark.parametrize(
    "request_path, base",
    [
        ("/api/", "/api/"),
        ("/api", "/api/"),  # without its slash, the relative links still resolve under the stage
        ("/", "/"),
        ("/latchkey/dashboard", "/latchkey/dashboard/"),  # a custom domain's base path
        ("//evil.example/", "/"),  # never another origin
        ('/a"><script>', "/"),
    ],
)
def test_the_pages_links_resolve_under_the_path_it_is_served_at(api: Api, request_path: str, base: str) -> None:
    response = app(gateway_event(request_path), None)
    assert response["statusCode"] == 200
    assert response["headers"]["Content-Type"] == "text/html; charset=utf-8"
    assert response["body"].count("<base ") == 1
    assert f'<base href="{base}">' in response["body"]


def test_the_page_from_the_test_client_has_the_root_as_its_base(api: Api) -> None:
    assert '<base href="/">' in fetch(api, "/")[2]
    assert "base-uri 'self'" in fetch(api, "/")[1]["content-security-policy"]


def test_api_replies_keep_no_store_and_the_page_does_not_need_it(api: Api, alice: str) -> None:
    assert api.get("/v1/user", token=alice).headers["cache-control"] == "no-store"
    _, headers, _ = fetch(api, "/")
    assert headers["cache-control"] == "no-cache"
