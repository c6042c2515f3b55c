# ruff: noqa: F811  (the browser fixtures are imported from test_dashboard.py, and taken as arguments)
"""`latchkey login --web` against the dev server, with the approval done in Chromium: the CLI runs
in a pseudo-terminal, shows the code and the link, and waits; the person opens the link in the
dashboard (where they are signed in, or sign in first), checks the client and approves or denies;
the CLI then stores the session, or says it was denied."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.clients.terminal import run_in_terminal
from tests.e2e.conftest import DevServer
from tests.e2e.test_dashboard import (  # noqa: F401  (fixtures)
    TIMEOUT_MS,
    VIEWPORT,
    browser,
    dashboard,
    expect,
    log_in,
    shots,
    sign_up,
)

pytestmark = [pytest.mark.e2e, pytest.mark.parametrize("dynamodb_endpoint", ["moto"], indirect=True)]

LATCHKEY = Path(sys.executable).parent / "latchkey"
SHOWN = "and check that it shows this code: "


@pytest.fixture
def window(browser: Any, dashboard: DevServer) -> Iterator[Any]:
    context = browser.new_context(viewport=VIEWPORT, base_url=dashboard.url)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(f"script error: {error}"))
    page.goto("/")
    yield page
    context.close()
    assert problems == []


def cli_env(dashboard: DevServer, home: Path) -> dict[str, str]:
    """A person's terminal: its own home, no keyring, no display (so no browser is opened)."""
    return {
        "PATH": "/usr/bin:/bin",
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "LATCHKEY_URL": dashboard.url,
        "LATCHKEY_KEYRING": "0",
        "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
        "LANG": "C.UTF-8",
    }


def link_on(screen: str) -> tuple[str, str]:
    """The link and the code the CLI shows."""
    found = re.search(r"(http://\S+/#device\?user_code=([A-Z]{4}-[A-Z]{4}))", screen)
    assert found, screen
    return found.group(1), found.group(2)


def test_login_web_is_approved_in_the_dashboard(window: Any, dashboard: DevServer, tmp_path: Path, shots: Path) -> None:
    sign_up(window, "devon")
    env = cli_env(dashboard, tmp_path)
    seen: dict[str, str] = {}

    def approve(screen: str) -> None:
        link, code = link_on(screen)
        seen["code"] = code
        window.goto(link.replace(dashboard.url, ""))
        expect(window.get_by_role("heading", name="Approve a device")).to_be_visible()
        expect(window.locator("#device-shown-code")).to_have_text(code)
        expect(window.locator("#device-client")).to_contain_text("latchkey CLI on")
        expect(window.locator("#device-address")).to_have_text("127.0.0.1")
        window.screenshot(path=shots / "device-approval.png", full_page=True)
        window.get_by_role("button", name="Approve").click()
        expect(window.locator("#device-status")).to_contain_text("Approved")

    screen = run_in_terminal([str(LATCHKEY), "login", "--web"], env, [(SHOWN, approve)], timeout=90)
    assert screen.code == 0, screen.plain
    assert f"Logged in to {dashboard.url} as devon." in screen.plain
    assert "Password" not in screen.plain and seen["code"] in screen.plain

    whoami = subprocess.run([str(LATCHKEY), "whoami"], env=env, capture_output=True, text=True, timeout=60)
    assert whoami.returncode == 0 and whoami.stdout.startswith("devon <devon@example.com>"), whoami
    # The approval and the CLI's login, in the security log's words.
    window.goto("/#/preferences/security")
    table = window.locator("#events-table")
    expect(table.get_by_role("row", name=re.compile("Device login approved"))).to_be_visible()
    expect(table.get_by_role("row", name=re.compile("Logged in: through the browser, latchkey CLI on"))).to_be_visible()


def test_a_link_opened_signed_out_asks_for_the_login_first_and_a_denial_stops_the_cli(
    window: Any, dashboard: DevServer, tmp_path: Path
) -> None:
    sign_up(window, "dana")
    window.get_by_role("button", name="Log out", exact=True).click()
    expect(window.get_by_role("heading", name="Log in")).to_be_visible()

    def deny(screen: str) -> None:
        link, code = link_on(screen)
        window.goto(link.replace(dashboard.url, ""))
        expect(window.get_by_role("heading", name="Log in")).to_be_visible()
        expect(window.locator("#notice")).to_contain_text("approve the device")
        log_in(window, "dana")
        expect(window.get_by_role("heading", name="Approve a device")).to_be_visible()
        expect(window.locator("#device-shown-code")).to_have_text(code)
        window.get_by_role("button", name="Deny").click()
        expect(window.locator("#device-status")).to_contain_text("Denied")

    screen = run_in_terminal(
        [str(LATCHKEY), "login", "--web"], cli_env(dashboard, tmp_path), [(SHOWN, deny)], timeout=90
    )
    assert screen.code == 1, screen.plain
    assert "access_denied" in screen.plain and "latchkey login --web" in screen.plain
    assert not (tmp_path / ".config" / "latchkey" / "credentials.json").exists()


def test_a_typed_code_that_is_wrong_is_said_so_and_the_right_one_works(window: Any, dashboard: DevServer) -> None:
    import requests

    sign_up(window, "tess")
    made = requests.post(f"{dashboard.url}/v1/device/code", json={"client_name": "build-7 deploy"}, timeout=10).json()
    window.goto("/#device")
    field = window.get_by_label("Code shown by the device")
    expect(field).to_be_focused()
    field.fill("BCDF-GHJK")
    window.get_by_role("button", name="Continue").click()
    expect(window.locator("#device-form")).to_contain_text("No pending device login has this code")
    field.fill(made["user_code"].lower())
    window.get_by_role("button", name="Continue").click()
    expect(window.locator("#device-client")).to_have_text("build-7 deploy")
    window.get_by_role("button", name="Approve").click()
    expect(window.locator("#device-status")).to_contain_text("Approved")
    polled = requests.post(f"{dashboard.url}/v1/device/token", json={"device_code": made["device_code"]}, timeout=10)
    assert polled.status_code == 200 and polled.json()["device_token"]
