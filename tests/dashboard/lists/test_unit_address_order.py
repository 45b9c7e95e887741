"""Units sort by street name, then house number as a number, then unit: "1417 Mockingbird" comes
before "14082 Mockingbird", not between 14082 and 14200 as text would put it."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from integrations.rentengine import mirror
from integrations.rentengine.address_order import address_order
from tests.dashboard.conftest import MAPLE, World, unit_record

pytestmark = pytest.mark.django_db

ADDRESSES = [  # in the order the list must show them
    ("Granby St", "2", ""),
    ("Mockingbird Ln", "1417", ""),
    ("Mockingbird Ln", "14082", ""),
    ("Mockingbird Ln", "14200", "Apt 2"),
    ("Mockingbird Ln", "14200", "Apt 10"),
    ("Oak Ave", "9", ""),
]


def test_the_key_orders_street_then_number_then_unit() -> None:
    keys = [address_order(f"{number} {street}", unit) for street, number, unit in ADDRESSES]
    assert keys == sorted(keys)
    assert address_order("", "", "1417 Mockingbird Ln, Dallas, TX") == address_order("1417 Mockingbird Ln", "")
    assert address_order("", "", "Lot 7, Old Farm Rd") == "LOT 7"


def test_the_units_list_sorts_by_street_number_and_unit(ari_client: Client, world: World) -> None:
    mirror.units_apply(
        [
            unit_record(
                5000 + n,
                MAPLE,
                address={"formatted_address": f"{number} {street}{', ' + unit if unit else ''}", "street_number": number,
                         "street_name": street, "unit": unit, "city": "Dallas"},
            )
            for n, (street, number, unit) in enumerate(reversed(ADDRESSES))
        ]
    )  # fmt: skip
    html = ari_client.get("/units/", {"city": "Dallas"}).content.decode()
    shown = [int(i) for i in re.findall(r'id="unit-(\d+)"', html)]
    assert shown == [5000 + len(ADDRESSES) - 1 - n for n in range(len(ADDRESSES))]
