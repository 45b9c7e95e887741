"""In Chromium: log in and find the way around."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_an_agent_logs_in_and_sees_the_navigation(live_server, page: Page, ari, artifacts_dir) -> None:  # type: ignore[no-untyped-def]
    page.goto(live_server.url + "/units/")
    expect(page).to_have_url(live_server.url + "/login/?next=/units/")
    page.fill("#id_username", "ari")
    page.fill("#id_password", "correct horse battery")
    page.click("button[type=submit]")
    expect(page).to_have_url(live_server.url + "/units/")
    nav = page.locator("nav.mainnav")
    for label in ["Prospects", "Units", "Showings", "Lockboxes", "Assignments", "Sync"]:
        expect(nav.get_by_role("link", name=label)).to_be_visible()
    nav.get_by_role("link", name="Showings").click()
    expect(page).to_have_url(live_server.url + "/showings/")
    expect(page.get_by_role("heading", name="Showings")).to_be_visible()
    page.screenshot(path=str(artifacts_dir / "shell.png"), full_page=True)


def test_a_wrong_password_is_explained(live_server, page: Page, ari) -> None:  # type: ignore[no-untyped-def]
    page.goto(live_server.url + "/login/")
    page.fill("#id_username", "ari")
    page.fill("#id_password", "nope")
    page.click("button[type=submit]")
    expect(page.get_by_role("alert")).to_contain_text("correct username and password")
