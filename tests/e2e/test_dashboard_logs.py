"""The dashboard's logs in a real browser: the Security log tab shows what happened to the account
in words, and an application's Activity shows who changed its access (for its owner)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.e2e.conftest import DevServer
from tests.e2e.test_dashboard import (  # noqa: F401  (fixtures)
    browser,
    dashboard,
    expect,
    open_tab,
    page,
    shots,
    sign_up,
    signup_by_api,
)

pytestmark = [pytest.mark.e2e, pytest.mark.parametrize("dynamodb_endpoint", ["moto"], indirect=True)]


def open_app(window: Any, name: str) -> None:
    window.get_by_role("row", name=re.compile(name)).get_by_role("button", name=f"Collaborators of {name}").click()


def test_the_security_log_and_an_applications_activity(page: Any, dashboard: DevServer, shots: Path) -> None:  # noqa: F811
    signup_by_api(dashboard, "bert")
    sign_up(page, "logan")
    failed = requests.post(
        f"{dashboard.url}/v1/login", json={"username": "logan", "password": "not the password"}, timeout=10
    )
    assert failed.status_code == 401
    open_tab(page, "Security log")
    table = page.locator("#events-table")
    expect(table.get_by_role("row", name=re.compile("Failed login: wrong password"))).to_be_visible()
    expect(table.get_by_role("row", name=re.compile("Account created"))).to_be_visible()
    page.screenshot(path=str(shots / "security-log.png"), full_page=True)

    open_tab(page, "Applications")
    create = page.locator("#app-create-form")
    create.get_by_label("Name").fill("fleet-logs")
    create.get_by_role("button", name="Create application").click()
    page.get_by_role("row", name=re.compile("fleet-logs")).get_by_role(
        "button", name="Collaborators of fleet-logs"
    ).click()
    add = page.locator("#collab-add-form")
    add.get_by_label("Username").fill("bert")
    add.get_by_label("Role").select_option("observer")
    add.get_by_role("button", name="Add collaborator").click()
    expect(page.locator("#collab-table").get_by_role("row", name=re.compile("bert"))).to_be_visible()
    page.get_by_role("button", name="Close").click()
    page.get_by_role("row", name=re.compile("fleet-logs")).get_by_role(
        "button", name="Collaborators of fleet-logs"
    ).click()
    activity = page.locator("#app-activity-table")
    expect(activity.get_by_role("row", name=re.compile("Collaborator added: bert"))).to_be_visible()
    expect(activity.get_by_role("row", name=re.compile("Application created"))).to_be_visible()
