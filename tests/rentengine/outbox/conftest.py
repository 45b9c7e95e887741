"""Bulk assignment against the simulator: its prospects and events copied into the mirror through the
real client, the cast's people (Mia, Ari, Bo share the simulator's user ids), and a drain helper that
runs the outbox in this process the way a worker would."""

from __future__ import annotations

import collections
from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.auth.models import User

from dashboard import bulk_assignment
from dashboard.models import BulkAssignment
from integrations.rentengine import mirror, outbox
from integrations.rentengine.client import RentEngineClient
from integrations.rentengine.limiter import Limiter, LimiterConfig, limiter_create
from integrations.rentengine.models import Account, OutboxAssignment, Prospect
from integrations.rentengine.outbox.reconcile import REFERENCE
from tests.dashboard.conftest import fast_passwords, world
from tests.support.simulator import SimulatorHandle, running_simulator

__all__ = ["fast_passwords", "world"]

MAPLE = "6ecca3ec-0000-4000-8000-00000000a001"
MIA_ID = "1259ef6e-61ee-42cb-b6bd-7fe547569d7c"
ARI_ID = "2a1f0c3e-1111-4aaa-8bbb-000000000001"
BO_ID = "2a1f0c3e-1111-4aaa-8bbb-000000000002"


@pytest.fixture(scope="module")
def sim_server() -> Iterator[SimulatorHandle]:
    # No rate limit: these tests are about outcomes; 429s come from injected faults, and pacing is
    # the limiter's tests' business (and the benchmark's).
    with running_simulator(size="small", seed=7, rate_limit="off") as sim:
        yield sim


@pytest.fixture
def sim(sim_server: SimulatorHandle) -> SimulatorHandle:
    sim_server.reset()
    return sim_server


def fast_limiter(limit: int = 1000, window: float = 1.0) -> Limiter:
    """A private limiter: these tests are about outcomes, not pacing (the simulator still counts)."""
    return limiter_create(config=LimiterConfig(limit=limit, window=window))


def sim_client(sim: SimulatorHandle, *, limiter: Limiter | None = None, timeout: float | None = None) -> RentEngineClient:
    import httpx

    kwargs: dict[str, Any] = {}
    if timeout is not None:
        kwargs["timeout"] = httpx.Timeout(connect=2.0, read=timeout, write=2.0, pool=2.0)
    return RentEngineClient(base_url=sim.base_url, token=sim.token, limiter=limiter or fast_limiter(), **kwargs)


def mirror_fill(sim: SimulatorHandle) -> None:
    """Prospects and leasing events as a sync would leave them."""
    with sim_client(sim) as client:
        for page in client.prospects():
            mirror.prospects_apply(page.records)
        for page in client.leasing_events():
            mirror.leasing_events_apply(page.records)


@pytest.fixture
def filled(sim: SimulatorHandle, maple: Account, birch: Account, mia: User, ari: User, bo: User, cy: User) -> SimulatorHandle:
    mirror_fill(sim)
    return sim


@pytest.fixture
def fast_settle(settings: Any) -> None:
    settings.RENTENGINE_OUTBOX_SETTLE_SECONDS = 0.3


def drain(
    sim: SimulatorHandle, *, budget: float = 60.0, limiter: Limiter | None = None, timeout: float | None = None
) -> outbox.DrainReport:
    with sim_client(sim, limiter=limiter, timeout=timeout) as client:
        return outbox.outbox_drain(client, budget=budget, idle_poll=0.05)


def maple_prospects(n: int, *, exclude_assigned_to: str | None = None, distinct_phones: bool = True) -> list[int]:
    """The first n live Maple prospects (optionally not already assigned to someone, one per phone)."""
    qs = Prospect.objects.alive().filter(account_id=MAPLE).order_by("id")
    if exclude_assigned_to:
        qs = qs.exclude(assignees__user_id=exclude_assigned_to)
    chosen, phones = [], set()
    for pid, phone in qs.values_list("id", "phone_digits"):
        if distinct_phones and phone in phones:
            continue
        phones.add(phone)
        chosen.append(pid)
        if len(chosen) == n:
            break
    return chosen


def phone_group(*, at_least: int, exclude_assigned_to: str) -> list[int]:
    """Maple prospects sharing one phone (the same person asking about several units), none of them
    already assigned to that user."""
    by_phone: dict[str, list[int]] = collections.defaultdict(list)
    qs = (
        Prospect.objects.alive().filter(account_id=MAPLE).exclude(phone_digits="").exclude(assignees__user_id=exclude_assigned_to)
    )
    for pid, phone in qs.order_by("id").values_list("id", "phone_digits"):
        by_phone[phone].append(pid)
    every = Prospect.objects.alive().filter(account_id=MAPLE)
    for phone, ids in by_phone.items():
        if len(ids) >= at_least and every.filter(phone_digits=phone).count() == len(ids):
            return ids
    raise AssertionError(f"no phone shared by {at_least} unassigned prospects in the seeded data")


def job_for(user: User, prospect_ids: list[int], user_ids: list[str], **options: Any) -> BulkAssignment:
    return bulk_assignment.assignment_create(
        account=Account.objects.get(pk=MAPLE), by=user, prospect_ids=prospect_ids, user_ids=user_ids, **options
    )


def states(job: BulkAssignment) -> dict[str, int]:
    return dict(collections.Counter(OutboxAssignment.objects.filter(job_id=job.pk).values_list("state", flat=True)))


def went_through(job: BulkAssignment, what: str) -> list[OutboxAssignment]:
    """The job's rows whose log shows this step (e.g. "unknown")."""
    return [r for r in OutboxAssignment.objects.filter(job_id=job.pk).order_by("id") if any(e["what"] == what for e in r.log)]


def committed_posts(sim: SimulatorHandle) -> list[dict[str, Any]]:
    """POSTs RentEngine acted on: answered 2xx, or dropped after committing."""
    return [
        p
        for p in sim.posts()
        if (p["status"] and 200 <= p["status"] < 300) or p["fault"] in ("drop_after_commit", "delay_after_commit")
    ]


def duplicates(sim: SimulatorHandle) -> dict[str, int]:
    """References RentEngine acted on more than once (0 is the promise)."""
    refs = collections.Counter(REFERENCE.search(p["body"]["events"][0].get("notes", "")).group(0) for p in committed_posts(sim))
    return {ref: n for ref, n in refs.items() if n > 1}


def sim_assignees(sim: SimulatorHandle) -> dict[int, set[str]]:
    return {p["id"]: set(p["assigned_user_ids"]) for p in sim.state("prospects")["prospects"]}
