"""The webhook receiver: check the key, check the envelope, store the raw delivery once, answer.

It does as little as possible because QStash retries slow receivers in waves: one
`INSERT ... ON CONFLICT (dedupe_key) DO NOTHING`, an apply request to a worker, `{"success": true}`.
A duplicate is answered 200 too; a refused key is counted, never stored.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import ipaddress
import json
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.db import transaction
from django.db.models import F
from django.http import HttpRequest, HttpResponse, JsonResponse, UnreadablePostError
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from integrations.rentengine import mirror, vocabulary
from integrations.rentengine.models import WebhookDelivery, WebhookRejection
from integrations.rentengine.webhooks.tasks import deliveries_apply_soon
from integrations.rentengine.webhooks.writers import on_writer_thread, written

logger = logging.getLogger(__name__)

Status = WebhookDelivery.Status

# Headers worth keeping with a delivery (lower case). Never the API key header.
KEPT_HEADERS = (
    "upstash-message-id",
    "upstash-retried",
    "upstash-signature",
    "upstash-schedule-id",
    "upstash-caller-ip",
    "content-type",
    "user-agent",
    "x-forwarded-for",
)
TYPES = frozenset(t.value for t in vocabulary.WebhookType)
# The tables applied to the mirror (apply.TABLES); deliveries for others are stored as "ignored".
HANDLED_TABLES = frozenset(vocabulary.WEBHOOK_TABLES)
_TABLE_NAME = re.compile(r"[A-Za-z0-9_.\-]{1,64}")
_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f]")


# --- receive ---------------------------------------------------------------------------------------


class DeliveryRefused(Exception):
    """A request answered with a 4xx: the status and a message the sender can act on."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class Delivery:
    """An authentic, well-formed delivery, ready to be stored."""

    dedupe_key: str
    table: str
    type: str
    record_id: str
    message_id: str
    retried: int
    headers: dict[str, str]
    remote_addr: str | None
    body: str

    @property
    def handled(self) -> bool:
        return self.table in HANDLED_TABLES


def _digest(value: str) -> bytes:
    # Hashing first makes the comparison independent of the keys' lengths, not only their contents.
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).digest()


def webhook_keys() -> list[str]:
    """The keys accepted right now: the current one and, while rotating, the previous one."""
    return [k for k in (settings.RENTENGINE_WEBHOOK_API_KEY, settings.RENTENGINE_WEBHOOK_API_KEY_PREVIOUS) if k]


_unset_key_logged = False


def webhook_key_refusal(presented: str | None) -> str | None:
    """Why a presented key is refused ("missing key", "wrong key", "no key configured"), or None."""
    global _unset_key_logged
    keys = webhook_keys()
    if not keys:
        if not _unset_key_logged:
            _unset_key_logged = True
            logger.error(
                "RENTENGINE_WEBHOOK_API_KEY is unset: every webhook delivery is refused with 401. "
                "Set it to the API key entered in RentEngine's developer portal."
            )
        return "no key configured"
    if not presented:
        return "missing key"
    offered = _digest(presented)
    # Every key is compared (no early exit), each in constant time.
    matches = [hmac.compare_digest(offered, _digest(key)) for key in keys]
    return None if any(matches) else "wrong key"


def webhook_rejection_count(*, reason: str, remote_addr: str | None = None, now: datetime | None = None) -> None:
    """Count a refused request in today's row: an atomic `count = count + 1`, never a read-modify-write."""
    now = now or timezone.now()
    day = now.date()
    values = {"count": F("count") + 1, "last_at": now, "last_reason": reason[:100], "last_remote_addr": remote_addr}
    rows = WebhookRejection.objects.filter(day=day)
    if not rows.update(**values):
        # First rejection today: make the row (a concurrent twin is ignored), then count as above.
        WebhookRejection.objects.bulk_create([WebhookRejection(day=day)], ignore_conflicts=True)
        rows.update(**values)


async def webhook_refusal_record(reason: str, remote_addr: str | None) -> None:
    """Count a refused request from ASGI code (the request guard), on a writer thread."""
    try:
        await on_writer_thread(functools.partial(webhook_rejection_count, reason=reason, remote_addr=_ip(remote_addr)))
    except Exception:  # counting is for operators; it must not change the answer
        logger.warning("Could not count a refused webhook delivery", exc_info=True)


def _clean(value: str, limit: int) -> str:
    # Header values and ids end up in text and JSON columns: PostgreSQL refuses NUL characters and
    # lone surrogates, so anything unprintable goes before it can turn a delivery into a 500.
    text = _UNPRINTABLE.sub("", value)
    return text.encode("utf-8", "replace").decode("utf-8")[:limit]


def _ip(value: str | None) -> str | None:
    try:
        return str(ipaddress.ip_address((value or "").strip()))
    except ValueError:
        return None


def delivery_parse(body: bytes, headers: Mapping[str, str], *, remote_addr: str | None = None) -> Delivery:
    """Check the envelope {type, table, record, old_record} and build the row to store.

    Raises DeliveryRefused(400) with a message saying what is wrong. Records themselves are read
    when applied (a record the mirror can't read becomes a failed delivery an operator can see).
    """
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise DeliveryRefused(400, "the body must be UTF-8 encoded JSON") from None
    if not text.strip():
        raise DeliveryRefused(400, "the body is empty: expected a JSON object {type, table, record, old_record}")
    try:
        payload = json.loads(text, parse_constant=_not_json, parse_float=_finite_float)
    except json.JSONDecodeError as exc:
        raise DeliveryRefused(400, f"the body is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})") from None
    except (ValueError, RecursionError) as exc:  # e.g. an integer over Python's digit limit, absurd nesting
        raise DeliveryRefused(400, f"the body is not usable JSON: {str(exc)[:120]}") from None
    if not isinstance(payload, dict):
        raise DeliveryRefused(400, "the body must be a JSON object {type, table, record, old_record}")
    kind = payload.get("type")
    if not isinstance(kind, str) or kind not in TYPES:
        raise DeliveryRefused(400, f"type must be INSERT, UPDATE or DELETE, got {_shown(kind)}")
    table = payload.get("table")
    if not isinstance(table, str) or not _TABLE_NAME.fullmatch(table):
        raise DeliveryRefused(400, f"table must be a table name (letters, digits, _ . -; 1-64 characters), got {_shown(table)}")
    for key in ("record", "old_record"):
        if payload.get(key) is not None and not isinstance(payload[key], dict):
            raise DeliveryRefused(400, f"{key} must be an object or null, got {type(payload[key]).__name__}")
    subject_key = "old_record" if kind == vocabulary.WebhookType.DELETE else "record"
    subject = payload.get(subject_key)
    if subject is None:
        raise DeliveryRefused(400, f"a {kind} delivery needs {subject_key} (an object), got null")
    record_id = subject.get("id")
    if table in HANDLED_TABLES and (isinstance(record_id, bool) or not isinstance(record_id, int | str) or record_id == ""):
        raise DeliveryRefused(400, f"{subject_key}.id must be a string or a number, got {_shown(record_id)}")

    kept = {name: _clean(headers[name], 1000) for name in KEPT_HEADERS if headers.get(name)}
    kept.pop(settings.RENTENGINE_WEBHOOK_HEADER.lower(), None)
    raw_message_id = headers.get("upstash-message-id") or ""
    message_id = _clean(raw_message_id, 200)
    if raw_message_id and message_id == raw_message_id and len(message_id) <= 190:
        dedupe_key = f"msg:{message_id}"
    elif raw_message_id:  # unprintable or too long: still one key per message id
        dedupe_key = "msg-sha256:" + hashlib.sha256(raw_message_id.encode("utf-8", "surrogatepass")).hexdigest()
    else:
        dedupe_key = "body-sha256:" + hashlib.sha256(body).hexdigest()
    try:
        retried = max(0, min(int(headers.get("upstash-retried") or 0), 2**31 - 1))
    except ValueError:
        retried = 0
    return Delivery(
        dedupe_key=dedupe_key,
        table=table,
        type=kind,
        record_id=_clean(str(record_id), 64) if isinstance(record_id, int | str) and not isinstance(record_id, bool) else "",
        message_id=message_id,
        retried=retried,
        headers=kept,
        remote_addr=_ip(remote_addr),
        body=text,
    )


def _not_json(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise ValueError(f"the number {text[:40]} is too large")
    return value


def _shown(value: Any) -> str:
    return "nothing" if value is None else _clean(repr(value), 60)


def delivery_store(delivery: Delivery, *, now: datetime | None = None) -> int | None:
    """Store a delivery once: one `INSERT ... ON CONFLICT (dedupe_key) DO NOTHING RETURNING id`.

    Returns the new row's id, or None when the delivery was already stored (a duplicate). A new
    delivery for a table we apply asks a worker to apply it once the insert is committed.
    """
    values = {
        "dedupe_key": delivery.dedupe_key,
        "received_at": now or timezone.now(),
        "table": delivery.table,
        "type": delivery.type,
        "record_id": delivery.record_id,
        "message_id": delivery.message_id,
        "retried": delivery.retried,
        "headers": delivery.headers,
        "remote_addr": delivery.remote_addr,
        "body": delivery.body,
        "status": Status.RECEIVED if delivery.handled else Status.IGNORED,
        "attempts": 0,
        "last_error": "" if delivery.handled else f"table {delivery.table!r} is not applied to the mirror",
    }
    new_id = mirror.insert_once(WebhookDelivery, values, unique="dedupe_key")
    if new_id is None:
        return None
    if delivery.handled:
        transaction.on_commit(deliveries_apply_soon)
    return int(new_id)


def _answer(payload: dict[str, Any], status: int = 200) -> JsonResponse:
    response = JsonResponse(payload, status=status)
    # Set here because CommonMiddleware, which usually does, may not run (webhooks.fast_path).
    response["Content-Length"] = str(len(response.content))
    return response


def _refused(status: int, message: str) -> JsonResponse:
    return _answer({"success": False, "error": message}, status=status)


@csrf_exempt
@login_not_required
@require_POST
async def webhook_receive(request: HttpRequest) -> HttpResponse:
    """POST /webhooks/rentengine/: check the key, store the delivery, answer {"success": true}.

    Async so that, under ASGI, the request costs no thread of its own: the checks are pure CPU and
    the one write runs on a writer thread. Served without the dashboard's middleware when
    `fast_path.webhook_fast_path` wraps the ASGI application, hence the explicit host check.
    """
    request.get_host()  # ALLOWED_HOSTS, which CommonMiddleware would otherwise have checked
    remote_addr = request.META.get("REMOTE_ADDR")
    refusal = webhook_key_refusal(request.headers.get(settings.RENTENGINE_WEBHOOK_HEADER))
    if refusal is not None:
        try:
            await written(request, functools.partial(webhook_rejection_count, reason=refusal, remote_addr=_ip(remote_addr)))
        except Exception:  # counting is for operators; it must not change the answer
            logger.warning("Could not count a refused webhook delivery", exc_info=True)
        return _refused(401, "missing or wrong API key")
    limit = settings.RENTENGINE_WEBHOOK_MAX_BYTES
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > limit:
        return _refused(413, f"the body is larger than {limit} bytes")
    try:
        body = request.read(limit + 1)
    except UnreadablePostError:  # the client went away mid-body
        return _refused(400, "the body could not be read to its declared length")
    if len(body) > limit:
        return _refused(413, f"the body is larger than {limit} bytes")
    try:
        delivery = delivery_parse(body, request.headers, remote_addr=remote_addr)
    except DeliveryRefused as exc:
        return _refused(exc.status, exc.message)
    await written(request, functools.partial(delivery_store, delivery))
    return _answer({"success": True})
