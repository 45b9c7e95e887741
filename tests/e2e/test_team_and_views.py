"""In Chromium: the second round of agent screens as people use them. Save a view and reopen it,
work the prospects list from the keyboard, follow a funnel bar to its prospects, read the team and
reference pages and the charts. Screenshots of each land in test-results/."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.dashboard.reference_world import TEMPLATE_MAPLE, reference  # noqa: F401 (fixture)
from tests.e2e.test_screens import log_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("reference")]


def test_an_agent_saves_a_view_and_reopens_it(live_server, page: Page, artifacts_dir) -> None:  # type: ignore[no-untyped-def]
    page.set_viewport_size({"width": 1360, "height": 900})
    log_in(page, live_server.url)
    page.select_option("#f-assignee", "all")
    page.select_option("#f-source", "Rent.com")
    expect(page.locator("#rows tr[data-id]")).to_have_count(1)
    page.locator("#views-menu > summary").click()
    page.fill("#save-view-name", "Rent.com leads")
    page.check("#save-view-default")
    page.check("#save-view-shared")
    page.screenshot(path=str(artifacts_dir / "saved-views-menu.png"))
    page.get_by_role("button", name="Save view").click()
    expect(page).to_have_url(re.compile(r"/prospects/\?assignee=all&(sort=newest&)?source=Rent\.com$"))
    expect(page.locator(".current-view")).to_have_text("Rent.com leads")

    # The default: the list opens with it; the menu's link reopens it from anywhere on the list.
    page.goto(live_server.url + "/units/")
    page.get_by_role("link", name="Prospects", exact=True).click()
    expect(page).to_have_url(re.compile(r"source=Rent\.com"))
    expect(page.locator("#rows tr[data-id]")).to_have_count(1)
    page.goto(live_server.url + "/prospects/?plain=1&assignee=all")
    expect(page.locator("#rows tr[data-id]")).to_have_count(5)
    page.locator("#views-menu > summary").click()
    page.locator("#views-menu").get_by_role("link", name="Rent.com leads").click()
    expect(page.locator("#prospect-12346")).to_be_visible()
    expect(page.locator("#rows tr[data-id]")).to_have_count(1)
    href = page.locator("#export-csv").get_attribute("href") or ""
    assert href.startswith("/prospects/export.csv?assignee=all&")
    assert "source=Rent.com" in href
    page.goto(live_server.url + "/views/")
    expect(page.locator("#my-views")).to_contain_text("Rent.com leads")
    page.screenshot(path=str(artifacts_dir / "saved-views.png"), full_page=True)


def test_an_agent_works_the_list_from_the_keyboard(live_server, page: Page, artifacts_dir) -> None:  # type: ignore[no-untyped-def]
    page.set_viewport_size({"width": 1360, "height": 900})
    log_in(page, live_server.url, next_path="/prospects/?assignee=all")
    rows = page.locator("#rows tr[data-id]")
    expect(rows).to_have_count(5)
    page.keyboard.press("j")
    expect(rows.nth(0)).to_have_class(re.compile(r"\bcursor\b"))
    page.keyboard.press("j")
    page.keyboard.press("j")
    page.keyboard.press("k")
    expect(rows.nth(1)).to_have_class(re.compile(r"\bcursor\b"))
    expect(page.locator("#rows tr.cursor")).to_have_count(1)
    page.keyboard.press("x")
    selected = "r => r.classList.contains('selected') || !!(r.querySelector('input[type=checkbox]') || {}).checked"
    assert rows.nth(1).evaluate(selected)
    assert not rows.nth(0).evaluate(selected)
    page.keyboard.press("?")
    expect(page.locator("#keyboard-map")).to_be_visible()
    page.screenshot(path=str(artifacts_dir / "keyboard-map.png"))
    page.keyboard.press("Escape")
    expect(page.locator("#keyboard-map")).to_be_hidden()

    page.keyboard.press("/")
    expect(page.locator("#f-q")).to_be_focused()
    page.keyboard.type("Una")
    expect(rows).to_have_count(1)
    expect(page.locator("#prospect-12346")).to_be_visible()
    page.keyboard.type("j")  # typing in the search box never moves the cursor
    expect(page.locator("#f-q")).to_have_value("Unaj")
    page.locator("#f-q").fill("Una")
    page.locator("h1").click()  # out of the field
    page.keyboard.press("j")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/prospects/12346/$"))
    page.keyboard.press("g")
    page.keyboard.press("l")
    expect(page).to_have_url(re.compile(r"/lockboxes/$"))
    page.keyboard.press("g")
    page.keyboard.press("u")
    expect(page).to_have_url(re.compile(r"/units/$"))


def test_a_manager_follows_a_funnel_bar_to_its_prospects(live_server, page: Page, artifacts_dir) -> None:  # type: ignore[no-untyped-def]
    page.set_viewport_size({"width": 1360, "height": 1000})
    log_in(page, live_server.url, username="mia", next_path="/team/")
    expect(page.locator("#people")).to_contain_text("Sam Stranger")
    expect(page.locator("#users")).to_contain_text("Bo Agent")
    page.screenshot(path=str(artifacts_dir / "team.png"), full_page=True)
    page.locator("#funnel-working").click()
    expect(page).to_have_url(re.compile(r"/prospects/\?assignee=all&family=working$"))
    expect(page.locator("#rows tr[data-id]")).to_have_count(1)
    expect(page.locator("#prospect-12347")).to_be_visible()


def test_reference_pages_and_charts(live_server, page: Page, artifacts_dir) -> None:  # type: ignore[no-untyped-def]
    page.set_viewport_size({"width": 1360, "height": 900})
    log_in(page, live_server.url, next_path="/units/3318/")
    page.get_by_role("link", name="Maple standard").click()
    expect(page.locator("#questions")).to_contain_text("housing voucher")
    expect(page).to_have_url(re.compile(TEMPLATE_MAPLE))
    page.screenshot(path=str(artifacts_dir / "prescreening-template.png"), full_page=True)
    page.goto(live_server.url + "/reference/properties/")
    expect(page.locator(".property").first).to_contain_text("The Willow")
    page.screenshot(path=str(artifacts_dir / "properties.png"), full_page=True)
    page.goto(live_server.url + "/team/")
    expect(page.locator("#read-only-note")).to_be_visible()
    expect(page.locator("#users select")).to_have_count(0)
    page.screenshot(path=str(artifacts_dir / "team-agent.png"), full_page=True)

    page.goto(live_server.url + "/lockboxes/")
    expect(page.locator("#lockbox-activity-chart .bar").first).to_be_visible()
    page.screenshot(path=str(artifacts_dir / "lockboxes-chart.png"), full_page=True)
    page.goto(live_server.url + "/showings/?view=week")
    expect(page.locator("#showings-chart .bar")).to_have_count(1)
    page.screenshot(path=str(artifacts_dir / "showings-chart.png"), full_page=True)
    page.locator("#showings-chart .day.current .bar").click()
    expect(page).to_have_url(re.compile(r"view=day"))
