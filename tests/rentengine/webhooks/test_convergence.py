"""Order does not matter: any arrival order of a record's deliveries (INSERT, UPDATEs, maybe a DELETE),
with QStash's duplicates (same message id) and re-publications (new id, same content), applied in any
batching, converges to the newest state; a DELETE is never undone by an older UPDATE."""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from integrations.rentengine import webhooks
from integrations.rentengine.models import Prospect, ProspectAssignee, Unit, WebhookDelivery
from integrations.rentengine.webhooks import apply as webhook_apply
from tests.rentengine.webhooks.conftest import delete, insert, leasing_event_row, prospect_row, unit_row, update

pytestmark = pytest.mark.django_db

PROPERTY = settings(
    max_examples=200,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
USERS = ["1259ef6e-61ee-42cb-b6bd-7fe547569d7c", "2a1f0c3e-1111-4aaa-8bbb-000000000002", "3b2e1d4f-2222-4ccc-8ddd-000000000003"]


@dataclass
class Arrival:
    payload: dict[str, Any]
    message_id: str
    apply_after: bool  # the worker happens to run right after this one arrives


def store(payload: dict[str, Any], message_id: str) -> None:
    """What the receiver does with an authentic delivery (the view around it is tested elsewhere)."""
    delivery = webhooks.delivery_parse(json.dumps(payload).encode(), {"upstash-message-id": message_id})
    webhooks.delivery_store(delivery)


@st.composite
def arrivals(draw: st.DrawFn, deliveries: list[dict[str, Any]]) -> list[Arrival]:
    """Every delivery at least once, in any order, plus duplicates anywhere, in random batches."""
    order = draw(st.permutations(range(len(deliveries))))
    sequence = [(i, f"msg-{i}") for i in order]
    extras = draw(st.lists(st.tuples(st.sampled_from(range(len(deliveries))), st.booleans()), max_size=6))
    for n, (i, same_message) in enumerate(extras):
        position = draw(st.integers(0, len(sequence)))
        sequence.insert(position, (i, f"msg-{i}" if same_message else f"msg-{i}-republished-{n}"))
    batching = draw(st.lists(st.booleans(), min_size=len(sequence), max_size=len(sequence)))
    return [Arrival(deliveries[i], message_id, apply_now) for (i, message_id), apply_now in zip(sequence, batching, strict=True)]


def deliver_all(sequence: list[Arrival]) -> None:
    for arrival in sequence:
        store(arrival.payload, arrival.message_id)
        if arrival.apply_after:
            webhook_apply.deliveries_apply_pending()
    webhook_apply.deliveries_apply_pending()


# --- a unit's versions -----------------------------------------------------------------------------


@st.composite
def unit_histories(draw: st.DrawFn) -> tuple[list[dict[str, Any]], dict[str, Any], bool, list[Arrival]]:
    count = draw(st.integers(1, 5))
    states = [
        unit_row(
            version=v, status=draw(st.sampled_from(["Available", "On Hold", "Leased"])), rent=str(draw(st.integers(900, 3000)))
        )
        for v in range(1, count + 1)
    ]
    deleted = draw(st.booleans())
    deliveries = [insert("units", states[0])] + [update("units", state, states[n]) for n, state in enumerate(states[1:])]
    if deleted:
        deliveries.append(delete("units", states[-1]))
    return states, states[-1], deleted, draw(arrivals(deliveries))


@PROPERTY
@given(history=unit_histories())
def test_any_order_of_a_units_deliveries_converges_to_its_newest_state(
    history: tuple[list[dict[str, Any]], dict[str, Any], bool, list[Arrival]],
) -> None:
    _, newest, deleted, sequence = history
    with transaction.atomic():
        deliver_all(sequence)
        unit = Unit.objects.get(id=3318)
        assert (unit.status, unit.rent) == (newest["status"], Decimal(newest["target_rental_rate"]))
        assert unit.source_updated_at.isoformat().replace("+00:00", "Z") == newest["updated_at"]
        assert (unit.deleted_at is not None) == deleted, "deleted exactly when a DELETE was delivered"
        assert WebhookDelivery.objects.count() == len({a.message_id for a in sequence}), "one row per message"
        assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {"applied"}
        transaction.set_rollback(True)


# --- a prospect's events ---------------------------------------------------------------------------


@st.composite
def event_histories(draw: st.DrawFn) -> tuple[list[dict[str, Any]], set[int], list[Arrival]]:
    count = draw(st.integers(1, 5))
    events = []
    for n in range(count):
        kind = draw(
            st.sampled_from(["Showing Scheduled", "Application Received", "Not Interested", "Log Note", "Assign to User"])
        )
        context = {"assignedToUserIds": [draw(st.sampled_from(USERS))]} if kind == "Assign to User" else {}
        events.append(leasing_event_row(100 + n, kind, minutes=n + 1, context=context))
    deleted = set(draw(st.sets(st.sampled_from([e["id"] for e in events]), max_size=2)))
    deliveries = [insert("prospects", prospect_row())] + [insert("leasing_events", e) for e in events]
    deliveries += [delete("leasing_events", e) for e in events if e["id"] in deleted]
    return events, deleted, draw(arrivals(deliveries))


@settings(PROPERTY, max_examples=100)
@given(history=event_histories())
def test_any_order_of_a_prospects_events_gives_the_status_and_assignees_of_its_latest_events(
    history: tuple[list[dict[str, Any]], set[int], list[Arrival]],
) -> None:
    events, deleted, sequence = history
    alive = [e for e in events if e["id"] not in deleted]  # created_at grows with the id here
    statuses = [e["event_type"] for e in alive if e["event_type"] not in ("Log Note", "Assign to User")]
    assignments = [e["context"]["assignedToUserIds"] for e in alive if e["event_type"] == "Assign to User"]
    with transaction.atomic():
        deliver_all(sequence)
        prospect = Prospect.objects.get()
        assert prospect.status == (statuses[-1] if statuses else "New")
        assert [str(a.user_id) for a in ProspectAssignee.objects.all()] == (assignments[-1] if assignments else [])
        transaction.set_rollback(True)
