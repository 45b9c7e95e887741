"""A lockbox moved between accounts (RentEngine's transfer_accounts) brings none of its old account's
history along: the new account's people never see the other account's events, units or people."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from django.test import Client

from integrations.rentengine import mirror
from integrations.rentengine.client import LockboxEventRecord, LockboxRecord, parse_record
from tests.dashboard.conftest import BIRCH, LOCKBOX_BIRCH, MAPLE, stamp

pytestmark = pytest.mark.django_db


def transferred_to_maple() -> None:
    moved = datetime.now(UTC)
    mirror.lockboxes_apply([
        parse_record(LockboxRecord, {"id": LOCKBOX_BIRCH, "lockbox_type": "Codebox", "serial_number": "7654321",
                                     "account_id": MAPLE, "created_at": stamp(moved), "updated_at": stamp(moved)}),
    ])  # fmt: skip


def test_a_lockbox_moved_into_our_account_shows_none_of_its_old_accounts_events(world: Any, ari_client: Client) -> None:
    birch_page = ari_client.get(f"/lockboxes/{LOCKBOX_BIRCH}/")
    assert birch_page.status_code == 404  # still Birch's: not ours to see
    transferred_to_maple()
    page = ari_client.get(f"/lockboxes/{LOCKBOX_BIRCH}/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "9001" not in text  # Birch's unit, from Birch's install event
    assert "Birch" not in text


def test_a_unit_page_shows_only_its_own_accounts_lockbox_events(world: Any, ari_client: Client) -> None:
    # Birch's box logged an event on the unit id Maple's 3318 has (ids are RentEngine-wide).
    mirror.lockbox_events_apply([
        parse_record(LockboxEventRecord, {"id": "0b9c1e5e-2222-4bbb-8ccc-0000000000b1", "lockbox_id": LOCKBOX_BIRCH,
                                          "event_type": "Generate Code", "unit_id": "3318", "account_id": BIRCH,
                                          "created_at": stamp(datetime.now(UTC)), "metadata": {"created_for": "Birch Secret Visitor"}}),
    ])  # fmt: skip
    page = ari_client.get("/units/3318/").content.decode()
    assert "Birch Secret Visitor" not in page
    assert "7654321" not in page


def test_the_inventory_does_not_name_the_old_accounts_unit_of_a_moved_box(world: Any, ari_client: Client) -> None:
    transferred_to_maple()
    page = ari_client.get("/lockboxes/").content.decode()
    assert "7654321" in page
    assert "9001 Birch" not in page
    assert "a unit of another account" in page


def test_only_http_photo_addresses_become_links_or_images(world: Any, ari_client: Client) -> None:
    from integrations.rentengine.models import Unit

    Unit.objects.filter(pk=3318).update(
        photos=["javascript:alert(1)", "data:text/html,x", " JavaScript:alert(2)", "https://img.example/a.jpg"]
    )
    page = ari_client.get("/units/3318/").content.decode()
    assert "https://img.example/a.jpg" in page
    assert "javascript:" not in page.lower()
    assert "data:text/html" not in page
