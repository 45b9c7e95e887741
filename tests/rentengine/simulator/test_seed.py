"""Seeded data: deterministic per seed, sized per issue 3, with the real service's oddities."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

import httpx
import pytest

from integrations.rentengine.simulator.seed import state_seed
from integrations.rentengine.simulator.state import State
from integrations.rentengine.vocabulary import is_pipeline_status
from tests.support.simulator import running_simulator

ANCHOR = datetime(2026, 6, 1, 12, tzinfo=UTC)


def blobs(state: State) -> dict[str, list[bytes]]:
    return {name: [table.blob(row) for row in table.rows] for name, table in state.tables.items()}


@pytest.fixture(scope="module")
def small() -> State:
    return state_seed(seed=7, size="small", anchor=ANCHOR)


def test_the_same_seed_gives_byte_identical_data(small: State) -> None:
    assert blobs(state_seed(seed=7, size="small", anchor=ANCHOR)) == blobs(small)


def test_another_seed_gives_other_data(small: State) -> None:
    other = state_seed(seed=8, size="small", anchor=ANCHOR)
    assert blobs(other)["prospects"] != blobs(small)["prospects"]
    assert (other.users, other.accounts) == (small.users, small.accounts), "the cast is fixed"


def test_two_simulator_processes_with_one_seed_answer_the_same() -> None:
    pages = []
    for _ in range(2):
        with running_simulator(seed=3, anchor="2026-06-01T12:00:00Z") as sim:
            pages.append(
                [
                    httpx.get(f"{sim.base_url}{path}", params={"limit": 100}, headers=sim.headers).content
                    for path in ("/units", "/prospects", "/lockbox_events")
                ]
            )
    assert pages[0] == pages[1]


def test_small_has_about_50_units_and_500_prospects_in_two_accounts(small: State) -> None:
    assert len(small.table("units").rows) == 50
    assert len(small.table("prospects").rows) == 500
    assert len({p["account_id"] for p in small.table("prospects").rows}) == 2
    assert len(small.users) == 12
    assert len(small.table("subteams").rows) == 3


def test_medium_has_the_documented_scale() -> None:
    medium = state_seed(seed=1, size="medium", anchor=ANCHOR)
    counts = {name: len(table.rows) for name, table in medium.tables.items()}
    assert counts["units"] == 500
    assert counts["prospects"] == 10_000
    assert counts["lockboxes"] == 100
    assert counts["lockbox_events"] == 20_000
    assert 2_000 <= counts["showings"] <= 4_000
    assert 15_000 <= counts["leasing_events"] <= 30_000


def test_a_prospects_status_is_its_latest_pipeline_event(small: State) -> None:
    latest: dict[int, dict] = {}
    for event in small.table("leasing_events").rows:
        if is_pipeline_status(event["event_type"]) and not event["deleted"]:
            latest[event["prospect_id"]] = event
    for prospect in small.table("prospects").rows:
        event = latest[prospect["id"]]
        assert prospect["status"] == event["event_type"]
        assert prospect["updated_at"] == event["created_at"]


def test_the_data_has_the_real_oddities(small: State) -> None:
    prospects = small.table("prospects").rows
    phones = Counter(p["phone"] for p in prospects if p["phone"])
    assert any(n > 1 for n in phones.values()), "one person asking about several units"
    assert any(p["email"] is None for p in prospects)
    assert any(any(ord(c) > 127 for c in p["name"]) for p in prospects)
    sources = {p["source"] for p in prospects}
    assert {"Zillow"} <= sources
    assert len(sources) > 8
    units = Counter(u["status"] for u in small.table("units").rows)
    assert units["Leased"] > sum(units.values()) / 2
    for table in ("prospects", "leasing_events", "lockbox_events"):
        same_moment = Counter(row["created_at"] for row in small.table(table).rows)
        assert max(same_moment.values()) <= 2, "a pager sliding created_after must always move on"
    ids = [(p["created_at"], p["id"]) for p in prospects]
    assert ids == sorted(ids)
    assert all(p["created_at"] <= "2026-06-01T12:00:00.000000Z" for p in prospects)
