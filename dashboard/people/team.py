"""The team: who uses Leasing Desk with which role and accounts (managers edit, within the accounts
they hold themselves), the RentEngine user ids seen in the data and the names managers give them,
the subteams, and each person's workload."""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from dashboard.cached_counts import counted
from dashboard.models import AccountGrant, PersonName, TeamMember, accounts_managed, user_is_manager
from dashboard.people.access import account_zone, day_end, day_start
from dashboard.people.names import people_in_account, people_names, user_id_normalize
from integrations.rentengine import vocabulary
from integrations.rentengine.models import Account, ProspectAssignee, RentEngineUser, Showing, Subteam, Unit

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser, User

NAME_MAX = 200


class TeamEditRefused(Exception):
    """Why an edit was not made, in words for the manager; `forbidden` for a forged request."""

    def __init__(self, message: str, *, forbidden: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.forbidden = forbidden


# --- who a manager may edit -----------------------------------------------------------------------


def users_on_account(account: Account) -> QuerySet[Any]:
    """Dashboard users granted this account, with their team-member row."""
    return (
        get_user_model()
        .objects.filter(team_member__accounts=account, is_active=True)
        .select_related("team_member")
        .prefetch_related("team_member__accounts")
        .order_by("first_name", "last_name", "username")
    )


def users_waiting(by: User | AnonymousUser) -> QuerySet[Any]:
    """People who can log in but hold no account yet: a manager lets them in from the team page."""
    if not user_is_manager(by):
        return get_user_model().objects.none()
    return (
        get_user_model()
        .objects.filter(is_active=True, is_superuser=False)
        .filter(Q(team_member__isnull=True) | Q(team_member__accounts__isnull=True))
        .select_related("team_member")
        .order_by("username")
        .distinct()
    )


def user_editable_by(by: User | AnonymousUser, user_id: int) -> Any:
    """The user `by` may edit, or TeamEditRefused(forbidden) (the view answers 404: not even
    whether the user exists)."""
    if not user_is_manager(by):
        raise TeamEditRefused("Only managers can change the team.", forbidden=True)
    users = get_user_model().objects.filter(pk=user_id, is_active=True)
    if not by.is_superuser:
        mine = accounts_managed(by)
        users = users.filter(is_superuser=False).filter(
            Q(team_member__accounts__in=mine) | Q(team_member__isnull=True) | Q(team_member__accounts__isnull=True)
        )
    user = users.select_related("team_member").distinct().first()
    if user is None:
        raise TeamEditRefused("No such person on your team.", forbidden=True)
    return user


@transaction.atomic
def member_update(
    *, by: User, user: Any, account: Account, role: str, rentengine_user_id: str, account_ids: list[str]
) -> TeamMember:
    """Set a person's role in `account`, their RentEngine user id and their accounts, within what `by`
    manages (accounts granted here start as agent; a role is set account by account)."""
    if not user_is_manager(by, account):
        raise TeamEditRefused("Only a manager of this account can change its team.", forbidden=True)
    member, _ = TeamMember.objects.select_for_update().get_or_create(user=user)
    if role not in TeamMember.Role.values:
        raise TeamEditRefused("Pick a role: manager or agent.")
    if user.pk == by.pk and role != member.role_in(account.pk) and not by.is_superuser:
        raise TeamEditRefused("You can't change your own role; ask another manager.")
    linked: uuid.UUID | None = None
    if rentengine_user_id.strip():
        normal = user_id_normalize(rentengine_user_id)
        if normal is None:
            raise TeamEditRefused("A RentEngine user id looks like 1259ef6e-61ee-42cb-b6bd-7fe547569d7c.")
        linked = uuid.UUID(normal)
        taken = TeamMember.objects.filter(rentengine_user_id=linked).exclude(pk=member.pk).first()
        if taken is not None:
            raise TeamEditRefused(f"That RentEngine user id is already {taken.display_name}'s.")
    grantable = {str(a) for a in accounts_managed(by).values_list("id", flat=True)}
    wanted = {a for a in account_ids if a in grantable}
    kept = {str(a) for a in member.accounts.values_list("id", flat=True)} - grantable
    member.rentengine_user_id = linked
    try:
        with transaction.atomic():
            member.save(update_fields=["rentengine_user_id"])
    except IntegrityError:  # another manager linked the same id a moment ago
        raise TeamEditRefused("That RentEngine user id is already someone else's.") from None
    member.accounts.set(list(Account.objects.filter(id__in=wanted | kept)), through_defaults={"role": TeamMember.Role.AGENT})
    AccountGrant.objects.filter(member=member, account=account).update(role=role)
    return member


def person_name_set(*, account: Account, user_id: str, name: str) -> bool:
    """Name a RentEngine user id seen in this account's data, for this account only. False when the
    id isn't seen here. An empty name forgets the one given."""
    normal = user_id_normalize(user_id)
    if normal is None or not RentEngineUser.objects.filter(id=normal, accounts=account).exists():
        return False
    text = " ".join(name.split())[:NAME_MAX]
    if text:
        PersonName.objects.update_or_create(account=account, user_id=normal, defaults={"name": text})
    else:
        PersonName.objects.filter(account=account, user_id=normal).delete()
    return True


# --- who is who -----------------------------------------------------------------------------------


@dataclass
class Person:
    """Someone prospects in this account can be assigned to, with their load."""

    user_id: str
    name: str
    member: TeamMember | None  # their Leasing Desk login, if they have one
    given_name: str  # the name a manager gave the RentEngine id in this account ("" when none)
    role: str = ""  # their role in this account, when they have a login
    open_prospects: int = 0
    showings_today: int = 0
    overdue: int = 0


# --- workload: the assign dialog's column and the team page ---------------------------------------


@dataclass(frozen=True)
class Candidate:
    user_id: str
    name: str
    open_prospects: int
    showings_today: int
    is_me: bool = False


def candidates_with_workload(account: Account, *, me: str | None = None, now: datetime | None = None) -> list[Candidate]:
    """Everyone assignable in the account with their load: open prospects assigned to them and
    showings today (in the account's time zone). Three queries, whatever the team's size."""
    people = people_in_account(account.id)
    open_families = [f.value for f in vocabulary.OPEN_STATUS_FAMILIES]
    open_counts = {
        str(user_id): n
        for user_id, n in ProspectAssignee.objects.filter(
            prospect__account=account, prospect__deleted_at__isnull=True, prospect__status_family__in=open_families
        )
        .values("user_id")
        .annotate(n=Count("prospect_id"))
        .values_list("user_id", "n")
        .order_by()
    }
    zone = account_zone(account)
    today = (now or timezone.now()).astimezone(zone).date()
    showings: dict[str, int] = defaultdict(int)
    for agent, n in (
        Showing.objects.alive()
        .filter(account=account, planned_at__gte=day_start(today, zone), planned_at__lt=day_end(today, zone))
        .values("agent_name")
        .annotate(n=Count("id"))
        .values_list("agent_name", "n")
        .order_by()
    ):
        showings[(agent or "").strip().lower()] += n
    linked = {
        str(u)
        for u in TeamMember.objects.filter(rentengine_user_id__in=people.keys()).values_list("rentengine_user_id", flat=True)
    }
    found = [
        Candidate(
            user_id=uid,
            name=name,
            open_prospects=open_counts.get(uid, 0),
            showings_today=showings.get(name.strip().lower(), 0),
            is_me=uid == me,
        )
        for uid, name in people.items()
    ]
    # Team members (people who use Leasing Desk) first, then everyone else RentEngine knows.
    return sorted(found, key=lambda c: (c.user_id not in linked, c.name.lower()))


@dataclass
class Workload:
    open_prospects: int
    showings_today: int
    overdue: int


def team_workload(account: Account, *, now: datetime | None = None) -> dict[str, Workload]:
    """{RentEngine user id: open prospects, showings today, overdue follow-ups}, for everyone in the
    account; recounted only when prospects or showings change (or every few minutes, since
    "overdue" and "today" move with the clock)."""
    now = now or timezone.now()

    def count() -> dict[str, Workload]:
        overdue = {
            str(user_id): n
            for user_id, n in ProspectAssignee.objects.filter(
                prospect__account=account,
                prospect__deleted_at__isnull=True,
                prospect__status_family__in=[f.value for f in vocabulary.OPEN_STATUS_FAMILIES],
                prospect__next_follow_up__lt=now,
            )
            .values_list("user_id")
            .annotate(n=Count("prospect_id"))
            .order_by()
        }
        return {
            c.user_id: Workload(c.open_prospects, c.showings_today, overdue.get(c.user_id, 0))
            for c in candidates_with_workload(account, now=now)
        }

    bucket = now.replace(second=0, microsecond=0, minute=now.minute - now.minute % 5).isoformat()
    return counted("workload", scopes=[f"prospects:{account.id}", f"showings:{account.id}"], compute=count, extra=bucket)


def people_of_account(account: Account, *, now: datetime | None = None) -> list[Person]:
    """Everyone known in the account: team members on it and every RentEngine id seen in its data."""
    members = {
        str(m.rentengine_user_id): m
        for m in TeamMember.objects.filter(accounts=account, rentengine_user_id__isnull=False).select_related("user")
    }
    roles = dict(AccountGrant.objects.filter(account=account).values_list("member_id", "role"))
    seen = RentEngineUser.objects.filter(accounts=account).values_list("id", flat=True)
    ids = set(members) | {str(u) for u in seen}
    names = people_names(ids, account_id=account.pk)
    load = team_workload(account, now=now)
    given = {str(u): n for u, n in PersonName.objects.filter(account=account).values_list("user_id", "name")}
    people = []
    for user_id in ids:
        work = load.get(user_id) or Workload(0, 0, 0)
        people.append(
            Person(
                user_id=user_id,
                name=names.get(user_id, ""),
                member=members.get(user_id),
                given_name=given.get(user_id, ""),
                role=roles.get(members[user_id].pk, "") if user_id in members else "",
                open_prospects=work.open_prospects,
                showings_today=work.showings_today,
                overdue=work.overdue,
            )
        )
    return sorted(people, key=lambda p: (p.member is None, p.name.lower(), p.user_id))


@dataclass
class SubteamRow:
    subteam: Subteam
    member_names: list[tuple[str, str]]  # (user id, name)
    units: int


def subteams_of_account(account: Account) -> list[SubteamRow]:
    subteams = list(Subteam.objects.alive().filter(account=account).only("id", "name", "user_ids").order_by("name", "id"))
    user_ids = {str(u) for s in subteams for u in (s.user_ids or [])}
    names = people_names(user_ids, account_id=account.pk)
    units = dict(
        Unit.objects.alive()
        .filter(account=account, subteam_id__in=[s.id for s in subteams])
        .values_list("subteam_id")
        .annotate(n=Count("id"))
        .order_by()
    )
    rows = []
    for s in subteams:
        member_ids = [u for u in (user_id_normalize(v) for v in (s.user_ids or [])) if u]
        rows.append(SubteamRow(s, [(u, names.get(u, u)) for u in member_ids], units.get(s.id, 0)))
    return rows


@dataclass
class UserRow:
    """One Leasing Desk login as the team page shows it to someone: only the accounts the viewer
    holds, and (for a manager) the RentEngine ids it may be linked to."""

    user: Any
    member: TeamMember | None
    accounts: list[Account]
    linked: str  # "" when not linked
    linked_name: str
    id_options: list[tuple[str, str]]
    role: str = ""  # in the page's account ("" when not granted it)
    waiting: bool = False


def user_rows(
    users: list[Any], *, account: Account, viewer_accounts: list[Account], people: list[Person], waiting: bool = False
) -> list[UserRow]:
    visible = {a.id for a in viewer_accounts}
    roles = dict(AccountGrant.objects.filter(account=account, member__user__in=users).values_list("member__user_id", "role"))
    free = [(p.user_id, p.name) for p in people if p.member is None]
    linked_ids = [
        str(u.team_member.rentengine_user_id) for u in users if hasattr(u, "team_member") and u.team_member.rentengine_user_id
    ]
    names = people_names(linked_ids, account_id=account.pk)
    rows = []
    for u in users:
        member: TeamMember | None = getattr(u, "team_member", None)
        linked = str(member.rentengine_user_id) if member and member.rentengine_user_id else ""
        options = ([(linked, names.get(linked, linked))] if linked else []) + free
        rows.append(
            UserRow(
                user=u,
                member=member,
                accounts=[a for a in member.accounts.all() if a.id in visible] if member else [],
                linked=linked,
                linked_name=names.get(linked, "") if linked else "",
                id_options=options,
                role=roles.get(u.pk, ""),
                waiting=waiting,
            )
        )
    return rows
