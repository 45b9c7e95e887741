"""Search ignores accents and case: "Fatima Sandulescu" finds "Fătima Săndulescu", "marasesti" finds
"Strada Mărășești", on PostgreSQL (unaccent, with the trigram indexes still used) and on SQLite."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client

from dashboard.lists.filters import prospect_search
from integrations.rentengine import mirror
from integrations.rentengine.models import Prospect
from integrations.rentengine.text_fold import fold
from tests.dashboard.conftest import MAPLE, World, prospect_record, unit_record

pytestmark = pytest.mark.django_db


@pytest.fixture
def accented(world: World) -> None:
    mirror.units_apply([unit_record(4400, MAPLE, address={"formatted_address": "12 Strada Mărășești", "city": "Norfolk"})])
    mirror.prospects_apply(
        [
            prospect_record(40001, MAPLE, "Fătima Săndulescu", email="fatima.sandulescu@example.com"),
            prospect_record(40002, MAPLE, "Søren Åberg", email="søren@exämple.com"),
        ]
    )


def test_fold_drops_accents_and_case() -> None:
    assert fold("Fătima Săndulescu") == "FATIMA SANDULESCU"
    assert fold("Søren Åberg Straße") == "SOREN ABERG STRASSE"
    assert fold(None) is None


@pytest.mark.parametrize("q", ["Fatima Sandulescu", "fatima sandulescu", "SĂNDULESCU", "Săndulescu", "andul"])
def test_prospect_search_ignores_accents_and_case(ari_client: Client, accented: None, q: str) -> None:
    html = ari_client.get("/search/", {"q": q}).content.decode()
    assert "Fătima Săndulescu" in html
    # The prospects list's search box (its own page is covered on PostgreSQL in test_prospect_pages).
    assert list(prospect_search(Prospect.objects.all(), q).values_list("id", flat=True)) == [40001]


def test_emails_and_addresses_match_without_accents(ari_client: Client, accented: None) -> None:
    assert list(prospect_search(Prospect.objects.all(), "soren").values_list("id", flat=True)) == [40002]
    assert list(prospect_search(Prospect.objects.all(), "soren@example").values_list("id", flat=True)) == [40002]
    assert 'id="unit-4400"' in ari_client.get("/units/", {"q": "marasesti"}).content.decode()
    assert "Mărășești" in ari_client.get("/search/", {"q": "Strada Marasesti"}).content.decode()


def test_like_wildcards_in_a_query_are_literal(accented: None) -> None:
    assert not Prospect.objects.filter(name__fold_contains="F%a").exists()
    assert not Prospect.objects.filter(name__fold_contains="F_tima").exists()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="trigram indexes exist on PostgreSQL only")
def test_the_folded_search_can_use_its_trigram_index(accented: None) -> None:
    sql, params = Prospect.objects.filter(name__fold_contains="sandulescu").query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN " + sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "ld_prospect_name_fold_trgm" in plan, plan
