"""QStash delivers at least once: the same delivery 1 to 10 times, one after the other or all at once,
is stored once, changes the mirror once, and every copy is answered 2xx."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from django.db import connections
from django.test import Client

from integrations.rentengine.models import Unit, WebhookDelivery
from integrations.rentengine.webhooks import apply as webhook_apply
from tests.rentengine.webhooks.conftest import deliver, insert, leasing_event_row, prospect_row, unit_row, update

LEASED = update("units", unit_row(version=5, status="Leased"))


def concurrently[T](copies: int, job: Callable[[int], T]) -> list[T]:
    """Run `job` in `copies` threads released at the same instant, each on its own connection."""
    start = threading.Barrier(copies)

    def run(n: int) -> T:
        start.wait()
        try:
            return job(n)
        finally:
            connections.close_all()

    with ThreadPoolExecutor(copies) as pool:
        return list(pool.map(run, range(copies)))


def changed_units(reports: list[webhook_apply.ApplyReport]) -> list[str]:
    return [unit for report in reports for unit in report.changed.get("units", set())]


@pytest.mark.django_db
@pytest.mark.parametrize("copies", range(1, 11))
def test_the_same_delivery_sent_again_and_again_is_stored_once_and_changes_the_mirror_once(client: Client, copies: int) -> None:
    answers = [deliver(client, LEASED, message_id="msg_same", retried=n).status_code for n in range(copies)]
    assert answers == [200] * copies
    assert WebhookDelivery.objects.count() == 1
    assert WebhookDelivery.objects.get().retried == 0, "the first copy is the one kept"
    assert changed_units([webhook_apply.deliveries_apply_pending()]) == ["3318"]
    assert Unit.objects.get().status == "Leased"


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("copies", [2, 5, 10])
def test_the_same_delivery_sent_at_once_by_many_is_stored_once_and_changes_the_mirror_once(copies: int, no_enqueue: Any) -> None:
    answers = concurrently(copies, lambda n: deliver(Client(), LEASED, message_id="msg_same", retried=n).status_code)
    assert answers == [200] * copies
    assert WebhookDelivery.objects.count() == 1
    reports = concurrently(3, lambda _: webhook_apply.deliveries_apply_pending())
    assert changed_units(reports) == ["3318"]
    assert sum(r.applied for r in reports) == 1, "each delivery claimed by exactly one applier"
    assert Unit.objects.get().status == "Leased"


@pytest.mark.django_db(transaction=True)
def test_the_same_change_republished_under_new_message_ids_is_kept_each_time_but_changes_the_mirror_once(no_enqueue: Any) -> None:
    answers = concurrently(10, lambda n: deliver(Client(), LEASED, message_id=f"msg_{n}").status_code)
    assert answers == [200] * 10
    assert WebhookDelivery.objects.count() == 10
    reports = concurrently(3, lambda _: webhook_apply.deliveries_apply_pending(batch_size=2))
    assert sum(r.applied for r in reports) == 10
    assert changed_units(reports) == ["3318"]


@pytest.mark.django_db(transaction=True)
def test_appliers_running_at_once_over_crossing_prospects_and_events_never_deadlock(no_enqueue: Any) -> None:
    client = Client()
    # Each batch of two updates one prospect and adds an event to another, in crossing orders, so
    # concurrent batches would lock the same prospects in opposite orders.
    for n in range(40):
        assert deliver(client, update("prospects", prospect_row(1000 + n % 8, version=n))).status_code == 200
        event = leasing_event_row(5000 + n, "Showing Scheduled", n, prospect_id=1000 + (7 - n % 8))
        assert deliver(client, insert("leasing_events", event)).status_code == 200
    reports = concurrently(4, lambda _: webhook_apply.deliveries_apply_pending(batch_size=2))
    assert sum(r.failed for r in reports) == 0
    assert sum(r.applied for r in reports) == 80
    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {"applied"}
