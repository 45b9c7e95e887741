"""In Chromium against uvicorn, with the mirror changed the way workers change it (apply, then bump
the scope's version): the "N new · show" pill instead of moving rows, the lockbox-code alert, a
hidden tab that lets go of its stream and catches up when shown, /sync/ following a run."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from integrations.rentengine import mirror
from integrations.rentengine.client import LockboxEventRecord, parse_record
from integrations.rentengine.mirror import changes
from integrations.rentengine.models import SyncState
from tests.dashboard.conftest import LOCKBOX_MAPLE, MAPLE, World, event_record, prospect_record, stamp
from tests.e2e.test_screens import log_in
from tests.support.uvicorn import UvicornServer, running_uvicorn

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[UvicornServer]:
    with running_uvicorn(log_path=tmp_path / "uvicorn.log", LIVE_POLL_SECONDS="0.1") as web:
        yield web


def live_page(page: Page, server: UvicornServer, path: str) -> None:
    page.set_viewport_size({"width": 1360, "height": 900})
    log_in(page, server.url, next_path=path)
    expect(page.locator("#live-indicator")).to_have_attribute("data-state", "live")


def set_hidden(page: Page, hidden: bool) -> None:
    """What the browser does when the tab goes to the background (headless Chromium never does)."""
    page.evaluate(
        """hidden => {
            Object.defineProperty(document, "hidden", { value: hidden, configurable: true });
            Object.defineProperty(document, "visibilityState", { value: hidden ? "hidden" : "visible", configurable: true });
            document.dispatchEvent(new Event("visibilitychange"));
        }""",
        hidden,
    )


def test_a_new_matching_prospect_raises_a_pill_and_the_list_moves_only_when_asked(
    page: Page, server: UvicornServer, world: World
) -> None:
    live_page(page, server, "/prospects/")
    rows = page.locator("#rows tr[data-id]")
    expect(rows).to_have_count(4)
    first = rows.first.get_attribute("id")

    mirror.prospects_apply([prospect_record(12350, MAPLE, "Newt Newcomer", created_at=stamp(timezone.now()))])
    changes.mirror_changed("prospects", [MAPLE])
    pill = page.locator("#list-notices .live-pill")
    expect(pill).to_have_text("1 new · show")
    expect(rows).to_have_count(4)
    assert rows.first.get_attribute("id") == first, "nothing moved under the cursor"

    pill.click()
    expect(page.locator("#prospect-12350")).to_be_visible()
    expect(rows).to_have_count(5)
    expect(page.locator("#list-notices .live-pill")).to_have_count(0)


COVERED = """() => {
    // Every visible nav link and page control that the bell or its panel covers: overlapping boxes,
    // or the bell/panel on top at the control's centre. (Controls clipped by a scrolling nav are
    // that nav's business, not the alerts'.)
    const panel = document.getElementById("alert-panel");
    const bell = document.getElementById("alert-bell");
    const ours = el => (panel && panel.contains(el)) || (bell && bell.contains(el));
    const meets = (a, b) => a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;
    const panelBox = panel && !panel.hidden ? panel.getBoundingClientRect() : null;
    const covered = [];
    document.querySelectorAll(".topbar a, .topbar button, .topbar input, .topbar select, main a, main button, main input, main select, main summary")
      .forEach(el => {
        if (ours(el)) return;
        const box = el.getBoundingClientRect();
        if (!box.width || !box.height) return;
        const x = Math.min(Math.max(box.left + box.width / 2, 0), innerWidth - 1);
        const y = Math.min(Math.max(box.top + box.height / 2, 0), innerHeight - 1);
        const hit = document.elementFromPoint(x, y);
        if ((panelBox && meets(box, panelBox)) || (hit && ours(hit))) covered.push(el.id || el.textContent.trim().slice(0, 40));
      });
    return covered;
}"""


@pytest.mark.parametrize("viewport", [{"width": 1360, "height": 900}, {"width": 390, "height": 844}], ids=["desktop", "phone"])
def test_a_code_with_no_showing_rings_the_bell_and_its_panel_covers_no_control(
    page: Page, server: UvicornServer, world: World, viewport: dict[str, int]
) -> None:
    log_in(page, server.url, username="mia", next_path="/prospects/")
    page.set_viewport_size(viewport)
    expect(page.locator("#live-indicator")).to_have_attribute("data-state", "live")
    for n in range(12):  # a burst: the bell counts, nothing piles up over the page
        code = {"id": f"0b9c1e5e-3333-4bbb-8ccc-{n + 9:012d}", "lockbox_id": LOCKBOX_MAPLE, "event_type": "Generate Code",
                "unit_id": "3319", "account_id": MAPLE, "created_at": stamp(timezone.now()), "metadata": {"created_for": "Vic Visitor"}}  # fmt: skip
        mirror.lockbox_events_apply([parse_record(LockboxEventRecord, code)])
    changes.mirror_changed("lockbox_events", [MAPLE])
    count = page.locator("#alert-count")
    expect(count).to_have_text("12")
    expect(page.locator("#alert-panel")).to_be_hidden()
    covered = page.evaluate(COVERED)
    assert covered == [], f"nothing floats over the page: {covered}"

    page.locator("#alert-bell").click()
    panel = page.locator("#alert-panel")
    expect(panel).to_be_visible()
    expect(panel.locator("[data-alert-id]")).to_have_count(12)
    expect(panel).to_contain_text("Vic Visitor")
    expect(count).to_be_hidden()
    covered = page.evaluate(COVERED)
    assert covered == [], f"the open panel covers no nav link nor page control: {covered}"
    panel_box = panel.bounding_box()
    bar_box = page.locator(".topbar").bounding_box()
    assert panel_box is not None
    assert bar_box is not None
    assert panel_box["y"] >= bar_box["y"] + bar_box["height"] - 1, "under the top bar, not over it"

    page.keyboard.press("Escape")
    expect(panel).to_be_hidden()
    page.goto(f"{server.url}/showings/")
    expect(page.locator("#live-indicator")).to_have_attribute("data-state", "live")
    expect(page.locator("#alert-count"), "seen means counted no more").to_be_hidden()


def test_a_hidden_tab_lets_go_of_its_stream_and_catches_up_when_shown(page: Page, server: UvicornServer, world: World) -> None:
    live_page(page, server, "/prospects/")
    row = page.locator("#prospect-12345")
    set_hidden(page, True)
    expect(page.locator("#live-indicator")).to_have_attribute("data-state", "paused")

    mirror.leasing_events_apply([event_record(9, 12345, "Contacted, Awaiting Information", timezone.now())])
    changes.mirror_changed("leasing_events", [MAPLE])
    page.wait_for_timeout(1500)
    expect(row, "no stream while hidden, so nothing changed").not_to_contain_text("Contacted")

    set_hidden(page, False)
    expect(page.locator("#live-indicator")).to_have_attribute("data-state", "live")
    expect(row).to_contain_text("Contacted, Awaiting Information")
    expect(row).to_have_class(re.compile("live-flash"))


def test_sync_progress_reaches_the_sync_page_without_polling(page: Page, server: UvicornServer, world: World) -> None:
    live_page(page, server, "/sync/")
    assert page.locator("#sync-live").get_attribute("hx-trigger") == "live"
    now = timezone.now()
    SyncState.objects.update_or_create(
        resource="prospects",
        defaults={"run_id": "6ecca3ec-0000-4000-8000-0000000000ff", "run_kind": "full", "run_started_at": now,
                  "lease_expires_at": now + timedelta(minutes=5), "progress": {"pages": 7, "seen": 700}},
    )  # fmt: skip
    changes.scopes_bump(["sync"])
    expect(page.locator("#sync-prospects")).to_contain_text("page 7")


def test_a_prospect_page_swaps_in_its_new_state_and_its_own_links_still_work(
    page: Page, server: UvicornServer, world: World
) -> None:
    live_page(page, server, "/prospects/12345/")
    mirror.leasing_events_apply([event_record(9, 12345, "Contacted, Awaiting Information", timezone.now())])
    changes.mirror_changed("leasing_events", [MAPLE])
    expect(page.locator("h1")).to_contain_text("Contacted, Awaiting Information")
    expect(page.locator("#prospect-live")).to_have_class(re.compile("live-flash"))
    expect(page.locator("#timeline")).to_contain_text("Contacted, Awaiting Information")

    # The live wrapper's hx-select must not leak into the links inside it (hx-disinherit).
    page.locator("#timeline").get_by_role("link", name="Assignments").click()
    expect(page.locator("#timeline .tl-item")).to_have_count(2)
