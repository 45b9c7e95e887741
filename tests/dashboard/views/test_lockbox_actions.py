"""Codes on demand and installs/removals from a lockbox's page: queued in the lockbox outbox (posting
is the outbox tests' business), per account, the code shown only to whoever asked, the reason on
the timeline and never in the logs."""

from __future__ import annotations

import logging

import pytest
from django.test import Client

from integrations.rentengine.models import Lockbox, OutboxLockboxPost
from tests.dashboard.conftest import LOCKBOX_BIRCH, LOCKBOX_MAPLE, World

pytestmark = pytest.mark.django_db

REASON = "Zoë is running late; meeting her there"


@pytest.fixture(autouse=True)
def no_drain(monkeypatch: pytest.MonkeyPatch) -> None:
    """Rows are only queued here: no broker, no RentEngine."""
    monkeypatch.setattr("dashboard.views.lockbox_action_pages.drain_on_commit", lambda: None)


def test_get_a_code_offers_todays_showings_on_the_unit(ari_client: Client, world: World) -> None:
    html = ari_client.get(f"/lockboxes/{LOCKBOX_MAPLE}/code/").content.decode()
    assert 'value="70001"' in html
    assert "Zoë Ñúñez" in html
    assert "Birch Person" not in html
    page = ari_client.get(f"/lockboxes/{LOCKBOX_MAPLE}/").content.decode()
    assert f"/lockboxes/{LOCKBOX_MAPLE}/code/" in page
    assert f"/lockboxes/{LOCKBOX_MAPLE}/code/" in ari_client.get("/units/3318/").content.decode()


def test_asking_queues_one_post_for_the_showing_and_the_reason_is_on_the_timeline_not_in_logs(
    ari_client: Client, world: World, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    response = ari_client.post(f"/lockboxes/{LOCKBOX_MAPLE}/code/", {"reason": REASON, "showing": "70001"})
    row = OutboxLockboxPost.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/lockboxes/requests/{row.pk}/"
    assert (row.kind, row.unit_id, row.showing_id, row.why) == ("code", 3318, 70001, REASON)
    assert row.created_for == f"Zoë Ñúñez · desk #{row.pk}"
    assert row.requested_by.username == "ari"
    timeline = ari_client.get(f"/lockboxes/{LOCKBOX_MAPLE}/").content.decode()
    assert "Code asked for from the desk" in timeline
    assert "Ari Agent" in timeline
    assert "running late" in timeline
    assert "Zoë" not in caplog.text
    assert "running late" not in caplog.text


def test_the_code_is_shown_only_to_whoever_asked(ari_client: Client, world: World, client: Client, bo: object) -> None:
    ari_client.post(f"/lockboxes/{LOCKBOX_MAPLE}/code/", {"reason": REASON, "showing": ""})
    row = OutboxLockboxPost.objects.get()
    pending = ari_client.get(f"/lockboxes/requests/{row.pk}/").content.decode()
    assert "Asking RentEngine" in pending
    assert 'hx-trigger="every 1s"' in pending
    OutboxLockboxPost.objects.filter(pk=row.pk).update(state="done", code="482913", instructions="Enter the code followed by #.")
    html = ari_client.get(f"/lockboxes/requests/{row.pk}/").content.decode()
    assert "482913" in html
    assert "Enter the code followed by #." in html
    assert "hx-trigger" not in html.split('id="lockbox-request"')[1].split(">")[0]
    client.force_login(bo)  # a teammate of the same account sees the timeline, not the code
    assert client.get(f"/lockboxes/requests/{row.pk}/").status_code == 404
    assert "482913" not in client.get(f"/lockboxes/{LOCKBOX_MAPLE}/").content.decode()


def test_a_code_needs_a_reason_and_a_showing_of_this_unit_today(ari_client: Client, world: World) -> None:
    assert ari_client.post(f"/lockboxes/{LOCKBOX_MAPLE}/code/", {"reason": "", "showing": "70001"}).status_code == 200
    assert ari_client.post(f"/lockboxes/{LOCKBOX_MAPLE}/code/", {"reason": REASON, "showing": "80001"}).status_code == 200
    assert not OutboxLockboxPost.objects.exists()


def test_another_accounts_agent_gets_404_everywhere(client: Client, world: World, cy: object, ari_client: Client) -> None:
    ari_client.post(f"/lockboxes/{LOCKBOX_MAPLE}/code/", {"reason": REASON})
    row = OutboxLockboxPost.objects.get()
    client.force_login(cy)
    assert client.get(f"/lockboxes/{LOCKBOX_MAPLE}/code/").status_code == 404
    assert client.post(f"/lockboxes/{LOCKBOX_MAPLE}/code/", {"reason": REASON}).status_code == 404
    assert client.post(f"/lockboxes/{LOCKBOX_MAPLE}/placement/", {"action": "uninstall"}).status_code == 404
    assert client.get(f"/lockboxes/requests/{row.pk}/").status_code == 404
    assert OutboxLockboxPost.objects.count() == 1
    assert client.get(f"/lockboxes/{LOCKBOX_BIRCH}/code/").status_code == 200


def test_mark_removed_then_installed_queue_lockbox_events(ari_client: Client, world: World) -> None:
    response = ari_client.post(f"/lockboxes/{LOCKBOX_MAPLE}/placement/", {"action": "uninstall", "reason": "Leased"})
    assert response.status_code == 302
    removal = OutboxLockboxPost.objects.get()
    assert (removal.kind, removal.unit_id) == ("Uninstall", 3318)
    Lockbox.objects.filter(pk=LOCKBOX_MAPLE).update(current_unit_id=None)
    page = ari_client.get(f"/lockboxes/{LOCKBOX_MAPLE}/").content.decode()
    assert "Mark installed" in page
    assert 'value="9001"' not in page, "only units of the box's account"
    assert ari_client.post(f"/lockboxes/{LOCKBOX_MAPLE}/placement/", {"action": "install", "unit_id": "9001"}).status_code == 404
    ari_client.post(f"/lockboxes/{LOCKBOX_MAPLE}/placement/", {"action": "install", "unit_id": "3319"})
    install = OutboxLockboxPost.objects.latest("id")
    assert (install.kind, install.unit_id) == ("Install", 3319)


def test_the_code_event_a_desk_request_wrote_reads_as_the_person_not_the_reference(ari_client: Client, world: World) -> None:
    from django.utils import timezone

    from integrations.rentengine import mirror
    from integrations.rentengine.client import LockboxEventRecord, parse_record
    from tests.dashboard.conftest import MAPLE, stamp

    record = {"id": "0b9c1e5e-4444-4bbb-8ccc-000000000001", "lockbox_id": LOCKBOX_MAPLE, "event_type": "Generate Code",
              "unit_id": "3318", "account_id": MAPLE, "created_at": stamp(timezone.now()),
              "metadata": {"created_for": "Zoë Ñúñez · desk #41", "code_type": "ACCESS"}}  # fmt: skip
    mirror.lockbox_events_apply([parse_record(LockboxEventRecord, record)])
    html = ari_client.get(f"/lockboxes/{LOCKBOX_MAPLE}/").content.decode()
    assert "Code generated for Zoë Ñúñez (asked from the desk)" in html
    assert "desk #41" not in html
