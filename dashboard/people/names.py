"""Names, not uuids: every RentEngine user id on a screen goes through `people_names`, batched (one
query a page). RentEngine has no users endpoint, so a name is the linked team member's, else the
one a manager of the page's account gave the id there, else a short stable label ("User 1259ef")."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from django.db.models import CharField, IntegerField, OuterRef, QuerySet, StringAgg, Subquery, Value
from django.db.models.functions import Cast, Concat

from dashboard.models import PersonName, TeamMember
from integrations.rentengine.models import Prospect, ProspectAssignee, RentEngineUser


def user_id_normalize(value: Any) -> str | None:
    """A RentEngine user id in canonical form, or None when the value is not a uuid."""
    if value is None or value == "":
        return None
    try:
        return str(uuid.UUID(str(value).strip()))
    except ValueError:
        return None


def user_label(user_id: str) -> str:
    """The stand-in for a person nobody has named yet: short, stable, never the whole uuid."""
    return f"User {user_id.replace('-', '')[:6]}"


def people_names(user_ids: Iterable[Any], *, account_id: Any) -> dict[str, str]:
    """{canonical user id: display name} as people of this account see them (unknown ids get their label), one query."""
    wanted = {u for u in (user_id_normalize(v) for v in user_ids) if u}
    if not wanted:
        return {}
    rows = _people_rows(
        TeamMember.objects.filter(rentengine_user_id__in=wanted),
        PersonName.objects.filter(account_id=account_id, user_id__in=wanted),
    )
    found = _ranked(rows, keep_unnamed=False)
    return {u: found[u][1] if u in found else user_label(u) for u in wanted}


def person_name(names: dict[str, str], value: Any) -> str:
    """The name for an id already resolved by `people_names`; free text (not a uuid) shows as is."""
    user_id = user_id_normalize(value)
    if user_id is None:
        return str(value or "")
    return names.get(user_id) or user_label(user_id)


def people_in_account(account_id: Any) -> dict[str, str]:
    """{user id: name} for everyone known in an account (team members, ids named there, ids seen in its data), one query."""
    rows = _people_rows(
        TeamMember.objects.filter(accounts=account_id, rentengine_user_id__isnull=False),
        PersonName.objects.filter(account_id=account_id),
        RentEngineUser.objects.filter(accounts=account_id),
    )
    found = _ranked(rows, keep_unnamed=True)
    return {u: text or user_label(u) for u, (_, text) in found.items()}


def _people_rows(
    members: QuerySet[TeamMember], named: QuerySet[PersonName], seen: QuerySet[RentEngineUser] | None = None
) -> list[tuple[Any, ...]]:
    """(user id, first name, last name, username, rank) of team members (rank 0), names given in an
    account (rank 1, as the first name) and, when asked, ids merely seen (rank 2, no name), in one query."""
    zero, one, two, blank = (
        Value(0, output_field=IntegerField()),
        Value(1, output_field=IntegerField()),
        Value(2, output_field=IntegerField()),
        Value("", output_field=CharField()),
    )
    member_rows = members.order_by().values_list(
        "rentengine_user_id", "user__first_name", "user__last_name", "user__username", zero
    )
    others: list[QuerySet[Any]] = [named.order_by().values_list("user_id", "name", blank, blank, one)]
    if seen is not None:
        others.append(seen.order_by().values_list("id", blank, blank, blank, two))
    # One compound statement: SQLite refuses a union nested inside another.
    return list(member_rows.union(*others, all=True))


def _ranked(rows: Iterable[tuple[Any, ...]], *, keep_unnamed: bool) -> dict[str, tuple[int, str]]:
    """{user id: (rank, name)}: a team member's name (rank 0) wins over a RentEngine user's (1)."""
    found: dict[str, tuple[int, str]] = {}
    for user_id, first, last, username, rank in rows:
        key = user_id_normalize(user_id)
        if key is None:
            continue
        text = f"{first or ''} {last or ''}".strip() or username or ""
        if keep_unnamed:
            if key not in found or (text and (rank < found[key][0] or not found[key][1])):
                found[key] = (rank, text)
        elif text and (key not in found or rank < found[key][0]):
            found[key] = (rank, text)
    return found


def with_assignee_ids(prospects: QuerySet[Prospect]) -> QuerySet[Prospect]:
    """Each prospect's assignees read in the same query as the prospects (`assignee_ids`:
    "position:user id" pairs, comma-separated, or None when nobody is assigned): a list page needs
    no second query for them. `assignee_user_ids` reads the column back in assignment order (the
    position rides along: SQLite's group_concat takes no ORDER BY)."""
    pair = Concat(Cast("position", CharField()), Value(":"), Cast("user_id", CharField()), output_field=CharField())
    ids = (
        ProspectAssignee.objects.filter(prospect_id=OuterRef("pk"))
        .order_by()
        .values("prospect_id")
        .annotate(ids=StringAgg(pair, Value(",")))
        .values("ids")
    )
    return prospects.annotate(assignee_ids=Subquery(ids, output_field=CharField()))


def assignee_user_ids(prospect: Prospect | Mapping[str, Any]) -> list[str]:
    """The ids `with_assignee_ids` read (into a model or a `.values()` row), in assignment order
    and canonical (SQLite keeps uuids as bare hex)."""
    raw: str | None = prospect.get("assignee_ids") if isinstance(prospect, Mapping) else getattr(prospect, "assignee_ids", None)
    if not raw:
        return []
    pairs = sorted((int(position), user) for position, _, user in (item.partition(":") for item in raw.split(",")))
    return [u for u in (user_id_normalize(user) for _, user in pairs) if u]
