# ruff: noqa: F811  (the browser fixtures are imported from test_dashboard.py, and taken as arguments)
"""Passkeys in a real browser: Chromium's virtual authenticator (the DevTools protocol's WebAuthn
domain: CTAP2, internal transport, resident keys, user verification) registers a passkey from the
Passkeys tab, and after logging out signs in with it and no username; then it is renamed and removed.

WebAuthn needs a secure context and a domain name for the rp id: the dev server's PUBLIC_URL and the
page are both http://localhost:<port> (http://localhost is a secure context; 127.0.0.1 is no rp id)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.conftest import PASSWORD
from tests.e2e.conftest import DevServer, ServerFactory
from tests.e2e.test_dashboard import (  # noqa: F401  (fixtures)
    TIMEOUT_MS,
    VIEWPORT,
    browser,
    expect,
    log_in,
    log_out,
    open_tab,
    shots,
    sign_up,
)

pytestmark = [pytest.mark.e2e, pytest.mark.parametrize("dynamodb_endpoint", ["moto"], indirect=True)]


@pytest.fixture(scope="module")
def localhost(start_server: ServerFactory) -> DevServer:
    """A dev server whose PUBLIC_URL is http://localhost:<port> (HOST=localhost)."""
    return start_server(HOST="localhost")


def public_url(server: DevServer) -> str:
    return server.url.replace("127.0.0.1", "localhost")


@pytest.fixture
def browser_page(browser: Any, localhost: DevServer) -> Iterator[tuple[Any, Any]]:
    """A window on the dashboard at http://localhost, with a virtual passkey authenticator."""
    url = public_url(localhost)
    context = browser.new_context(viewport=VIEWPORT, base_url=url)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(f"script error: {error}"))
    cdp = context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    options = {
        "protocol": "ctap2",
        "transport": "internal",
        "hasResidentKey": True,
        "hasUserVerification": True,
        "isUserVerified": True,
    }
    authenticator = cdp.send("WebAuthn.addVirtualAuthenticator", {"options": options})["authenticatorId"]
    page.goto("/")
    yield page, (cdp, authenticator)
    context.close()
    assert problems == []


def test_register_log_out_sign_in_with_no_username_rename_and_remove(
    browser_page: tuple[Any, Any], localhost: DevServer, shots: Path
) -> None:
    page, (cdp, authenticator) = browser_page
    sign_up(page, "petra")
    open_tab(page, "Passkeys")
    expect(page.locator("#passkeys-empty")).to_be_visible()
    page.get_by_label("Name of the new passkey").fill("virtual laptop")
    page.get_by_role("button", name="Add a passkey").click()
    expect(page.locator("#passkeys-status")).to_contain_text("virtual laptop")
    row = page.locator("#passkeys-table tbody tr")
    expect(row).to_have_count(1)
    expect(row.first).to_contain_text("virtual laptop")
    expect(row.first).to_contain_text("Not used yet")
    stored = cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})["credentials"]
    assert len(stored) == 1 and stored[0]["isResidentCredential"] is True and stored[0]["rpId"] == "localhost"

    log_out(page)
    page.get_by_role("button", name="Sign in with a passkey").click()
    expect(page.get_by_role("heading", name="Preferences")).to_be_visible()
    expect(page.locator("#whoami")).to_have_text("petra")
    token = page.evaluate("JSON.parse(sessionStorage.getItem('latchkey.session')).token")
    me = requests.get(f"{localhost.url}/v1/user", headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert me.status_code == 200 and me.json()["username"] == "petra"

    open_tab(page, "Passkeys")
    expect(row.first).not_to_contain_text("Not used yet")
    page.screenshot(path=shots / "passkeys.png", full_page=True)
    row.first.get_by_role("button", name="Rename").click()
    page.get_by_label("New name").fill("the laptop")
    page.get_by_role("button", name="Save").click()
    expect(row.first).to_contain_text("the laptop")

    row.first.get_by_role("button", name="Remove").click()
    page.locator("#confirm-yes").click()
    expect(page.locator("#passkeys-status")).to_contain_text("Removed")
    expect(page.locator("#passkeys-empty")).to_be_visible()

    # Removed: the authenticator still holds it, and the server refuses it.
    log_out(page)
    page.get_by_role("button", name="Sign in with a passkey").click()
    expect(page.locator("#login-passkey-error")).to_contain_text("could not be verified")
    log_in(page, "petra", PASSWORD)  # the password still works
    expect(page.locator("#whoami")).to_have_text("petra")


def test_a_passkey_is_the_second_step_after_a_password(browser_page: tuple[Any, Any], localhost: DevServer) -> None:
    import pyotp

    page, _ = browser_page
    sign_up(page, "quinn")
    open_tab(page, "Passkeys")
    page.get_by_role("button", name="Add a passkey").click()
    expect(page.locator("#passkeys-table tbody tr")).to_have_count(1)
    # Two-factor on (by the API, as an authenticator app would pair).
    token = page.evaluate("JSON.parse(sessionStorage.getItem('latchkey.session')).token")
    headers = {"Authorization": f"Bearer {token}"}
    secret = requests.post(f"{localhost.url}/v1/user/2fa/setup", headers=headers, timeout=10).json()["secret"]
    code = pyotp.TOTP(secret).now()
    enabled = requests.post(f"{localhost.url}/v1/user/2fa/enable", json={"code": code}, headers=headers, timeout=10)
    assert enabled.status_code == 200, enabled.text

    log_out(page)
    log_in(page, "quinn", PASSWORD)
    expect(page.get_by_role("heading", name="Two-factor authentication")).to_be_visible()
    page.get_by_role("button", name="Use a passkey").click()
    expect(page.locator("#whoami")).to_have_text("quinn")
