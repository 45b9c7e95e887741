"""How one call to RentEngine is made: a limiter slot, one HTTP exchange, classification, retries, pages."""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any, Self

import httpx
from django.conf import settings

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
)
from integrations.rentengine.client.records import Parsed, Record, Skipped, parse_records
from integrations.rentengine.client.wire import (
    BODY_QUOTE_CHARS,
    array_shape,
    check_paging,
    decode_body,
    envelope_shape,
    error_text,
    retry_after_seconds,
    transport_error,
    unknown_parameter_in,
    wire_params,
)
from integrations.rentengine.limiter import Grant, Lane, Limiter, LimiterError, SlotTimeout, get_limiter

# The client's logger: its messages keep the name they have always had.
logger = logging.getLogger("integrations.rentengine.client.endpoints")

USER_AGENT = "LeasingDesk/0.1"

# How long a caller waits for a limiter slot before giving up: a person is waiting in the first lane.
SLOT_TIMEOUTS: dict[Lane, float] = {Lane.INTERACTIVE: 15.0, Lane.BULK: 120.0, Lane.INCREMENTAL: 180.0, Lane.BACKFILL: 600.0}


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


# --- the connection -------------------------------------------------------------------------------


class ClientCore:
    """A connection to RentEngine (base URL, token, limiter, retry policy, counters) and the way one
    call and one paginated list are made through it. `RentEngineClient` adds one method per endpoint."""

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
        return f"<{type(self).__name__} {self.base_url} lane={self.lane}>"

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # --- pagination ---------------------------------------------------------------------------------

    def _bare_pages[R: Record](
        self, path: str, filters: dict[str, Any], model: type[R], limit: int, page_number: int, lane: Lane | str | None
    ) -> Iterator[Page[R]]:
        """Bare JSON arrays: 0-indexed page_number; a page with fewer raw items than `limit` is the last
        (API-FACTS 1.3), so an exact multiple costs one more request that returns []."""
        check_paging(limit, page_number, vocabulary.PAGE_LIMIT_MAX)
        params = wire_params(filters)
        if params is None:
            return iter(())

        def pages() -> Iterator[Page[R]]:
            number, previous_ids = page_number, None
            while True:
                body, attempts = self._call_counted(
                    "GET", path, params={**params, "limit": limit, "page_number": number}, lane=lane, shape=array_shape
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
        check_paging(limit, page_number, max_limit)
        params = wire_params(filters)
        if params is None:
            return iter(())

        def pages() -> Iterator[Page[R]]:
            number = page_number
            while True:
                body, attempts = self._call_counted(
                    "GET", path, params={**params, "limit": limit, "page_number": number}, lane=lane, shape=envelope_shape
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
            return transport_error(exc, endpoint)
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
        body, problem = decode_body(response)
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
        detail = error_text(response, body)
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
        unknown, parameter = unknown_parameter_in(response)
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
