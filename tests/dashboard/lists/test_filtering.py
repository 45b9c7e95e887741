"""The filter definitions are the one place query-string values are cleaned: whatever a URL says, a
list reads it as "not set" or cut to size, never as a 500."""

from __future__ import annotations

import base64
import json
from datetime import date
from decimal import Decimal

import pytest
from django.http import QueryDict
from django.test import Client

from dashboard.lists.filtering import AmountField, CursorField, DayField, OneOfField, TextField, WholeNumberField, text_clean
from dashboard.lists.filters import ProspectFilter, UnitFilter
from tests.dashboard.conftest import World


def cursor(*parts: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(parts)).encode()).decode().rstrip("=")


HOSTILE_VALUES = [
    "\x00",
    "a\x00b",
    "x" * 10_000,
    "9999-12-31",
    "0001-01-01",
    "9" * 30,
    "-" + "9" * 5000,
    "NaN",
    "Infinity",
    "1e999999",
    "%%%",
    "<script>",
]
GARBAGE_CURSORS = [
    "!!garbage",
    "x" * 5000,
    cursor("v", "a\x00b", 1),
    cursor("v", "9999-99-99", 1),
    cursor("v", "0001-01-01T00:00:00+14:00", 1),
    cursor("v", 1, 10**30),
    cursor("n", None, "not a number"),
    cursor("v", None, None),
    cursor(["deep"], {"x": 1}),
    cursor("2026-01-01T00:00:00+00:00", 0, 10**40),
    cursor("0001-01-01T00:00:00+14:00", 1, 1),
]
LISTS = {
    "/prospects/": ("q", "assignee", "family", "status", "source", "unit", "created_from", "created_to", "sort"),
    "/units/": ("q", "status", "market", "city", "bedrooms", "rent_min", "rent_max", "occupied", "lockbox", "sort"),
    "/lockboxes/": ("q", "state", "type", "sort"),
    "/lockboxes/activity/": ("type", "unit", "since", "until"),
    "/showings/": ("view", "date", "agent", "unit", "status"),
    "/assignments/": (),
}


@pytest.mark.django_db
@pytest.mark.parametrize("path", list(LISTS))
def test_no_value_makes_a_list_fail(ari_client: Client, world: World, path: str) -> None:
    for name in LISTS[path]:
        for value in HOSTILE_VALUES:
            response = ari_client.get(path, {name: value})
            assert response.status_code == 200, (path, name, value[:40])
    for value in GARBAGE_CURSORS + HOSTILE_VALUES:
        assert ari_client.get(path, {"after": value}).status_code == 200, (path, value[:40])
        assert ari_client.get(path, {"live": "rows", "ids": f"1,{value}", "last": value}).status_code == 200, (path, value[:40])
        htmx = {"HX-Request": "true", "HX-Target": "more-rows"}
        assert ari_client.get(path, {"after": value}, headers=htmx).status_code == 200, (path, value[:40])


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/prospects/export.csv", "/units/export.csv", "/lockboxes/export.csv",
                                  "/lockboxes/activity/export.csv", "/showings/export.csv"])  # fmt: skip
def test_no_value_makes_an_export_fail(ari_client: Client, world: World, path: str) -> None:
    for value in HOSTILE_VALUES:
        query = {name: value for name in ("q", "unit", "created_from", "created_to", "since", "until", "date", "rent_min")}
        response = ari_client.get(path, query)
        assert response.status_code == 200, (path, value[:40])
        b"".join(response.streaming_content)  # type: ignore[attr-defined]


@pytest.mark.django_db
def test_the_detail_pages_read_their_cursors_and_chips_the_same_way(ari_client: Client, world: World) -> None:
    for value in GARBAGE_CURSORS + HOSTILE_VALUES:
        assert ari_client.get("/prospects/12345/", {"after": value, "only": value}).status_code == 200
        assert ari_client.get("/search/", {"q": value}).status_code == 200


def test_text_loses_control_characters_and_is_cut_to_size() -> None:
    assert text_clean("  Zoë \x00 Ñúñez\t ") == "Zoë Ñúñez"
    assert len(TextField().clean("x" * 10_000)) == 100
    assert TextField().clean(None) == ""


def test_numbers_out_of_every_column_read_as_not_set() -> None:
    assert WholeNumberField().clean("42") == 42
    assert WholeNumberField().clean("9" * 30) is None
    assert WholeNumberField().clean("-" + "9" * 5000) is None
    assert AmountField().clean("$1,925") == Decimal("1925")
    for value in ("NaN", "Infinity", "1e999999", "$", "lots"):
        assert AmountField().clean(value) is None


def test_dates_are_clamped_to_a_range_every_calculation_stays_in() -> None:
    assert DayField().clean("2026-03-01") == date(2026, 3, 1)
    assert DayField().clean("9999-12-31") == date(2999, 12, 31)
    assert DayField().clean("0001-01-01") == date(1900, 1, 1)
    assert DayField().clean("2026-02-30") is None


def test_choices_fall_back_to_their_default_and_cursors_to_the_first_page() -> None:
    assert OneOfField(choices={"a": "A"}, default="a").clean("zz") == "a"
    assert CursorField().clean("x" * 5000) is None
    assert CursorField().clean("not a cursor!") is None


@pytest.mark.django_db
def test_a_filter_counts_what_is_set_but_not_its_defaults(world: World, maple) -> None:  # type: ignore[no-untyped-def]
    plain = ProspectFilter(QueryDict(""), account=maple, me=None)
    assert plain.values["active"] == 0
    assert plain.values["assignee"] == "mine_unassigned"
    assert plain.sort.field == "id"
    narrowed = ProspectFilter(QueryDict("assignee=all&family=open&unit=3318&sort=name"), account=maple, me=None)
    assert narrowed.values["active"] == 3
    assert narrowed.sort.field == "name"
    assert UnitFilter(QueryDict("bedrooms=0&rent_min=$"), account=maple).values["active"] == 1
