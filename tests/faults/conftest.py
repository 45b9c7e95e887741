"""The fault suite's common parts: a simulator per module, the real-parts switch, a logged-in manager,
worker environments, and bounded waiting.

Every test here ends with the same four questions (issue 14, item 4): was anything lost, was anything
posted twice, is the mirror equal to RentEngine again, and does /sync/ or the job page tell an
operator what happened.
"""

from __future__ import annotations

import collections
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.core.cache import cache
from django.db import connection
from django.test import Client

from dashboard.celery import app as celery_app
from integrations.rentengine.client import RentEngineClient
from integrations.rentengine.limiter import get_limiter
from integrations.rentengine.models import SyncState
from integrations.rentengine.outbox.tasks import PARALLEL, QUEUED_KEY
from integrations.rentengine.sync import resource_specs, run_start, run_step
from integrations.rentengine.webhooks import tasks as webhook_tasks
from tests.rentengine.outbox.conftest import fast_limiter
from tests.support.pages import element, text_of
from tests.support.simulator import SimulatorHandle, running_simulator

ASSIGN = "Assign to User"
ATTEMPTS = 5  # the client's tries per GET (its default): a fault that outlasts them fails the pass
# Short enough that a dead worker's message comes back within a test; the settings' floor is 5 s.
VISIBILITY_TIMEOUT = 10
PGAPPNAME = "faults-worker"


@pytest.fixture(scope="module")
def sim_server() -> Iterator[SimulatorHandle]:
    # No rate limit: these tests are about outcomes under faults; pacing is the limiter's tests' business.
    with running_simulator(size="small", seed=11, rate_limit="off") as sim:
        yield sim


@pytest.fixture
def sim(sim_server: SimulatorHandle, settings: Any) -> SimulatorHandle:
    sim_server.reset()
    settings.RENTENGINE_BASE_URL = sim_server.base_url
    settings.RENTENGINE_API_TOKEN = sim_server.token
    return sim_server


@pytest.fixture
def real_parts() -> None:
    """Worker tests need what production has: Redis (broker, visibility timeout) and PostgreSQL
    (row locks, advisory locks, pg_terminate_backend). Leaves the shared broker and limiter clean."""
    if not settings.REDIS_URL or connection.vendor != "postgresql":
        pytest.skip("the fault suite's worker tests need Redis and PostgreSQL: set REDIS_URL and DATABASE_URL")
    celery_app.control.purge()
    cache.delete_many([f"{QUEUED_KEY}:{slot}" for slot in range(PARALLEL)])
    webhook_tasks.apply_request_flag_clear()
    get_limiter().backend.clear()


@pytest.fixture
def manager(client: Client, mia: User) -> Client:
    """The Django test client, logged in as Mia (Maple's manager): /sync/ and every job page."""
    client.force_login(mia)
    return client


def worker_env(sim: SimulatorHandle, **extra: str) -> dict[str, str]:
    """What a worker (or beat) needs to talk to this simulator quickly and recover quickly."""
    env = {
        "RENTENGINE_BASE_URL": sim.base_url,
        "RENTENGINE_API_TOKEN": sim.token,
        "CELERY_VISIBILITY_TIMEOUT": str(VISIBILITY_TIMEOUT),
        "RENTENGINE_TIMEOUT_SECONDS": "2",
        "RENTENGINE_CONNECT_TIMEOUT_SECONDS": "1",
        "RENTENGINE_OUTBOX_SETTLE_SECONDS": "2",
        "RENTENGINE_RATE_LIMIT": "500",  # pacing is the benchmark's business; this is about faults
        "PGAPPNAME": PGAPPNAME,  # every connection the process opens is named, for pg_terminate_backend
    }
    env.update(extra)
    return env


def eventually[T](check: Callable[[], T], *, timeout: float, interval: float = 0.25, what: str | Callable[[], str] = "") -> T:
    """Poll until `check()` is truthy and return it; after `timeout` s fail with `what` (a callable is
    asked then, for the state at that moment) and the last value."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            said = what() if callable(what) else what
            raise AssertionError(f"not within {timeout:g} s: {said or check.__doc__ or check} (last: {value!r})")
        time.sleep(interval)


def assign_posts(sim: SimulatorHandle) -> collections.Counter[int]:
    """How many "Assign to User" POSTs the simulator received per prospect, answered or not."""
    counts: collections.Counter[int] = collections.Counter()
    for post in sim.posts():
        body = post["body"] if isinstance(post["body"], dict) else {}
        for event in body.get("events", []):
            if event.get("event_type") == ASSIGN:
                counts[int(event["prospect_id"])] += 1
    return counts


def sync_pass(names: Iterable[str] | None = None, *, full: bool = False) -> dict[str, str]:
    """One pass of each named resource (all by default), as a worker's steps would run it, in this
    process and unpaced; returns each outcome ("done", "failed")."""
    outcomes = {}
    client = RentEngineClient(limiter=fast_limiter(), max_attempts=ATTEMPTS, backoff_base=0.05, backoff_cap=0.2)
    with client:
        for name in names or list(resource_specs()):
            run = run_start(name, full=full)
            outcome = "more"
            while outcome == "more":
                outcome = run_step(name, run, client=client)
            outcomes[name] = outcome
    return outcomes


def sync_rows(client: Client) -> dict[str, str]:
    """What /sync/ says about each resource: the text of its row in the table."""
    response = client.get("/sync/")
    assert response.status_code == 200
    markup = response.content.decode()
    return {name: text_of(element(markup, f"sync-{name}")) for name in resource_specs()}


def synced_since(moment: Any, *, hourly: Iterable[str] = ("availability",)) -> bool:
    """every resource's last pass was ok, and (but for `hourly` ones, not due again so soon) one
    finished after `moment`"""
    states = list(SyncState.objects.all())
    return len(states) == len(resource_specs()) and all(
        s.last_outcome == "ok" and (s.resource in hourly or (s.last_success_at is not None and s.last_success_at > moment))
        for s in states
    )


def no_sync_running() -> bool:
    """no resource has a run in progress (call with beat stopped: nothing starts a new one)"""
    return not SyncState.objects.exclude(run_id=None).exists()
