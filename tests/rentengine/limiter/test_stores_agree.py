"""The three stores run one set of rules: the same calls at the same clock readings get the same answers."""

from __future__ import annotations

import dataclasses
import os
import uuid
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from integrations.rentengine.limiter import Lane, LimiterConfig
from integrations.rentengine.limiter.stores import FileStore, MemoryStore, RedisStore, Store

REDIS_URL = os.environ.get("REDIS_URL", "")
CONFIG = LimiterConfig(limit=3, window=1.0, waiter_ttl=0.5, max_sleep=0.2, share_horizon=3.0, hold=2.0)

lanes = st.sampled_from(list(Lane))
steps = st.lists(
    st.one_of(
        st.tuples(st.just("attempt"), lanes, st.integers(0, 3)),
        st.tuples(st.just("release"), st.integers(0, 20)),
        st.tuples(st.just("unregister"), lanes, st.integers(0, 3)),
        st.tuples(
            st.just("429"), st.one_of(st.none(), st.floats(0, 3)), st.one_of(st.none(), st.floats(0, 2)), st.floats(0, 0.999)
        ),
        st.tuples(st.just("advance"), st.floats(0.001, 1.5)),
        st.tuples(st.just("state")),
    ),
    max_size=40,
)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def run(store: Store, clock: Clock, script: list[tuple[Any, ...]]) -> list[Any]:
    answers: list[Any] = []
    granted: list[str] = []
    for step in script:
        kind = step[0]
        if kind == "attempt":
            slot = f"slot-{len(granted)}"
            attempt = store.attempt(step[1], f"waiter-{step[2]}", slot)
            if attempt.granted:
                granted.append(slot)
            answers.append(attempt)
        elif kind == "release" and granted:
            store.release(granted[step[1] % len(granted)])
        elif kind == "unregister":
            store.unregister(step[1], f"waiter-{step[2]}")
        elif kind == "429":
            granted_at = None if step[2] is None else clock.now - step[2]
            answers.append(store.report_429(step[1], granted_at, step[3]))
        elif kind == "advance":
            clock.now += step[1]
        elif kind == "state":
            answers.append(dataclasses.replace(store.state(), backend=""))
    answers.append(dataclasses.replace(store.state(), backend=""))
    return answers


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(script=steps)
def test_memory_file_and_redis_stores_decide_alike(script: list[tuple[Any, ...]], tmp_path: Path) -> None:
    stores: list[tuple[Store, Clock]] = []
    memory_clock, file_clock, redis_clock = Clock(), Clock(), Clock()
    stores.append((MemoryStore(CONFIG, prefix=f"agree:{uuid.uuid4().hex}", clock=memory_clock), memory_clock))
    stores.append((FileStore(tmp_path / f"{uuid.uuid4().hex}.json", CONFIG, clock=file_clock), file_clock))
    if REDIS_URL:
        stores.append((RedisStore(REDIS_URL, CONFIG, prefix=f"agree:{uuid.uuid4().hex}:", clock=redis_clock), redis_clock))
    results = [run(store, clock, script) for store, clock in stores]
    for other in results[1:]:
        assert other == results[0]


@pytest.mark.skipif(not REDIS_URL, reason="REDIS_URL is not set")
def test_the_redis_store_never_lets_its_clock_run_backwards() -> None:
    clock = Clock()
    store = RedisStore(REDIS_URL, CONFIG, prefix=f"agree:{uuid.uuid4().hex}:", clock=clock)
    assert store.attempt(Lane.BULK, "w", "a").at == 1000.0
    clock.now = 990.0  # another host's clock, ten seconds behind
    assert store.attempt(Lane.BULK, "w", "b").at == 1000.0
