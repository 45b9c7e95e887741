"""The shared rate limiter: on real Redis (REDIS_URL), on a file (embedded mode) and in-process.

Windows are scaled down (a few requests per fraction of a second) so the suite stays fast; the rules
do not depend on the scale. Timestamps checked are the limiter's own grant times (Redis TIME, or
time.monotonic, which is one clock for every process of the machine), the clock its promise is made on.

Tests with several processes spawn them (real separate processes, no state inherited) and run on the
file and on Redis: the two backends that promise to share one budget between processes.
"""

from __future__ import annotations

import base64
import json
import multiprocessing
import os
import random
import signal
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
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
    limiter_state,
)
from integrations.rentengine.limiter.slots import FILE_NAME
from integrations.rentengine.limiter.stores import FileStore

REDIS_URL = os.environ.get("REDIS_URL", "")
needs_redis = pytest.mark.skipif(not REDIS_URL, reason="REDIS_URL is not set: the shared (Redis) limiter is not tested")
BACKENDS = [
    pytest.param("memory", id="in-process"),
    pytest.param("file", id="file"),
    pytest.param("redis", id="redis", marks=needs_redis),
]
SHARED_BACKENDS = [pytest.param("file", id="file"), pytest.param("redis", id="redis", marks=needs_redis)]

MakeLimiter = Callable[..., Limiter]


def store_spec(kind: str, tmp_path: Path) -> dict[str, Any]:
    """limiter_create arguments for a fresh shared store of this kind: a new Redis prefix, a new file."""
    if kind == "redis":
        return {"redis_url": REDIS_URL, "prefix": f"test-limiter:{uuid.uuid4().hex}:"}
    if kind == "file":
        return {"path": str(tmp_path / "limiter.json")}
    return {"prefix": f"test-limiter:{uuid.uuid4().hex}:"}


@pytest.fixture(params=BACKENDS)
def make_limiter(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[MakeLimiter]:
    """Limiters of one kind sharing one store (a Redis prefix, a file), like processes sharing it."""
    spec = store_spec(request.param, tmp_path)
    made: list[Limiter] = []

    def make(**config: Any) -> Limiter:
        limiter = limiter_create(**spec, config=LimiterConfig(**config))
        made.append(limiter)
        return limiter

    yield make
    for limiter in made:
        limiter.backend.clear()


@pytest.fixture(params=SHARED_BACKENDS)
def shared(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[dict[str, Any]]:
    """A store several processes share: limiter_create arguments to hand to each of them."""
    spec = store_spec(request.param, tmp_path)
    yield spec
    limiter_create(**spec).backend.clear()


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


def _hammer(spec: dict[str, Any], config: dict[str, Any], count: int, seed: int, results: Any) -> None:
    """`count` requests that each take a while to arrive: (grant, arrival) stamps on the limiter's clock."""
    limiter = limiter_create(**spec, config=LimiterConfig(**config))
    dice = random.Random(seed)
    stamps = []
    for _ in range(count):
        with limiter.slot(Lane.BACKFILL, timeout=30) as grant:
            started = time.monotonic()
            time.sleep(dice.uniform(0, 0.03))
            stamps.append((grant.granted_at, grant.granted_at + time.monotonic() - started))
    results.put(stamps)


def _acquire_after(
    spec: dict[str, Any], config: dict[str, Any], lane: str, delay: float, ready: Any, go: Any, results: Any
) -> None:
    limiter = limiter_create(**spec, config=LimiterConfig(**config))
    limiter.state()  # connected, scripts loaded, file opened once
    ready.set()
    go.wait(30)
    time.sleep(delay)
    results.put((lane, take(limiter, Lane(lane), timeout=30).granted_at))


def _wait_forever(spec: dict[str, Any], config: dict[str, Any]) -> None:
    limiter = limiter_create(**spec, config=LimiterConfig(**config))
    limiter.acquire(Lane.INTERACTIVE, timeout=None)


def _hold_forever(spec: dict[str, Any], config: dict[str, Any], results: Any) -> None:
    """Take a slot and never answer: a request in flight when its process is killed."""
    limiter = limiter_create(**spec, config=LimiterConfig(**config))
    results.put(limiter.acquire(Lane.BACKFILL).granted_at)
    time.sleep(60)


def _sync_run(count: int, ready: Any, go: Any, results: Any) -> None:
    """Like `manage.py rentengine_sync`: the process limiter from settings (the environment), `count` requests."""
    from integrations.rentengine.limiter import get_limiter

    limiter = get_limiter()
    ready.set()
    go.wait(30)
    results.put((limiter.backend.name, [take(limiter, Lane.BACKFILL, timeout=30).granted_at for _ in range(count)]))


def start_processes(*processes: Any) -> None:
    for process in processes:
        process.start()


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


def test_processes_hammering_never_exceed_the_limit_in_any_sliding_window(shared: dict[str, Any]) -> None:
    config = {"limit": 5, "window": 0.4}
    results = spawn.Queue()
    workers = [spawn.Process(target=_hammer, args=(shared, config, 8, seed, results)) for seed in range(3)]
    start_processes(*workers)
    stamps = [stamp for _ in workers for stamp in results.get(timeout=60)]
    for worker in workers:
        worker.join(timeout=10)
    assert len(stamps) == 24
    assert most_in_any_window([granted for granted, _ in stamps], 0.4) <= 5
    assert most_in_any_window([arrived for _, arrived in stamps], 0.4) <= 5


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


def test_a_429_cooldown_is_honoured_by_another_process(shared: dict[str, Any]) -> None:
    config = {"limit": 10, "window": 0.2}
    ready, go, results = spawn.Event(), spawn.Event(), spawn.Queue()
    other = spawn.Process(target=_acquire_after, args=(shared, config, "incremental", 0.0, ready, go, results))
    other.start()
    assert ready.wait(30)
    limiter = limiter_create(**shared, config=LimiterConfig(**config))
    grant = take(limiter, Lane.BACKFILL)
    limiter.report_429(retry_after=0.8, granted_at=grant.granted_at)
    go.set()
    _, granted_elsewhere = results.get(timeout=30)
    other.join(timeout=10)
    assert granted_elsewhere - grant.granted_at >= 0.8


def test_retry_after_is_capped(make_limiter: MakeLimiter) -> None:
    limiter = make_limiter(max_cooldown=2.0)
    assert limiter.report_429(retry_after=3600) == pytest.approx(2.0, abs=0.02)


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
    # Arrivals 40 ms apart, all well inside the spent window, so a loaded machine cannot reorder them.
    limiter = make_limiter(limit=1, window=0.3)
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
        arriving(Lane.INCREMENTAL, 0.04),
        arriving(Lane.BULK, 0.08),
        arriving(Lane.INTERACTIVE, 0.12),
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
    # It yielded while interactive waited: without lanes it would end ~2 windows (0.4 s) before the
    # burst; one window is allowed (between two of its takes, a descheduled interactive isn't waiting).
    assert done["backfill"] >= done["interactive"] - 0.25
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


def test_lanes_give_way_across_processes(shared: dict[str, Any]) -> None:
    config = {"limit": 1, "window": 0.3}
    ready, go, results = [spawn.Event(), spawn.Event()], spawn.Event(), spawn.Queue()
    backfill = spawn.Process(target=_acquire_after, args=(shared, config, "backfill", 0.0, ready[0], go, results))
    interactive = spawn.Process(target=_acquire_after, args=(shared, config, "interactive", 0.1, ready[1], go, results))
    start_processes(backfill, interactive)
    assert all(event.wait(30) for event in ready)
    limiter = limiter_create(**shared, config=LimiterConfig(**config))
    take(limiter, Lane.BACKFILL)  # the budget is now spent for 0.3 s: the backfill process waits first
    go.set()
    grants = sorted((results.get(timeout=30) for _ in range(2)), key=lambda grant: grant[1])
    for process in (backfill, interactive):
        process.join(timeout=10)
    assert [lane for lane, _ in grants] == ["interactive", "backfill"]


def test_a_killed_process_waiting_in_a_higher_lane_does_not_block_others_for_long(shared: dict[str, Any]) -> None:
    config = {"limit": 1, "window": 0.2, "waiter_ttl": 0.6, "max_sleep": 0.2}
    limiter = limiter_create(**shared, config=LimiterConfig(**config))
    held = limiter.acquire(Lane.BACKFILL)  # the budget is in use, so the other process registers as a waiter
    waiter = spawn.Process(target=_wait_forever, args=(shared, config))
    waiter.start()
    deadline = time.monotonic() + 30
    while limiter.state().waiters_by_lane["interactive"] == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert waiter.pid is not None
    os.kill(waiter.pid, signal.SIGKILL)
    waiter.join(timeout=10)
    limiter.release(held)
    grant = take(limiter, Lane.BACKFILL, timeout=5)
    assert grant.waited < 1.0
    assert limiter.state().waiters_by_lane["interactive"] == 0


def test_a_slot_held_by_a_killed_process_stops_counting_after_the_hold(shared: dict[str, Any]) -> None:
    config = {"limit": 1, "window": 0.1, "hold": 0.5}
    results = spawn.Queue()
    holder = spawn.Process(target=_hold_forever, args=(shared, config, results))
    holder.start()
    held_at = results.get(timeout=30)
    assert holder.pid is not None
    os.kill(holder.pid, signal.SIGKILL)  # mid-request: its slot is never released
    holder.join(timeout=10)
    limiter = limiter_create(**shared, config=LimiterConfig(**config))
    assert limiter.state().in_flight == 1
    grant = take(limiter, Lane.BACKFILL, timeout=5)
    assert 0.5 <= grant.granted_at - held_at < 1.5
    assert limiter.state().in_flight == 0


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
    assert current.as_dict()["backend"] in {"memory", "file", "redis"}


def test_the_process_limiter_follows_settings(settings: Any, tmp_path: Path) -> None:
    settings.REDIS_URL = ""
    settings.VAR_DIR = tmp_path
    settings.RENTENGINE_RATE_LIMIT = 7
    settings.RENTENGINE_RATE_WINDOW_SECONDS = 2.0
    assert get_limiter() is get_limiter()
    current = limiter_state()
    assert (current.backend, current.limit, current.window) == ("file", 7, 2.0)
    assert get_limiter().backend.path == tmp_path / FILE_NAME  # type: ignore[attr-defined]
    assert (tmp_path / FILE_NAME).exists()


@needs_redis
def test_the_process_limiter_is_on_redis_when_redis_url_is_set(settings: Any) -> None:
    settings.REDIS_URL = REDIS_URL
    assert get_limiter().backend.name == "redis"


def test_an_unreachable_redis_is_an_error_never_a_private_budget() -> None:
    limiter = limiter_create(redis_url="redis://127.0.0.1:1/0")
    with pytest.raises(LimiterUnavailable, match=r"rate limiter .* is unreachable"):
        take(limiter, Lane.BACKFILL, timeout=1)


# --- embedded mode: the file every process of the machine shares ----------------------------------


def test_a_new_process_right_after_another_one_respects_the_window_it_used(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Two `rentengine_sync` runs in a row: the second one used to start with an empty budget (429s)."""
    monkeypatch.delenv("REDIS_URL", raising=False)
    monkeypatch.setenv("DJANGO_SETTINGS_MODULE", "dashboard.settings")
    monkeypatch.setenv("LEASING_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("RENTENGINE_RATE_LIMIT", "3")
    monkeypatch.setenv("RENTENGINE_RATE_WINDOW_SECONDS", "0.6")
    results = spawn.Queue()
    ready, go = [spawn.Event(), spawn.Event()], [spawn.Event(), spawn.Event()]
    # Both are started now and only wait for their turn, so the second one's start-up time cannot hide
    # the window; it has touched no limiter state before its turn, as a freshly started process.
    first = spawn.Process(target=_sync_run, args=(3, ready[0], go[0], results))
    second = spawn.Process(target=_sync_run, args=(1, ready[1], go[1], results))
    start_processes(first, second)
    assert all(event.wait(30) for event in ready)
    go[0].set()
    backend, used = results.get(timeout=30)
    first.join(timeout=10)
    assert first.exitcode == 0
    go[1].set()
    _, (after,) = results.get(timeout=30)
    second.join(timeout=10)
    assert after - used[0] >= 0.6  # it waited for the first one's window to pass
    assert most_in_any_window([*used, after], 0.6) <= 3
    assert backend == "file"


def file_limiter(tmp_path: Path, **config: Any) -> Limiter:
    return limiter_create(path=tmp_path / "limiter.json", config=LimiterConfig(**config))


def test_the_file_stays_small(tmp_path: Path) -> None:
    limiter = file_limiter(tmp_path, limit=5, window=0.05)
    for lane in [Lane.BACKFILL, Lane.INCREMENTAL] * 20:
        take(limiter, lane)
    limiter.acquire(Lane.BULK)  # in flight
    size = (tmp_path / "limiter.json").stat().st_size
    saved = json.loads((tmp_path / "limiter.json").read_text())
    assert len(base64.b64decode(saved["done"])) <= 5 * 8  # older entries can no longer decide a grant
    assert len(saved["flying"]) == 1
    assert size < 1500
    assert limiter.state().recent_by_lane == {"interactive": 0, "bulk": 1, "incremental": 20, "backfill": 20}


def test_a_stale_tail_after_the_saved_state_is_ignored(tmp_path: Path) -> None:
    """A process killed between writing a shorter state and truncating the file leaves old bytes behind."""
    limiter = file_limiter(tmp_path, limit=2, window=30)
    take(limiter, Lane.BACKFILL)
    path = tmp_path / "limiter.json"
    path.write_bytes(path.read_bytes() + b'ing","flying":{"x":1}}')
    assert limiter.state().used_in_window == 1


def test_an_unreadable_file_starts_afresh_after_one_window(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    (tmp_path / "limiter.json").write_bytes(b'{"format": 1, "done": [12.5, 13')  # torn by a power loss
    limiter = file_limiter(tmp_path, limit=2, window=0.3)
    assert limiter.state().cooldown_remaining == pytest.approx(0.3, abs=0.05)
    assert "unreadable" in caplog.text
    assert take(limiter, Lane.BACKFILL, timeout=2).waited > 0.1


def test_a_file_written_before_the_machine_restarted_is_started_afresh(tmp_path: Path) -> None:
    limiter = file_limiter(tmp_path, limit=1, window=30)
    take(limiter, Lane.BACKFILL)
    limiter.report_429(retry_after=30)
    path = tmp_path / "limiter.json"
    saved = json.loads(path.read_text())
    path.write_text(json.dumps({**saved, "boot": "another-boot"}))
    current = limiter.state()
    assert (current.used_in_window, current.cooldown_remaining) == (0, 0)


def test_an_unusable_file_is_an_error_never_a_private_budget(tmp_path: Path) -> None:
    (tmp_path / "not-a-dir").write_text("")
    limiter = limiter_create(path=tmp_path / "not-a-dir" / "limiter.json")
    assert isinstance(limiter.backend, FileStore)
    with pytest.raises(LimiterUnavailable, match=r"rate limiter file .* cannot be used"):
        take(limiter, Lane.BACKFILL, timeout=1)
