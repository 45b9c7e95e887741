"""My day in Chromium on a phone (390 x 844, as in a car): nothing wider than the screen, large tap targets."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.test_screens import log_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("who", ["ari", "mia"])
def test_my_day_fits_a_phone(live_server, page: Page, world, artifacts_dir, who: str) -> None:  # type: ignore[no-untyped-def]
    page.set_viewport_size({"width": 390, "height": 844})
    log_in(page, live_server.url, who, next_path="/today/")
    card = page.locator("#today-showing-70001")
    expect(card).to_be_visible()
    expect(card).to_contain_text("3318 Chesapeake Blvd")
    expect(card).to_contain_text("Sentrilock 1234567")
    expect(card).to_contain_text("Code generated")
    page.screenshot(path=str(artifacts_dir / f"today-phone-{who}.png"), full_page=True)
    # The widest the top bar gets: the live dot reconnecting, with the time it last caught up.
    page.evaluate(
        """() => { const dot = document.getElementById('live-indicator'); dot.dataset.state = 'reconnecting';
                   dot.querySelector('.live-label').textContent = 'Reconnecting';
                   dot.querySelector('.live-updated').textContent = 'updated 12:59 PM'; }"""
    )
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"the page is {overflow}px wider than the phone"
    wide = page.evaluate(
        """() => Array.from(document.querySelectorAll('#today-live *'))
             .filter(el => el.getBoundingClientRect().right > document.documentElement.clientWidth + 0.5)
             .map(el => el.tagName + '.' + el.className)"""
    )
    assert wide == [], f"elements past the right edge: {wide}"
    heights = page.evaluate(
        "Array.from(document.querySelectorAll('#today-live a.today-tap')).map(a => a.getBoundingClientRect().height)"
    )
    assert heights, "the page has links to tap"
    assert min(heights) >= 44, f"tap targets must be at least 44 px high: {heights}"
    card.get_by_role("link", name="3318 Chesapeake Blvd").click()
    expect(page).to_have_url(live_server.url + "/units/3318/")
