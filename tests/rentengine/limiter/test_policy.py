"""The rate policy for a budget shared with others: honour Retry-After, pause about a window without
it, slow down only when a run of 429s says our pace is the cause, and recover step by step.

The rules are driven on a store with a hand-moved clock, so every figure is exact."""

from __future__ import annotations

import uuid

import pytest

from integrations.rentengine.limiter import Lane, LimiterConfig
from integrations.rentengine.limiter.stores import MemoryStore


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def store(**config: float) -> tuple[MemoryStore, Clock]:
    clock = Clock()
    return MemoryStore(LimiterConfig(**config), prefix=f"policy:{uuid.uuid4().hex}", clock=clock), clock  # type: ignore[arg-type]


def grant(s: MemoryStore, clock: Clock, n: int = 1, spacing: float = 0.2) -> list[float]:
    """`n` requests, one every `spacing` seconds, each over at once; their grant times."""
    stamps = []
    for _ in range(n):
        slot = uuid.uuid4().hex
        attempt = s.attempt(Lane.BACKFILL, slot, slot)
        assert attempt.granted, attempt
        s.release(slot)
        stamps.append(attempt.at)
        clock.now += spacing
    return stamps


def test_without_retry_after_a_run_of_429s_pauses_about_one_window_and_never_longer() -> None:
    s, clock = store()
    grant(s, clock, 5)
    pauses = []
    for jitter in (0.0, 0.999, 0.5, 0.999, 0.999):  # every request refused: our pace is the cause
        clock.now += 0.5
        pauses.append(s.report_429(None, clock.now, jitter).remaining)
    assert pauses[0] == pytest.approx(3.75)  # 0.75 of the 5 s window
    assert max(pauses) <= 6.25  # a long run: still about a window, never minutes


def test_without_retry_after_a_lone_429_pauses_only_until_the_window_has_room() -> None:
    s, clock = store()
    grant(s, clock, 40, spacing=0.2)  # 5 requests a second, well inside 28 per 5 s
    pause = s.report_429(None, clock.now, 0.0).remaining
    assert pause == pytest.approx(0.375)  # a tenth of the window, less a quarter of jitter
    assert s.state().slowdown == 1


def test_retry_after_is_honoured_exactly() -> None:
    s, clock = store()
    grant(s, clock, 20)
    assert s.report_429(1.0, clock.now).remaining == pytest.approx(1.0)
    clock.now += 1.0
    assert s.attempt(Lane.BACKFILL, "w", "after").granted


def test_a_lone_429_among_many_requests_pauses_but_does_not_slow_down() -> None:
    s, clock = store()
    stamps = grant(s, clock, 40, spacing=0.2)
    report = s.report_429(1.0, stamps[-1])
    assert report.remaining == pytest.approx(1.0)
    assert not report.lowered
    assert s.state().slowdown == 1
    assert s.state().reduction_reason == ""


def test_a_run_of_429s_slows_the_pace_says_why_and_counts_stragglers_as_the_same_episode() -> None:
    s, clock = store()
    stamps = grant(s, clock, 10, spacing=0.3)
    s.report_429(1.0, stamps[7])
    first = s.report_429(1.0, stamps[8])  # 2 of 10 recent requests refused: our pace is the cause
    assert first.lowered
    state = s.state()
    assert state.slowdown == pytest.approx(1.25)
    assert state.effective_rate == pytest.approx(28 / 5 / 1.25, rel=0.05)
    assert state.effective_limit < 28  # smaller bursts, not the same burst over a longer window
    assert state.reduction_reason.startswith(
        "slowed to 269 requests a minute (configured 336): 2 of the last 10 requests got a 429"
    )
    straggler = s.report_429(1.0, stamps[9])  # granted before the slowdown: already in flight
    assert not straggler.lowered
    assert s.state().slowdown == pytest.approx(1.25)


def test_the_pace_recovers_step_by_step_to_the_configured_rate_within_a_minute() -> None:
    s, clock = store()
    for _ in range(12):  # episode after episode (nothing but 429s) until the slowest reading
        clock.now += 0.1
        s.report_429(0.0, clock.now)
    slowest = s.state()
    assert slowest.slowdown == 12
    assert slowest.effective_rate * 60 == pytest.approx(28, rel=0.1)  # never below 28 a minute
    rates = []
    for _ in range(12):
        clock.now += 5
        rates.append(s.state().effective_rate)
    assert rates == sorted(rates)  # additive steps up, never a jump down
    assert rates[-2] == pytest.approx(28 / 5)  # back to the configured rate after 55 s
    assert s.state().reduction_reason == ""


def test_a_slowed_store_never_grants_more_than_its_pace_in_any_window() -> None:
    s, clock = store(limit=10, window=10.0)
    stamps = grant(s, clock, 4, spacing=0.01)
    s.report_429(0.0, stamps[-1])  # 1 of 4 refused: slowed to 10 / 1.25 per 10 s
    state = s.state()
    granted = []
    clock.now += 0.001
    for _ in range(400):
        slot = uuid.uuid4().hex
        if s.attempt(Lane.BACKFILL, slot, slot).granted:
            granted.append(clock.now)
            s.release(slot)
        clock.now += 0.01
    window = state.effective_window
    assert max(sum(1 for t in granted if start <= t < start + window) for start in granted) <= state.effective_limit


def test_recovery_creeps_while_lone_429s_keep_coming_and_runs_once_they_stop() -> None:
    s, clock = store()
    for _ in range(12):
        clock.now += 0.1
        s.report_429(0.0, clock.now)
    clock.now += 31  # six quiet windows: six full steps up, and the run of 429s is no longer recent
    before = s.state().effective_rate
    grant(s, clock, 10, spacing=0.01)
    assert not s.report_429(0.0, clock.now).lowered  # a lone 429 among ten accepted requests
    clock.now += 5
    noisy = s.state().effective_rate
    clock.now += 5
    quiet = s.state().effective_rate
    assert before < noisy < quiet <= 28 / 5
    assert quiet - noisy > 2 * (noisy - before)  # a window with a 429 steps up a quarter of a quiet one
