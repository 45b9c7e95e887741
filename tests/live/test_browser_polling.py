"""In Chromium against pytest-django's live_server (WSGI: no stream can be served there): the stream
answers 204, the page polls the versions instead, and a change still reaches it."""

from __future__ import annotations

import re

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from integrations.rentengine import mirror
from integrations.rentengine.mirror import changes
from tests.dashboard.conftest import MAPLE, World, event_record
from tests.e2e.test_screens import log_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_under_wsgi_the_page_polls_the_versions_and_still_follows_changes(live_server, page: Page, world: World) -> None:  # type: ignore[no-untyped-def]
    answers: list[int] = []
    page.on("response", lambda r: answers.append(r.status) if "/live/stream/" in r.url else None)
    log_in(page, live_server.url)
    indicator = page.locator("#live-indicator")
    expect(indicator).to_have_attribute("data-mode", "poll")
    expect(indicator).to_have_attribute("data-state", "live")
    assert answers == [204], "one try at a stream, then polling"

    mirror.leasing_events_apply([event_record(9, 12345, "Contacted, Awaiting Information", timezone.now())])
    changes.mirror_changed("leasing_events", [MAPLE])
    row = page.locator("#prospect-12345")
    expect(row).to_contain_text("Contacted, Awaiting Information", timeout=10_000)
    expect(row).to_have_class(re.compile("live-flash"))
