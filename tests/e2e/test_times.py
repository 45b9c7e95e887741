"""In Chromium on a computer set to another zone: the top bar's "updated" time is the account's, as
the page's own times are, written like them ("12:42 PM")."""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Browser, expect

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_updated_is_in_the_accounts_zone_not_the_browsers(live_server, browser: Browser, world) -> None:  # type: ignore[no-untyped-def]
    context = browser.new_context(timezone_id="Asia/Tokyo")
    try:
        page = context.new_page()
        page.goto(f"{live_server.url}/login/?next=/units/")
        page.fill("#id_username", "ari")
        page.fill("#id_password", "correct horse battery")
        page.click("button[type=submit]")
        stamp = page.locator("#live-indicator .live-updated")
        expect(stamp).to_have_text(re.compile(r"^updated \d{1,2}:\d\d (AM|PM)$"), timeout=15_000)
        shown = stamp.text_content().removeprefix("updated ")  # type: ignore[union-attr]
        chicago = datetime.now(ZoneInfo("America/Chicago"))
        expected = {f"{(chicago.hour + d) % 12 or 12}:" for d in (-1, 0, 1)}
        assert shown.split(":")[0] + ":" in expected, f"{shown} is not Chicago's hour {chicago:%I:%M %p}"
        tokyo = datetime.now(ZoneInfo("Asia/Tokyo"))
        assert tokyo.hour % 12 == chicago.hour % 12 or not shown.startswith(f"{tokyo.hour % 12 or 12}:")
    finally:
        context.close()
