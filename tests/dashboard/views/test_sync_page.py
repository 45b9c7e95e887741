"""/sync/ shows operators how fresh the mirror is and what is wrong; banners carry the worst of it
onto every page."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client
from django.utils import timezone

from integrations.rentengine.limiter import get_limiter
from integrations.rentengine.models import SyncState
from integrations.rentengine.sync import runner as sync


@pytest.fixture(autouse=True)
def fresh_banners() -> None:
    cache.delete(sync.HEALTH_KEY)
    get_limiter().backend.clear()


def test_an_agent_sees_every_resource_and_its_last_run(ari_client: Client) -> None:
    SyncState.objects.create(
        resource="prospects", last_outcome="ok", last_kind="incremental", last_finished_at=timezone.now(),
        last_rows_seen=1234, last_rows_changed=56, last_requests=13, last_duration_ms=2500,
    )  # fmt: skip
    html = ari_client.get("/sync/").content.decode()
    for label in ["Prospects", "Units", "Leasing events", "Lockbox events", "Showings", "Subteams"]:
        assert label in html
    assert "1,234 read" in html
    assert "56 rows written" in html
    assert "so it can be more than read" in html, "the page says what each number means"
    assert "Rate limit" in html
    assert "Sync now" not in html, "only managers start syncs"


def test_a_manager_gets_the_sync_and_test_buttons(mia_client: Client) -> None:
    html = mia_client.get("/sync/").content.decode()
    assert "Sync everything now" in html
    assert "Test connection" in html


def test_an_agent_cannot_start_a_sync_by_forging_the_post(ari_client: Client) -> None:
    assert ari_client.post("/sync/run/", {"resource": "units"}).status_code == 403
    assert not SyncState.objects.filter(run_id__isnull=False).exists()


def test_a_manager_starts_a_sync_and_a_second_press_says_it_is_running(mia_client: Client) -> None:
    first = mia_client.post("/sync/run/", {"resource": "units"}, follow=True)
    second = mia_client.post("/sync/run/", {"resource": "units"}, follow=True)
    assert "Sync started: units" in first.content.decode()
    assert "Already running: units" in second.content.decode()
    assert SyncState.objects.get(resource="units").run_id is not None


def test_an_unknown_resource_is_refused_with_a_message(mia_client: Client) -> None:
    response = mia_client.post("/sync/run/", {"resource": "everything-please"}, follow=True)
    assert "There is no resource called" in response.content.decode()


def test_test_connection_explains_a_refused_token(mia_client: Client, settings: Any) -> None:
    settings.RENTENGINE_BASE_URL = "http://127.0.0.1:9/api/public/v1"  # nothing listens on the discard port
    settings.RENTENGINE_API_TOKEN = "secret-token-value"
    response = mia_client.post("/sync/test-connection/", follow=True)
    html = response.content.decode()
    assert "RentEngine did not accept the connection" in html
    assert "secret-token-value" not in html


def test_every_page_says_when_the_token_was_rejected(ari_client: Client, settings: Any) -> None:
    settings.RENTENGINE_API_TOKEN = "something"
    SyncState.objects.create(resource="units", last_outcome="failed", last_error_kind="TokenRejected", consecutive_failures=1,
                             last_error="the API token was rejected")  # fmt: skip
    sync.sync_health_refresh()  # what a finished run does
    html = ari_client.get("/prospects/").content.decode()
    assert "RentEngine rejected the API token" in html
    assert "Check RENTENGINE_API_TOKEN" in html


def test_every_page_says_when_syncs_keep_failing(ari_client: Client, settings: Any) -> None:
    settings.RENTENGINE_API_TOKEN = "something"
    SyncState.objects.create(
        resource="lockbox_events", last_outcome="failed", last_error_kind="ServerError", consecutive_failures=4
    )
    sync.sync_health_refresh()
    html = ari_client.get("/units/").content.decode()
    assert "Sync keeps failing for lockbox_events" in html


def test_every_page_says_when_a_429_cooldown_is_on(ari_client: Client, settings: Any) -> None:
    settings.RENTENGINE_API_TOKEN = "something"
    get_limiter().report_429(retry_after=30)
    html = ari_client.get("/units/").content.decode()
    assert "RentEngine asked us to slow down (429)" in html


def test_no_banner_when_all_is_well(ari_client: Client, settings: Any) -> None:
    settings.RENTENGINE_API_TOKEN = "something"
    SyncState.objects.create(resource="units", last_outcome="ok", last_finished_at=timezone.now() - timedelta(minutes=1))
    sync.sync_health_refresh()
    assert 'class="banner' not in ari_client.get("/units/").content.decode()


def test_banners_cost_no_database_query(ari_client: Client, settings: Any, django_assert_num_queries: Any) -> None:
    from dashboard.ops import banners_current

    settings.RENTENGINE_API_TOKEN = "something"
    with django_assert_num_queries(0):
        banners_current()


def test_a_missing_token_is_a_banner_with_what_to_do(ari_client: Client, settings: Any) -> None:
    settings.RENTENGINE_API_TOKEN = ""
    html = ari_client.get("/units/").content.decode()
    assert "No RentEngine API token is configured" in html
    assert "Set RENTENGINE_API_TOKEN" in html


def agent_client(ari: Any) -> Client:
    agent = Client()  # a browser of its own: ari_client and mia_client share one
    agent.force_login(ari)
    return agent


def test_error_details_are_for_managers_only(mia_client: Client, ari: Any) -> None:
    ari_client = agent_client(ari)
    SyncState.objects.create(
        resource="units", last_outcome="failed", consecutive_failures=1, last_error="DataError: Secret detail"
    )
    assert "Secret detail" in mia_client.get("/sync/").content.decode()
    agent_view = ari_client.get("/sync/").content.decode()
    assert "failed" in agent_view
    assert "Secret detail" not in agent_view


def test_a_manager_sees_quarantined_records_and_retries_them(mia_client: Client, ari: Any, maple: Any) -> None:
    ari_client = agent_client(ari)
    from django.db import DataError

    from integrations.rentengine import mirror
    from integrations.rentengine.client import ProspectRecord, parse_record
    from integrations.rentengine.models import Prospect, QuarantinedRecord
    from tests.rentengine.webhooks.conftest import prospect_row

    record = parse_record(ProspectRecord, prospect_row(4242, name="Held Person"))

    def refuses(records: Any) -> Any:
        raise DataError('invalid input syntax for type json\nDETAIL: the record "Held Person"')

    mirror.records_apply("prospects", [record], refuses)
    page = mia_client.get("/sync/").content.decode()
    assert "Records the database refused" in page
    assert "DataError: invalid input syntax for type json" in page
    assert "Held Person" not in page  # the reason, never the record
    assert "Records the database refused" not in ari_client.get("/sync/").content.decode()
    assert ari_client.post("/sync/quarantine/retry/", {"resource": "prospects"}).status_code == 403
    answer = mia_client.post("/sync/quarantine/retry/", {"resource": "prospects"}, follow=True)
    assert "1 record(s) of prospects applied now; 0 still refused" in answer.content.decode()
    assert Prospect.objects.filter(pk=4242).exists()
    assert not QuarantinedRecord.objects.exists()
