"""The simulator's QStash-like sender against the receiver over HTTP: with duplicates and reordering
turned up, every message is stored once, nothing fails to apply, and the mirror agrees with the
simulator's own state for everything the webhooks told it about."""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import LazySettings

from integrations.rentengine.models import Account, LeasingEvent, Prospect, ProspectAssignee, Unit, WebhookDelivery
from integrations.rentengine.webhooks import apply as webhook_apply
from tests.support.simulator import TEST_WEBHOOK_KEY, running_simulator

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_simulators_deliveries_with_duplicates_and_reordering_land_once_and_the_mirror_agrees(
    live_server: Any, settings: LazySettings, no_enqueue: list[int]
) -> None:
    settings.RENTENGINE_WEBHOOK_API_KEY = TEST_WEBHOOK_KEY
    with running_simulator(size="small", seed=3, webhook_url=f"{live_server.url}/webhooks/rentengine/") as sim:
        sim.configure_webhooks(duplicate_probability=0.3, reorder_probability=0.3, reorder_delay_seconds=0.3)
        for kind in ("enquiry", "status", "assignment", "unit", "note", "access_code", "lockbox_move"):
            sim.activity(steps=4, kind=kind)
        sim.activity(steps=20)
        stats = sim.wait_for_webhooks(timeout=60)
        state = sim.state("units", "prospects")

    assert stats["duplicates_delivered"] > 0, "the sender did redeliver messages"
    assert stats["reordered"] > 0, "and held some back"
    assert (stats["given_up"], stats["failed_attempts"]) == (0, 0), "every attempt was answered 2xx"
    assert WebhookDelivery.objects.count() == stats["delivered"], "one row per message, duplicates not stored again"

    # The token lists the simulator's two accounts (a sync would have made them).
    Account.objects.bulk_create([Account(id=a) for a in {u["account_id"] for u in state["units"]}], ignore_conflicts=True)
    report = webhook_apply.deliveries_apply_pending()
    assert report.failed == 0
    assert set(WebhookDelivery.objects.values_list("status", flat=True)) <= {"applied", "held"}
    held = WebhookDelivery.objects.filter(status="held")
    assert {d.table for d in held} <= {"lockboxes"}, "only lockbox transfers wait for a sync to confirm them"
    assert all(" to account " in d.last_error for d in held)

    units = {u["id"]: u for u in state["units"]}
    mirrored_units = list(Unit.objects.all())
    assert mirrored_units
    assert [(u.id, u.status) for u in mirrored_units] == [(u.id, units[u.id]["status"]) for u in mirrored_units]

    prospects = {p["id"]: p for p in state["prospects"]}
    mirrored = list(Prospect.objects.all())
    assert mirrored
    assert [(p.id, p.status) for p in mirrored] == [(p.id, prospects[p.id]["status"]) for p in mirrored]
    assigned = set(LeasingEvent.objects.filter(event_type="Assign to User").values_list("prospect_id", flat=True))
    for prospect_id in assigned & {p.id for p in mirrored}:
        mine = [str(a.user_id) for a in ProspectAssignee.objects.filter(prospect_id=prospect_id)]
        assert mine == prospects[prospect_id]["assigned_user_ids"], f"assignees of prospect {prospect_id}"
