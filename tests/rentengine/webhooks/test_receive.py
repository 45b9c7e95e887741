"""The receiver: authentic deliveries are stored once and answered {"success": true}; anything else
gets a 4xx that says why, and nothing unauthenticated is ever stored (only counted)."""

from __future__ import annotations

import hmac
import io
import json
import logging
from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync
from django.db import connection
from django.http import UnreadablePostError
from django.test import Client, RequestFactory
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from integrations.rentengine import webhooks
from integrations.rentengine.models import WebhookDelivery, WebhookRejection
from integrations.rentengine.webhooks import receive
from tests.rentengine.webhooks.conftest import KEY, OLD_KEY, URL, delete, deliver, insert, unit_row, update

pytestmark = pytest.mark.django_db


# --- the answer ------------------------------------------------------------------------------------


def test_an_authentic_delivery_is_stored_raw_and_answered_success(client: Client) -> None:
    payload = insert("units", unit_row())
    response = deliver(client, payload, message_id="msg_1", retried=2, headers={"User-Agent": "Upstash-QStash"})
    assert response.status_code == 200
    assert response.json() == {"success": True}
    stored = WebhookDelivery.objects.get()
    assert json.loads(stored.body) == payload
    assert (stored.table, stored.type, stored.record_id, stored.status) == ("units", "INSERT", "3318", "received")
    assert (stored.message_id, stored.retried, stored.dedupe_key) == ("msg_1", 2, "msg:msg_1")
    assert stored.headers["upstash-message-id"] == "msg_1"
    assert stored.headers["user-agent"] == "Upstash-QStash"
    assert stored.remote_addr == "127.0.0.1"


def test_the_api_key_is_never_stored_with_a_delivery(client: Client) -> None:
    deliver(client, insert("units", unit_row()))
    stored = WebhookDelivery.objects.get()
    assert KEY not in json.dumps(stored.headers)
    assert KEY not in stored.body


def test_a_delivery_costs_one_statement_and_its_duplicate_stores_nothing(client: Client) -> None:
    with CaptureQueriesContext(connection) as first:
        deliver(client, insert("units", unit_row()), message_id="msg_1")
    with CaptureQueriesContext(connection) as again:
        deliver(client, insert("units", unit_row()), message_id="msg_1")
    assert len(first.captured_queries) == 1
    assert len(again.captured_queries) == 1
    assert WebhookDelivery.objects.count() == 1


def test_a_new_delivery_asks_a_worker_to_apply_it_after_commit(
    client: Client, django_capture_on_commit_callbacks, no_enqueue: list[int]
) -> None:  # type: ignore[no-untyped-def]
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        deliver(client, insert("units", unit_row()), message_id="msg_1")
        deliver(client, insert("units", unit_row()), message_id="msg_1")
    assert len(callbacks) == 1, "a duplicate asks for nothing"
    assert no_enqueue == [1]


def test_without_a_message_id_the_body_hash_is_the_dedupe_key(client: Client) -> None:
    payload = update("units", unit_row(version=5))
    for _ in range(3):
        assert deliver(client, payload).status_code == 200
    assert deliver(client, update("units", unit_row(version=6))).status_code == 200
    assert WebhookDelivery.objects.count() == 2
    assert all(d.dedupe_key.startswith("body-sha256:") for d in WebhookDelivery.objects.all())


def test_a_message_id_with_unprintable_characters_is_hashed_not_stored_as_is(client: Client) -> None:
    assert deliver(client, insert("units", unit_row()), headers={"Upstash-Message-Id": "msg\x01" + "x" * 500}).status_code == 200
    stored = WebhookDelivery.objects.get()
    assert stored.dedupe_key.startswith("msg-sha256:")
    assert "\x01" not in stored.message_id


def test_a_delivery_for_a_table_we_do_not_apply_is_stored_as_ignored_and_shows_in_health(client: Client) -> None:
    payload = insert("rental_application_groups", {"id": "rag_1", "status": "submitted"})
    assert deliver(client, payload).json() == {"success": True}
    stored = WebhookDelivery.objects.get()
    assert stored.status == "ignored"
    assert "not applied" in stored.last_error
    assert webhooks.webhook_health()["ignored_tables_last_day"] == {"rental_application_groups": 1}


def test_other_methods_are_refused(client: Client) -> None:
    assert client.get(URL).status_code == 405
    assert client.put(URL, data="{}", content_type="application/json").status_code == 405
    assert WebhookDelivery.objects.count() == 0


# --- the key ---------------------------------------------------------------------------------------


def test_a_wrong_key_is_refused_with_401_stored_nowhere_and_counted(client: Client) -> None:
    response = deliver(client, insert("units", unit_row()), key="guess")
    assert response.status_code == 401
    assert WebhookDelivery.objects.count() == 0
    rejection = WebhookRejection.objects.get()
    assert (rejection.day, rejection.count, rejection.last_reason) == (timezone.now().date(), 1, "wrong key")
    assert rejection.last_remote_addr == "127.0.0.1"


def test_a_missing_key_is_refused_with_401_and_counted(client: Client) -> None:
    assert deliver(client, insert("units", unit_row()), key=None).status_code == 401
    assert deliver(client, insert("units", unit_row()), key="").status_code == 401
    assert WebhookDelivery.objects.count() == 0
    rejection = WebhookRejection.objects.get()
    assert (rejection.count, rejection.last_reason) == (2, "missing key")


def test_rejections_are_counted_per_day_and_health_shows_the_last_one(client: Client) -> None:
    for _ in range(3):
        deliver(client, insert("units", unit_row()), key="guess")
    yesterday = timezone.now() - timedelta(days=1)
    receive.webhook_rejection_count(reason="wrong key", now=yesterday)
    health = webhooks.webhook_health()
    assert (health["rejected_today"], health["rejected_last_7_days"]) == (3, 4)
    assert health["last_rejection_reason"] == "wrong key"
    assert health["last_rejection_at"] > yesterday


def test_a_rejected_body_is_not_even_parsed(client: Client) -> None:
    assert deliver(client, b"not json", key="guess").status_code == 401


def test_the_previous_key_is_accepted_while_rotating(client: Client, settings) -> None:  # type: ignore[no-untyped-def]
    settings.RENTENGINE_WEBHOOK_API_KEY_PREVIOUS = OLD_KEY
    assert deliver(client, insert("units", unit_row(1)), key=OLD_KEY).status_code == 200
    assert deliver(client, insert("units", unit_row(2)), key=KEY).status_code == 200
    settings.RENTENGINE_WEBHOOK_API_KEY_PREVIOUS = ""
    assert deliver(client, insert("units", unit_row(3)), key=OLD_KEY).status_code == 401, "once rotated, the old key is refused"
    assert WebhookDelivery.objects.count() == 2


def test_the_key_header_name_is_a_setting(client: Client, settings) -> None:  # type: ignore[no-untyped-def]
    settings.RENTENGINE_WEBHOOK_HEADER = "X-Webhook-Secret"
    assert deliver(client, insert("units", unit_row()), key=None, headers={"X-Webhook-Secret": KEY}).status_code == 200
    assert deliver(client, insert("units", unit_row(2)), key=KEY).status_code == 401


def test_the_key_is_compared_in_constant_time_against_every_accepted_key(monkeypatch: pytest.MonkeyPatch, settings) -> None:  # type: ignore[no-untyped-def]
    settings.RENTENGINE_WEBHOOK_API_KEY_PREVIOUS = OLD_KEY
    compared: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        compared.append((a, b))
        return real(a, b)

    monkeypatch.setattr(receive.hmac, "compare_digest", spy)
    assert receive.webhook_key_refusal(KEY) is None
    assert len(compared) == 2, "no early exit on the first match"
    assert all(len(a) == len(b) == 32 for a, b in compared), "digests are compared, so key length leaks nothing"
    assert receive.webhook_key_refusal(KEY[:-1]) == "wrong key"


def test_with_no_key_configured_everything_is_refused_and_the_log_says_so_once(
    client: Client,
    settings,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,  # type: ignore[no-untyped-def]
) -> None:
    settings.RENTENGINE_WEBHOOK_API_KEY = ""
    monkeypatch.setattr(receive, "_unset_key_logged", False)
    with caplog.at_level(logging.ERROR, logger="integrations.rentengine.webhooks.receive"):
        answers = [deliver(client, insert("units", unit_row()), key=key).status_code for key in ("", KEY, "anything")]
    assert answers == [401, 401, 401]
    assert WebhookDelivery.objects.count() == 0
    assert len(caplog.records) == 1
    assert "RENTENGINE_WEBHOOK_API_KEY is unset" in caplog.records[0].getMessage()
    assert WebhookRejection.objects.get().last_reason == "no key configured"
    assert webhooks.webhook_health()["key_configured"] is False


# --- size and shape --------------------------------------------------------------------------------


def test_a_body_over_the_limit_is_refused_with_413_by_its_declared_length(client: Client, settings) -> None:  # type: ignore[no-untyped-def]
    settings.RENTENGINE_WEBHOOK_MAX_BYTES = 2048
    record = unit_row(marketing_description="x" * 3000)
    response = deliver(client, insert("units", record))
    assert response.status_code == 413
    assert "2048 bytes" in response.json()["error"]
    assert WebhookDelivery.objects.count() == 0


def test_a_body_over_the_limit_is_refused_with_413_even_when_its_declared_length_lies(settings) -> None:  # type: ignore[no-untyped-def]
    settings.RENTENGINE_WEBHOOK_MAX_BYTES = 2048
    body = json.dumps(insert("units", unit_row(marketing_description="x" * 3000))).encode()
    request = RequestFactory().post(URL, data=body, content_type="application/json", headers={"X-API-Key": KEY})
    request.META["CONTENT_LENGTH"] = "10"
    request._stream = io.BytesIO(body)  # longer than declared, as under ASGI (the server hands over the whole body)
    assert async_to_sync(webhooks.webhook_receive)(request).status_code == 413
    assert WebhookDelivery.objects.count() == 0


def test_a_client_that_hangs_up_mid_body_gets_a_400(settings) -> None:  # type: ignore[no-untyped-def]
    class HungUp(io.BytesIO):
        def read(self, *args: object) -> bytes:
            raise UnreadablePostError("connection reset")

    request = RequestFactory().post(URL, data=b"{}", content_type="application/json", headers={"X-API-Key": KEY})
    request._stream = HungUp()
    response = async_to_sync(webhooks.webhook_receive)(request)
    assert response.status_code == 400
    assert "could not be read" in json.loads(response.content)["error"]


def test_a_body_at_the_limit_is_accepted(client: Client, settings) -> None:  # type: ignore[no-untyped-def]
    settings.RENTENGINE_WEBHOOK_MAX_BYTES = 2048
    payload = insert("units", unit_row(marketing_description=""))
    padding = 2048 - len(json.dumps(payload))
    payload["record"]["marketing_description"] = "x" * padding
    assert len(json.dumps(payload)) == 2048
    assert deliver(client, payload).status_code == 200


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "the body is empty"),
        (b"{not json", "the body is not valid JSON: Expecting property name enclosed in double quotes (line 1, column 2)"),
        (b"\xff\xfe{}", "the body must be UTF-8 encoded JSON"),
        (b"[1, 2]", "the body must be a JSON object {type, table, record, old_record}"),
        (b'{"type": "UPSERT", "table": "units", "record": {"id": 1}}', "type must be INSERT, UPDATE or DELETE, got 'UPSERT'"),
        (b'{"table": "units", "record": {"id": 1}}', "type must be INSERT, UPDATE or DELETE, got nothing"),
        (b'{"type": ["INSERT"], "table": "units", "record": {"id": 1}}', "type must be INSERT, UPDATE or DELETE, got ['INSERT']"),
        (b'{"type": "INSERT", "table": "", "record": {"id": 1}}', "table must be a table name"),
        (b'{"type": "INSERT", "table": "units; drop", "record": {"id": 1}}', "table must be a table name"),
        (b'{"type": "INSERT", "table": "units", "record": [1]}', "record must be an object or null, got list"),
        (b'{"type": "INSERT", "table": "units", "record": null}', "a INSERT delivery needs record (an object), got null"),
        (b'{"type": "DELETE", "table": "units", "record": null, "old_record": null}', "a DELETE delivery needs old_record"),
        (b'{"type": "UPDATE", "table": "units", "record": {"name": "x"}}', "record.id must be a string or a number, got nothing"),
        (
            b'{"type": "DELETE", "table": "units", "old_record": {"id": true}}',
            "old_record.id must be a string or a number, got True",
        ),
        (b'{"type": "INSERT", "table": "units", "record": {"id": 1' + b"0" * 5000 + b"}}", "the body is not usable JSON"),
        (b"[" * 100_000 + b"]" * 100_000, "the body is not usable JSON"),
    ],
)
def test_a_malformed_delivery_is_a_400_that_says_what_is_wrong(client: Client, body: bytes, message: str) -> None:
    response = deliver(client, body)
    assert response.status_code == 400
    assert response.json()["success"] is False
    assert message in response.json()["error"]
    assert WebhookDelivery.objects.count() == 0


def test_a_delete_carries_its_id_in_the_old_record(client: Client) -> None:
    assert deliver(client, delete("units", unit_row())).status_code == 200
    assert WebhookDelivery.objects.get().record_id == "3318"
