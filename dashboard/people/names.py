"""Names, not uuids: every RentEngine user id on a screen goes through `people_names`.

RentEngine has no users endpoint, so a name comes from, in order: the team member linked to that id
(their Leasing Desk full name), the name a manager gave the RentEngineUser row, or a short stable
label built from the id ("User 1259ef") so the same unknown person reads the same everywhere.
Resolution is batched: collect every id a page shows, then one query for all of them.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any

from django.db import connection, models
from django.db.models import CharField, OuterRef, QuerySet, StringAgg, Subquery, Value
from django.db.models.expressions import RawSQL
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
    member_sql, named_sql = _people_sql()
    marks = ", ".join(["%s"] * len(wanted))
    values = [_uuid_param(u) for u in sorted(wanted)]
    sql = (
        f"{member_sql} WHERE tm.{_q('rentengine_user_id')} IN ({marks})"
        f" UNION ALL {named_sql} WHERE r.{_q('id')} IN ({marks}) AND r.{_q('name')} <> ''"
    )
    found = _ranked(_rows(sql, values + values), keep_unnamed=False)
    return {u: found[u][1] if u in found else user_label(u) for u in wanted}


def person_name(names: dict[str, str], value: Any) -> str:
    """The name for an id already resolved by `people_names`; free text (not a uuid) shows as is."""
    user_id = user_id_normalize(value)
    if user_id is None:
        return str(value or "")
    return names.get(user_id) or user_label(user_id)


def people_in_account(account_id: Any) -> dict[str, str]:
    """{user id: name} for everyone known in an account (team members and ids seen in its data), one query."""
    member_sql, named_sql = _people_sql()
    member_link = TeamMember.accounts.through._meta
    named_link = RentEngineUser.accounts.through._meta
    sql = (
        f"{member_sql} JOIN {_q(member_link.db_table)} ta ON ta.{_q(_column(member_link, 'teammember'))} = tm.{_q('id')}"
        f" WHERE ta.{_q(_column(member_link, 'account'))} = %s AND tm.{_q('rentengine_user_id')} IS NOT NULL"
        f" UNION ALL {named_sql} JOIN {_q(named_link.db_table)} ra ON ra.{_q(_column(named_link, 'rentengineuser'))} = r.{_q('id')}"
        f" WHERE ra.{_q(_column(named_link, 'account'))} = %s"
    )
    account = _uuid_param(account_id)
    found = _ranked(_rows(sql, [account, account]), keep_unnamed=True)
    return {u: text or user_label(u) for u, (_, text) in found.items()}


# --- the SQL behind both (hand-written: the ORM spent ~1.6 ms per call compiling a two-part UNION
# with expressions, four times what the database takes; identifiers come from model metadata) ---


def _q(name: str) -> str:
    return connection.ops.quote_name(name)


def _column(link: Any, field: str) -> str:
    return str(link.get_field(field).column)


def _uuid_param(value: Any) -> Any:
    """A uuid as this database stores it (SQLite: 32 hex digits; PostgreSQL: a uuid)."""
    return models.UUIDField().get_db_prep_value(uuid.UUID(str(value)), connection)


@lru_cache(maxsize=4)
def _people_sql_for(vendor: str) -> tuple[str, str]:
    member, user, named = TeamMember._meta, TeamMember._meta.get_field("user").related_model._meta, RentEngineUser._meta
    member_sql = (  # identifiers only; values are parameters
        f"SELECT tm.{_q('rentengine_user_id')}, COALESCE(u.{_q('first_name')}, '') || ' ' || COALESCE(u.{_q('last_name')}, ''),"  # noqa: S608
        f" u.{_q('username')}, 0 FROM {_q(member.db_table)} tm JOIN {_q(user.db_table)} u ON u.{_q('id')} = tm.{_q('user_id')}"
    )
    named_sql = f"SELECT r.{_q('id')}, r.{_q('name')}, '', 1 FROM {_q(named.db_table)} r"  # noqa: S608 - identifiers only
    return member_sql, named_sql


def _people_sql() -> tuple[str, str]:
    return _people_sql_for(connection.vendor)


def _rows(sql: str, params: list[Any]) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _ranked(rows: Iterable[tuple[Any, ...]], *, keep_unnamed: bool) -> dict[str, tuple[int, str]]:
    """{user id: (rank, name)}: a team member's name (rank 0) wins over a RentEngine user's (1)."""
    found: dict[str, tuple[int, str]] = {}
    for user_id, name, username, rank in rows:
        key = user_id_normalize(user_id)
        if key is None:
            continue
        text = (name or "").strip() or username or ""
        if keep_unnamed:
            if key not in found or (text and (rank < found[key][0] or not found[key][1])):
                found[key] = (rank, text)
        elif text and (key not in found or rank < found[key][0]):
            found[key] = (rank, text)
    return found


def with_assignee_ids(prospects: QuerySet[Prospect]) -> QuerySet[Prospect]:
    """Each prospect's assignees' user ids read in the same query as the prospects (`assignee_ids`:
    "position:user id" pairs, comma-separated, or None when nobody is assigned): a list page needs
    no second query for them. `assignee_user_ids(p)` reads the column back in assignment order (the
    position rides along because SQLite can't order an aggregate).

    On PostgreSQL and SQLite the column is written as SQL (an ORM subquery took 1.3 ms to compile,
    more than the query it saved); the queryset is for reading rows, not for use as a subquery."""
    sql = _ASSIGNEE_IDS_SQL.get(connection.vendor)
    if sql is not None:
        q = connection.ops.quote_name
        link, outer = ProspectAssignee._meta.db_table, Prospect._meta.db_table
        column = sql.format(position=f"a.{q('position')}", user=f"a.{q('user_id')}")
        raw = (  # identifiers only, from model metadata
            f"SELECT {column} FROM {q(link)} a WHERE a.{q('prospect_id')} = {q(outer)}.{q('id')}"  # noqa: S608
        )
        return prospects.annotate(assignee_ids=RawSQL(raw, (), output_field=CharField()))  # noqa: S611 - no values in it
    pair = Concat(Cast("position", CharField()), Value(":"), Cast("user_id", CharField()), output_field=CharField())
    ids = (
        ProspectAssignee.objects.filter(prospect_id=OuterRef("pk"))
        .order_by()
        .values("prospect_id")
        .annotate(ids=StringAgg(pair, Value(",")))
        .values("ids")
    )
    return prospects.annotate(assignee_ids=Subquery(ids, output_field=CharField()))


_ASSIGNEE_IDS_SQL = {
    "postgresql": "string_agg({position}::text || ':' || {user}::text, ',')",
    "sqlite": "group_concat({position} || ':' || {user}, ',')",
}


def assignee_user_ids(prospect: Prospect | Mapping[str, Any]) -> list[str]:
    """The ids `with_assignee_ids` read (into a model or a `.values()` row), in assignment order
    and canonical (SQLite keeps uuids as bare hex)."""
    raw: str | None = prospect.get("assignee_ids") if isinstance(prospect, Mapping) else getattr(prospect, "assignee_ids", None)
    if not raw:
        return []
    pairs = sorted((int(position), user) for position, _, user in (item.partition(":") for item in raw.split(",")))
    return [u for u in (user_id_normalize(user) for _, user in pairs) if u]
