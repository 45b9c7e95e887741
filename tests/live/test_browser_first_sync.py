"""In Chromium: the first-sync banner follows the sync as it goes and leaves by itself when it is done,
taking the "so far" marks on the page's counts with it."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from integrations.rentengine import sync
from integrations.rentengine.mirror import scopes_bump
from integrations.rentengine.models import SyncState
from tests.dashboard.conftest import World
from tests.dashboard.views.test_first_sync import first_sync_done, first_sync_of
from tests.e2e.test_screens import log_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_the_first_sync_banner_counts_up_and_goes_away_by_itself(live_server, page: Page, world: World) -> None:  # type: ignore[no-untyped-def]
    first_sync_of("prospects", seen=4200)
    page.set_viewport_size({"width": 1360, "height": 900})
    log_in(page, live_server.url, next_path="/prospects/")
    banner = page.locator("#first-sync")
    expect(banner).to_contain_text("Syncing prospects: 4,200 so far")
    expect(page.locator(".count .provisional")).to_have_count(1)

    SyncState.objects.filter(resource="prospects").update(progress={"seen": 5300, "pages": 53})
    sync.first_sync_refresh()
    scopes_bump(["sync"])  # what every page of the run does
    expect(banner).to_contain_text("Syncing prospects: 5,300 so far", timeout=10_000)

    first_sync_done("prospects")
    scopes_bump(["sync"])
    expect(page.locator("#first-sync .banner")).to_have_count(0, timeout=10_000)
    expect(page.locator(".provisional")).to_have_count(0)
    expect(page.locator("#prospect-12345")).to_be_visible()
