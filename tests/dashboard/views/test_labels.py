"""Words a new team reads on day one: no "Automation · Automation", no RentEngine ids under names,
fee kinds in English, money with cents."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client

from integrations.rentengine import mirror
from tests.dashboard.conftest import MAPLE, World, event_record, stamp, unit_record

pytestmark = pytest.mark.django_db


def test_a_source_that_repeats_the_actor_is_said_once(ari_client: Client, world: World) -> None:
    mirror.leasing_events_apply(
        [event_record(90, 12345, "Contacted, Awaiting Information", world.now - timedelta(hours=2), source="Automation")]
    )
    html = ari_client.get("/prospects/12345/").content.decode()
    assert '<span class="tl-actor">Automation</span>' in html
    assert '<span class="tl-source">Automation</span>' not in html


def test_the_team_page_shows_names_without_ids_under_them(mia_client: Client, world: World) -> None:
    html = mia_client.get("/team/").content.decode()
    assert 'class="muted small mono" title="RentEngine user id"' not in html
    assert "Everyone prospects here" not in html


def test_fees_say_their_kind_in_words_and_money_with_cents(ari_client: Client, world: World) -> None:
    mirror.units_apply(
        [
            unit_record(
                3318,
                MAPLE,
                monthly_fees=[{"name": "Water", "type": "dollar", "amount": "75"}],
                move_in_fees=[{"name": "Admin", "type": "dollar", "amount": "10.5"}],
                pet_fees=[{"name": "Pet rent", "type": "dollar", "amount": "1250"}],
            )
        ]
    )
    html = ari_client.get("/units/3318/").content.decode()
    assert "<td>Move-in</td><td>$10.50</td>" in html
    assert "<td>Monthly</td><td>$75.00</td>" in html
    assert "<td>Pet</td><td>$1,250.00</td>" in html
    assert "move_in" not in html


def test_an_agenda_entry_known_from_events_names_its_unit(ari_client: Client, world: World) -> None:
    planned = world.now + timedelta(hours=3)
    mirror.leasing_events_apply(
        [event_record(91, 12347, "Showing Scheduled", world.now - timedelta(hours=1), planned_date_time=stamp(planned))]
    )
    html = ari_client.get("/showings/").content.decode()
    entry = html[html.index('id="event-showing-91"') :].split("</li>")[0]
    assert "from events" in entry
    assert "3319 Granby St" in entry
    assert ">Showing<" not in entry
