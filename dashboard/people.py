"""Names, not uuids: every RentEngine user id on a screen goes through `people_names`.

RentEngine has no users endpoint, so a name comes from, in order: the team member linked to that id
(their Leasing Desk full name), the name a manager gave the RentEngineUser row, or a short stable
label built from the id ("User 1259ef") so the same unknown person reads the same everywhere.
Resolution is batched: collect every id a page shows, then one query for all of them.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from django.db.models import CharField, IntegerField, OuterRef, QuerySet, StringAgg, Subquery, Value
from django.db.models.functions import Cast, Concat

from dashboard.models import TeamMember
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


def people_names(user_ids: Iterable[Any]) -> dict[str, str]:
    """{canonical user id: display name} for every id given (unknown ids get their label).

    One query: team members and named RentEngine users in a UNION, team members first.
    """
    wanted = {u for u in (user_id_normalize(v) for v in user_ids) if u}
    if not wanted:
        return {}
    members = TeamMember.objects.filter(rentengine_user_id__in=wanted).values_list(
        "rentengine_user_id",
        Concat("user__first_name", Value(" "), "user__last_name", output_field=CharField()),
        "user__username",
        Value(0, output_field=IntegerField()),
    )
    named = (
        RentEngineUser.objects.filter(id__in=wanted)
        .exclude(name="")
        .values_list("id", "name", Value("", output_field=CharField()), Value(1, output_field=IntegerField()))
    )
    found: dict[str, tuple[int, str]] = {}
    for user_id, name, username, rank in members.order_by().union(named.order_by(), all=True).order_by():
        key = str(user_id)
        text = (name or "").strip() or username or ""
        if text and (key not in found or rank < found[key][0]):
            found[key] = (rank, text)
    return {u: found[u][1] if u in found else user_label(u) for u in wanted}


def person_name(names: dict[str, str], value: Any) -> str:
    """The name for an id already resolved by `people_names`; free text (not a uuid) shows as is."""
    user_id = user_id_normalize(value)
    if user_id is None:
        return str(value or "")
    return names.get(user_id) or user_label(user_id)


def people_in_account(account_id: Any) -> dict[str, str]:
    """{user id: name} for everyone known in an account (team members and ids seen in its data), one query."""
    members = TeamMember.objects.filter(accounts=account_id, rentengine_user_id__isnull=False).values_list(
        "rentengine_user_id",
        Concat("user__first_name", Value(" "), "user__last_name", output_field=CharField()),
        "user__username",
        Value(0, output_field=IntegerField()),
    )
    seen = RentEngineUser.objects.filter(accounts=account_id).values_list(
        "id", "name", Value("", output_field=CharField()), Value(1, output_field=IntegerField())
    )
    found: dict[str, tuple[int, str]] = {}
    for user_id, name, username, rank in members.order_by().union(seen.order_by(), all=True).order_by():
        key = str(user_id)
        text = (name or "").strip() or username or ""
        if key not in found or (text and (rank < found[key][0] or not found[key][1])):
            found[key] = (rank, text)
    return {u: text or user_label(u) for u, (_, text) in found.items()}


def with_assignee_ids(prospects: QuerySet[Prospect]) -> QuerySet[Prospect]:
    """Each prospect's assignees' user ids read in the same query as the prospects (`assignee_ids`:
    "position:user id" pairs, comma-separated, or None when nobody is assigned): a list page needs
    no second query for them. `assignee_user_ids(p)` reads the column back in assignment order (the
    position rides along because SQLite can't order an aggregate)."""
    pair = Concat(Cast("position", CharField()), Value(":"), Cast("user_id", CharField()), output_field=CharField())
    ids = (
        ProspectAssignee.objects.filter(prospect_id=OuterRef("pk"))
        .order_by()
        .values("prospect_id")
        .annotate(ids=StringAgg(pair, Value(",")))
        .values("ids")
    )
    return prospects.annotate(assignee_ids=Subquery(ids, output_field=CharField()))


def assignee_user_ids(prospect: Prospect) -> list[str]:
    """The ids `with_assignee_ids` read, in assignment order and canonical (SQLite keeps uuids as
    bare hex)."""
    raw: str | None = getattr(prospect, "assignee_ids", None)
    if not raw:
        return []
    pairs = sorted((int(position), user) for position, _, user in (item.partition(":") for item in raw.split(",")))
    return [u for u in (user_id_normalize(user) for _, user in pairs) if u]
