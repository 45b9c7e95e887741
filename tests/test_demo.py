"""`make demo` starts a fresh simulator each time: the last run's copy of RentEngine is forgotten,
the people and their settings are kept."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from dashboard.models import PersonName
from dashboard.people.demo_people import demo_mirror_forget
from integrations.rentengine import mirror
from integrations.rentengine.client import LeasingEventRecord, ProspectRecord, parse_record
from integrations.rentengine.models import Account, Prospect, ProspectAssignee, SyncState

pytestmark = pytest.mark.django_db


def test_a_new_demo_run_forgets_the_last_runs_mirror_but_keeps_people_and_names(maple: Account, ari) -> None:  # type: ignore[no-untyped-def]
    at = datetime(2026, 11, 1, tzinfo=UTC).isoformat()
    mirror.prospects_apply(
        [parse_record(ProspectRecord, {"id": 7, "account_id": str(maple.id), "name": "Old Run", "created_at": at})]
    )
    mirror.leasing_events_apply(
        [
            parse_record(
                LeasingEventRecord,
                {
                    "id": 1,
                    "prospect_id": 7,
                    "event_type": "Assign to User",
                    "created_at": at,
                    "context": {"assignedToUserIds": [str(ari.team_member.rentengine_user_id)]},
                },
            )
        ]
    )
    PersonName.objects.create(account=maple, user_id=ari.team_member.rentengine_user_id, name="Ari A.")
    SyncState.objects.create(resource="prospects", last_outcome="ok")
    assert ProspectAssignee.objects.exists()

    assert demo_mirror_forget() >= 4

    assert not Prospect.objects.exists()
    assert not ProspectAssignee.objects.exists()
    assert not SyncState.objects.exists()
    assert Account.objects.filter(pk=maple.pk).exists()
    assert ari.team_member.accounts.filter(pk=maple.pk).exists()
    assert PersonName.objects.get(user_id=ari.team_member.rentengine_user_id).name == "Ari A."
