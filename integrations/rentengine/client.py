"""The RentEngine Public API client: one httpx.Client, one method per endpoint the product uses.

Wire facts come from ../shared/rentengine/API-FACTS.md (section numbers below). Every request goes
through the shared rate limiter (`limiter.py`) in the caller's lane. List methods validate their
arguments at once and return a generator of `Page`s, so the sync can upsert page by page, resume at a
page number and stop early.

Failures are `RentEngineError`s that say whether they are permanent and whether the request surely
never reached RentEngine (`not_sent`). GETs retry transient failures (capped exponential backoff with
full jitter; a 429 is waited out through the limiter's shared cooldown). POSTs never retry here:
RentEngine has no idempotency key, so only the caller (the bulk-assign outbox) can decide.

The API token lives only in the Authorization header of the httpx client: it is never logged, never
put in an exception, and scrubbed from any response body we quote.
"""

from __future__ import annotations

import email.utils
import logging
import random
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
from django.conf import settings

from integrations.rentengine import vocabulary
from integrations.rentengine.limiter import Grant, Lane, Limiter, LimiterError, SlotTimeout, get_limiter
from integrations.rentengine.records import (
    AvailabilityRecord,
    FloorplanRecord,
    LeasingEventRecord,
    LockboxEventRecord,
    LockboxInstallationRecord,
    LockboxRecord,
    MultifamilyPropertyRecord,
    Parsed,
    PrescreeningTemplateRecord,
    ProspectRecord,
    Record,
    ShowingRecord,
    Skipped,
    SubteamRecord,
    UnitRecord,
    parse_records,
)

logger = logging.getLogger(__name__)

USER_AGENT = "LeasingDesk/0.1"
BODY_QUOTE_CHARS = 200
UNKNOWN_PARAMETER = "must NOT have additional properties"  # Ajv wording, API-FACTS 1.4

# How long a caller waits for a limiter slot before giving up: a person is waiting in the first lane.
SLOT_TIMEOUTS: dict[Lane, float] = {Lane.INTERACTIVE: 15.0, Lane.BULK: 120.0, Lane.INCREMENTAL: 180.0, Lane.BACKFILL: 600.0}


# --- errors ---------------------------------------------------------------------------------------


class RentEngineError(Exception):
    """A RentEngine call failed.

    permanent: retrying the same request will fail the same way (4xx, configuration).
    not_sent: the request surely never reached RentEngine (connect failure, pool timeout, 429, 503,
      no limiter slot), so even a POST may be sent again. False means it may have been received.
    retry_after: seconds RentEngine asked us to wait (capped), when it said so.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        body: str = "",
        permanent: bool = False,
        not_sent: bool = False,
        retry_after: float | None = None,
        endpoint: str = "",
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.body = body
        self.permanent = permanent
        self.not_sent = not_sent
        self.retry_after = retry_after
        self.endpoint = endpoint

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self.message!r}, status={self.status}, endpoint={self.endpoint!r}, "
            f"permanent={self.permanent}, not_sent={self.not_sent}, retry_after={self.retry_after})"
        )


class MissingToken(RentEngineError):
    """No token configured: nothing was sent."""


class TokenRejected(RentEngineError):
    """401/403: the token is wrong, revoked, or lacks access."""


class InvalidRequest(RentEngineError):
    """400 (or another 4xx): RentEngine refused the request as written.

    unknown_parameter: the strict query validation rejected a parameter ("must NOT have additional
    properties"); `parameter` names it when the details say which. The sync uses this to switch an
    INFERRED parameter off.
    """

    def __init__(self, message: str, *, unknown_parameter: bool = False, parameter: str | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.unknown_parameter = unknown_parameter
        self.parameter = parameter


class NotFound(RentEngineError):
    """404: the path (an INFERRED endpoint) or the record does not exist."""


class RateLimited(RentEngineError):
    """429: RentEngine refused the request before acting on it."""


class ServerError(RentEngineError):
    """5xx: a 503 is a refusal (not sent); other 5xx may have been acted on."""


class TransportError(RentEngineError):
    """No HTTP answer: connection refused, reset, protocol violation."""


class Timeout(TransportError):
    """Connect, pool, write or read timeout."""


class MalformedResponse(RentEngineError):
    """A 2xx whose body is not what the endpoint returns (HTML, truncated JSON, wrong shape).

    On a POST, `status` 2xx means RentEngine accepted the request: treat the outcome as unknown.
    """


class SlotUnavailable(RentEngineError):
    """The shared rate limiter gave no slot in time (or is unreachable): nothing was sent."""


# --- results --------------------------------------------------------------------------------------


@dataclass
class Page[R: Record]:
    """One page of a list endpoint."""

    parsed: Parsed[R]
    page_number: int
    next_page_number: int | None  # None on the last page; resume a long pass from here
    requests: int  # HTTP attempts this page cost (1 unless retried)

    @property
    def records(self) -> list[R]:
        return self.parsed.records

    @property
    def skipped(self) -> list[Skipped]:
        return self.parsed.skipped

    @property
    def received(self) -> int:
        return self.parsed.received

    @property
    def is_last(self) -> bool:
        return self.next_page_number is None


@dataclass
class EndpointStats:
    requests: int = 0
    retries: int = 0
    http_429: int = 0
    errors: int = 0


@dataclass
class ClientStats:
    """Counters for benchmarks and the /sync/ page. `requests` counts every attempt (= limiter slots)."""

    requests: int = 0
    retries: int = 0
    http_429: int = 0
    errors: int = 0  # calls that ended in an exception
    slot_wait_seconds: float = 0.0
    by_endpoint: dict[str, EndpointStats] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


# --- wire helpers ---------------------------------------------------------------------------------


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


# --- the client -----------------------------------------------------------------------------------


class RentEngineClient:
    """One per process (or per task); thread-safe. Close it, or use it as a context manager."""

    def __init__(
        self,
        *,
        base_url: str | None = None,
        token: str | None = None,
        lane: Lane | str = Lane.INCREMENTAL,
        limiter: Limiter | None = None,
        max_attempts: int = 5,
        backoff_base: float = 0.5,
        backoff_cap: float = 30.0,
        retry_after_cap: float = 60.0,
        slot_timeout: float | None = None,
        timeout: httpx.Timeout | None = None,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        token = settings.RENTENGINE_API_TOKEN if token is None else token
        if not token or not token.strip():
            raise MissingToken("no RentEngine API token: set RENTENGINE_API_TOKEN", permanent=True, not_sent=True)
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self.base_url = (base_url or settings.RENTENGINE_BASE_URL).rstrip("/")
        self.lane = Lane(lane)
        self.limiter = limiter or get_limiter()
        self.max_attempts = max_attempts
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.retry_after_cap = retry_after_cap
        self.slot_timeout = slot_timeout
        self.stats = ClientStats()
        self._token = token.strip()  # only for scrubbing quoted bodies
        self._sleep = sleep
        self._lock = threading.Lock()
        read = settings.RENTENGINE_TIMEOUT_SECONDS
        connect = settings.RENTENGINE_CONNECT_TIMEOUT_SECONDS
        self._http = httpx.Client(
            base_url=self.base_url + "/",
            # RELIABILITY 2.5: explicit timeouts; pool waits count as "not sent".
            timeout=timeout or httpx.Timeout(connect=connect, read=read, write=min(read, 5.0), pool=connect),
            headers={
                "Authorization": f"Bearer {self._token}",  # API-FACTS 1.2
                "Accept": "application/json",
                "User-Agent": USER_AGENT,
            },
            transport=transport,
            follow_redirects=False,
        )

    def __repr__(self) -> str:
        return f"<RentEngineClient {self.base_url} lane={self.lane}>"

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> RentEngineClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # --- endpoints: units and prospects -------------------------------------------------------------

    def units(
        self,
        *,
        account_id: str | None = None,
        statuses: Iterable[str] | str | None = None,
        unit_ids: Iterable[int | str] | int | str | None = None,
        updated_after: datetime | str | None = None,
        limit: int = vocabulary.PAGE_LIMIT_MAX,
        page_number: int = 0,
        lane: Lane | str | None = None,
    ) -> Iterator[Page[UnitRecord]]:
        # GET /units, bare array: https://rentengine.redocly.app/openapi/units/getunits.md (API-FACTS 2.4).
        # camelCase accountId/unitIds; snake_case account_id is a hard 400. updated_after is from the
        # newer docs (CODE): a 400 "unknown parameter" tells the sync to drop it.
        params = {"accountId": account_id, "statuses": statuses, "unitIds": unit_ids, "updated_after": updated_after}
        return self._bare_pages("/units", params, UnitRecord, limit, page_number, lane)

    def prospects(
        self,
        *,
        created_after: datetime | str | None = None,
        created_before: datetime | str | None = None,
        updated_after: datetime | str | None = None,
        account_id: str | None = None,
        limit: int = vocabulary.PAGE_LIMIT_MAX,
        page_number: int = 0,
        lane: Lane | str | None = None,
    ) -> Iterator[Page[ProspectRecord]]:
        # GET /prospects, bare array; no doc page (API-FACTS 2.5, LIVE via C1). created_after is
        # inclusive; updated_after and account_id are INFERRED (a 400 switches them off).
        params = {
            "created_after": created_after,
            "created_before": created_before,
            "updated_after": updated_after,
            "account_id": account_id,
        }
        return self._bare_pages("/prospects", params, ProspectRecord, limit, page_number, lane)

    def leasing_events(
        self,
        *,
        prospect_id: int | None = None,
        created_after: datetime | str | None = None,
        account_id: str | None = None,
        limit: int = vocabulary.PAGE_LIMIT_MAX,
        page_number: int = 0,
        lane: Lane | str | None = None,
    ) -> Iterator[Page[LeasingEventRecord]]:
        # GET /leasing_events, envelope {data, page} (API-FACTS 2.8, CODE via C6: prospect_id).
        # The account-wide cursor (created_after, account_id) is INFERRED.
        params = {"prospect_id": prospect_id, "created_after": created_after, "account_id": account_id}
        return self._envelope_pages("/leasing_events", params, LeasingEventRecord, limit, page_number, lane)

    # --- endpoints: lockboxes -----------------------------------------------------------------------

    def lockboxes(
        self,
        *,
        account_id: str | None = None,
        lockbox_ids: Iterable[str] | str | None = None,
        serial_numbers: Iterable[str] | str | None = None,
        limit: int = vocabulary.PAGE_LIMIT_MAX,
        page_number: int = 0,
        lane: Lane | str | None = None,
    ) -> Iterator[Page[LockboxRecord]]:
        # GET /lockboxes: https://rentengine.redocly.app/openapi/lockboxes/getlockboxes.md (API-FACTS 2.1).
        params = {"account_id": account_id, "lockbox_ids": lockbox_ids, "serial_numbers": serial_numbers}
        return self._bare_pages("/lockboxes", params, LockboxRecord, limit, page_number, lane)

    def lockbox_events(
        self,
        *,
        created_at_from: datetime | str | None = None,
        created_at_to: datetime | str | None = None,
        account_id: str | None = None,
        lockbox_ids: Iterable[str] | str | None = None,
        unit_ids: Iterable[int | str] | int | str | None = None,
        limit: int = vocabulary.PAGE_LIMIT_MAX,
        page_number: int = 0,
        lane: Lane | str | None = None,
    ) -> Iterator[Page[LockboxEventRecord]]:
        # GET /lockbox_events: https://rentengine.redocly.app/openapi/lockbox-events/getlockboxevents.md (API-FACTS 2.2).
        params = {
            "created_at_from": created_at_from,
            "created_at_to": created_at_to,
            "account_id": account_id,
            "lockbox_ids": lockbox_ids,
            "unit_ids": unit_ids,
        }
        return self._bare_pages("/lockbox_events", params, LockboxEventRecord, limit, page_number, lane)

    def lockbox_installations(
        self,
        *,
        account_id: str | None = None,
        lockbox_ids: Iterable[str] | str | None = None,
        unit_ids: Iterable[int | str] | int | str | None = None,
        limit: int = vocabulary.PAGE_LIMIT_MAX,
        page_number: int = 0,
        lane: Lane | str | None = None,
    ) -> Iterator[Page[LockboxInstallationRecord]]:
        # GET /lockbox_installations: path and filters INFERRED (API-FACTS 2.3, 5); a 404 switches it off.
        params = {"account_id": account_id, "lockbox_ids": lockbox_ids, "unit_ids": unit_ids}
        return self._bare_pages("/lockbox_installations", params, LockboxInstallationRecord, limit, page_number, lane)

    # --- endpoints: reference data ------------------------------------------------------------------

    def subteams(
        self,
        *,
        account_id: str | None = None,
        limit: int = vocabulary.PAGE_LIMIT_MAX,
        page_number: int = 0,
        lane: Lane | str | None = None,
    ) -> Iterator[Page[SubteamRecord]]:
        # GET /subteams: path and filters INFERRED (API-FACTS 2.9, 5).
        return self._bare_pages("/subteams", {"accountId": account_id}, SubteamRecord, limit, page_number, lane)

    def prescreening_templates(
        self,
        *,
        account_id: str | None = None,
        limit: int = vocabulary.PAGE_LIMIT_MAX,
        page_number: int = 0,
        lane: Lane | str | None = None,
    ) -> Iterator[Page[PrescreeningTemplateRecord]]:
        # GET /prescreening_templates:
        # https://rentengine.redocly.app/openapi/prescreening-templates/getprescreeningtemplates.md (API-FACTS 2.10).
        params = {"accountId": account_id}
        return self._bare_pages("/prescreening_templates", params, PrescreeningTemplateRecord, limit, page_number, lane)

    def multifamily_properties(
        self,
        *,
        account_id: str | None = None,
        limit: int = vocabulary.PAGE_LIMIT_MAX,
        page_number: int = 0,
        lane: Lane | str | None = None,
    ) -> Iterator[Page[MultifamilyPropertyRecord]]:
        # GET /multifamily_properties: CODE only (C11), filter INFERRED (API-FACTS 2.6).
        params = {"account_id": account_id}
        return self._bare_pages("/multifamily_properties", params, MultifamilyPropertyRecord, limit, page_number, lane)

    def floorplans(
        self,
        *,
        multifamily_property_id: str | None = None,
        limit: int = vocabulary.PAGE_LIMIT_MAX,
        page_number: int = 0,
        lane: Lane | str | None = None,
    ) -> Iterator[Page[FloorplanRecord]]:
        # GET /floorplans: INFERRED (API-FACTS 2.7).
        params = {"multifamily_property_id": multifamily_property_id}
        return self._bare_pages("/floorplans", params, FloorplanRecord, limit, page_number, lane)

    # --- endpoints: showings ------------------------------------------------------------------------

    def showing_availability(self, unit_id: int, *, lane: Lane | str | None = None) -> AvailabilityRecord:
        """The unit's showing windows, wrapped in `availability` on the wire."""
        # GET /showings/availability: https://rentengine.redocly.app/openapi/showings/getshowingavailability.md (API-FACTS 2.11).
        body = self._call("GET", "/showings/availability", params={"unitId": unit_id}, lane=lane, shape=_availability_shape)
        inner = body.get("availability") if isinstance(body.get("availability"), dict) else body
        parsed = parse_records(AvailabilityRecord, [inner])
        return parsed.records[0] if parsed.records else AvailabilityRecord()

    def reporting_showings(
        self,
        account_ids: Iterable[str] | str,
        start: datetime | date,
        end: datetime | date,
        *,
        limit: int = vocabulary.REPORTING_LIMIT_MAX,
        page_number: int = 0,
        lane: Lane | str | None = None,
    ) -> Iterator[Page[ShowingRecord]]:
        """Showings in [start, end]; RentEngine refuses spans over 32 days, and so do we, before sending."""
        span = _as_datetime(end) - _as_datetime(start)
        if span < timedelta(0):
            raise ValueError(f"reporting_showings: end {end} is before start {start}")
        if span > timedelta(days=vocabulary.REPORTING_MAX_SPAN_DAYS):
            raise ValueError(
                f"reporting_showings: {span} is longer than RentEngine's {vocabulary.REPORTING_MAX_SPAN_DAYS}-day maximum; "
                "split the range into windows"
            )
        ids = [account_ids] if isinstance(account_ids, str) else [str(a) for a in account_ids]
        if not ids:
            raise ValueError("reporting_showings needs at least one account id")
        # GET /reporting/showings, envelope; account_ids required, date-time format checked, limit <= 2000
        # (API-FACTS 2.12, LIVE via C1).
        params = {"account_ids": ids, "start": start, "end": end}
        return self._envelope_pages(
            "/reporting/showings", params, ShowingRecord, limit, page_number, lane, max_limit=vocabulary.REPORTING_LIMIT_MAX
        )

    # --- endpoints: writes --------------------------------------------------------------------------

    def leasing_event_assign(
        self,
        prospect_id: int,
        user_ids: Iterable[str],
        *,
        apply_in_bulk: bool,
        source: str,
        notes: str | None = None,
        lane: Lane | str | None = None,
    ) -> list[LeasingEventRecord]:
        """Assign a prospect to users with one "Assign to User" event. Never retried here.

        On failure check `error.not_sent`: only then is sending it again safe.
        """
        users = [str(u) for u in user_ids]
        if not users:
            raise ValueError("leasing_event_assign needs at least one user id")
        event: dict[str, Any] = {
            "prospect_id": int(prospect_id),
            "event_type": vocabulary.ASSIGN_TO_USER,
            "source": str(source),
            "context": {"assignedToUserIds": users, "applyActionInBulk": bool(apply_in_bulk)},
        }
        if notes is not None:
            event["notes"] = notes
        # POST /leasing_events, exactly one event, 201 with an array:
        # https://rentengine.redocly.app/openapi/leasing-events/postleasingevents.md (API-FACTS 2.8).
        body = self._call("POST", "/leasing_events", json_body={"events": [event]}, lane=lane, shape=_created_shape)
        items = body if isinstance(body, list) else body.get("data") or body.get("events") or [body]
        return parse_records(LeasingEventRecord, items).records

    def connection_check(self, *, account_id: str | None = None, lane: Lane | str = Lane.INTERACTIVE) -> None:
        """One cheap request that proves the base URL and the token work (the "test connection" button)."""
        # GET /units?limit=1 (API-FACTS 2.4): every token can list units.
        params = {"accountId": account_id, "limit": 1, "page_number": 0}
        self._call("GET", "/units", params=params, lane=lane, shape=_array_shape)

    # --- pagination ---------------------------------------------------------------------------------

    def _bare_pages[R: Record](
        self, path: str, filters: dict[str, Any], model: type[R], limit: int, page_number: int, lane: Lane | str | None
    ) -> Iterator[Page[R]]:
        """Bare JSON arrays: 0-indexed page_number; a page with fewer raw items than `limit` is the last
        (API-FACTS 1.3), so an exact multiple costs one more request that returns []."""
        _check_paging(limit, page_number, vocabulary.PAGE_LIMIT_MAX)
        params = _wire_params(filters)
        if params is None:
            return iter(())

        def pages() -> Iterator[Page[R]]:
            number, previous_ids = page_number, None
            while True:
                body, attempts = self._call_counted(
                    "GET", path, params={**params, "limit": limit, "page_number": number}, lane=lane, shape=_array_shape
                )
                ids = [item.get("id") if isinstance(item, dict) else None for item in body]
                if len(body) >= limit and ids == previous_ids and any(i is not None for i in ids):
                    # Without this guard a server that ignores page_number would page forever.
                    raise MalformedResponse(
                        f"GET {path} page {number} repeats page {number - 1}: RentEngine seems to ignore page_number",
                        status=200,
                        permanent=True,
                        endpoint=f"GET {path}",
                    )
                previous_ids = ids
                parsed = parse_records(model, body)
                last = parsed.received < limit
                yield Page(parsed, number, None if last else number + 1, attempts)
                if last:
                    return
                number += 1

        return pages()

    def _envelope_pages[R: Record](
        self,
        path: str,
        filters: dict[str, Any],
        model: type[R],
        limit: int,
        page_number: int,
        lane: Lane | str | None,
        *,
        max_limit: int = vocabulary.PAGE_LIMIT_MAX,
    ) -> Iterator[Page[R]]:
        """Envelopes {data, page: {has_more, next_page_number}} (API-FACTS 1.3): follow has_more."""
        _check_paging(limit, page_number, max_limit)
        params = _wire_params(filters)
        if params is None:
            return iter(())

        def pages() -> Iterator[Page[R]]:
            number = page_number
            while True:
                body, attempts = self._call_counted(
                    "GET", path, params={**params, "limit": limit, "page_number": number}, lane=lane, shape=_envelope_shape
                )
                parsed = parse_records(model, body["data"])
                info = body.get("page")
                if isinstance(info, dict) and isinstance(info.get("has_more"), bool):
                    following = info.get("next_page_number")
                    if not info["has_more"]:
                        next_number = None
                    elif isinstance(following, int) and not isinstance(following, bool) and following > number:
                        next_number = following
                    else:
                        next_number = number + 1
                else:
                    # No usable page info: fall back on the bare-array rule rather than lose rows.
                    logger.warning("GET %s page %s: envelope without page.has_more; using the short-page rule", path, number)
                    next_number = None if parsed.received < limit else number + 1
                yield Page(parsed, number, next_number, attempts)
                if next_number is None:
                    return
                number = next_number

        return pages()

    # --- one call, with retries for GETs ------------------------------------------------------------

    def _call(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json_body: Any = None,
        lane: Lane | str | None,
        shape: Callable[[Any], str | None],
    ) -> Any:
        return self._call_counted(method, path, params=params, json_body=json_body, lane=lane, shape=shape)[0]

    def _call_counted(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json_body: Any = None,
        lane: Lane | str | None,
        shape: Callable[[Any], str | None],
    ) -> tuple[Any, int]:
        """The decoded body and how many attempts it took. Raises RentEngineError."""
        endpoint = f"{method} {path}"
        chosen = Lane(lane) if lane is not None else self.lane
        attempts = self.max_attempts if method == "GET" else 1  # POSTs are never retried here
        for attempt in range(1, attempts + 1):
            grant = self._slot(chosen, endpoint)
            self._count(endpoint, requests=1)
            outcome = self._attempt(method, path, params, json_body, shape, grant)
            if not isinstance(outcome, RentEngineError):
                return outcome, attempt
            error = self._scrubbed(outcome)
            if error.permanent or attempt == attempts:
                self._count(endpoint, errors=1)
                raise error
            delay = self._retry_delay(error, attempt)
            self._count(endpoint, retries=1)
            logger.warning("%s failed (attempt %s of %s), retrying in %.1f s: %s", endpoint, attempt, attempts, delay, error)
            if delay > 0:
                self._sleep(delay)
        raise AssertionError("unreachable")

    def _slot(self, lane: Lane, endpoint: str) -> Grant:
        timeout = self.slot_timeout if self.slot_timeout is not None else SLOT_TIMEOUTS[lane]
        try:
            grant = self.limiter.acquire(lane, timeout=timeout)
        except SlotTimeout as exc:
            self._count(endpoint, errors=1)
            raise SlotUnavailable(str(exc), not_sent=True, retry_after=exc.cooldown_remaining or None, endpoint=endpoint) from exc
        except LimiterError as exc:
            self._count(endpoint, errors=1)
            raise SlotUnavailable(str(exc), not_sent=True, endpoint=endpoint) from exc
        with self._lock:
            self.stats.slot_wait_seconds += grant.waited
        return grant

    def _attempt(
        self,
        method: str,
        path: str,
        params: dict[str, Any] | None,
        json_body: Any,
        shape: Callable[[Any], str | None],
        grant: Grant,
    ) -> Any:
        """One HTTP exchange: the decoded body, or the RentEngineError it amounts to (returned, not raised)."""
        endpoint = f"{method} {path}"
        try:
            response = self._http.request(method, path.lstrip("/"), params=params, json=json_body)
        except httpx.TransportError as exc:
            return _transport_error(exc, endpoint)
        finally:
            # The slot counted from the grant; from now on it counts from the end of the exchange,
            # the latest moment RentEngine can have counted it (limiter.py docstring).
            self._release(grant)
        if response.status_code == 429:
            retry_after = retry_after_seconds(response.headers.get("Retry-After"), cap=self.retry_after_cap)
            self._count(endpoint, http_429=1)
            # Every process pauses, not just this one (RELIABILITY 2.6).
            try:
                self.limiter.report_429(retry_after=retry_after, granted_at=grant.granted_at)
            except LimiterError as exc:
                logger.warning("Could not record a 429 in the rate limiter: %s", exc)
        if not 200 <= response.status_code < 300:
            return self._status_error(response, endpoint)
        body, problem = _decode(response)
        if problem is None:
            problem = shape(body)
        if problem is not None:
            quoted = self._quote(response.text)
            content_type = response.headers.get("Content-Type", "no content type")
            return MalformedResponse(
                f"{endpoint} answered HTTP {response.status_code} with {problem} ({content_type}: {quoted!r})",
                status=response.status_code,
                body=quoted,
                endpoint=endpoint,
            )
        logger.debug("%s %s -> %s", endpoint, params or "", response.status_code)
        return body

    def _release(self, grant: Grant) -> None:
        try:
            self.limiter.release(grant)
        except LimiterError as exc:
            logger.warning("Could not release a rate-limiter slot: %s", exc)

    def _status_error(self, response: httpx.Response, endpoint: str) -> RentEngineError:
        status = response.status_code
        body = self._quote(response.text)
        retry_after = retry_after_seconds(response.headers.get("Retry-After"), cap=self.retry_after_cap)
        common: dict[str, Any] = {"status": status, "body": body, "endpoint": endpoint, "retry_after": retry_after}
        detail = _error_text(response, body)
        if status in (401, 403):
            return TokenRejected(
                f"the API token was rejected (HTTP {status} on {endpoint}): check RENTENGINE_API_TOKEN. RentEngine said: {detail}",
                permanent=True,
                **common,
            )
        if status == 404:
            return NotFound(f"{endpoint} does not exist on this RentEngine (HTTP 404): {detail}", permanent=True, **common)
        if status == 429:
            wait = f"it asked us to wait {retry_after:g} s" if retry_after is not None else "no Retry-After given"
            return RateLimited(f"RentEngine rate limit hit on {endpoint} (HTTP 429); {wait}", not_sent=True, **common)
        if status >= 500:
            refused = status == 503  # RELIABILITY 2.5: an explicit refusal, nothing was done
            return ServerError(
                f"RentEngine had a server error on {endpoint} (HTTP {status}): {detail}"
                + ("" if refused else "; the request may have been acted on"),
                not_sent=refused,
                **common,
            )
        if 300 <= status < 400:
            where = response.headers.get("Location", "elsewhere")
            return RentEngineError(
                f"{endpoint} was redirected (HTTP {status}) to {self._quote(where)}: check RENTENGINE_BASE_URL",
                permanent=True,
                **common,
            )
        if status == 408:
            return Timeout(f"RentEngine timed out reading {endpoint} (HTTP 408)", **common)
        unknown, parameter = _unknown_parameter(response)
        hint = f"; unknown parameter {parameter!r}" if parameter else ("; an unknown parameter" if unknown else "")
        return InvalidRequest(
            f"RentEngine refused {endpoint} (HTTP {status}): {detail}{hint}",
            permanent=True,
            unknown_parameter=unknown,
            parameter=parameter,
            **common,
        )

    def _retry_delay(self, error: RentEngineError, attempt: int) -> float:
        if isinstance(error, RateLimited):
            return 0.0  # the limiter's shared cooldown makes the next acquire wait
        # Full jitter (RELIABILITY 2.3): uniform in [0, min(cap, base * 2^(attempt-1))].
        delay = random.uniform(0, min(self.backoff_cap, self.backoff_base * 2 ** (attempt - 1)))
        if error.retry_after is not None:
            delay = max(delay, error.retry_after)
        return delay

    def _scrubbed(self, error: RentEngineError) -> RentEngineError:
        """Whatever RentEngine or the network echoed, the token leaves this module redacted."""
        if self._token in error.message or self._token in error.body:
            error.message = error.message.replace(self._token, "[redacted]")
            error.body = error.body.replace(self._token, "[redacted]")
            error.args = (error.message,)
        return error

    def _quote(self, text: str) -> str:
        text = text.replace(self._token, "[redacted]")
        text = " ".join(text.split())
        return text if len(text) <= BODY_QUOTE_CHARS else text[: BODY_QUOTE_CHARS - 1] + "…"

    def _count(self, endpoint: str, **increments: int) -> None:
        with self._lock:
            per = self.stats.by_endpoint.setdefault(endpoint, EndpointStats())
            for name, value in increments.items():
                setattr(self.stats, name, getattr(self.stats, name) + value)
                setattr(per, name, getattr(per, name) + value)


# --- classification and shapes --------------------------------------------------------------------


def _transport_error(exc: httpx.TransportError, endpoint: str) -> RentEngineError:
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


def _decode(response: httpx.Response) -> tuple[Any, str | None]:
    try:
        return response.json(), None
    except ValueError:  # JSONDecodeError and UnicodeDecodeError
        if not response.content:
            return None, "an empty body"
        return None, "a body that is not JSON (HTML or truncated?)"


def _array_shape(body: Any) -> str | None:
    return None if isinstance(body, list) else f"a JSON {type(body).__name__} where an array was expected"


def _envelope_shape(body: Any) -> str | None:
    if isinstance(body, dict) and isinstance(body.get("data"), list):
        return None
    return f"a JSON {type(body).__name__} where an envelope {{data: [...], page: {{...}}}} was expected"


def _availability_shape(body: Any) -> str | None:
    return None if isinstance(body, dict) else f"a JSON {type(body).__name__} where an object was expected"


def _created_shape(body: Any) -> str | None:
    if isinstance(body, list) or (isinstance(body, dict) and body):
        return None
    return f"a JSON {type(body).__name__} where the created events were expected"


def _error_text(response: httpx.Response, quoted: str) -> str:
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


def _unknown_parameter(response: httpx.Response) -> tuple[bool, str | None]:
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


def _wire_params(filters: dict[str, Any]) -> dict[str, str] | None:
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


def _check_paging(limit: int, page_number: int, max_limit: int) -> None:
    if not 1 <= limit <= max_limit:
        raise ValueError(f"limit must be between 1 and {max_limit}, got {limit}")
    if page_number < 0:
        raise ValueError(f"page_number is 0-indexed and cannot be negative, got {page_number}")


def _as_datetime(value: datetime | date) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return datetime(value.year, value.month, value.day, tzinfo=UTC)


__all__ = [
    "ClientStats",
    "EndpointStats",
    "InvalidRequest",
    "Lane",
    "MalformedResponse",
    "MissingToken",
    "NotFound",
    "Page",
    "RateLimited",
    "RentEngineClient",
    "RentEngineError",
    "ServerError",
    "SlotUnavailable",
    "Timeout",
    "TokenRejected",
    "TransportError",
    "retry_after_seconds",
    "wire_list",
    "wire_time",
]
