"""A Prometheus scraper with the token reads what operators watch; nobody else reads anything."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from integrations.rentengine.limiter import get_limiter
from integrations.rentengine.models import SyncState

pytestmark = pytest.mark.django_db


@pytest.fixture
def token(settings: Any) -> str:
    settings.METRICS_TOKEN = "scrape-token-0123456789"
    return settings.METRICS_TOKEN


def test_metrics_are_off_without_a_token_and_refused_with_a_wrong_one(client: Client, settings: Any) -> None:
    settings.METRICS_TOKEN = ""
    assert client.get("/metrics").status_code == 404
    settings.METRICS_TOKEN = "scrape-token-0123456789"
    assert client.get("/metrics", headers={"Authorization": "Bearer nope"}).status_code == 401


def test_the_scrape_shows_requests_sync_state_limiter_webhooks_and_outbox(client: Client, token: str, maple: Any) -> None:
    from django.utils import timezone

    get_limiter().backend.clear()
    SyncState.objects.create(resource="prospects", last_success_at=timezone.now(), last_rows_seen=500, last_requests=6)
    client.get("/healthz")
    body = client.get("/metrics", headers={"Authorization": f"Bearer {token}"}).content.decode()
    assert 'leasing_desk_requests_total{status="200",view="healthz"}' in body
    assert 'leasing_desk_page_seconds_bucket{le="0.1",view="healthz"}' in body
    assert 'leasing_desk_sync_last_rows{resource="prospects"} 500.0' in body
    assert "leasing_desk_rentengine_429_last_minute 0.0" in body
    assert 'leasing_desk_limiter_slots_total{lane="bulk"}' in body
    assert "leasing_desk_webhooks_waiting 0.0" in body
