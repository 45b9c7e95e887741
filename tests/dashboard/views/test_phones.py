"""Phones read as people write them, "(919) 251-8064", and dial with a tel: link; CSV files carry
them without the formula guard's apostrophe (which a real formula still gets)."""

from __future__ import annotations

import csv
import io

import pytest
from django.test import Client

from dashboard.display.phones import phone_national, phone_tel
from integrations.rentengine.models import Prospect
from tests.dashboard.conftest import World

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("raw", "shown", "tel"),
    [
        ("+19192518064", "(919) 251-8064", "tel:+19192518064"),
        ("919.251.8064", "(919) 251-8064", "tel:+19192518064"),
        ("1 (919) 251-8064", "(919) 251-8064", "tel:+19192518064"),
        ("+44 20 7946 0958", "+44 20 7946 0958", "tel:+442079460958"),
        ("12345", "12345", "tel:12345"),
        ("", "", ""),
    ],
)
def test_phones_in_national_form_with_a_dial_link(raw: str, shown: str, tel: str) -> None:
    assert phone_national(raw) == shown
    assert phone_tel(raw) == tel


def test_pages_show_national_phones_that_dial(ari_client: Client, world: World) -> None:
    Prospect.objects.filter(pk=12345).update(phone="+19192518064", phone_digits="9192518064")
    for path in ("/prospects/?assignee=all", "/prospects/12345/", "/prospects/12345/quick/", "/search/?q=Zo"):
        html = ari_client.get(path).content.decode()
        assert '<a href="tel:+19192518064" class="tel">(919) 251-8064</a>' in html, path
        assert "+19192518064<" not in html, path


def test_csv_phones_have_no_visible_guard_but_formulas_still_do(ari_client: Client, world: World) -> None:
    Prospect.objects.filter(pk=12345).update(phone="+13804534125")
    Prospect.objects.filter(pk=12346).update(phone="=cmd|' /C calc'!A0")
    body = b"".join(ari_client.get("/prospects/export.csv?assignee=all").streaming_content).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(body)))
    phone = rows[0].index("Phone")
    by_id = {r[0]: r for r in rows[1:]}
    assert by_id["12345"][phone] == "(380) 453-4125"
    assert by_id["12346"][phone] == "'=cmd|' /C calc'!A0"
