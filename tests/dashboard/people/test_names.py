"""Names, not uuids: every RentEngine user id on a screen is resolved in one query."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from dashboard.models import PersonName
from dashboard.people.names import people_in_account, people_names, person_name, user_label
from integrations.rentengine import mirror
from integrations.rentengine.models import Prospect
from tests.dashboard.conftest import ARI_ID, BIRCH, BO_ID, MAPLE, MIA_ID, STRANGER_ID, prospect_record

pytestmark = pytest.mark.django_db


def test_names_resolve_in_one_query_team_members_first(world) -> None:  # type: ignore[no-untyped-def]
    PersonName.objects.create(account_id=MAPLE, user_id=ARI_ID, name="Ari from RentEngine")
    PersonName.objects.create(account_id=MAPLE, user_id=STRANGER_ID, name="Sam Stranger")
    with CaptureQueriesContext(connection) as queries:
        names = people_names([ARI_ID, STRANGER_ID, "00000000-0000-4000-8000-0000000000aa", None, "not a uuid"], account_id=MAPLE)
    assert len(queries) == 1
    assert names[ARI_ID] == "Ari Agent", "the team member's own name wins"
    assert names[STRANGER_ID] == "Sam Stranger"
    assert names["00000000-0000-4000-8000-0000000000aa"] == "User 000000"
    assert person_name(names, "Automation") == "Automation"
    assert user_label(MIA_ID) == "User 1259ef"


def test_a_name_given_in_one_account_is_not_shown_in_another(world) -> None:  # type: ignore[no-untyped-def]
    PersonName.objects.create(account_id=MAPLE, user_id=STRANGER_ID, name="Sam Stranger")
    assert people_names([STRANGER_ID], account_id=BIRCH)[STRANGER_ID] == "User 9f9f9f"
    assert people_names([STRANGER_ID], account_id=MAPLE)[STRANGER_ID] == "Sam Stranger"


def test_people_in_account_lists_members_and_ids_seen_in_the_data(world) -> None:  # type: ignore[no-untyped-def]
    people = people_in_account(MAPLE)
    assert people[ARI_ID] == "Ari Agent"
    assert people[BO_ID] == "Bo Agent"
    assert people[STRANGER_ID] == "User 9f9f9f", "seen in Maple's events, never named"


def test_assignee_ids_ride_along_in_assignment_order() -> None:
    """with_assignee_ids reads every assignee in the prospects' own query, in position order (SQLite
    can't order an aggregate, so the order is restored from the positions)."""
    from dashboard.people.names import assignee_user_ids, with_assignee_ids
    from integrations.rentengine.models import ProspectAssignee

    mirror.prospects_apply([prospect_record(70_001, MAPLE, "Two People"), prospect_record(70_002, MAPLE, "Nobody")])
    ProspectAssignee.objects.create(prospect_id=70_001, user_id=MIA_ID, position=1)
    ProspectAssignee.objects.create(prospect_id=70_001, user_id=BO_ID, position=0)
    with CaptureQueriesContext(connection) as captured:
        rows = {p.id: p for p in with_assignee_ids(Prospect.objects.filter(id__in=[70_001, 70_002]))}
    assert len(captured) == 1
    assert assignee_user_ids(rows[70_001]) == [BO_ID, MIA_ID]
    assert assignee_user_ids(rows[70_002]) == []
