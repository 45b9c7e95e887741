"""In Chromium: the agent screens as a person uses them, on a desktop and on a phone. Each main screen
leaves a screenshot in test-results/."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.dashboard.conftest import LOCKBOX_MAPLE

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def log_in(page: Page, base: str, username: str = "ari", next_path: str = "/prospects/") -> None:
    page.goto(f"{base}/login/?next={next_path}")
    page.fill("#id_username", username)
    page.fill("#id_password", "correct horse battery")
    page.click("button[type=submit]")
    expect(page).to_have_url(re.compile(re.escape(next_path)))


def test_an_agent_filters_prospects_and_opens_the_quick_view(live_server, page: Page, world, artifacts_dir) -> None:  # type: ignore[no-untyped-def]
    page.set_viewport_size({"width": 1360, "height": 900})
    log_in(page, live_server.url)
    rows = page.locator("#rows tr[data-id]")
    # Default view: mine (Zoë) and unassigned (Una, the hostile name, Zoë's second enquiry); not Bo's.
    expect(page.locator("#prospect-12345")).to_be_visible()
    expect(page.locator("#prospect-12346")).to_be_visible()
    expect(page.locator("#prospect-12347")).to_have_count(0)
    expect(page.locator("#prospect-12348")).to_contain_text("<script>")
    page.screenshot(path=str(artifacts_dir / "prospects.png"), full_page=True)

    page.select_option("#f-source", "Rent.com")
    expect(rows).to_have_count(1)
    expect(page.locator("#prospect-12346")).to_be_visible()
    expect(page).to_have_url(re.compile(r"source=Rent\.com"))

    page.select_option("#f-source", "")
    page.select_option("#f-assignee", "all")
    expect(page.locator("#prospect-12347")).to_be_visible()
    page.fill("#f-q", "555-123-4567")
    expect(rows).to_have_count(2)

    page.locator("#prospect-12345 a.quick").click()
    panel = page.locator("#quickview")
    expect(panel).to_have_class(re.compile("open"))
    expect(panel).to_contain_text("Zoë Ñúñez")
    expect(panel).to_contain_text("Ari Agent")
    page.screenshot(path=str(artifacts_dir / "prospects-quick-view.png"))
    page.keyboard.press("Escape")
    expect(panel).not_to_have_class(re.compile("open"))


def test_an_agent_reads_a_prospects_timeline_and_filters_it(live_server, page: Page, world, artifacts_dir) -> None:  # type: ignore[no-untyped-def]
    log_in(page, live_server.url, next_path="/prospects/12345/")
    timeline = page.locator("#timeline")
    expect(timeline.locator(".tl-change").first).to_contain_text("Bo Agent → Ari Agent")
    expect(timeline).to_contain_text("Mia Manager")
    expect(timeline).to_contain_text("Code generated for Zoë Ñúñez (this prospect)")
    expect(timeline.locator(".tl-divider").first).to_be_visible()
    page.screenshot(path=str(artifacts_dir / "prospect-timeline.png"), full_page=True)

    timeline.get_by_role("link", name="Assignments").click()
    expect(page).to_have_url(re.compile(r"only=assignment"))
    expect(page.locator("#timeline .tl-item")).to_have_count(2)
    expect(page.locator("#timeline")).not_to_contain_text("Called back")


def test_an_agent_opens_a_lockbox_timeline_from_the_inventory(live_server, page: Page, world, artifacts_dir) -> None:  # type: ignore[no-untyped-def]
    log_in(page, live_server.url, next_path="/lockboxes/")
    expect(page.locator(f"#lockbox-{LOCKBOX_MAPLE}")).to_contain_text("Installed")
    expect(page.locator("#rows")).not_to_contain_text("7654321")  # Birch's box
    page.screenshot(path=str(artifacts_dir / "lockboxes.png"), full_page=True)
    page.get_by_role("link", name="1234567").click()
    expect(page).to_have_url(re.compile(LOCKBOX_MAPLE))
    expect(page.locator(".timeline")).to_contain_text("Code generated for Zoë Ñúñez")
    expect(page.locator(".timeline")).to_contain_text("Install")
    page.screenshot(path=str(artifacts_dir / "lockbox-timeline.png"), full_page=True)

    page.goto(live_server.url + "/lockboxes/activity/")
    expect(page.locator(".feed")).to_contain_text("Zoë Ñúñez")
    page.screenshot(path=str(artifacts_dir / "lockbox-activity.png"), full_page=True)


def test_units_and_showings_screens(live_server, page: Page, world, artifacts_dir) -> None:  # type: ignore[no-untyped-def]
    log_in(page, live_server.url, next_path="/units/")
    expect(page.locator("#unit-3318")).to_contain_text("Available")
    page.select_option("#f-lockbox", "yes")
    expect(page.locator("#rows tr[data-id]")).to_have_count(1)
    page.screenshot(path=str(artifacts_dir / "units.png"), full_page=True)
    page.locator("#unit-3318 a").first.click()
    expect(page.get_by_role("heading", name="Showing windows")).to_be_visible()
    expect(page.locator("body")).to_contain_text("Not fetched yet")
    page.screenshot(path=str(artifacts_dir / "unit.png"), full_page=True)

    page.goto(live_server.url + "/showings/")
    expect(page.locator("#showing-70001")).to_contain_text("Zoë Ñúñez")
    expect(page.locator("#showing-70001")).to_contain_text("Showing Scheduled")
    page.screenshot(path=str(artifacts_dir / "showings.png"), full_page=True)


def test_on_a_phone_lists_are_cards_and_filters_fold_away(live_server, page: Page, world, artifacts_dir) -> None:  # type: ignore[no-untyped-def]
    page.set_viewport_size({"width": 390, "height": 844})
    log_in(page, live_server.url)
    expect(page.locator("#prospect-table thead")).to_be_hidden()
    expect(page.locator("#prospect-12345")).to_be_visible()
    expect(page.locator("#f-family")).to_be_hidden()
    page.screenshot(path=str(artifacts_dir / "prospects-phone.png"), full_page=True)
    page.locator(".filter-sheet > summary").click()
    expect(page.locator("#f-family")).to_be_visible()
    page.screenshot(path=str(artifacts_dir / "prospects-phone-filters.png"))
    page.goto(live_server.url + "/showings/")
    expect(page.locator("#showing-70001")).to_be_visible()
    page.screenshot(path=str(artifacts_dir / "showings-phone.png"), full_page=True)
