"""The shared rate limiter: on real Redis (REDIS_URL) and in-process (embedded mode).

Windows are scaled down (a few requests per fraction of a second) so the suite stays fast; the rules
do not depend on the scale. Timestamps checked are the limiter's own grant times (Redis TIME, or
time.monotonic in-process), the clock its promise is made on.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import random
import signal
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from integrations.rentengine.limiter import (
    Grant,
    Lane,
    Limiter,
    LimiterConfig,
    LimiterUnavailable,
    SlotTimeout,
    get_limiter,
    limiter_create,
    state,
)

REDIS_URL = os.environ.get("REDIS_URL", "")
needs_redis = pytest.mark.skipif(not REDIS_URL, reason="REDIS_URL is not set: the shared (Redis) limiter is not tested")
BACKENDS = [pytest.param("memory", id="in-process"), pytest.param("redis", id="redis", marks=needs_redis)]

MakeLimiter = Callable[..., Limiter]


@pytest.fixture(params=BACKENDS)
def make_limiter(request: pytest.FixtureRequest) -> Iterator[MakeLimiter]:
    """Limiters of one kind; on Redis they share a fresh key prefix, like processes sharing Redis."""
    prefix = f"test-limiter:{uuid.uuid4().hex}:"
    made: list[Limiter] = []

    def make(**config: Any) -> Limiter:
        limiter = limiter_create(
            redis_url=REDIS_URL if request.param == "redis" else None, config=LimiterConfig(**config), prefix=prefix
        )
        made.append(limiter)
        return limiter

    yield make
    for limiter in made:
        limiter.backend.clear()  # type: ignore[attr-defined]


@pytest.fixture
def redis_prefix() -> Iterator[str]:
    prefix = f"test-limiter:{uuid.uuid4().hex}:"
    yield prefix
    limiter_create(redis_url=REDIS_URL, prefix=prefix).backend.clear()  # type: ignore[union-attr]


def most_in_any_window(stamps: list[float], window: float) -> int:
    """The largest number of stamps in any half-open interval (t - window, t]."""
    ordered, best, start = sorted(stamps), 0, 0
    for end, stamp in enumerate(ordered):
        while ordered[start] <= stamp - window:
            start += 1
        best = max(best, end - start + 1)
    return best


def in_threads(*jobs: Callable[[], Any]) -> list[Any]:
    results: list[Any] = [None] * len(jobs)

    def run(index: int, job: Callable[[], Any]) -> None:
        results[index] = job()

    threads = [threading.Thread(target=run, args=(i, job)) for i, job in enumerate(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return results


def take(limiter: Limiter, lane: Lane = Lane.BACKFILL, timeout: float = 20) -> Grant:
    """One instant request: a slot acquired and released at once."""
    with limiter.slot(lane, timeout) as grant:
        return grant


def collect_grants(limiter: Limiter, lane: Lane, count: int, into: list[Grant], lock: threading.Lock) -> Callable[[], None]:
    def job() -> None:
        for _ in range(count):
            grant = take(limiter, lane)
            with lock:
                into.append(grant)

    return job


# --- subprocess helpers (spawned, so each is a real separate process) -----------------------------


def _hammer(prefix: str, config: dict[str, Any], count: int, results: Any) -> None:
    limiter = limiter_create(redis_url=REDIS_URL, config=LimiterConfig(**config), prefix=prefix)
    results.put([take(limiter, Lane.BACKFILL, timeout=30).granted_at for _ in range(count)])


def _acquire_after(prefix: str, config: dict[str, Any], ready: Any, go: Any, results: Any) -> None:
    limiter = limiter_create(redis_url=REDIS_URL, config=LimiterConfig(**config), prefix=prefix)
    limiter.state()  # connected and scripts loaded
    ready.set()
    go.wait(30)
    results.put(take(limiter, Lane.INCREMENTAL, timeout=30).granted_at)


def _wait_forever(prefix: str, config: dict[str, Any]) -> None:
    limiter = limiter_create(redis_url=REDIS_URL, config=LimiterConfig(**config), prefix=prefix)
    limiter.acquire(Lane.INTERACTIVE, timeout=None)


spawn = multiprocessing.get_context("spawn")


# --- never more than the limit --------------------------------------------------------------------


def test_threads_hammering_never_exceed_the_limit_in_any_sliding_window(make_limiter: MakeLimiter) -> None:
    limiter = make_limiter(limit=6, window=0.3)
    grants: list[Grant] = []
    lock = threading.Lock()
    lanes = [Lane.BACKFILL, Lane.INCREMENTAL, Lane.BACKFILL, Lane.BULK, Lane.BACKFILL, Lane.INCREMENTAL]
    started = time.monotonic()
    in_threads(*(collect_grants(limiter, lane, 6, grants, lock) for lane in lanes))
    elapsed = time.monotonic() - started
    assert len(grants) == 36
    assert most_in_any_window([g.granted_at for g in grants], 0.3) <= 6
    # ...and it does not waste the budget either: 36 grants at 6 per 0.3 s need 5 windows.
    assert elapsed < 5 * 0.3 + 1.0


@needs_redis
def test_processes_hammering_never_exceed_the_limit_in_any_sliding_window(redis_prefix: str) -> None:
    config = {"limit": 5, "window": 0.4}
    results = spawn.Queue()
    workers = [spawn.Process(target=_hammer, args=(redis_prefix, config, 8, results)) for _ in range(3)]
    for worker in workers:
        worker.start()
    stamps = [stamp for _ in workers for stamp in results.get(timeout=60)]
    for worker in workers:
        worker.join(timeout=10)
    assert len(stamps) == 24
    assert most_in_any_window(stamps, 0.4) <= 5


def test_requests_of_any_duration_never_arrive_more_than_the_limit_in_any_window(make_limiter: MakeLimiter) -> None:
    """RentEngine counts arrivals, which happen anywhere between our grant and the answer."""
    limiter = make_limiter(limit=6, window=0.3)
    arrivals: list[float] = []
    lock = threading.Lock()

    def requests(seed: int) -> Callable[[], None]:
        dice = random.Random(seed)

        def job() -> None:
            for _ in range(6):
                with limiter.slot(Lane.BACKFILL, timeout=20) as grant:
                    started = time.monotonic()
                    time.sleep(dice.uniform(0, 0.08))  # on its way: a slow connect, a busy network
                    arrived = grant.granted_at + (time.monotonic() - started)  # on the limiter's clock
                    time.sleep(dice.uniform(0, 0.03))  # the answer comes back
                with lock:
                    arrivals.append(arrived)

        return job

    in_threads(*(requests(seed) for seed in range(6)))
    assert len(arrivals) == 36
    assert most_in_any_window(arrivals, 0.3) <= 6


def test_a_slot_counts_until_its_request_completes(make_limiter: MakeLimiter) -> None:
    limiter = make_limiter(limit=1, window=0.2)
    slow = limiter.acquire(Lane.BACKFILL)  # a request still waiting for its answer
    time.sleep(0.3)  # longer than the window since the grant...
    with pytest.raises(SlotTimeout):
        take(limiter, Lane.BACKFILL, timeout=0.1)  # ...but it is still in flight
    assert limiter.state().in_flight == 1
    limiter.release(slow)
    assert limiter.state().in_flight == 0
    assert take(limiter, Lane.BACKFILL, timeout=1).waited >= 0.15  # a full window after the answer


def test_a_slot_never_released_stops_counting_after_the_hold(make_limiter: MakeLimiter) -> None:
    limiter = make_limiter(limit=1, window=0.1, hold=0.3)
    limiter.acquire(Lane.BACKFILL)  # its process dies mid-request
    assert 0.3 <= take(limiter, Lane.BACKFILL, timeout=2).waited < 1.0


def test_a_request_is_granted_at_once_when_the_budget_is_free(make_limiter: MakeLimiter) -> None:
    limiter = make_limiter(limit=3, window=1.0)
    grants = [take(limiter, Lane.BACKFILL) for _ in range(3)]
    assert all(g.waited < 0.05 for g in grants)


# --- 429: the shared cooldown ---------------------------------------------------------------------


def test_a_429_pauses_every_caller_for_retry_after(make_limiter: MakeLimiter) -> None:
    reporter, other = make_limiter(limit=10, window=0.2), make_limiter(limit=10, window=0.2)
    grant = take(reporter, Lane.BACKFILL)
    assert reporter.report_429(retry_after=0.5, granted_at=grant.granted_at) == pytest.approx(0.5, abs=0.05)
    assert other.state().cooldown_remaining > 0.3
    later = take(other, Lane.INTERACTIVE, timeout=5)
    assert later.granted_at - grant.granted_at >= 0.5
    assert later.waited >= 0.4


@needs_redis
def test_a_429_cooldown_is_honoured_by_another_process(redis_prefix: str) -> None:
    config = {"limit": 10, "window": 0.2}
    ready, go, results = spawn.Event(), spawn.Event(), spawn.Queue()
    other = spawn.Process(target=_acquire_after, args=(redis_prefix, config, ready, go, results))
    other.start()
    assert ready.wait(30)
    limiter = limiter_create(redis_url=REDIS_URL, config=LimiterConfig(**config), prefix=redis_prefix)
    grant = take(limiter, Lane.BACKFILL)
    limiter.report_429(retry_after=0.8, granted_at=grant.granted_at)
    go.set()
    granted_elsewhere = results.get(timeout=30)
    other.join(timeout=10)
    assert granted_elsewhere - grant.granted_at >= 0.8


def test_without_retry_after_the_cooldown_is_one_window_then_doubles(make_limiter: MakeLimiter) -> None:
    limiter = make_limiter(limit=10, window=0.2, max_slowdown=1)
    first = take(limiter, Lane.BACKFILL)
    assert limiter.report_429(granted_at=first.granted_at) == pytest.approx(0.2, abs=0.02)
    second = take(limiter, Lane.BACKFILL, timeout=5)
    assert limiter.report_429(granted_at=second.granted_at) == pytest.approx(0.4, abs=0.02)


def test_retry_after_is_capped(make_limiter: MakeLimiter) -> None:
    limiter = make_limiter(max_cooldown=2.0)
    assert limiter.report_429(retry_after=3600) == pytest.approx(2.0, abs=0.02)


# --- adaptive slowdown ----------------------------------------------------------------------------


def test_repeated_429s_slow_the_rate_say_why_and_recover_slowly_after_a_quiet_period(
    make_limiter: MakeLimiter, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="integrations.rentengine.limiter")
    limiter = make_limiter(limit=5, window=0.1, recovery_quiet=0.5)

    first = take(limiter, Lane.BACKFILL)
    limiter.report_429(retry_after=0.05, granted_at=first.granted_at)
    # A straggler sent before we knew is the same episode, not a second strike.
    limiter.report_429(retry_after=0.05, granted_at=first.granted_at)
    assert limiter.state().slowdown == 1
    assert limiter.state().strikes == 1

    second = take(limiter, Lane.BACKFILL, timeout=5)
    limiter.report_429(retry_after=0.05, granted_at=second.granted_at)
    slowed = limiter.state()
    assert slowed.slowdown == 2
    assert slowed.effective_window == pytest.approx(0.2)
    assert slowed.effective_rate == pytest.approx(25.0)
    assert "slowed to 5 requests per 0.2 s" in slowed.reduction_reason
    assert "real window may be longer" in slowed.reduction_reason
    assert slowed.reduction_reason in caplog.text

    third = take(limiter, Lane.BACKFILL, timeout=5)
    limiter.report_429(retry_after=0.05, granted_at=third.granted_at)
    assert limiter.state().slowdown == 4

    time.sleep(0.55)
    recovering = limiter.state()
    assert recovering.slowdown == 2
    assert recovering.reduction_reason.startswith("recovering: 5 requests per 0.2 s")
    time.sleep(0.55)
    recovered = limiter.state()
    assert recovered.slowdown == 1
    assert recovered.reduction_reason == ""
    assert "back to the configured 5 requests per 0.1 s" in caplog.text


def test_a_slowed_limiter_paces_over_the_longer_window(make_limiter: MakeLimiter) -> None:
    limiter = make_limiter(limit=3, window=0.1)
    for _ in range(2):
        grant = take(limiter, Lane.BACKFILL, timeout=5)
        limiter.report_429(retry_after=0.01, granted_at=grant.granted_at)
    assert limiter.state().effective_window == pytest.approx(0.2)
    stamps = [take(limiter, Lane.BACKFILL, timeout=5).granted_at for _ in range(7)]
    assert most_in_any_window(stamps, 0.2) <= 3


def test_the_slowdown_stops_at_the_slowest_known_reading(make_limiter: MakeLimiter) -> None:
    limiter = make_limiter(limit=3, window=0.05, max_slowdown=4)
    for _ in range(5):
        grant = take(limiter, Lane.BACKFILL, timeout=5)
        limiter.report_429(retry_after=0.0, granted_at=grant.granted_at)
    assert limiter.state().slowdown == 4


# --- lanes ----------------------------------------------------------------------------------------


def test_a_bulk_waiter_goes_before_backfill_waiters_that_came_first(make_limiter: MakeLimiter) -> None:
    limiter = make_limiter(limit=1, window=0.3)
    take(limiter, Lane.BACKFILL)  # the budget is now spent for 0.3 s
    grants: list[Grant] = []
    lock = threading.Lock()

    def late_bulk() -> None:
        time.sleep(0.1)
        collect_grants(limiter, Lane.BULK, 1, grants, lock)()

    in_threads(*(collect_grants(limiter, Lane.BACKFILL, 1, grants, lock) for _ in range(3)), late_bulk)
    order = [g.lane for g in sorted(grants, key=lambda g: g.granted_at)]
    assert order == [Lane.BULK, Lane.BACKFILL, Lane.BACKFILL, Lane.BACKFILL]


def test_lanes_are_served_interactive_bulk_incremental_then_backfill(make_limiter: MakeLimiter) -> None:
    limiter = make_limiter(limit=1, window=0.25)
    take(limiter, Lane.BACKFILL)
    grants: list[Grant] = []
    lock = threading.Lock()

    def arriving(lane: Lane, delay: float) -> Callable[[], None]:
        def job() -> None:
            time.sleep(delay)
            collect_grants(limiter, lane, 1, grants, lock)()

        return job

    in_threads(
        arriving(Lane.BACKFILL, 0.0),
        arriving(Lane.INCREMENTAL, 0.03),
        arriving(Lane.BULK, 0.06),
        arriving(Lane.INTERACTIVE, 0.09),
    )
    assert [g.lane for g in sorted(grants, key=lambda g: g.granted_at)] == [
        Lane.INTERACTIVE,
        Lane.BULK,
        Lane.INCREMENTAL,
        Lane.BACKFILL,
    ]


def test_a_backfill_keeps_moving_while_higher_lanes_use_part_of_the_budget(make_limiter: MakeLimiter) -> None:
    limiter = make_limiter(limit=4, window=0.2)
    stop = threading.Event()

    def page_actions() -> None:
        while not stop.is_set():
            take(limiter, Lane.INTERACTIVE, timeout=5)
            time.sleep(0.1)

    clicker = threading.Thread(target=page_actions)
    clicker.start()
    try:
        started = time.monotonic()
        for _ in range(8):
            take(limiter, Lane.BACKFILL, timeout=5)
        took = time.monotonic() - started
    finally:
        stop.set()
        clicker.join()
    # 8 backfill + ~4 interactive requests at 4 per 0.2 s: about 0.6 s, far from starving.
    assert took < 1.5


def test_a_lower_lane_proceeds_as_soon_as_higher_lanes_stop_waiting(make_limiter: MakeLimiter) -> None:
    limiter = make_limiter(limit=2, window=0.2)
    done: dict[str, float] = {}

    def interactive_burst() -> None:
        for _ in range(6):
            take(limiter, Lane.INTERACTIVE, timeout=5)
        done["interactive"] = time.monotonic()

    def one_backfill() -> None:
        time.sleep(0.02)
        take(limiter, Lane.BACKFILL, timeout=5)
        done["backfill"] = time.monotonic()

    in_threads(interactive_burst, one_backfill)
    assert done["backfill"] >= done["interactive"] - 0.01  # it yielded while interactive waited...
    assert done["backfill"] - done["interactive"] < 0.35  # ...and went at the next free slot


def test_a_dead_waiter_stops_blocking_lower_lanes_when_its_registration_expires(make_limiter: MakeLimiter) -> None:
    limiter = make_limiter(limit=1, window=0.2, waiter_ttl=0.4, max_sleep=0.1)
    take(limiter, Lane.BACKFILL)
    # An interactive caller tried once, registered as waiting, then died without ever coming back.
    limiter.backend.attempt(Lane.INTERACTIVE, "ghost", "interactive:ghost")
    assert limiter.state().waiters_by_lane["interactive"] == 1
    grant = take(limiter, Lane.BACKFILL, timeout=5)
    assert 0.3 <= grant.waited < 1.0
    assert limiter.state().waiters_by_lane["interactive"] == 0


@needs_redis
def test_a_killed_process_waiting_in_a_higher_lane_does_not_block_others_for_long(redis_prefix: str) -> None:
    config = {"limit": 5, "window": 0.2, "waiter_ttl": 0.6, "max_sleep": 0.2}
    limiter = limiter_create(redis_url=REDIS_URL, config=LimiterConfig(**config), prefix=redis_prefix)
    limiter.report_429(retry_after=30)  # everyone waits, so the other process registers as a waiter
    waiter = spawn.Process(target=_wait_forever, args=(redis_prefix, config))
    waiter.start()
    deadline = time.monotonic() + 30
    while limiter.state().waiters_by_lane["interactive"] == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert waiter.pid is not None
    os.kill(waiter.pid, signal.SIGKILL)
    waiter.join(timeout=10)
    limiter.backend._redis.hset(redis_prefix + "state", "cooldown_until", 0)  # type: ignore[attr-defined]
    grant = take(limiter, Lane.BACKFILL, timeout=5)
    assert grant.waited < 1.0
    assert limiter.state().waiters_by_lane["interactive"] == 0


# --- waiting, errors and state --------------------------------------------------------------------


def test_acquire_gives_up_with_a_clear_error_and_leaves_no_registration(make_limiter: MakeLimiter) -> None:
    limiter = make_limiter()
    limiter.report_429(retry_after=30)
    started = time.monotonic()
    with pytest.raises(SlotTimeout, match=r"no RentEngine request slot in the bulk lane within 0\.\d s: .*429 cooldown"):
        take(limiter, Lane.BULK, timeout=0.2)
    assert time.monotonic() - started < 0.5
    assert limiter.state().waiters_by_lane["bulk"] == 0


def test_waiting_sleeps_instead_of_spinning(make_limiter: MakeLimiter) -> None:
    limiter = make_limiter(limit=1, window=0.3)
    take(limiter, Lane.BACKFILL)
    calls = 0
    attempt = limiter.backend.attempt

    def counted(*args: Any) -> Any:
        nonlocal calls
        calls += 1
        return attempt(*args)

    limiter.backend.attempt = counted  # type: ignore[method-assign]
    take(limiter, Lane.BACKFILL, timeout=5)
    assert calls <= 3


def test_state_shows_the_budget_usage_and_waiters_per_lane(make_limiter: MakeLimiter) -> None:
    limiter = make_limiter(limit=4, window=1.0)
    for lane in (Lane.INTERACTIVE, Lane.BACKFILL, Lane.BACKFILL):
        take(limiter, lane)
    limiter.acquire(Lane.BULK)  # still in flight
    limiter.backend.attempt(Lane.INCREMENTAL, "someone", "incremental:someone")  # the budget is spent: they wait
    current = limiter.state()
    assert (current.limit, current.window, current.effective_limit, current.effective_window) == (4, 1.0, 4, 1.0)
    assert current.effective_rate == 4.0
    assert current.used_in_window == 4
    assert current.in_flight == 1
    assert current.recent_by_lane == {"interactive": 1, "bulk": 1, "incremental": 0, "backfill": 2}
    assert current.waiters_by_lane == {"interactive": 0, "bulk": 0, "incremental": 1, "backfill": 0}
    assert current.cooldown_remaining == 0
    assert current.reduction_reason == ""
    assert current.as_dict()["backend"] in {"memory", "redis"}


def test_the_process_limiter_follows_settings(settings: Any) -> None:
    settings.REDIS_URL = ""
    settings.RENTENGINE_RATE_LIMIT = 7
    settings.RENTENGINE_RATE_WINDOW_SECONDS = 2.0
    assert get_limiter() is get_limiter()
    current = state()
    assert (current.backend, current.limit, current.window) == ("memory", 7, 2.0)


@needs_redis
def test_the_process_limiter_is_on_redis_when_redis_url_is_set(settings: Any) -> None:
    settings.REDIS_URL = REDIS_URL
    assert get_limiter().backend.name == "redis"


def test_an_unreachable_redis_is_an_error_never_a_private_budget() -> None:
    limiter = limiter_create(redis_url="redis://127.0.0.1:1/0")
    with pytest.raises(LimiterUnavailable, match=r"rate limiter .* is unreachable"):
        take(limiter, Lane.BACKFILL, timeout=1)
