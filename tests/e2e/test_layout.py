"""In Chromium at 1440x900 (a laptop) and 390x844 (a phone), over every main screen: nothing covers a
navigation link, no page is wider than the window, emails stay inside their cards, unit addresses
stay on one line, 15 prospect rows fit above the fold on a laptop and 4 prospect cards on a phone.
Every screen at both sizes lands in bench/results/screens/ (as the manager, who sees every link)."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from integrations.rentengine import mirror
from tests.dashboard.conftest import LOCKBOX_MAPLE, MAPLE, prospect_record, stamp, unit_record

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SCREENS_DIR = Path(__file__).resolve().parents[2] / "bench" / "results" / "screens"
DESKTOP = {"width": 1440, "height": 900}
PHONE = {"width": 390, "height": 844}
LONG_ADDRESS = "14082 North Mockingbird Lane Unit 12B"
LONG_EMAIL = "alexandra.konstantinopoulou-vanderberg@example-property-management.com"
SCREENS = [
    ("prospects", "/prospects/?assignee=all"),
    ("prospect", "/prospects/12345/"),
    ("units", "/units/"),
    ("unit", "/units/3318/"),
    ("showings", "/showings/"),
    ("lockboxes", "/lockboxes/"),
    ("lockbox-activity", "/lockboxes/activity/"),
    ("lockbox", f"/lockboxes/{LOCKBOX_MAPLE}/"),
    ("assignments", "/assignments/"),
    ("team", "/team/"),
    ("sync", "/sync/"),
    ("search", "/search/?q=Zo"),
    ("saved-views", "/views/"),
    ("not-found", "/prospects/999999/"),
]

# Every top-bar link or control whose centre is on screen must be what the browser hits there.
COVERED_LINKS = """() => {
  const out = [];
  for (const el of document.querySelectorAll('.topbar a, .topbar button, .topbar input, .topbar select')) {
    const r = el.getBoundingClientRect();
    if (!r.width || !r.height) continue;
    const x = r.left + r.width / 2, y = r.top + r.height / 2;
    if (x < 0 || y < 0 || x >= innerWidth || y >= innerHeight) { out.push(el.textContent.trim() + ' (off screen)'); continue; }
    const hit = document.elementFromPoint(x, y);
    if (!hit || !(el === hit || el.contains(hit))) out.push(el.textContent.trim() + ' under ' + (hit ? hit.outerHTML.slice(0, 80) : 'nothing'));
  }
  return out;
}"""
OVERFLOW = "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
WIDE_ELEMENTS = """() => [...document.querySelectorAll('main *')].filter(el => {
  const r = el.getBoundingClientRect();
  return r.width && r.right > document.documentElement.clientWidth + 1 && getComputedStyle(el).position !== 'fixed'
    && !el.closest('.mainnav, .photos, .tabs, .chips, .quickview, dialog, .table-scroll');
}).slice(0, 5).map(el => el.tagName + '.' + el.className + ' ' + el.textContent.trim().slice(0, 40))"""
EMAILS_OUTSIDE = """() => [...document.querySelectorAll('main tr, main td, main .card, main li')].filter(box => {
  const b = box.getBoundingClientRect();
  return [...box.querySelectorAll('*')].some(el => el.children.length === 0 && el.textContent.includes('@')
    && el.getBoundingClientRect().right > b.right + 1);
}).length"""


def more_prospects() -> None:
    """Enough prospects for a screenful, with a long address and a long email, as real ones have."""
    mirror.units_apply(
        [unit_record(3320, MAPLE, address={"formatted_address": LONG_ADDRESS, "city": "Virginia Beach", "state": "VA"})]
    )
    mirror.prospects_apply(
        [
            prospect_record(
                30000 + n,
                MAPLE,
                f"Prospect Number {n:02d} Lastname",
                phone=f"+1757555{n:04d}",
                email=LONG_EMAIL if n % 3 == 0 else f"p{n}@example.com",
                unit_of_interest=3320,
                source="Zillow Rental Manager",
                created_at=stamp(timezone_now() - timedelta(hours=n)),
            )
            for n in range(30)
        ]
    )


def timezone_now():  # type: ignore[no-untyped-def]
    from django.utils import timezone

    return timezone.now()


def log_in(page: Page, base: str) -> None:
    page.goto(f"{base}/login/?next=/units/")
    page.fill("#id_username", "mia")
    page.fill("#id_password", "correct horse battery")
    page.click("button[type=submit]")
    expect(page).to_have_url(re.compile("/units/"))


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_every_screen_fits_and_leaves_the_navigation_clickable(live_server, page: Page, world, mia, birch, size: str) -> None:  # type: ignore[no-untyped-def]
    more_prospects()
    mia.team_member.accounts.add(birch)  # a crowded top bar: the account switcher too
    SCREENS_DIR.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size(DESKTOP if size == "desktop" else PHONE)
    log_in(page, live_server.url)
    problems: list[str] = []
    for name, path in SCREENS:
        page.goto(live_server.url + path)
        page.wait_for_load_state("networkidle")
        page.screenshot(path=str(SCREENS_DIR / f"{name}-{size}.png"), full_page=True)
        covered = page.evaluate(COVERED_LINKS)
        if size == "phone":  # the phone's menu scrolls sideways: links past the edge are not covered
            covered = [c for c in covered if not c.endswith("(off screen)")]
        problems += [f"{name}: covered {c}" for c in covered]
        if (overflow := page.evaluate(OVERFLOW)) > 0:
            problems.append(f"{name}: {overflow}px wider than the window: {page.evaluate(WIDE_ELEMENTS)}")
        if outside := page.evaluate(EMAILS_OUTSIDE):
            problems.append(f"{name}: {outside} emails overflow their box")
    assert not problems, "\n".join(problems)


def test_a_laptop_shows_15_prospect_rows_with_addresses_on_one_line(live_server, page: Page, world) -> None:  # type: ignore[no-untyped-def]
    more_prospects()
    page.set_viewport_size(DESKTOP)
    log_in(page, live_server.url)
    page.goto(live_server.url + "/prospects/?assignee=all")
    rows = page.locator("#rows tr[data-id]")
    expect(rows.first).to_be_visible()
    above_fold = page.evaluate(
        "() => [...document.querySelectorAll('#rows tr[data-id]')].filter(r => r.getBoundingClientRect().bottom <= innerHeight).length"
    )
    assert above_fold >= 15
    one_line = page.evaluate(
        """() => [...document.querySelectorAll('#rows td[data-label=Unit] a')].map(a => a.getClientRects().length)"""
    )
    assert one_line
    assert set(one_line) == {1}, "a unit address wraps"
    page.goto(live_server.url + "/units/")
    assert set(
        page.evaluate(
            "() => [...document.querySelectorAll('#rows td[data-label=Address] a')].map(a => a.getClientRects().length)"
        )
    ) == {1}


def test_a_phone_shows_4_compact_prospect_cards_without_name_labels(live_server, page: Page, world) -> None:  # type: ignore[no-untyped-def]
    more_prospects()
    page.set_viewport_size(PHONE)
    log_in(page, live_server.url)
    page.goto(live_server.url + "/prospects/?assignee=all")
    expect(page.locator("#rows tr[data-id]").first).to_be_visible()
    SCREENS_DIR.mkdir(parents=True, exist_ok=True)
    page.locator("#rows").scroll_into_view_if_needed()
    page.screenshot(path=str(SCREENS_DIR / "prospects-phone-one-screen.png"))
    heights = page.evaluate(
        "() => [...document.querySelectorAll('#rows tr[data-id]')].map(r => r.getBoundingClientRect().height)"
    )
    assert max(heights) <= PHONE["height"] / 4, f"cards up to {max(heights):.0f}px tall"
    name_label = page.evaluate("() => getComputedStyle(document.querySelector('#rows td[data-label=Name]'), '::before').content")
    assert name_label in ("none", "normal", '""')
