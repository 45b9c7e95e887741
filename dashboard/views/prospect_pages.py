"""Prospects: the list agents work all day (default "mine + unassigned"), the quick view, and the
prospect page with the merged timeline."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.views.decorators.http import require_GET

from dashboard.display import pills
from dashboard.display.timeline import TIMELINE_FILTERS, prospect_timeline
from dashboard.lists.list_page import Params, day_end, day_start, distinct_values, list_template, query_without
from dashboard.lists.paging import Sort, count_capped, keyset_page
from dashboard.live.row_patches import RowsAsk, live_rows_context, new_count, rows_ask
from dashboard.models import get_for_user_or_404
from dashboard.people.access import account_zone, my_user_id, request_account
from dashboard.people.names import assignee_user_ids, people_in_account, people_names, person_name, with_assignee_ids
from dashboard.views.frame import no_account, render_zoned
from integrations.rentengine import vocabulary
from integrations.rentengine.models import Account, Prospect, ProspectAssignee, Unit

# "Newest" walks the primary key: RentEngine numbers prospects in creation order, and the key is the
# one order a person's prospects can be read in straight from the assignee index (user_id,
# prospect_id), instead of scanning the account's prospects for the few that are theirs.
SORTS = {
    "newest": Sort("id", True, "Newest first"),
    "oldest": Sort("id", False, "Oldest first"),
    "status": Sort("status_changed_at", True, "Latest status change"),
    "follow_up": Sort("next_follow_up", False, "Follow-up due"),
    "name": Sort("name", False, "Name"),
}
SCOPES = {
    "mine_unassigned": "Mine + unassigned",
    "mine": "Mine",
    "unassigned": "Unassigned",
    "all": "Everyone",
}
FAMILY_CHOICES = {
    "open": "Open (not leased or closed)",
    **{f.value: label for f, label in vocabulary.STATUS_FAMILY_LABELS.items()},
}
COUNT_CAP = 1_000
PAGE_SIZE = 50
LIST_COLUMNS = ("name", "status", "unit", "source", "assignee", "follow_up", "created")


def prospect_search(queryset: QuerySet[Prospect], q: str) -> QuerySet[Prospect]:
    """Name, email or phone. Digits search the normalised phone, so any spelling of a number matches."""
    digits = "".join(c for c in q if c.isdigit())
    if len(digits) >= 3 and len(digits) >= len(q.replace(" ", "")) // 2:
        return queryset.filter(phone_digits__contains=digits[-10:])
    if "@" in q:
        return queryset.filter(email__icontains=q)
    return queryset.filter(Q(name__icontains=q) | Q(email__icontains=q))


def assigned_to(user_id: str) -> Exists:
    return Exists(ProspectAssignee.objects.filter(prospect_id=OuterRef("pk"), user_id=user_id))


def anyone_assigned() -> Exists:
    return Exists(ProspectAssignee.objects.filter(prospect_id=OuterRef("pk")))


def unassigned() -> Q:
    # No assignment event ever means nobody is assigned: a plain column test the database checks
    # first, so the assignee subqueries only run (and their hashes only get built) for the rest.
    return Q(assigned_by_event_id__isnull=True) | Q(~anyone_assigned())


def assignee_filter(queryset: QuerySet[Prospect], scope: str, me: str | None) -> QuerySet[Prospect]:
    if scope == "all":
        return queryset
    if scope == "unassigned" or (scope == "mine_unassigned" and me is None):
        return queryset.filter(unassigned())
    if scope == "mine":
        return queryset.filter(assigned_to(me)) if me else queryset.none()
    if scope == "mine_unassigned":
        assert me is not None
        return queryset.filter(Q(assigned_by_event_id__isnull=True) | Q(assigned_to(me)) | ~anyone_assigned())
    return queryset.filter(assigned_to(scope))  # a RentEngine user id


def assignee_options(account: Account) -> list[tuple[str, str]]:
    """People prospects in this account can be assigned to: [(RentEngine user id, name)], one query."""
    return sorted(people_in_account(account.id).items(), key=lambda pair: pair[1].lower())


def prospects_filtered(account: Account, params: Params, me: str | None) -> tuple[QuerySet[Prospect], dict[str, Any]]:
    """The prospects matching the query string, and the filter values to show back in the form."""
    zone = account_zone(account)
    f: dict[str, Any] = {
        "q": params.text("q"),
        "scope": params.data.get("assignee") or "mine_unassigned",
        "family": params.choice("family", FAMILY_CHOICES),
        "status": params.choice("status", vocabulary.LEASING_EVENT_TYPES),
        "source": params.text("source"),
        "unit": params.integer("unit"),
        "created_from": params.day("created_from"),
        "created_to": params.day("created_to"),
        "sort": params.choice("sort", SORTS, "newest"),
    }
    if f["scope"] not in SCOPES:
        try:
            f["scope"] = str(uuid.UUID(f["scope"]))
        except ValueError:
            f["scope"] = "mine_unassigned"
    qs: QuerySet[Prospect] = Prospect.objects.alive().filter(account=account)
    if f["q"]:
        qs = prospect_search(qs, f["q"])
    if f["family"] == "open":
        qs = qs.filter(status_family__in=[fam.value for fam in vocabulary.OPEN_STATUS_FAMILIES])
    elif f["family"]:
        qs = qs.filter(status_family=f["family"])
    if f["status"]:
        qs = qs.filter(status=f["status"])
    if f["source"]:
        qs = qs.filter(source_normalized=f["source"])
    if f["unit"] is not None:
        qs = qs.filter(unit_id=f["unit"])
    if f["created_from"]:
        qs = qs.filter(created_at__gte=day_start(f["created_from"], zone))
    if f["created_to"]:
        qs = qs.filter(created_at__lt=day_end(f["created_to"], zone))
    qs = assignee_filter(qs, f["scope"], me)
    f["active"] = (
        sum(1 for k in ("family", "status", "source", "created_from", "created_to") if f[k])
        + (f["unit"] is not None)
        + (f["scope"] != "mine_unassigned")
    )
    return qs, f


def rows_decorate(prospects: Sequence[Prospect], names: dict[str, str], zone: ZoneInfo) -> None:
    """Attach what each row shows, computed once here rather than by template tags per cell (a list
    page renders hundreds of cells; URLs and dates formatted in Python are several times cheaper)."""
    base, unit_base = reverse("prospects"), reverse("units")
    for p in prospects:
        p.pill = pills.prospect_status_pill(p.status, p.status_family)  # type: ignore[attr-defined]
        p.assignee_names = [person_name(names, u) for u in assignee_user_ids(p)]  # type: ignore[attr-defined]
        p.url = f"{base}{p.id}/"  # type: ignore[attr-defined]
        p.unit_url = f"{unit_base}{p.unit_id}/" if p.unit_id else ""  # type: ignore[attr-defined]
        p.created = pills.moment(p.created_at, zone)  # type: ignore[attr-defined]
        p.follow_up = pills.moment(p.next_follow_up, zone, pills.SHORT_DATETIME)  # type: ignore[attr-defined]


@require_GET
def prospect_list(request: HttpRequest) -> HttpResponse:
    account = request_account(request)
    if account is None:
        return no_account(request, "Prospects")
    params = Params(request.GET)
    me = my_user_id(request)
    qs, filters = prospects_filtered(account, params, me)
    sort = SORTS[filters["sort"]]
    ask = rows_ask(request, Prospect)
    if ask is not None:
        return _live_rows(request, account, ask, qs, sort)
    template = list_template(request, "prospects/list.html")
    rows_only = template.endswith("#rows")
    page = keyset_page(
        with_assignee_ids(qs.select_related("unit").only(*PROSPECT_ROW_FIELDS)),
        sort,
        cursor=params.data.get("after"),
        size=PAGE_SIZE,
    )
    options = [] if rows_only else assignee_options(account)
    known = dict(options)
    missing = {u for p in page.rows for u in assignee_user_ids(p)} - known.keys()
    names = {**known, **people_names(missing)} if missing else known
    zone = account_zone(account)
    rows_decorate(page.rows, names, zone)
    context: dict[str, Any] = {
        "title": "Prospects",
        "account": account,
        "page": page,
        "f": filters,
        "query": query_without(request.GET, "after"),
        "me": me,
        "newest_created": max((p.created_at for p in page.rows if p.created_at), default=None),
    }
    if not rows_only:
        unit = None
        if filters["unit"] is not None:
            # The rows already carry the unit; ask the database only when the page is empty.
            unit = next((p.unit for p in page.rows if p.unit), None) or (
                Unit.objects.filter(account=account, id=filters["unit"]).only("id", "address").first()
            )
        count = None
        if page.is_first:
            # A first page that is not full is the whole answer: no counting query at all. A text
            # search is not counted either: counting substring matches scans (and re-tests) rows.
            count = len(page.rows) if not page.has_next else None if filters["q"] else count_capped(qs, COUNT_CAP)
        context |= {
            "count": count,
            "count_label": pills.count_label(count, COUNT_CAP) if count is not None else "",
            "scopes": SCOPES,
            "assignee_options": options,
            "scope_is_person": filters["scope"] not in SCOPES,
            "families": FAMILY_CHOICES,
            "statuses": pills.statuses_by_family(),
            "sources": pills.source_choices(distinct_values(Prospect, "source_normalized", account_id=account.id)),
            "sorts": SORTS,
            "unit_filter": unit,
        }
    return render_zoned(request, template, context, zone)


def _live_rows(request: HttpRequest, account: Account, ask: RowsAsk, matching: QuerySet[Prospect], sort: Sort) -> HttpResponse:
    """For an open list (live screens): its rows as they are now, deleted ones marked (they stay
    where they are until the agent reloads), and how many new prospects match its filter."""
    rows = list(
        with_assignee_ids(
            Prospect.objects.filter(account=account, pk__in=ask.ids)
            .select_related("unit")
            .only(*PROSPECT_ROW_FIELDS, "deleted_at")
        )
    )
    names = people_names({u for p in rows for u in assignee_user_ids(p)})
    zone = account_zone(account)
    rows_decorate(rows, names, zone)
    for p in rows:
        p.gone = p.deleted_at is not None  # type: ignore[attr-defined]
    new = new_count(ask, matching, sort, Prospect.objects.filter(account=account))
    return render_zoned(request, "prospects/list.html#live_rows", live_rows_context(request, ask, rows, new), zone)


PROSPECT_ROW_FIELDS = (
    "id",
    "account_id",
    "name",
    "email",
    "phone",
    "status",
    "status_family",
    "status_changed_at",
    "source_normalized",
    "next_follow_up",
    "created_at",
    "unit_id",
    "unit__id",
    "unit__address",
)


def _get_prospect_for_user(request: HttpRequest, prospect_id: int) -> Prospect:
    """The prospect if this person may see its account, else 404 (also for tombstoned rows)."""
    # Its assignees ride along (with_assignee_ids): the page and the quick view show them.
    queryset = with_assignee_ids(Prospect.objects.alive().select_related("unit", "account").defer("raw", "unit__raw"))
    return get_for_user_or_404(queryset, request.user, pk=prospect_id)


def _prospect_context(request: HttpRequest, prospect: Prospect, *, size: int) -> dict[str, Any]:
    zone = account_zone(prospect.account)
    only = Params(request.GET).choice("only", TIMELINE_FILTERS)
    assignee_ids = assignee_user_ids(prospect)
    timeline = prospect_timeline(
        prospect, zone=zone, only=only, cursor=request.GET.get("after"), size=size, names_also=assignee_ids
    )
    return {
        "title": prospect.name or f"Prospect {prospect.id}",
        "prospect": prospect,
        "account": prospect.account,
        "pill": pills.prospect_status_pill(prospect.status, prospect.status_family),
        "assignee_names": [person_name(timeline.names, u) for u in assignee_ids],
        "timeline": timeline,
        "only": only,
        "chips": [("", "All")]
        + [(k, pills.TIMELINE_KINDS[k][0]) for k in TIMELINE_FILTERS if k != "problems"]
        + [("problems", "Only problems")],
        "query": query_without(request.GET, "after"),
    }


@require_GET
def prospect_detail(request: HttpRequest, prospect_id: int) -> HttpResponse:
    prospect = _get_prospect_for_user(request, prospect_id)
    context = _prospect_context(request, prospect, size=100)
    htmx = getattr(request, "htmx", None)
    template = "prospects/detail.html"
    if htmx and htmx.target == "timeline":
        template += "#timeline"
    elif htmx and request.GET.get("after"):
        template += "#timeline_page"
    else:
        # The same person enquiring about other units (RentEngine counts a person once per unit).
        context["same_person"] = (
            list(
                Prospect.objects.alive()
                .filter(account_id=prospect.account_id, phone_digits=prospect.phone_digits)
                .exclude(pk=prospect.pk)
                .select_related("unit")
                .only("id", "name", "status", "status_family", "created_at", "unit__id", "unit__address")
                .order_by("-created_at")[:10]
            )
            if prospect.phone_digits
            else []
        )
    return render_zoned(request, template, context, account_zone(prospect.account))


@require_GET
def prospect_quick(request: HttpRequest, prospect_id: int) -> HttpResponse:
    """The side panel: the essentials and the latest few timeline rows, without leaving the list."""
    prospect = _get_prospect_for_user(request, prospect_id)
    context = _prospect_context(request, prospect, size=8)
    return render_zoned(request, "prospects/detail.html#quick", context, account_zone(prospect.account))
