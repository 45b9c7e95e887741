"""Reference pages: multifamily properties with their floorplans, prescreening templates with their
rules and questions; read-only, linked from the unit page, another account's invisible."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.dashboard.conftest import HOSTILE
from tests.dashboard.reference_world import (
    FLOORPLAN_BIRCH,
    FLOORPLAN_WILLOW,
    PROPERTY_BIRCH,
    PROPERTY_MAPLE,
    SUBTEAM_MAPLE,
    TEMPLATE_BIRCH,
    TEMPLATE_MAPLE,
    TEMPLATE_SHARED,
    reference,  # noqa: F401 (fixture)
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("reference")]


def test_properties_list_their_floorplans(ari_client: Client) -> None:
    html = ari_client.get("/reference/properties/").content.decode()
    assert "Chesapeake Towers" in html
    assert f'id="floorplan-{FLOORPLAN_WILLOW}"' in html
    assert "$1,850" in html
    assert "900\u2013950 sq ft" in html
    assert "(3 available)" in html
    assert "Birch Court" not in html
    assert FLOORPLAN_BIRCH not in html


def test_a_property_page_shows_facts_floorplans_and_escapes_text(ari_client: Client) -> None:
    html = ari_client.get(f"/reference/properties/{PROPERTY_MAPLE}/").content.decode()
    assert "Mid Rise" in html
    assert "The Aspen" in html
    assert HOSTILE not in html
    assert "&lt;script&gt;" in html


def test_templates_list_rules_and_how_many_units_use_them(ari_client: Client) -> None:
    html = ari_client.get("/reference/prescreening/").content.decode()
    assert "Maple standard" in html
    assert "Minimum credit score: 600" in html
    assert "Shared ownerless" in html, "a template without an owner shows where a unit uses it"
    assert "Birch strict" not in html


def test_a_template_page_reads_its_rules_and_questions(ari_client: Client) -> None:
    html = ari_client.get(f"/reference/prescreening/{TEMPLATE_MAPLE}/").content.decode()
    assert "Income at least (times the rent)" in html
    assert "2.5" in html
    assert "ID verification</dt><dd>On" in html
    assert "Some new rule</dt><dd>kept" in html, "an unknown rule still reads"
    assert "Do you have a housing voucher" in html
    assert "Rejects on “no”" in html
    assert "built-in: Housing voucher" in html
    assert HOSTILE not in html
    assert "/units/3318/" in html


def test_another_accounts_reference_data_is_a_404(ari_client: Client) -> None:
    assert ari_client.get(f"/reference/properties/{PROPERTY_BIRCH}/").status_code == 404
    assert ari_client.get(f"/reference/prescreening/{TEMPLATE_BIRCH}/").status_code == 404
    assert ari_client.get(f"/reference/prescreening/{TEMPLATE_SHARED}/").status_code == 200
    assert ari_client.get("/reference/prescreening/not-a-uuid/").status_code == 404


def test_an_ownerless_template_no_unit_of_yours_uses_is_a_404(client: Client, cy) -> None:  # type: ignore[no-untyped-def]
    client.force_login(cy)
    assert client.get(f"/reference/prescreening/{TEMPLATE_SHARED}/").status_code == 404
    assert client.get(f"/reference/prescreening/{TEMPLATE_BIRCH}/").status_code == 200


def test_the_unit_page_links_to_its_template_subteam_and_building(ari_client: Client) -> None:
    html = ari_client.get("/units/3318/").content.decode()
    assert f'href="/reference/prescreening/{TEMPLATE_MAPLE}/"' in html
    assert f'href="/team/#subteam-{SUBTEAM_MAPLE}"' in html
    assert f'href="/reference/properties/{PROPERTY_MAPLE}/"' in html
    other = ari_client.get("/units/3319/").content.decode()
    assert f'href="/reference/prescreening/{TEMPLATE_SHARED}/"' in other
    assert 'href="/reference/properties/"' in other


def test_reference_pages_are_read_only_and_need_a_login(ari_client: Client) -> None:
    assert ari_client.post("/reference/properties/").status_code == 405
    assert ari_client.post(f"/reference/prescreening/{TEMPLATE_MAPLE}/").status_code == 405
    assert Client().get("/reference/properties/")["Location"].startswith("/login/")
