"""The dashboard in a real browser (Playwright driving Debian's Chromium, headless) against the dev
server: sign up, log in, API keys, two-factor authentication and collaborators, as a person would.

Without Chromium at /usr/bin/chromium this module is skipped with one line, except under CI=true,
where that is a failure. UPDATE_SCREENSHOTS=1 saves the screenshots to docs/screenshots/.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyotp
import pytest
import requests

from tests.conftest import PASSWORD
from tests.e2e.conftest import ROOT, DevServer, ServerFactory

pytestmark = [
    pytest.mark.e2e,
    # What the browser sees does not depend on the DynamoDB behind the API, and the API's own tests
    # run on both backends: the browser runs against moto's only.
    pytest.mark.parametrize("dynamodb_endpoint", ["moto"], indirect=True),
]

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def _browser_missing() -> str | None:
    if not Path(CHROMIUM).is_file():
        return f"no Chromium at {CHROMIUM} (apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is missing (make install)"
    return None


# Skipped as a whole module, so that the summary says it in one line; under CI each test fails.
MISSING = _browser_missing()
if MISSING and os.environ.get("CI") != "true":
    pytest.skip(f"browser tests skipped: {MISSING}", allow_module_level=True)

VIEWPORT = {"width": 1100, "height": 760}
# Generous: the machine's cores are shared, and each sign-up and login hashes a password (argon2id).
TIMEOUT_MS = 20_000


# ---- fixtures ----


@pytest.fixture(scope="module")
def dashboard(start_server: ServerFactory) -> DevServer:
    """A dev server of its own, so that the people in these tests have their plain names."""
    return start_server()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if MISSING:
        pytest.fail(f"CI=true and the browser tests cannot run: {MISSING}", pytrace=False)
    from playwright.sync_api import expect as playwright_expect
    from playwright.sync_api import sync_playwright

    playwright_expect.set_options(timeout=TIMEOUT_MS)
    playwright = sync_playwright().start()
    chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
    yield chromium
    chromium.close()
    playwright.stop()


@pytest.fixture
def page(browser: Any, dashboard: DevServer) -> Iterator[Any]:
    """A fresh browser window on the dashboard; any script error or CSP violation fails the test."""
    context = browser.new_context(viewport=VIEWPORT, accept_downloads=True, base_url=dashboard.url)
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=dashboard.url)
    context.set_default_timeout(TIMEOUT_MS)
    opened = context.new_page()
    problems: list[str] = []
    opened.on("pageerror", lambda error: problems.append(f"script error: {error}"))
    opened.on(
        "console",
        lambda message: problems.append(f"console: {message.text}")
        if message.type == "error" and "Content Security Policy" in message.text
        else None,
    )
    opened.goto("/")
    yield opened
    context.close()
    assert problems == []


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    """Where screenshots go: docs/screenshots/ when asked for, else a temporary folder."""
    if os.environ.get("UPDATE_SCREENSHOTS") == "1":
        return ROOT / "docs" / "screenshots"
    return tmp_path


# ---- helpers ----


def expect(target: Any) -> Any:
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(target)


def sign_up(page: Any, username: str) -> None:
    page.get_by_role("link", name="Sign up").click()
    form = page.locator("#signup-form")
    form.get_by_label("Username").fill(username)
    form.get_by_label("Email").fill(f"{username}@example.com")
    form.get_by_label("Password").fill(PASSWORD)
    form.get_by_role("button", name="Sign up").click()
    expect(page.get_by_role("heading", name="Preferences")).to_be_visible()
    expect(page.locator("#whoami")).to_have_text(username)


def log_in(page: Any, username: str, password: str = PASSWORD) -> None:
    form = page.locator("#login-form")
    form.get_by_label("Username or email").fill(username)
    form.get_by_label("Password").fill(password)
    form.get_by_role("button", name="Log in").click()


def log_out(page: Any) -> None:
    page.get_by_role("button", name="Log out", exact=True).click()
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    assert page.evaluate("sessionStorage.length") == 0


def open_tab(page: Any, name: str) -> None:
    page.get_by_role("tab", name=name).click()
    expect(page.get_by_role("tab", name=name)).to_have_attribute("aria-selected", "true")


def session_token(page: Any) -> str:
    return str(page.evaluate("JSON.parse(sessionStorage.getItem('latchkey.session')).token"))


def api_get(server: DevServer, path: str, credential: str) -> requests.Response:
    return requests.get(f"{server.url}{path}", headers={"Authorization": f"Bearer {credential}"}, timeout=10)


def login_by_api(server: DevServer, username: str, password: str = PASSWORD) -> requests.Response:
    body = {"username": username, "password": password}
    return requests.post(f"{server.url}/v1/login", json=body, timeout=10)


def signup_by_api(server: DevServer, username: str) -> str:
    body = {"username": username, "email": f"{username}@example.com", "password": PASSWORD}
    reply = requests.post(f"{server.url}/v1/signup", json=body, timeout=10)
    assert reply.status_code == 201, reply.text
    return str(reply.json()["token"])


class Authenticator:
    """An authenticator app: a code per 30-second step, never the same step twice (the API
    accepts each step once, and one step either side of now)."""

    def __init__(self, secret: str) -> None:
        self.totp = pyotp.TOTP(secret)
        self.last_step = -1

    def code(self) -> str:
        step = max(int(time.time()) // 30, self.last_step + 1)
        while step > int(time.time()) // 30 + 1:  # only if asked for three codes within one step
            time.sleep(1)
        self.last_step = step
        return str(self.totp.at(step * 30))

    def wrong_code(self) -> str:
        now = int(time.time())
        near = {self.totp.at(now + offset) for offset in (-60, -30, 0, 30, 60)}
        return next(code for code in (f"{n:06d}" for n in range(1000000)) if code not in near)


# ---- the tests ----


def test_sign_up_details_refresh_log_out_and_in(page: Any, dashboard: DevServer, shots: Path) -> None:
    page.get_by_role("link", name="Sign up").click()
    form = page.locator("#signup-form")
    form.get_by_label("Username").fill("alice")
    form.get_by_label("Email").fill("alice@example.com")
    form.get_by_label("Password").fill("short")
    form.get_by_role("button", name="Sign up").click()
    # The API's words, under the field at fault, which gets the focus and is marked invalid.
    password = form.get_by_label("Password")
    expect(password).to_be_focused()
    expect(password).to_have_attribute("aria-invalid", "true")
    expect(form.locator(".field-error")).to_contain_text("password")
    expect(password).to_have_accessible_description(re.compile("password"))

    password.fill(PASSWORD)
    form.get_by_role("button", name="Sign up").click()
    expect(page.locator("#detail-username")).to_have_text("alice")
    expect(page.locator("#detail-email")).to_have_text("alice@example.com")
    expect(page.locator("#detail-created")).to_contain_text("UTC")
    expect(page.locator("#detail-2fa")).to_have_text("Off")
    page.screenshot(path=shots / "details.png", full_page=True)

    first = session_token(page)
    open_tab(page, "Access tokens")
    expect(page.locator("#session-expiry")).to_contain_text("UTC")
    page.get_by_role("button", name="Refresh token").click()
    expect(page.locator("#session-status")).to_have_text("Your session token was refreshed.")
    second = session_token(page)
    assert second != first and api_get(dashboard, "/v1/user", second).status_code == 200
    assert api_get(dashboard, "/v1/user", first).status_code == 200  # the old one lives on
    page.get_by_role("button", name="Copy session token").click()
    expect(page.locator("#session-status")).to_have_text("Copied to the clipboard.")
    assert page.evaluate("navigator.clipboard.readText()") == second

    log_out(page)
    log_in(page, "alice", "not the password")
    expect(page.locator("#login-form .field-error")).to_be_visible()
    # Keyboard only: type, Tab, type, Enter.
    page.locator("#login-username").fill("")
    page.locator("#login-username").focus()
    page.keyboard.type("alice@example.com")
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    expect(page.locator("#detail-username")).to_have_text("alice")


def test_tabs_work_with_the_arrow_keys(page: Any) -> None:
    sign_up(page, "tabby")
    page.get_by_role("tab", name="Details").focus()
    page.keyboard.press("ArrowRight")
    expect(page.get_by_role("tab", name="Access tokens")).to_be_focused()
    expect(page.get_by_role("tabpanel", name="Access tokens")).to_be_visible()
    page.keyboard.press("End")
    expect(page.get_by_role("tab").last).to_have_attribute("aria-selected", "true")
    page.keyboard.press("ArrowRight")
    expect(page.get_by_role("tab", name="Details")).to_have_attribute("aria-selected", "true")


def test_an_ended_session_sends_the_person_back_to_log_in(page: Any) -> None:
    sign_up(page, "brief")
    # The stored expiry has passed: the page logs out without asking the API.
    page.evaluate(
        """() => {
            const stored = JSON.parse(sessionStorage.getItem('latchkey.session'));
            stored.expires_at = '2020-01-01T00:00:00Z';
            sessionStorage.setItem('latchkey.session', JSON.stringify(stored));
        }"""
    )
    page.reload()
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    expect(page.locator("#notice")).to_have_text("Your session has ended. Log in again.")
    assert page.evaluate("sessionStorage.length") == 0

    # The API refuses the token (here, one it never issued): the same.
    log_in(page, "brief")
    expect(page.locator("#detail-username")).to_have_text("brief")
    page.evaluate(
        """() => {
            const stored = JSON.parse(sessionStorage.getItem('latchkey.session'));
            stored.token = 'not.a.token';
            sessionStorage.setItem('latchkey.session', JSON.stringify(stored));
        }"""
    )
    page.reload()
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    expect(page.locator("#notice")).to_have_text("Your session has ended. Log in again.")
    assert page.evaluate("sessionStorage.length") == 0


def test_every_control_has_a_name(page: Any) -> None:
    """A screen reader announces each input, select and button by name."""
    sign_up(page, "reader")
    for tab in ("Details", "Access tokens", "Two-factor authentication", "Applications"):
        open_tab(page, tab)
        unnamed = page.evaluate(
            """() => [...document.querySelectorAll('input, select, button')]
                .filter((node) => node.getClientRects().length > 0)
                .filter((node) => !(node.labels?.length || node.getAttribute('aria-label') || node.textContent.trim()))
                .map((node) => node.outerHTML)"""
        )
        assert unnamed == [], tab


def test_create_copy_download_and_revoke_api_keys(page: Any, dashboard: DevServer, shots: Path) -> None:
    sign_up(page, "keymaster")
    open_tab(page, "Access tokens")
    expect(page.get_by_text("You have no API keys yet.")).to_be_visible()

    # A blank name: the API's message, next to the field, in the dialog.
    page.get_by_role("button", name="Create API key").click()
    dialog = page.get_by_role("dialog", name="Create API key")
    expect(dialog.get_by_label("Token name")).to_be_focused()
    dialog.get_by_role("button", name="Create token").click()
    expect(dialog.locator(".field-error")).to_contain_text("name")

    dialog.get_by_label("Token name").fill("deploy-bot")
    dialog.get_by_label("Token description (optional)").fill("CI deploys to the EU fleet")
    dialog.get_by_role("button", name="Create token").click()
    shown = page.get_by_role("dialog", name="Your new API key")
    expect(shown).to_contain_text("This is the only time you will see this key")
    key = shown.get_by_label(re.compile("API key")).input_value()
    assert key.startswith("lk_") and len(key) >= 41
    expect(page.get_by_role("row", name=re.compile("deploy-bot"))).to_be_attached()  # listed behind the dialog
    page.screenshot(path=shots / "api-key-created.png")  # a modal: the viewport
    shown.get_by_role("button", name="Copy").click()
    expect(shown.get_by_role("status")).to_have_text("Copied to the clipboard.")
    assert page.evaluate("navigator.clipboard.readText()") == key
    with page.expect_download() as downloading:
        shown.get_by_role("button", name="Download").click()
    assert Path(downloading.value.path()).read_text().strip() == key
    shown.get_by_role("button", name="I have saved it, close").click()
    expect(shown).to_be_hidden()
    assert page.locator("#key-created-value").input_value() == ""  # not kept in the page

    row = page.get_by_role("row", name=re.compile("deploy-bot"))
    expect(row).to_contain_text(key[:8])
    expect(row).to_contain_text("CI deploys to the EU fleet")
    expect(row).to_contain_text("Never used")
    assert api_get(dashboard, "/v1/user", key).status_code == 200

    page.get_by_role("button", name="Create API key").click()
    dialog.get_by_label("Token name").fill("laptop")
    dialog.get_by_label("Expires (optional)").fill("2099-12-31")
    dialog.get_by_role("button", name="Create token").click()
    second_key = shown.get_by_label(re.compile("API key")).input_value()
    shown.get_by_role("button", name="I have saved it, close").click()
    expect(page.get_by_role("row", name=re.compile("laptop"))).to_contain_text("31 Dec 2099")
    page.reload()  # the key list comes from the API, not from the page's memory
    # The key authenticated a request above: its "last used" is a time now.
    expect(page.get_by_role("row", name=re.compile("deploy-bot"))).not_to_contain_text("Never used")
    page.get_by_role("row", name=re.compile("deploy-bot")).get_by_role("checkbox").focus()
    page.keyboard.press("Space")
    page.screenshot(path=shots / "access-tokens.png", full_page=True)

    page.get_by_label("Select laptop").check()
    page.get_by_role("button", name=re.compile("Delete selected")).click()
    confirm = page.get_by_role("dialog", name="Delete API keys?")
    expect(confirm).to_contain_text("deploy-bot, laptop")
    confirm.get_by_role("button", name="Delete").click()
    expect(page.locator("#keys-status")).to_have_text("Deleted 2 API keys.")
    expect(page.get_by_text("You have no API keys yet.")).to_be_visible()
    assert api_get(dashboard, "/v1/user", key).status_code == 401
    assert api_get(dashboard, "/v1/user", second_key).status_code == 401


def test_enable_two_factor_log_in_with_a_code_and_disable_it(page: Any, dashboard: DevServer, shots: Path) -> None:
    sign_up(page, "grace")
    open_tab(page, "Two-factor authentication")
    expect(page.locator("#tfa-state")).to_have_text("Off")
    page.get_by_role("button", name="Enable").click()
    qr = page.get_by_role("img", name=re.compile("QR code"))
    expect(qr).to_be_visible()
    assert qr.get_attribute("src").startswith("data:image/svg+xml;base64,")
    assert page.evaluate("document.querySelector('#tfa-qr').naturalWidth") > 0  # the CSP lets it show
    expect(page.get_by_label("Pairing code (the 6 digits the app shows)")).to_be_focused()
    secret = page.locator("#tfa-secret").inner_text().replace(" ", "")
    app = Authenticator(secret)
    page.screenshot(path=shots / "two-factor-setup.png", full_page=True)

    pairing = page.get_by_label("Pairing code (the 6 digits the app shows)")
    pairing.fill(app.wrong_code())
    page.get_by_role("button", name="Pair and enable").click()
    expect(page.locator("#tfa-pair-form .field-error")).to_be_visible()
    expect(pairing).to_be_focused()
    expect(page.locator("#tfa-state")).to_have_text("Off")

    pairing.fill(app.code())
    page.get_by_role("button", name="Pair and enable").click()
    codes_dialog = page.get_by_role("dialog", name=re.compile("recovery codes"))
    expect(codes_dialog).to_contain_text("This is the only time you will see these codes")
    codes = codes_dialog.locator("li").all_inner_texts()
    assert len(codes) == 10 and len(set(codes)) == 10
    page.screenshot(path=shots / "two-factor-recovery-codes.png")  # a modal: the viewport
    with page.expect_download() as downloading:
        codes_dialog.get_by_role("button", name="Download").click()
    assert all(code in Path(downloading.value.path()).read_text() for code in codes)
    codes_dialog.get_by_role("button", name=re.compile("close")).click()
    expect(page.locator("#tfa-state")).to_have_text("On")
    expect(page.locator("#tfa-remaining")).to_have_text("10")
    page.screenshot(path=shots / "two-factor.png", full_page=True)
    regenerate = page.locator("#tfa-regenerate-form")
    regenerate.get_by_label("Authentication code").fill(app.wrong_code())
    regenerate.get_by_role("button", name="Get new recovery codes").click()
    expect(regenerate.locator(".field-error")).to_be_visible()
    expect(regenerate.get_by_label("Authentication code")).to_be_focused()
    regenerate.get_by_label("Authentication code").fill("")

    log_out(page)
    log_in(page, "grace")
    expect(page.get_by_role("heading", name="Two-factor authentication")).to_be_visible()
    second_step = page.locator("#totp-form")
    expect(second_step.get_by_label("Authentication code or recovery code")).to_be_focused()
    second_step.get_by_label("Authentication code or recovery code").fill(app.wrong_code())
    second_step.get_by_role("button", name="Verify").click()
    expect(second_step.locator(".field-error")).to_be_visible()
    page.screenshot(path=shots / "log-in-two-factor.png", full_page=True)
    second_step.get_by_label("Authentication code or recovery code").fill(app.code())
    second_step.get_by_role("button", name="Verify").click()
    expect(page.locator("#detail-2fa")).to_have_text("On")

    open_tab(page, "Two-factor authentication")
    page.locator("#tfa-disable-form").get_by_label("Authentication code or recovery code").fill(codes[0])
    page.get_by_role("button", name="Disable").click()
    expect(page.locator("#tfa-state")).to_have_text("Off")
    expect(page.get_by_role("button", name="Enable")).to_be_visible()


def test_share_an_application_with_a_collaborator(page: Any, browser: Any, dashboard: DevServer, shots: Path) -> None:
    signup_by_api(dashboard, "bob")
    sign_up(page, "olivia")
    open_tab(page, "Applications")
    expect(page.get_by_text("No applications yet.")).to_be_visible()
    create = page.locator("#app-create-form")
    create.get_by_label("Name").fill("fleet eu")
    create.get_by_role("button", name="Create application").click()
    expect(create.locator(".field-error")).to_contain_text("name")
    create.get_by_label("Name").fill("fleet-eu")
    create.get_by_label("Description (optional)").fill("Gateways in Frankfurt")
    create.get_by_role("button", name="Create application").click()
    row = page.get_by_role("row", name=re.compile("fleet-eu"))
    expect(row).to_contain_text("Owner")

    row.get_by_role("button", name="Collaborators of fleet-eu").click()
    expect(page.get_by_role("heading", name="Collaborators of fleet-eu")).to_be_focused()
    add = page.locator("#collab-add-form")
    add.get_by_label("Username").fill("nobody_here")
    add.get_by_role("button", name="Add collaborator").click()
    expect(add.locator(".field-error")).to_be_visible()
    add.get_by_label("Username").fill("bob")
    add.get_by_label("Role").select_option("developer")
    add.get_by_role("button", name="Add collaborator").click()
    bob_row = page.get_by_role("row", name=re.compile("bob"))
    expect(bob_row.get_by_label("Role of bob")).to_have_value("developer")
    bob_row.get_by_label("Role of bob").select_option("operator")
    expect(page.locator("#collab-status")).to_have_text("bob is now operator.")
    page.screenshot(path=shots / "applications.png", full_page=True)

    edit = page.locator("#app-edit-form")
    expect(edit.get_by_label("Name")).to_have_value("fleet-eu")
    edit.get_by_label("Name").fill("fleet-de")
    edit.get_by_label("Description (optional)").fill("")
    edit.get_by_role("button", name="Save changes").click()
    expect(page.locator("#collab-status")).to_have_text("Saved fleet-de.")
    renamed = page.get_by_role("row", name=re.compile("fleet-de"))
    expect(renamed).to_contain_text("Owner")
    expect(renamed).not_to_contain_text("Gateways in Frankfurt")
    expect(page.get_by_role("heading", name="Collaborators of fleet-de")).to_be_visible()

    # Bob, in a window of his own, sees the application with his role.
    bob_context = browser.new_context(viewport=VIEWPORT, base_url=dashboard.url)
    bob = bob_context.new_page()
    bob.goto("/")
    log_in(bob, "bob")
    bob.get_by_role("tab", name="Applications").click()
    expect(bob.get_by_role("row", name=re.compile("fleet-de"))).to_contain_text("Operator")

    bob_row.get_by_role("button", name="Remove bob").click()
    expect(page.get_by_text("No collaborators yet.")).to_be_visible()
    bob.get_by_role("tab", name="Details").click()
    bob.get_by_role("tab", name="Applications").click()
    expect(bob.get_by_text("No applications yet.")).to_be_visible()

    # Added again as an observer, Bob sees the collaborators but may not change them, and leaves.
    add.get_by_label("Username").fill("bob")
    add.get_by_label("Role").select_option("observer")
    add.get_by_role("button", name="Add collaborator").click()
    expect(page.locator("#collab-status")).to_have_text("bob has access to fleet-de as observer.")
    bob.get_by_role("tab", name="Details").click()
    bob.get_by_role("tab", name="Applications").click()
    bob.get_by_role("button", name="Collaborators of fleet-de").click()
    expect(bob.get_by_role("row", name=re.compile("bob"))).to_contain_text("Observer")
    expect(bob.get_by_label("Role of bob")).to_have_count(0)
    expect(bob.locator("#collab-add-form")).to_be_hidden()
    bob.get_by_role("button", name="Leave this application").click()
    bob.get_by_role("dialog", name="Leave application?").get_by_role("button", name="Leave").click()
    expect(bob.locator("#apps-status")).to_have_text("You left fleet-de.")
    expect(bob.get_by_text("No applications yet.")).to_be_visible()
    bob_context.close()

    page.get_by_role("button", name="Delete application").click()
    confirm = page.get_by_role("dialog", name="Delete application?")
    expect(confirm.get_by_role("button", name="Cancel")).to_be_focused()  # the safe choice first
    confirm.get_by_role("button", name="Delete").click()
    expect(page.locator("#apps-status")).to_have_text("Deleted fleet-de.")
    expect(page.get_by_text("No applications yet.")).to_be_visible()


def test_see_your_sessions_and_log_the_others_out(page: Any, dashboard: DevServer, shots: Path) -> None:
    sign_up(page, "roamer")
    laptop = login_by_api(dashboard, "roamer").json()["token"]
    open_tab(page, "Access tokens")
    rows = page.locator("#sessions-table tbody tr")
    expect(rows).to_have_count(2)
    expect(page.locator("#sessions-table tr.current")).to_contain_text("This session")
    other = page.locator("#sessions-table tbody tr:not(.current)")
    expect(other).to_contain_text("python-requests")
    page.screenshot(path=shots / "sessions.png", full_page=True)
    other.get_by_role("button", name=re.compile("^Log out the session")).click()
    expect(page.locator("#sessions-status")).to_have_text("That session was logged out: its token no longer works.")
    expect(rows).to_have_count(1)
    assert api_get(dashboard, "/v1/user", laptop).status_code == 401  # refused from the next request on

    phone = login_by_api(dashboard, "roamer").json()["token"]
    page.reload()
    expect(rows).to_have_count(2)
    page.get_by_role("button", name="Log out other sessions").click()
    page.get_by_role("dialog", name="Log out other sessions?").get_by_role("button", name="Log out others").click()
    expect(page.locator("#sessions-status")).to_have_text("Logged out 1 other session.")
    expect(rows).to_have_count(1)
    assert api_get(dashboard, "/v1/user", phone).status_code == 401

    # The header's Log out ends the session on the server, not only in the page.
    mine = session_token(page)
    log_out(page)
    assert api_get(dashboard, "/v1/user", mine).status_code == 401


def test_the_browsers_device_token_gets_in_while_the_account_is_locked_out(page: Any, dashboard: DevServer) -> None:
    sign_up(page, "besieged")
    stored = page.evaluate("JSON.parse(localStorage.getItem('latchkey.devices'))")
    device = stored["besieged"]
    log_out(page)
    # Someone at the same address hammers the account: its logins from here without a device token are locked.
    for _ in range(10):
        assert login_by_api(dashboard, "besieged", "not the password").status_code == 401
    assert login_by_api(dashboard, "besieged").status_code == 429
    log_in(page, "besieged")  # the dashboard sends this browser's device token
    expect(page.locator("#detail-username")).to_have_text("besieged")
    assert page.evaluate("JSON.parse(localStorage.getItem('latchkey.devices'))")["besieged"] == device


def test_a_change_that_needs_a_recent_login_asks_for_the_password_and_goes_on(
    browser: Any, start_server: ServerFactory
) -> None:
    server = start_server(REAUTH_MAX_AGE_SECONDS="2")
    context = browser.new_context(viewport=VIEWPORT, base_url=server.url)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.goto("/")
    try:
        sign_up(page, "sudoer")
        open_tab(page, "Access tokens")
        time.sleep(2.5)  # the sign-up's authentication is now too old for creating a key
        page.get_by_role("button", name="Create API key").click()
        dialog = page.get_by_role("dialog", name="Create API key")
        dialog.get_by_label("Token name").fill("deploy-bot")
        dialog.get_by_role("button", name="Create token").click()
        prompt = page.get_by_role("dialog", name="Confirm it is you")
        expect(prompt.get_by_label("Password")).to_be_focused()
        expect(prompt.get_by_label("Authentication code or recovery code")).to_be_hidden()  # two-factor is off
        prompt.get_by_label("Password").fill("not the password")
        prompt.get_by_role("button", name="Confirm").click()
        expect(prompt.locator(".field-error")).to_contain_text("password is incorrect")
        prompt.get_by_label("Password").fill(PASSWORD)
        prompt.get_by_role("button", name="Confirm").click()
        expect(prompt).to_be_hidden()
        # The original request was sent again, once, and went through.
        shown = page.get_by_role("dialog", name="Your new API key")
        expect(shown).to_contain_text("This is the only time you will see this key")
        assert shown.get_by_label(re.compile("API key")).input_value().startswith("lk_")
    finally:
        context.close()
    assert problems == []
