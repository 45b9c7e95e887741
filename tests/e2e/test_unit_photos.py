"""In Chromium: a unit photo whose host doesn't answer becomes a "Photo unavailable" box, not a
broken image."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from integrations.rentengine.models import Unit

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_a_photo_that_fails_shows_a_placeholder(live_server, page: Page, world) -> None:  # type: ignore[no-untyped-def]
    Unit.objects.filter(pk=3318).update(photos=["http://127.0.0.1:9/gone.jpg", f"{live_server.url}/static/favicon.svg"])
    page.goto(f"{live_server.url}/login/?next=/units/3318/")
    page.fill("#id_username", "ari")
    page.fill("#id_password", "correct horse battery")
    page.click("button[type=submit]")
    expect(page).to_have_url(re.compile("/units/3318/"))
    expect(page.locator(".photos .photo-missing")).to_have_count(1)
    expect(page.locator(".photos .photo-missing")).to_have_text("Photo unavailable")
    expect(page.locator(".photos img")).to_have_count(1)
