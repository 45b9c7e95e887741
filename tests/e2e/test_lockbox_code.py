"""In Chromium, on a phone: an agent at the door asks for a code from the unit's page, picks today's
showing, gives a reason, and sees the code once RentEngine answered (the outbox's drain is stood in
for here by writing its answer: posting is tests/rentengine/outbox/test_lockbox_posts.py's)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from integrations.rentengine.models import OutboxLockboxPost
from tests.dashboard.conftest import LOCKBOX_MAPLE
from tests.e2e.test_screens import log_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_an_agent_gets_a_code_from_the_units_page(live_server, page: Page, world, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr("dashboard.views.lockbox_action_pages.drain_on_commit", lambda: None)
    page.set_viewport_size({"width": 390, "height": 844})
    log_in(page, live_server.url, next_path="/units/3318/")
    page.get_by_role("link", name="Get a code").click()
    expect(page).to_have_url(re.compile(f"/lockboxes/{LOCKBOX_MAPLE}/code/"))
    page.select_option("#id_showing", "70001")
    page.fill("#id_reason", "At the door with Zoë")
    page.get_by_role("button", name="Get a code").click()
    expect(page).to_have_url(re.compile(r"/lockboxes/requests/\d+/"))
    expect(page.locator("#lockbox-request")).to_contain_text("Asking RentEngine")

    row = OutboxLockboxPost.objects.get()
    assert (row.showing_id, row.why, row.requested_by.username) == (70001, "At the door with Zoë", "ari")
    OutboxLockboxPost.objects.filter(pk=row.pk).update(
        state="done", code="482913", instructions="Press ENTER, key in the code, press ENTER.", lockbox_type="Sentrilock"
    )
    expect(page.locator("#lockbox-code")).to_have_text("482913")
    expect(page.locator("#lockbox-instructions")).to_contain_text("Press ENTER")

    page.goto(f"{live_server.url}/lockboxes/{LOCKBOX_MAPLE}/")
    expect(page.locator("#timeline")).to_contain_text("Code asked for from the desk")
    expect(page.locator("#timeline")).to_contain_text("At the door with Zoë")
    expect(page.locator("#timeline")).not_to_contain_text("482913")
