"""The cast every test draws on, and the switches for real parts (Chromium, worker processes).

Cast: "Maple Leasing" is our account, with a manager (Mia) and two agents (Ari, Bo). "Birch Homes" is
the outsider account with its own agent (Cy), whose data Maple's people must never see.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import uuid
from pathlib import Path

# Before Django and Celery load: pytest-playwright keeps an event loop running in the main thread,
# which Django's async-safety guard would take for async code (test process only, never settings).
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

import pytest
from django.contrib.auth.models import User

from dashboard.models import TeamMember
from integrations.rentengine.models import Account

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-results"

MAPLE_ID = uuid.UUID("6ecca3ec-0000-4000-8000-00000000a001")
BIRCH_ID = uuid.UUID("c26fbfed-0000-4000-8000-00000000b002")


# --- Chromium ------------------------------------------------------------------------------------


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # Browser tests run last: pytest-playwright keeps an event loop running in the main thread from
    # its first test on, and code that bridges to async (ASGI tests, async_to_sync) can't run after it.
    items.sort(key=lambda item: "e2e" in item.keywords)
    if CHROMIUM:
        return
    skip = pytest.mark.skip(reason="Chromium not found: install it with `apt-get install -y chromium` to run browser tests")
    for item in items:
        if "e2e" in item.keywords:
            item.add_marker(skip)


def pytest_report_header(config: pytest.Config) -> str:
    if CHROMIUM:
        return f"browser tests: {CHROMIUM}"
    return "browser tests: SKIPPED, Chromium not found (install it with `apt-get install -y chromium`)"


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict) -> dict:
    # Debian's Chromium, never a downloaded one (`playwright install` needs a CDN we don't have).
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


@pytest.fixture(autouse=True)
def first_sync_forgotten() -> None:
    """Runs write how far each resource's first sync got into the cache (a banner on every screen
    built on it); a test's database is rolled back, the cache is not: start each test without it."""
    from django.core.cache import cache

    from integrations.rentengine.sync.runner import FIRST_SYNC_KEY

    with contextlib.suppress(Exception):  # tests that take Redis away must still start
        cache.delete(FIRST_SYNC_KEY)


@pytest.fixture
def artifacts_dir() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


# --- The cast ------------------------------------------------------------------------------------


@pytest.fixture
def maple(db: None) -> Account:
    return Account.objects.create(id=MAPLE_ID, name="Maple Leasing", time_zone="America/Chicago")


@pytest.fixture
def birch(db: None) -> Account:
    return Account.objects.create(id=BIRCH_ID, name="Birch Homes", time_zone="America/New_York")


def _person(username: str, full_name: str, role: str, accounts: list[Account], rentengine_user_id: str | None = None) -> User:
    first, _, last = full_name.partition(" ")
    user = User.objects.create_user(username=username, password="correct horse battery", first_name=first, last_name=last)
    member = TeamMember.objects.create(user=user, rentengine_user_id=rentengine_user_id)
    member.accounts.set(accounts, through_defaults={"role": role})
    return user


@pytest.fixture
def mia(maple: Account) -> User:
    """Maple's manager."""
    return _person("mia", "Mia Manager", TeamMember.Role.MANAGER, [maple], "1259ef6e-61ee-42cb-b6bd-7fe547569d7c")


@pytest.fixture
def ari(maple: Account) -> User:
    """A Maple agent."""
    return _person("ari", "Ari Agent", TeamMember.Role.AGENT, [maple], "2a1f0c3e-1111-4aaa-8bbb-000000000001")


@pytest.fixture
def bo(maple: Account) -> User:
    """Another Maple agent."""
    return _person("bo", "Bo Agent", TeamMember.Role.AGENT, [maple], "2a1f0c3e-1111-4aaa-8bbb-000000000002")


@pytest.fixture
def cy(birch: Account) -> User:
    """Birch's agent: the outsider."""
    return _person("cy", "Cy Outsider", TeamMember.Role.AGENT, [birch], "3b2e1d4f-2222-4ccc-8ddd-000000000003")


@pytest.fixture
def root(db: None) -> User:
    return User.objects.create_superuser(username="root", password="correct horse battery", email="root@example.com")


@pytest.fixture
def ari_client(client, ari: User):  # type: ignore[no-untyped-def]
    client.force_login(ari)
    return client


@pytest.fixture
def mia_client(client, mia: User):  # type: ignore[no-untyped-def]
    client.force_login(mia)
    return client
