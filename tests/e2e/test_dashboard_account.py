# ruff: noqa: F811  (the browser fixtures are imported from test_dashboard.py, and taken as arguments)
"""The dashboard's account pages in a real browser (as tests/e2e/test_dashboard.py): a forgotten
password from the login form to logging in with the new one, the link read from the dev server's
outbox; verifying the address from the banner's mail; changing the password; deleting the account."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import PASSWORD, Outbox
from tests.e2e.conftest import DevServer
from tests.e2e.test_dashboard import (  # noqa: F401  (fixtures)
    browser,
    dashboard,
    expect,
    log_in,
    page,
    shots,
    sign_up,
    signup_by_api,
)

pytestmark = [pytest.mark.e2e, pytest.mark.parametrize("dynamodb_endpoint", ["moto"], indirect=True)]

NEW = "a brand new long secret"


def open_link(page: Any, link: str) -> None:
    """Open a mailed link as a mail client would: a new page load of the dashboard."""
    page.goto(link)


def test_forgot_password_from_the_login_form_to_logging_in_with_the_new_one(page: Any, dashboard: DevServer) -> None:
    signup_by_api(dashboard, "rita")
    outbox = Outbox(dashboard.mail_dir)
    page.get_by_role("link", name="Forgot password?").click()
    expect(page.get_by_role("heading", name="Forgot password?")).to_be_visible()
    page.locator("#forgot-form").get_by_label("Email").fill("rita@example.com")
    page.get_by_role("button", name="Send the link").click()
    expect(page.locator("#forgot-status")).to_contain_text("rita@example.com")
    mail = outbox.last("rita@example.com")
    assert mail.subject == "Reset your password"
    assert mail.link.startswith(dashboard.url + "/#")

    open_link(page, mail.link)
    expect(page.get_by_role("heading", name="Choose a new password")).to_be_visible()
    assert "token" not in page.url  # the token left the address bar (and the history)
    page.locator("#reset-form").get_by_label("New password").fill(
        "1234567890"
    )  # a common password: refused, the API says why
    page.get_by_role("button", name="Set the new password").click()
    expect(page.locator("#reset-form .field-error")).to_contain_text("common")
    page.locator("#reset-form").get_by_label("New password").fill(NEW)
    page.get_by_role("button", name="Set the new password").click()
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    expect(page.locator("#notice")).to_contain_text("Log in with the new one")

    log_in(page, "rita", PASSWORD)
    expect(page.locator("#login-form .field-error")).to_be_visible()
    log_in(page, "rita", NEW)
    expect(page.locator("#detail-username")).to_have_text("rita")


def test_verify_the_address_from_the_banner_then_change_the_password_and_delete(
    page: Any, dashboard: DevServer
) -> None:
    outbox = Outbox(dashboard.mail_dir)
    sign_up(page, "vera")
    banner = page.locator("#verify-banner")
    expect(banner).to_be_visible()
    page.get_by_role("button", name="Resend").click()
    expect(page.locator("#verify-resend-error")).to_contain_text("one a minute")  # sign-up's was the first
    link = outbox.last("vera@example.com").link

    open_link(page, link)
    expect(page.locator("#verify-status")).to_have_text("Your address vera@example.com is verified.")
    page.get_by_role("link", name="Continue").click()
    expect(page.locator("#detail-username")).to_have_text("vera")
    expect(banner).to_be_hidden()

    form = page.locator("#password-form")
    form.get_by_label("Current password").fill(PASSWORD)
    form.get_by_label("New password").fill(NEW)
    form.get_by_role("button", name="Change password").click()
    expect(page.locator("#password-status")).to_have_text("Password changed. 0 other sessions ended.")

    form = page.locator("#delete-form")
    form.get_by_label("Password").fill(NEW)
    form.get_by_role("button", name="Delete account").click()
    page.locator("#confirm-dialog").get_by_role("button", name="Delete account").click()
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    expect(page.locator("#notice")).to_have_text("Your account has been deleted.")
    log_in(page, "vera", NEW)
    expect(page.locator("#login-form .field-error")).to_be_visible()
