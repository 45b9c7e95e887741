"""The people `make demo` logs in as: a manager (a superuser), and with the simulator running its
accounts and one agent login per simulated user (the manager linked to the token's owner, so
"mine" means something). Safe to run again; `demo_mirror_forget` empties the last run's mirror."""

from __future__ import annotations

import time
from typing import Any

import httpx
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.db import models, transaction

from dashboard.models import AccountGrant, BulkAssignment, TeamMember
from dashboard.raw_sql import tables_empty
from integrations.rentengine import models as rentengine
from integrations.rentengine.models import Account

DEMO_USERNAME = "manager"
DEMO_PASSWORD = "leasing-desk-demo"
API_PATH = "/api/public/v1"


def demo_people_ensure(*, simulator_url: str | None = None) -> TeamMember:
    """Create (or reset) the demo manager, and with `simulator_url` (its /api/public/v1 base URL) the
    simulator's accounts and users."""
    # Fetch before the transaction: waiting on the network must not hold SQLite's write lock.
    people = simulator_people_fetch(simulator_url) if simulator_url else None
    # One hash for everyone: a dozen separate PBKDF2 runs would hold up the demo's start by seconds.
    password = make_password(DEMO_PASSWORD)
    with transaction.atomic():
        manager = _manager_ensure(password)
        if people is not None:
            _simulator_people_apply(manager, people, password)
    return manager


# What one simulator run leaves behind. The simulator is a fresh RentEngine each time it starts (its
# state lives in memory), and rows it creates while running get ids a new run hands out again, to
# other people: the demo forgets the last run's copy. Accounts, people, names given to RentEngine
# users and saved views stay.
RUN_TABLES: tuple[type[models.Model], ...] = (
    rentengine.ProspectAssignee,
    rentengine.Unit,
    rentengine.UnitAvailability,
    rentengine.Prospect,
    rentengine.LeasingEvent,
    rentengine.Showing,
    rentengine.Lockbox,
    rentengine.LockboxEvent,
    rentengine.LockboxInstallation,
    rentengine.Subteam,
    rentengine.PrescreeningTemplate,
    rentengine.MultifamilyProperty,
    rentengine.Floorplan,
    rentengine.SyncState,
    rentengine.SyncRun,
    rentengine.SyncSighting,
    rentengine.SyncMiss,
    rentengine.WebhookDelivery,
    rentengine.OutboxAssignment,
    BulkAssignment,
)


def demo_mirror_forget() -> int:
    """Empty the previous demo run's mirror, sync state, deliveries and jobs; returns rows removed."""
    return tables_empty(RUN_TABLES)  # dependants first (assignees before prospects)


def demo_agent_usernames() -> list[str]:
    """The agents' logins (those linked to a RentEngine user), for the demo banner."""
    members = TeamMember.objects.filter(
        grants__role=TeamMember.Role.AGENT, rentengine_user_id__isnull=False, user__is_active=True
    )
    return sorted(set(members.values_list("user__username", flat=True)))


def simulator_people_fetch(simulator_url: str, *, timeout: float = 60.0) -> dict[str, Any]:
    """The simulator's accounts and users from its control endpoint, waiting while it seeds."""
    root = simulator_url.rstrip("/").removesuffix(API_PATH)
    deadline = time.monotonic() + timeout
    while True:
        try:
            response = httpx.get(f"{root}/_simulator/people", timeout=5)
            if response.status_code == 200:
                return response.json()
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"the RentEngine simulator at {root} did not answer /_simulator/people within {timeout:.0f} s")
        time.sleep(0.5)


def _manager_ensure(password: str) -> TeamMember:
    user_model = get_user_model()
    user, _ = user_model.objects.get_or_create(username=DEMO_USERNAME, defaults={"first_name": "Morgan", "last_name": "Reyes"})
    user.is_staff = True
    user.is_superuser = True
    user.is_active = True
    user.password = password
    user.save()
    member, _ = TeamMember.objects.get_or_create(user=user)
    return member


def _simulator_people_apply(manager: TeamMember, people: dict[str, Any], password: str) -> None:
    accounts = {}
    for row in people["accounts"]:
        account, _ = Account.objects.update_or_create(id=row["id"], defaults={"name": row["name"], "time_zone": row["time_zone"]})
        accounts[str(account.id)] = account
    user_model = get_user_model()
    for row in people["users"]:
        if row["id"] == people.get("owner_user_id"):
            # The token's owner is the demo manager: assignments made through the API are theirs.
            manager.user.first_name, manager.user.last_name = row["first_name"], row["last_name"]
            manager.user.save(update_fields=["first_name", "last_name"])
            _link(manager, row["id"])
            _grant(manager, [accounts[a] for a in row["account_ids"] if a in accounts], TeamMember.Role.MANAGER)
            continue
        user, _ = user_model.objects.get_or_create(username=row["first_name"].lower())
        user.first_name, user.last_name, user.email = row["first_name"], row["last_name"], row.get("email") or ""
        user.is_active = True
        user.password = password
        user.save()
        member, _ = TeamMember.objects.get_or_create(user=user)
        _link(member, row["id"])
        _grant(member, [accounts[a] for a in row["account_ids"] if a in accounts], TeamMember.Role.AGENT)


def _link(member: TeamMember, rentengine_user_id: str) -> None:
    """Give `member` this RentEngine user id, taking it from anyone who had it (the id is unique)."""
    TeamMember.objects.filter(rentengine_user_id=rentengine_user_id).exclude(pk=member.pk).update(rentengine_user_id=None)
    if str(member.rentengine_user_id or "") != rentengine_user_id:
        member.rentengine_user_id = rentengine_user_id
        member.save(update_fields=["rentengine_user_id"])


def _grant(member: TeamMember, accounts: list[Account], role: str) -> None:
    """These accounts, each in this role (the demo's people keep one role everywhere)."""
    member.accounts.set(accounts, through_defaults={"role": role})
    AccountGrant.objects.filter(member=member).update(role=role)
