"""RentEngine's wire format: how parameters are written, and how answers are read and classified.

Pure functions of values and `httpx` responses, with no I/O: the client (`transport.py`) sends and
retries, these say what a parameter looks like on the wire (API-FACTS 1.3, 1.7), what an answer's
body must look like per endpoint, and which `RentEngineError` a failed exchange amounts to.
"""

from __future__ import annotations

import email.utils
from collections.abc import Iterable
from datetime import UTC, date, datetime
from typing import Any

import httpx

from integrations.rentengine.client.errors import RentEngineError, Timeout, TransportError

BODY_QUOTE_CHARS = 200
UNKNOWN_PARAMETER = "must NOT have additional properties"  # Ajv wording, API-FACTS 1.4


# --- parameters -----------------------------------------------------------------------------------


def wire_time(value: datetime | date | str) -> str:
    """`2024-10-05T18:53:03.406168Z` (API-FACTS 1.7); naive datetimes are taken as UTC."""
    if isinstance(value, str):
        return value
    if not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day, tzinfo=UTC)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def wire_list(values: Iterable[object] | str | int) -> str:
    """Array filters travel as one comma-separated value (API-FACTS 1.3)."""
    if isinstance(values, str | int):
        return str(values)
    return ",".join(str(v) for v in values)


def retry_after_seconds(header: str | None, *, cap: float, now: datetime | None = None) -> float | None:
    """Retry-After as delta-seconds or an HTTP date (RFC 9110 10.2.3), capped; None when absent or unreadable."""
    if header is None or not header.strip():
        return None
    text = header.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    if seconds != seconds:  # NaN
        return None
    return min(max(seconds, 0.0), cap)


def wire_params(filters: dict[str, Any]) -> dict[str, str] | None:
    """Drop unset filters; None when a list filter is empty (it can match nothing: send nothing)."""
    params: dict[str, str] = {}
    for name, value in filters.items():
        if value is None:
            continue
        if isinstance(value, datetime | date):
            params[name] = wire_time(value)
        elif isinstance(value, bool):
            params[name] = "true" if value else "false"
        elif isinstance(value, str | int):
            params[name] = str(value)
        else:
            items = list(value)
            if not items:
                return None
            params[name] = wire_list(items)
    return params


def check_paging(limit: int, page_number: int, max_limit: int) -> None:
    if not 1 <= limit <= max_limit:
        raise ValueError(f"limit must be between 1 and {max_limit}, got {limit}")
    if page_number < 0:
        raise ValueError(f"page_number is 0-indexed and cannot be negative, got {page_number}")


def as_datetime(value: datetime | date) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return datetime(value.year, value.month, value.day, tzinfo=UTC)


# --- answers --------------------------------------------------------------------------------------


def transport_error(exc: httpx.TransportError, endpoint: str) -> RentEngineError:
    """No HTTP answer. Only failures before the request left us are "not sent" (RELIABILITY 2.5)."""
    kind = type(exc).__name__
    if isinstance(exc, httpx.ConnectTimeout | httpx.PoolTimeout):
        return Timeout(
            f"could not reach RentEngine for {endpoint} ({kind}); the request was not sent", not_sent=True, endpoint=endpoint
        )
    if isinstance(exc, httpx.ConnectError):
        return TransportError(
            f"could not connect to RentEngine for {endpoint} ({kind}: {exc}); the request was not sent; check RENTENGINE_BASE_URL",
            not_sent=True,
            endpoint=endpoint,
        )
    if isinstance(exc, httpx.UnsupportedProtocol | httpx.LocalProtocolError):
        return TransportError(
            f"cannot send {endpoint}: {kind}: {exc}; check RENTENGINE_BASE_URL", permanent=True, not_sent=True, endpoint=endpoint
        )
    if isinstance(exc, httpx.TimeoutException):
        return Timeout(
            f"RentEngine did not answer {endpoint} in time ({kind}); the request may have been received", endpoint=endpoint
        )
    return TransportError(
        f"the connection to RentEngine failed during {endpoint} ({kind}: {exc}); the request may have been received",
        endpoint=endpoint,
    )


def decode_body(response: httpx.Response) -> tuple[Any, str | None]:
    try:
        return response.json(), None
    except ValueError:  # JSONDecodeError and UnicodeDecodeError
        if not response.content:
            return None, "an empty body"
        return None, "a body that is not JSON (HTML or truncated?)"


def array_shape(body: Any) -> str | None:
    return None if isinstance(body, list) else f"a JSON {type(body).__name__} where an array was expected"


def envelope_shape(body: Any) -> str | None:
    if isinstance(body, dict) and isinstance(body.get("data"), list):
        return None
    return f"a JSON {type(body).__name__} where an envelope {{data: [...], page: {{...}}}} was expected"


def availability_shape(body: Any) -> str | None:
    return None if isinstance(body, dict) else f"a JSON {type(body).__name__} where an object was expected"


def created_shape(body: Any) -> str | None:
    if isinstance(body, list) or (isinstance(body, dict) and body):
        return None
    return f"a JSON {type(body).__name__} where the created events were expected"


def error_text(response: httpx.Response, quoted: str) -> str:
    """The `error` string plus the first details' messages (API-FACTS 1.5), else the quoted body."""
    try:
        body = response.json()
    except ValueError:
        return quoted or "(empty body)"
    if not isinstance(body, dict):
        return quoted
    parts = [str(body.get("error") or body.get("message") or "").strip()]
    details = body.get("details")
    if isinstance(details, list):
        parts += [str(d.get("message")) for d in details[:3] if isinstance(d, dict) and d.get("message")]
    text = ": ".join(p for p in parts if p)
    return (text[:BODY_QUOTE_CHARS] if text else quoted) or "(empty body)"


def unknown_parameter_in(response: httpx.Response) -> tuple[bool, str | None]:
    """Did strict validation reject a parameter we sent, and which one? (API-FACTS 1.4)"""
    if UNKNOWN_PARAMETER.lower() not in response.text.lower():
        return False, None
    try:
        body = response.json()
    except ValueError:
        return True, None
    details = body.get("details") if isinstance(body, dict) else None
    for item in details if isinstance(details, list) else []:
        if isinstance(item, dict) and UNKNOWN_PARAMETER.lower() in str(item.get("message", "")).lower():
            params = item.get("params")
            if isinstance(params, dict) and params.get("additionalProperty"):
                return True, str(params["additionalProperty"])
    return True, None
