"""The RentEngine client against a mocked transport (respx): retries, classification, pagination.

The limiter here is a stand-in that never blocks and remembers what it was told; the real limiter
has its own tests (test_limiter.py). Backoff sleeps are recorded instead of slept.
"""

from __future__ import annotations

import email.utils
import json
import logging
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import respx

from integrations.rentengine.client import (
    AvailabilityRecord,
    InvalidRequest,
    LeasingEventRecord,
    MalformedResponse,
    MissingToken,
    NotFound,
    RateLimited,
    RentEngineClient,
    RentEngineError,
    ServerError,
    SlotUnavailable,
    Timeout,
    TokenRejected,
    TransportError,
)
from integrations.rentengine.client.wire import retry_after_seconds, wire_time
from integrations.rentengine.limiter import Grant, Lane, LimiterConfig, limiter_create

BASE = "https://rentengine.test/api/public/v1"
TOKEN = "tok-SECRET-6f1d0c9e4b"
ACCOUNT = "6ecca3ec-0000-4000-8000-00000000a001"
USER = "1259ef6e-61ee-42cb-b6bd-7fe547569d7c"


class RecordingLimiter:
    """Hands out slots at once and remembers lanes and 429 reports."""

    def __init__(self) -> None:
        self.lanes: list[Lane] = []
        self.released: list[Grant] = []
        self.reports: list[tuple[float | None, float | None]] = []

    def acquire(self, lane: Lane | str = Lane.INCREMENTAL, timeout: float | None = None) -> Grant:
        self.lanes.append(Lane(lane))
        return Grant(lane=Lane(lane), granted_at=float(len(self.lanes)), waited=0.0)

    def release(self, grant: Grant) -> None:
        self.released.append(grant)

    def report_429(self, *, retry_after: float | None = None, granted_at: float | None = None) -> float:
        self.reports.append((retry_after, granted_at))
        return retry_after or 0.0


@pytest.fixture
def api() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=BASE, assert_all_called=False) as router:
        yield router


@pytest.fixture
def limiter() -> RecordingLimiter:
    return RecordingLimiter()


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def client(limiter: RecordingLimiter, sleeps: list[float]) -> Iterator[RentEngineClient]:
    with RentEngineClient(base_url=BASE, token=TOKEN, limiter=limiter, sleep=sleeps.append, max_attempts=4) as rentengine:  # type: ignore[arg-type]
        yield rentengine


def unit(unit_id: int) -> dict[str, Any]:
    return {"id": unit_id, "status": "Available", "created_at": "2024-10-05T18:53:03.406168Z"}


def event(event_id: int, prospect_key: str = "prospect_id") -> dict[str, Any]:
    return {prospect_key: 12345, "id": event_id, "event_type": "Assign to User", "created_at": "2024-10-05T18:53:03.406168Z"}


def paged(pages: list[Any]) -> Callable[[httpx.Request], httpx.Response]:
    """Answer each page_number with the body at that index (an httpx.Response is returned as is)."""

    def respond(request: httpx.Request) -> httpx.Response:
        body = pages[int(request.url.params["page_number"])]
        return body if isinstance(body, httpx.Response) else httpx.Response(200, json=body)

    return respond


def page_numbers(route: respx.Route) -> list[int]:
    return [int(call.request.url.params["page_number"]) for call in route.calls]


def envelope(rows: list[Any], page_number: int, has_more: bool, limit: int = 2) -> dict[str, Any]:
    following = page_number + 1 if has_more else None
    return {
        "data": rows,
        "page": {"limit": limit, "page_number": page_number, "has_more": has_more, "next_page_number": following},
    }


# --- the connection -------------------------------------------------------------------------------


def test_a_missing_token_fails_clearly_before_any_request(api: respx.MockRouter, settings: Any) -> None:
    settings.RENTENGINE_API_TOKEN = ""
    route = api.get("/units")
    with pytest.raises(MissingToken, match="no RentEngine API token: set RENTENGINE_API_TOKEN") as caught:
        RentEngineClient(base_url=BASE, limiter=RecordingLimiter())  # type: ignore[arg-type]
    assert caught.value.not_sent
    assert caught.value.permanent
    assert not route.called


def test_it_sends_the_bearer_token_json_accept_and_its_user_agent(api: respx.MockRouter, client: RentEngineClient) -> None:
    route = api.get("/units").respond(json=[])
    list(client.units())
    headers = route.calls.last.request.headers
    assert headers["Authorization"] == f"Bearer {TOKEN}"
    assert headers["Accept"] == "application/json"
    assert headers["User-Agent"] == "LeasingDesk/0.1"


def test_it_takes_the_base_url_and_token_from_settings_with_explicit_timeouts(api: respx.MockRouter, settings: Any) -> None:
    settings.RENTENGINE_BASE_URL = BASE
    settings.RENTENGINE_API_TOKEN = TOKEN
    settings.RENTENGINE_CONNECT_TIMEOUT_SECONDS = 2.0
    settings.RENTENGINE_TIMEOUT_SECONDS = 9.0
    route = api.get("/units").respond(json=[])
    with RentEngineClient(limiter=RecordingLimiter()) as rentengine:  # type: ignore[arg-type]
        list(rentengine.units())
        timeout = rentengine._http.timeout
    assert route.called
    assert (timeout.connect, timeout.read, timeout.write, timeout.pool) == (2.0, 9.0, 5.0, 2.0)


def test_the_token_never_appears_in_logs_errors_or_reprs(
    api: respx.MockRouter, client: RentEngineClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    api.get("/units").mock(side_effect=[httpx.Response(500, text=f"boom Bearer {TOKEN}"), httpx.ReadTimeout("slow")] * 2)
    api.get("/prospects").respond(401, json={"error": f"invalid token {TOKEN}"})
    api.post("/leasing_events").mock(side_effect=httpx.ConnectError("refused"))
    errors: list[RentEngineError] = []
    for call in (
        lambda: list(client.units()),
        lambda: list(client.prospects()),
        lambda: client.leasing_event_assign(1, [USER], apply_in_bulk=False, source="Other"),
    ):
        with pytest.raises(RentEngineError) as caught:
            call()
        errors.append(caught.value)
    assert len(errors) == 3
    for error in errors:
        assert TOKEN not in f"{error} {error!r} {error.body} {error.message}"
    assert "[redacted]" in errors[1].body
    assert TOKEN not in caplog.text
    assert TOKEN not in repr(client)
    assert TOKEN not in repr(client._http.headers)


# --- parameters -----------------------------------------------------------------------------------


def test_units_sends_the_real_parameter_names_with_comma_lists_and_microsecond_utc_times(
    api: respx.MockRouter, client: RentEngineClient
) -> None:
    route = api.get("/units").respond(json=[])
    since = datetime(2024, 10, 5, 13, 53, 3, 406168, tzinfo=UTC) - timedelta(hours=0)
    list(client.units(account_id=ACCOUNT, statuses=["Available", "On Hold"], unit_ids=[3318, 41121], updated_after=since))
    params = dict(route.calls.last.request.url.params)
    assert params == {
        "accountId": ACCOUNT,
        "statuses": "Available,On Hold",
        "unitIds": "3318,41121",
        "updated_after": "2024-10-05T13:53:03.406168Z",
        "limit": "100",
        "page_number": "0",
    }


def test_times_are_sent_in_utc_with_microseconds_and_z() -> None:
    chicago = datetime.fromisoformat("2024-10-05T13:53:03.406168-05:00")
    assert wire_time(chicago) == "2024-10-05T18:53:03.406168Z"
    assert wire_time(datetime(2024, 10, 5, 18, 53, 3)) == "2024-10-05T18:53:03.000000Z"


@pytest.mark.parametrize(
    ("method", "kwargs", "path", "expected"),
    [
        ("prospects", {"created_after": datetime(2024, 1, 2, tzinfo=UTC), "account_id": ACCOUNT}, "/prospects",
         {"created_after": "2024-01-02T00:00:00.000000Z", "account_id": ACCOUNT}),
        ("lockboxes", {"account_id": ACCOUNT}, "/lockboxes", {"account_id": ACCOUNT}),
        ("lockbox_events", {"created_at_from": "2024-01-02T00:00:00.000000Z", "account_id": ACCOUNT, "lockbox_ids": ["a", "b"],
                            "unit_ids": [1, 2]}, "/lockbox_events",
         {"created_at_from": "2024-01-02T00:00:00.000000Z", "account_id": ACCOUNT, "lockbox_ids": "a,b", "unit_ids": "1,2"}),
        ("lockbox_installations", {"account_id": ACCOUNT}, "/lockbox_installations", {"account_id": ACCOUNT}),
        ("subteams", {"account_id": ACCOUNT}, "/subteams", {"accountId": ACCOUNT}),
        ("prescreening_templates", {"account_id": ACCOUNT}, "/prescreening_templates", {"accountId": ACCOUNT}),
        ("multifamily_properties", {"account_id": ACCOUNT}, "/multifamily_properties", {"account_id": ACCOUNT}),
        ("floorplans", {"multifamily_property_id": "mf-1"}, "/floorplans", {"multifamily_property_id": "mf-1"}),
    ],
)  # fmt: skip
def test_each_list_endpoint_speaks_its_own_parameter_names(
    api: respx.MockRouter, client: RentEngineClient, method: str, kwargs: dict[str, Any], path: str, expected: dict[str, str]
) -> None:
    route = api.get(path).respond(json=[])
    list(getattr(client, method)(**kwargs))
    assert dict(route.calls.last.request.url.params) == {**expected, "limit": "100", "page_number": "0"}


def test_an_empty_list_filter_matches_nothing_and_sends_nothing(api: respx.MockRouter, client: RentEngineClient) -> None:
    route = api.get("/units").respond(json=[unit(1)])
    assert list(client.units(unit_ids=[])) == []
    assert not route.called


def test_a_limit_above_the_maximum_is_refused_before_sending(client: RentEngineClient) -> None:
    with pytest.raises(ValueError, match="limit must be between 1 and 100"):
        client.units(limit=101)


# --- pagination -----------------------------------------------------------------------------------


def test_an_exact_multiple_of_the_limit_ends_with_one_empty_page(api: respx.MockRouter, client: RentEngineClient) -> None:
    route = api.get("/units").mock(side_effect=paged([[unit(1), unit(2)], [unit(3), unit(4)], []]))
    pages = list(client.units(limit=2))
    assert page_numbers(route) == [0, 1, 2]
    assert [[u.id for u in p.records] for p in pages] == [[1, 2], [3, 4], []]
    assert [p.is_last for p in pages] == [False, False, True]
    assert [p.next_page_number for p in pages] == [1, 2, None]


def test_a_short_page_ends_the_pass(api: respx.MockRouter, client: RentEngineClient) -> None:
    route = api.get("/units").mock(side_effect=paged([[unit(1), unit(2)], [unit(3)]]))
    pages = list(client.units(limit=2))
    assert page_numbers(route) == [0, 1]
    assert pages[-1].is_last
    assert [u.id for u in pages[-1].records] == [3]


def test_a_bad_record_is_skipped_the_rest_kept_and_the_raw_count_decides_the_end(
    api: respx.MockRouter, client: RentEngineClient
) -> None:
    route = api.get("/units").mock(side_effect=paged([[unit(1), {"id": "not-a-number"}, unit(3)], []]))
    pages = list(client.units(limit=3))
    first = pages[0]
    assert [u.id for u in first.records] == [1, 3]
    assert first.received == 3
    assert [s.record_id for s in first.skipped] == ["not-a-number"]
    assert page_numbers(route) == [0, 1]  # 3 raw items = a full page, so the pass went on


def test_a_pass_can_resume_at_a_page_number_and_stop_early(api: respx.MockRouter, client: RentEngineClient) -> None:
    route = api.get("/units").mock(side_effect=paged([[unit(1), unit(2)], [unit(3), unit(4)], [unit(5), unit(6)], [unit(7)]]))
    pages = client.units(limit=2, page_number=1)
    first = next(pages)
    pages.close()
    assert [u.id for u in first.records] == [3, 4]
    assert page_numbers(route) == [1]


def test_a_server_that_ignores_page_number_is_caught_instead_of_paging_forever(
    api: respx.MockRouter, client: RentEngineClient
) -> None:
    api.get("/units").respond(json=[unit(1), unit(2)])
    with pytest.raises(MalformedResponse, match="ignore page_number") as caught:
        list(client.units(limit=2))
    assert caught.value.permanent


def test_envelopes_follow_has_more_and_next_page_number(api: respx.MockRouter, client: RentEngineClient) -> None:
    route = api.get("/leasing_events").mock(
        side_effect=paged(
            [envelope([event(1), event(2)], 0, True), envelope([event(3), event(4)], 1, True), envelope([event(5)], 2, False)]
        )
    )
    pages = list(client.leasing_events(prospect_id=12345, limit=2))
    assert page_numbers(route) == [0, 1, 2]
    assert [e.id for p in pages for e in p.records] == [1, 2, 3, 4, 5]
    assert all(e.prospect_id == 12345 for p in pages for e in p.records)
    assert route.calls.last.request.url.params["prospect_id"] == "12345"


def test_an_envelope_full_page_without_has_more_is_the_end(api: respx.MockRouter, client: RentEngineClient) -> None:
    route = api.get("/leasing_events").mock(side_effect=paged([envelope([event(1), event(2)], 0, False)]))
    assert len(list(client.leasing_events(created_after="2024-01-01T00:00:00.000000Z", limit=2))) == 1
    assert page_numbers(route) == [0]


def test_an_envelope_without_page_info_falls_back_on_the_short_page_rule(api: respx.MockRouter, client: RentEngineClient) -> None:
    route = api.get("/leasing_events").mock(side_effect=paged([{"data": [event(1), event(2)]}, {"data": [event(3)]}]))
    assert [e.id for p in client.leasing_events(limit=2) for e in p.records] == [1, 2, 3]
    assert page_numbers(route) == [0, 1]


# --- bodies that are not what they should be ------------------------------------------------------


def test_an_html_page_is_retried_and_never_taken_for_an_empty_page(
    api: respx.MockRouter, client: RentEngineClient, limiter: RecordingLimiter
) -> None:
    html = httpx.Response(200, text="<html><body>Bad gateway</body></html>", headers={"Content-Type": "text/html"})
    api.get("/units").mock(side_effect=[html, httpx.Response(200, json=[unit(1)])])
    pages = list(client.units())
    assert [u.id for u in pages[0].records] == [1]
    assert pages[0].requests == 2
    assert len(limiter.lanes) == 2


def test_truncated_json_is_a_transient_malformed_response_once_attempts_run_out(
    api: respx.MockRouter, client: RentEngineClient
) -> None:
    api.get("/units").respond(200, content=b'[{"id": 1, "status": "Avail', headers={"Content-Type": "application/json"})
    with pytest.raises(MalformedResponse, match="not JSON") as caught:
        list(client.units())
    assert not caught.value.permanent
    assert not caught.value.not_sent
    assert client.stats.requests == 4


def test_an_object_where_an_array_was_expected_is_malformed(api: respx.MockRouter, client: RentEngineClient) -> None:
    api.get("/units").respond(json={"error": "maintenance"})
    with pytest.raises(MalformedResponse, match="dict where an array was expected"):
        list(client.units())


def test_an_array_where_an_envelope_was_expected_is_malformed(api: respx.MockRouter, client: RentEngineClient) -> None:
    api.get("/leasing_events").respond(json=[event(1)])
    with pytest.raises(MalformedResponse, match="envelope"):
        list(client.leasing_events(prospect_id=1))


# --- retries --------------------------------------------------------------------------------------


def test_a_get_survives_500_then_429_then_200(
    api: respx.MockRouter, client: RentEngineClient, limiter: RecordingLimiter, sleeps: list[float]
) -> None:
    api.get("/units").mock(side_effect=[httpx.Response(500), httpx.Response(429), httpx.Response(200, json=[unit(1)])])
    pages = list(client.units())
    assert [u.id for u in pages[0].records] == [1]
    assert pages[0].requests == 3
    assert (client.stats.requests, client.stats.retries, client.stats.http_429) == (3, 2, 1)
    assert client.stats.by_endpoint["GET /units"].http_429 == 1
    assert len(limiter.lanes) == 3  # every attempt took a slot
    assert limiter.reports == [(None, 2.0)]  # the 429 told the shared limiter, with its grant
    assert [g.granted_at for g in limiter.released] == [1.0, 2.0, 3.0]  # every slot released, failed or not
    assert len(sleeps) == 1
    assert 0 <= sleeps[0] <= 0.5


def test_retry_after_in_seconds_sets_the_shared_cooldown(
    api: respx.MockRouter, client: RentEngineClient, limiter: RecordingLimiter
) -> None:
    api.get("/units").mock(side_effect=[httpx.Response(429, headers={"Retry-After": "7"}), httpx.Response(200, json=[])])
    list(client.units())
    assert limiter.reports[0][0] == 7.0


def test_retry_after_as_an_http_date_is_understood(
    api: respx.MockRouter, client: RentEngineClient, limiter: RecordingLimiter
) -> None:
    when = email.utils.format_datetime(datetime.now(UTC) + timedelta(seconds=12), usegmt=True)
    api.get("/units").mock(side_effect=[httpx.Response(429, headers={"Retry-After": when}), httpx.Response(200, json=[])])
    list(client.units())
    reported = limiter.reports[0][0]
    assert reported is not None
    assert 10 <= reported <= 12


def test_without_retry_after_the_limiter_chooses_the_backoff(
    api: respx.MockRouter, client: RentEngineClient, limiter: RecordingLimiter
) -> None:
    api.get("/units").mock(side_effect=[httpx.Response(429), httpx.Response(200, json=[])])
    list(client.units())
    assert limiter.reports[0][0] is None


def test_retry_after_is_capped_and_garbage_is_ignored() -> None:
    assert retry_after_seconds("3600", cap=60) == 60
    assert retry_after_seconds("1.5", cap=60) == 1.5
    assert retry_after_seconds("-4", cap=60) == 0
    assert retry_after_seconds("soon", cap=60) is None
    assert retry_after_seconds(None, cap=60) is None
    past = email.utils.format_datetime(datetime.now(UTC) - timedelta(minutes=5), usegmt=True)
    assert retry_after_seconds(past, cap=60) == 0


def test_a_503_with_retry_after_is_waited_out_by_the_client(
    api: respx.MockRouter, client: RentEngineClient, sleeps: list[float]
) -> None:
    api.get("/units").mock(side_effect=[httpx.Response(503, headers={"Retry-After": "4"}), httpx.Response(200, json=[])])
    list(client.units())
    assert sleeps == [4.0]


def test_backoff_grows_exponentially_with_full_jitter_under_a_cap(
    api: respx.MockRouter, limiter: RecordingLimiter, sleeps: list[float]
) -> None:
    api.get("/units").respond(502)
    rentengine = RentEngineClient(
        base_url=BASE,
        token=TOKEN,
        limiter=limiter,
        sleep=sleeps.append,
        max_attempts=7,
        backoff_base=1.0,
        backoff_cap=8.0,  # type: ignore[arg-type]
    )
    with pytest.raises(ServerError):
        list(rentengine.units())
    assert len(sleeps) == 6
    for attempt, slept in enumerate(sleeps):
        assert 0 <= slept <= min(8.0, 2.0**attempt)


def test_attempts_are_bounded(api: respx.MockRouter, client: RentEngineClient) -> None:
    route = api.get("/units").mock(side_effect=httpx.ReadTimeout("slow"))
    with pytest.raises(Timeout):
        list(client.units())
    assert route.call_count == 4
    assert (client.stats.requests, client.stats.retries, client.stats.errors) == (4, 3, 1)


def test_a_permanent_error_is_not_retried(api: respx.MockRouter, client: RentEngineClient) -> None:
    route = api.get("/units").respond(400, json={"error": "Invalid query parameters"})
    with pytest.raises(InvalidRequest):
        list(client.units())
    assert route.call_count == 1


def test_every_attempt_goes_through_the_limiter_in_the_lane_asked_for(
    api: respx.MockRouter, limiter: RecordingLimiter, sleeps: list[float]
) -> None:
    api.get("/units").mock(side_effect=[httpx.Response(500), httpx.Response(200, json=[])])
    api.get("/showings/availability").respond(json={"availability": {"unitId": 1}})
    with RentEngineClient(base_url=BASE, token=TOKEN, limiter=limiter, lane="backfill", sleep=sleeps.append) as rentengine:  # type: ignore[arg-type]
        list(rentengine.units())
        rentengine.showing_availability(1, lane=Lane.INTERACTIVE)
    assert limiter.lanes == [Lane.BACKFILL, Lane.BACKFILL, Lane.INTERACTIVE]


def test_no_slot_from_the_limiter_means_nothing_was_sent(api: respx.MockRouter) -> None:
    route = api.get("/units").respond(json=[])
    busy = limiter_create(config=LimiterConfig(limit=1, window=60), prefix=f"test-client:{uuid.uuid4().hex}:")
    busy.acquire(Lane.BACKFILL)
    rentengine = RentEngineClient(base_url=BASE, token=TOKEN, limiter=busy, slot_timeout=0.05)
    with pytest.raises(SlotUnavailable, match="no RentEngine request slot in the incremental lane") as caught:
        list(rentengine.units())
    assert caught.value.not_sent
    assert not caught.value.permanent
    assert not route.called


# --- classification -------------------------------------------------------------------------------

OUTCOMES = [
    # what RentEngine (or the network) does -> error class, permanent, not_sent
    (httpx.Response(400, json={"error": "Invalid request parameters"}), InvalidRequest, True, False),
    (httpx.Response(401, json={"error": "Unauthorized"}), TokenRejected, True, False),
    (httpx.Response(403, json={"error": "Forbidden"}), TokenRejected, True, False),
    (httpx.Response(404, json={"error": "Not found"}), NotFound, True, False),
    (httpx.Response(429), RateLimited, False, True),
    (httpx.Response(500, json={"error": "Internal"}), ServerError, False, False),
    (httpx.Response(502, text="Bad gateway"), ServerError, False, False),
    (httpx.Response(503, text="Service unavailable"), ServerError, False, True),
    (httpx.ConnectError("connection refused"), TransportError, False, True),
    (httpx.ConnectTimeout("connect timeout"), Timeout, False, True),
    (httpx.PoolTimeout("pool timeout"), Timeout, False, True),
    (httpx.WriteTimeout("write timeout"), Timeout, False, False),
    (httpx.ReadTimeout("read timeout"), Timeout, False, False),
    (httpx.ReadError("connection reset by peer"), TransportError, False, False),
    (httpx.RemoteProtocolError("server disconnected without sending a response"), TransportError, False, False),
    (httpx.Response(201, text="<html>Created</html>", headers={"Content-Type": "text/html"}), MalformedResponse, False, False),
]


@pytest.mark.parametrize(
    ("outcome", "error_class", "permanent", "not_sent"), OUTCOMES, ids=lambda v: getattr(v, "__name__", None)
)
def test_every_failure_of_a_post_is_classified_and_raised_after_one_attempt(
    api: respx.MockRouter,
    client: RentEngineClient,
    outcome: httpx.Response | Exception,
    error_class: type[RentEngineError],
    permanent: bool,
    not_sent: bool,
) -> None:
    route = api.post("/leasing_events").mock(side_effect=[outcome])
    with pytest.raises(error_class) as caught:
        client.leasing_event_assign(12345, [USER], apply_in_bulk=False, source="Other")
    error = caught.value
    assert type(error) is error_class
    assert (error.permanent, error.not_sent) == (permanent, not_sent)
    assert error.endpoint == "POST /leasing_events"
    assert route.call_count == 1  # a POST is never retried inside the client
    if isinstance(outcome, httpx.Response):
        assert error.status == outcome.status_code


def test_a_rejected_token_says_what_to_check(api: respx.MockRouter, client: RentEngineClient) -> None:
    api.get("/units").respond(401, json={"error": "Unauthorized"})
    with pytest.raises(TokenRejected, match=r"the API token was rejected .*check RENTENGINE_API_TOKEN"):
        list(client.units())


def test_an_unknown_parameter_is_flagged_with_its_name(api: respx.MockRouter, client: RentEngineClient) -> None:
    api.get("/units").respond(
        400,
        json={
            "error": "Invalid query parameters",
            "details": [
                {
                    "instancePath": "",
                    "keyword": "additionalProperties",
                    "params": {"additionalProperty": "updated_after"},
                    "message": "must NOT have additional properties",
                }
            ],
        },
    )
    with pytest.raises(InvalidRequest) as caught:
        list(client.units(updated_after="2024-01-01T00:00:00.000000Z"))
    assert caught.value.unknown_parameter
    assert caught.value.parameter == "updated_after"
    assert "unknown parameter 'updated_after'" in str(caught.value)


def test_other_validation_errors_are_not_unknown_parameters(api: respx.MockRouter, client: RentEngineClient) -> None:
    api.get("/units").respond(
        400, json={"error": "Invalid query parameters", "details": [{"message": 'must match format "date-time"'}]}
    )
    with pytest.raises(InvalidRequest, match='must match format "date-time"') as caught:
        list(client.units())
    assert not caught.value.unknown_parameter
    assert caught.value.parameter is None


def test_a_redirect_points_at_the_base_url_setting(api: respx.MockRouter, client: RentEngineClient) -> None:
    api.get("/units").respond(301, headers={"Location": "https://app.rentengine.io/login"})
    with pytest.raises(RentEngineError, match=r"redirected .*check RENTENGINE_BASE_URL") as caught:
        list(client.units())
    assert caught.value.permanent


def test_long_bodies_are_kept_short_in_errors(api: respx.MockRouter, client: RentEngineClient) -> None:
    api.get("/units").respond(404, text="<html>" + "x" * 5000 + "</html>")
    with pytest.raises(NotFound) as caught:
        list(client.units())
    assert len(caught.value.body) <= 200
    assert len(str(caught.value)) < 400


# --- endpoints with their own shapes --------------------------------------------------------------


def test_assigning_posts_exactly_one_assign_to_user_event_and_returns_the_created_events(
    api: respx.MockRouter, client: RentEngineClient, limiter: RecordingLimiter
) -> None:
    route = api.post("/leasing_events").respond(201, json=[event(901, prospect_key="prospect")])
    created = client.leasing_event_assign(
        12345, [USER], apply_in_bulk=True, source="Phone Call", notes="ref:ab12cd34", lane="bulk"
    )
    assert json.loads(route.calls.last.request.content) == {
        "events": [
            {
                "prospect_id": 12345,
                "event_type": "Assign to User",
                "source": "Phone Call",
                "notes": "ref:ab12cd34",
                "context": {"assignedToUserIds": [USER], "applyActionInBulk": True},
            }
        ]
    }
    assert route.calls.last.request.headers["Content-Type"] == "application/json"
    assert [type(e) for e in created] == [LeasingEventRecord]
    assert (created[0].id, created[0].prospect_id) == (901, 12345)
    assert limiter.lanes == [Lane.BULK]


def test_showing_availability_unwraps_the_availability_object(api: respx.MockRouter, client: RentEngineClient) -> None:
    route = api.get("/showings/availability").respond(
        json={
            "availability": {
                "unitId": 3318,
                "showingMethod": "Accompanied",
                "timezoneName": "America/Chicago",
                "availableShowingWindows": [
                    {"start": "2024-10-06T15:00:00.000000Z", "end": "2024-10-06T15:30:00.000000Z", "invitedUserIdsArray": [USER]}
                ],
            }
        }
    )
    availability = client.showing_availability(3318)
    assert isinstance(availability, AvailabilityRecord)
    assert availability.unit_id == 3318
    assert availability.showing_method == "Accompanied"
    assert availability.available_windows[0].invited_user_ids == [USER]
    assert dict(route.calls.last.request.url.params) == {"unitId": "3318"}


def test_reporting_showings_refuses_spans_over_32_days_before_sending(api: respx.MockRouter, client: RentEngineClient) -> None:
    route = api.get("/reporting/showings").respond(json=envelope([], 0, False))
    start = datetime(2024, 1, 1, tzinfo=UTC)
    with pytest.raises(ValueError, match="32-day maximum"):
        client.reporting_showings([ACCOUNT], start, start + timedelta(days=32, seconds=1))
    assert not route.called


def test_reporting_showings_pages_envelopes_of_up_to_2000_rows(api: respx.MockRouter, client: RentEngineClient) -> None:
    row = {"showing_id": 77, "prospect_id": 12345, "status": "Scheduled", "planned_date_time": "2024-01-03T16:00:00.000000Z"}
    route = api.get("/reporting/showings").mock(side_effect=paged([envelope([row], 0, True, 2000), envelope([], 1, False, 2000)]))
    start = datetime(2024, 1, 1, tzinfo=UTC)
    pages = list(client.reporting_showings([ACCOUNT, "c26fbfed-0000-4000-8000-00000000b002"], start, start + timedelta(days=32)))
    assert [s.showing_id for p in pages for s in p.records] == [77]
    assert dict(route.calls[0].request.url.params) == {
        "account_ids": f"{ACCOUNT},c26fbfed-0000-4000-8000-00000000b002",
        "start": "2024-01-01T00:00:00.000000Z",
        "end": "2024-02-02T00:00:00.000000Z",
        "limit": "2000",
        "page_number": "0",
    }


def test_connection_check_is_one_interactive_request(
    api: respx.MockRouter, client: RentEngineClient, limiter: RecordingLimiter
) -> None:
    route = api.get("/units").respond(json=[unit(1)])
    client.connection_check()
    assert route.call_count == 1
    assert route.calls.last.request.url.params["limit"] == "1"
    assert limiter.lanes == [Lane.INTERACTIVE]
