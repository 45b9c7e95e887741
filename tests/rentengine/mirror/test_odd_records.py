"""No record can stop the mirror: odd text lands cleaned, and a record the database refuses is set aside alone."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from django.db import DataError
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from integrations.rentengine import mirror
from integrations.rentengine.client import LeasingEventRecord, ProspectRecord, parse_record
from integrations.rentengine.models import LeasingEvent, Prospect, QuarantinedRecord
from integrations.rentengine.webhooks import deliveries_apply_pending
from tests.rentengine.webhooks.conftest import deliver, insert, leasing_event_row, no_enqueue, prospect_row, webhook_key

__all__ = ["no_enqueue", "webhook_key"]  # fixtures

pytestmark = pytest.mark.django_db

HOSTILE = [
    "\x00",
    "call back \x00 tomorrow",
    "call back \\u0000 tomorrow",  # the text \u0000, a real backslash: an agent's note, an enquiry form
    "\\",
    "ends with a backslash \\",
    "\\\\u0000\\",
    "\ud800",
    "lone \udfff low",
    "emoji 🏠🔑 and ZWJ 👩\u200d👩\u200d👧",
    "\u202eRTL override\u202c and \u200fmark",
    "x" * 10_000,
    "",
]
texts = st.one_of(st.sampled_from(HOSTILE), st.text(max_size=40), st.text(alphabet=st.characters(codec=None), max_size=20))
wrong_types = st.one_of(
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=False),
    st.booleans(),
    st.none(),
    st.lists(texts, max_size=3),
    st.dictionaries(texts, texts, max_size=2),
)
values = st.one_of(texts, wrong_types)
# What a JSON body can carry (no NaN or Infinity: the receiver refuses those with 400).
json_values = st.one_of(
    texts, st.integers(-(2**70), 2**70), st.floats(allow_nan=False, allow_infinity=False), st.booleans(), st.none()
)
ids = itertools.count(900_000)


def _stored(text: Any) -> Any:
    return mirror.value_clean(text)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(name=values, email=values, phone=values, source=values, notes=values)
def test_odd_values_in_synced_records_land_and_nothing_raises(
    maple: Any, name: Any, email: Any, phone: Any, source: Any, notes: Any
) -> None:
    prospect_id, event_id = next(ids), next(ids)
    prospect = parse_record(ProspectRecord, prospect_row(prospect_id, name=name, email=email, phone=phone, source=source))
    event = parse_record(LeasingEventRecord, leasing_event_row(event_id, "Log Note", 5, prospect_id=prospect_id, notes=notes))
    mirror.records_apply("prospects", [prospect], mirror.prospects_apply)
    mirror.records_apply("leasing_events", [event], mirror.leasing_events_apply)
    stored = Prospect.objects.get(pk=prospect_id)
    assert "\x00" not in (stored.name or "")
    assert "\x00" not in str(stored.raw)
    if isinstance(name, str):
        assert stored.raw["name"] == _stored(name)
    assert LeasingEvent.objects.filter(pk=event_id).exists()
    assert not QuarantinedRecord.objects.exists()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(name=json_values, notes=json_values)
def test_odd_values_in_webhook_deliveries_land_and_nothing_raises(
    maple: Any, client: Client, no_enqueue: Any, name: Any, notes: Any
) -> None:
    prospect_id, event_id = next(ids), next(ids)
    assert deliver(client, insert("prospects", prospect_row(prospect_id, name=name))).status_code == 200
    assert (
        deliver(
            client, insert("leasing_events", leasing_event_row(event_id, "Log Note", 5, prospect_id=prospect_id, notes=notes))
        ).status_code
        == 200
    )
    report = deliveries_apply_pending(time_budget=30)
    assert report.failed == 0
    assert Prospect.objects.filter(pk=prospect_id).exists()
    assert LeasingEvent.objects.filter(pk=event_id).exists()


def test_a_record_the_database_refuses_is_quarantined_and_the_rest_of_its_page_lands(
    maple: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    page = [parse_record(ProspectRecord, prospect_row(n, name=f"Person {n}")) for n in (501, 502, 503)]
    real = mirror.prospects_apply

    def refuses_502(records: Any, **kwargs: Any) -> mirror.Applied:
        if any(r.id == 502 for r in records):
            raise DataError(
                'invalid input syntax for type json\nDETAIL: Token "secret" is invalid.\nCONTEXT: JSON data, line 1: {"name": "Sécret Person'
            )
        return real(records, **kwargs)

    applied = mirror.records_apply("prospects", page, refuses_502)
    assert sorted(Prospect.objects.values_list("id", flat=True)) == [501, 503]
    assert applied.changed == 2
    held = QuarantinedRecord.objects.get()
    assert (held.resource, held.record_id) == ("prospects", "502")
    assert held.error == "DataError: invalid input syntax for type json"  # the reason, never the record's contents
    assert "Person 502" in held.raw

    # The next pass tries it again: once the database takes it, it leaves the quarantine.
    mirror.quarantine_retry("prospects", real)
    assert Prospect.objects.filter(pk=502).exists()
    assert not QuarantinedRecord.objects.exists()
