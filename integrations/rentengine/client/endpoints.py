"""The RentEngine Public API client: one method per endpoint the product uses (API-FACTS sections in comments).

List methods check their arguments at once and return a generator of `Page`s, so the sync can apply
page by page and resume at a page number. GETs retry transient failures; POSTs never retry here
(RentEngine has no idempotency key: only the outbox may decide to post again). The token lives only
in the client's Authorization header: never logged, never in an exception or a quoted body.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import date, datetime, timedelta
from typing import Any

from pydantic import ValidationError

from integrations.rentengine import vocabulary
from integrations.rentengine.client.errors import (
    InvalidRequest,
    MalformedResponse,
    MissingToken,
    NotFound,
    RateLimited,
    RentEngineError,
    ServerError,
    SlotUnavailable,
    Timeout,
    TokenRejected,
    TransportError,
)
from integrations.rentengine.client.records import (
    AvailabilityRecord,
    FloorplanRecord,
    LeasingEventRecord,
    LockboxCodeRecord,
    LockboxEventRecord,
    LockboxInstallationRecord,
    LockboxRecord,
    MultifamilyPropertyRecord,
    PrescreeningTemplateRecord,
    ProspectRecord,
    ShowingRecord,
    SubteamRecord,
    UnitRecord,
    parse_records,
)
from integrations.rentengine.client.transport import (
    SLOT_TIMEOUTS,
    USER_AGENT,
    ClientCore,
    ClientStats,
    EndpointStats,
    Page,
)
from integrations.rentengine.client.wire import (
    BODY_QUOTE_CHARS,
    UNKNOWN_PARAMETER,
    array_shape,
    as_datetime,
    availability_shape,
    created_shape,
    retry_after_seconds,
    wire_list,
    wire_time,
)
from integrations.rentengine.limiter import Lane


class RentEngineClient(ClientCore):
    """One per process (or per task); thread-safe. Close it, or use it as a context manager."""

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
        body = self._call("GET", "/showings/availability", params={"unitId": unit_id}, lane=lane, shape=availability_shape)
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
        span = as_datetime(end) - as_datetime(start)
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
        body = self._call("POST", "/leasing_events", json_body={"events": [event]}, lane=lane, shape=created_shape)
        items = body if isinstance(body, list) else body.get("data") or body.get("events") or [body]
        return parse_records(LeasingEventRecord, items).records

    def lockbox_code_generate(
        self,
        lockbox_id: str,
        *,
        valid_date: date,
        created_for: str | None = None,
        code_type: str = "ACCESS",
        lane: Lane | str | None = None,
    ) -> LockboxCodeRecord:
        """A one-time code for a lockbox. Never retried here (on failure only `error.not_sent` makes
        asking again safe: each post makes another code and another "Generate Code" event)."""
        body: dict[str, Any] = {"lockbox_id": str(lockbox_id), "date": valid_date.isoformat(), "code_type": code_type}
        if created_for:
            body["created_for"] = created_for
        # POST /lockboxes/generate_code, 200 {code, lockboxType, instructions}:
        # https://rentengine.redocly.app/openapi/lockboxes/postgeneratelockboxcode.md (API-FACTS 2.1).
        answer = self._call("POST", "/lockboxes/generate_code", json_body=body, lane=lane, shape=availability_shape)
        try:
            record = LockboxCodeRecord.model_validate(answer)
        except ValidationError:  # not logged: the answer holds a secret
            record = LockboxCodeRecord()
        if not record.code:
            raise MalformedResponse("generate_code answered without a code", status=200)
        return record

    def lockbox_event_post(
        self, lockbox_id: str, event_type: str, unit_id: int, *, lane: Lane | str | None = None
    ) -> list[LockboxEventRecord]:
        """Record one Install or Uninstall. Never retried here."""
        if event_type not in (vocabulary.LockboxEventType.INSTALL, vocabulary.LockboxEventType.UNINSTALL):
            raise ValueError("only Install and Uninstall can be posted")
        event = {"lockbox_id": str(lockbox_id), "event_type": str(event_type), "unit_id": int(unit_id)}
        # POST /lockbox_events, 201 with the events (unit_id a string):
        # https://rentengine.redocly.app/openapi/lockbox-events/postlockboxevents.md (API-FACTS 2.2).
        body = self._call("POST", "/lockbox_events", json_body={"events": [event]}, lane=lane, shape=created_shape)
        items = body if isinstance(body, list) else body.get("data") or body.get("events") or [body]
        return parse_records(LockboxEventRecord, items).records

    def connection_check(self, *, account_id: str | None = None, lane: Lane | str = Lane.INTERACTIVE) -> None:
        """One cheap request that proves the base URL and the token work (the "test connection" button)."""
        # GET /units?limit=1 (API-FACTS 2.4): every token can list units.
        params = {"accountId": account_id, "limit": 1, "page_number": 0}
        self._call("GET", "/units", params=params, lane=lane, shape=array_shape)


__all__ = [
    "BODY_QUOTE_CHARS",
    "SLOT_TIMEOUTS",
    "UNKNOWN_PARAMETER",
    "USER_AGENT",
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
