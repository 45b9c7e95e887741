"""Prospects: the list agents work all day (default "mine + unassigned"), the quick view, and the
prospect page with the merged timeline."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET

from dashboard.display import pills
from dashboard.display.links import link
from dashboard.display.moments import SHORT_DATETIME, moment
from dashboard.display.row_models import ProspectRow
from dashboard.lists.filtering import CursorField, OneOfField
from dashboard.lists.filters import ProspectFilter
from dashboard.lists.list_page import list_page, query_without
from dashboard.lists.prospect_timeline import TIMELINE_FILTERS, prospect_timeline
from dashboard.live.row_patches import RowsAsk, live_rows_context, new_count, rows_ask
from dashboard.models import get_for_user_or_404
from dashboard.people.access import account_zone, my_user_id, request_account
from dashboard.people.names import assignee_user_ids, people_in_account, people_names, person_name, with_assignee_ids
from dashboard.raw_sql import distinct_values
from dashboard.views.frame import no_account, render_zoned
from integrations.rentengine.models import Account, Prospect, Unit

PAGE_SIZE = 50
# What a row shows (and the sorts read), read as plain values: no model instances for 50 rows.
PROSPECT_ROW_FIELDS = (
    "id",
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
    "unit__id",  # None when the mirror doesn't hold the unit (yet)
    "unit__address",
)


def assignee_options(account: Account) -> list[tuple[str, str]]:
    """People prospects in this account can be assigned to: [(RentEngine user id, name)], one query."""
    return sorted(people_in_account(account.id).items(), key=lambda pair: pair[1].lower())


def prospect_row(p: dict[str, Any], names: dict[str, str], zone: ZoneInfo, *, gone: bool = False) -> ProspectRow:
    """What the list shows of one prospect (its PROSPECT_ROW_FIELDS and `with_assignee_ids`)."""
    unit_id = p["unit_id"]
    return ProspectRow(
        id=p["id"],
        url=link("prospect", p["id"]),
        name=p["name"],
        phone=p["phone"],
        email=p["email"],
        pill=pills.prospect_status_pill(p["status"], p["status_family"]),
        unit_id=unit_id,
        unit_url=link("unit", unit_id) if unit_id else "",
        unit_text=str(p["unit__address"] or unit_id) if p["unit__id"] is not None else "",
        source=p["source_normalized"],
        assignee_names=tuple(person_name(names, u) for u in assignee_user_ids(p)),
        follow_up=moment(p["next_follow_up"], zone, SHORT_DATETIME),
        created=moment(p["created_at"], zone),
        gone=gone,
    )


@require_GET
def prospect_list(request: HttpRequest) -> HttpResponse:
    account = request_account(request)
    if account is None:
        return no_account(request, "Prospects")
    me = my_user_id(request)
    filters = ProspectFilter(request.GET, account=account, me=me)
    ask = rows_ask(request, Prospect)
    if ask is not None:
        return _live_rows(request, account, ask, filters)
    listed = list_page(
        request,
        account,
        filters,
        with_assignee_ids(filters.qs).values(*PROSPECT_ROW_FIELDS, "assignee_ids"),
        "prospects/list.html",
        title="Prospects",
        size=PAGE_SIZE,
    )
    page, f = listed.page, filters.values
    options = [] if listed.rows_only else assignee_options(account)
    known = dict(options)
    missing = {u for p in page.rows for u in assignee_user_ids(p)} - known.keys()
    names = {**known, **people_names(missing, account_id=account.pk)} if missing else known
    zone = account_zone(account)
    context = listed.context | {
        "rows": [prospect_row(p, names, zone) for p in page.rows],
        "me": me,
        "newest_created": max((p["created_at"] for p in page.rows if p["created_at"]), default=None),
    }
    if not listed.rows_only:
        unit = None
        if f["unit"] is not None:
            # The rows already carry the unit; ask the database only when the page is empty.
            unit = next(({"id": p["unit__id"], "address": p["unit__address"]} for p in page.rows if p["unit__id"]), None) or (
                Unit.objects.filter(account=account, id=f["unit"]).values("id", "address").first()
            )
        context |= {
            "scopes": ProspectFilter.SCOPES,
            "scope_choices": list(ProspectFilter.SCOPES.items()),
            "assignee_options": options,
            "scope_is_person": f["assignee"] not in ProspectFilter.SCOPES,
            "families": list(ProspectFilter.FAMILIES.items()),
            "statuses": pills.statuses_by_family(),
            "sources": pills.source_choices(distinct_values(Prospect, "source_normalized", account_id=account.id)),
            "sorts": ProspectFilter.sort_choices(),
            "unit_filter": unit,
        }
    return render_zoned(request, listed.template, context, zone)


def _live_rows(request: HttpRequest, account: Account, ask: RowsAsk, filters: ProspectFilter) -> HttpResponse:
    """For an open list (live screens): its rows as they are now, deleted ones marked (they stay
    where they are until the agent reloads), and how many new prospects match its filter."""
    found = list(
        with_assignee_ids(Prospect.objects.filter(account=account, pk__in=ask.ids)).values(
            *PROSPECT_ROW_FIELDS, "assignee_ids", "deleted_at"
        )
    )
    names = people_names({u for p in found for u in assignee_user_ids(p)}, account_id=account.pk)
    zone = account_zone(account)
    rows = [prospect_row(p, names, zone, gone=p["deleted_at"] is not None) for p in found]
    new = new_count(ask, filters.qs, filters.sort, Prospect.objects.filter(account=account))
    return render_zoned(request, "prospects/list.html#live_rows", live_rows_context(request, ask, rows, new), zone)


def _get_prospect_for_user(request: HttpRequest, prospect_id: int) -> Prospect:
    """The prospect if this person may see its account, else 404 (also for tombstoned rows)."""
    # Its assignees ride along (with_assignee_ids): the page and the quick view show them.
    queryset = with_assignee_ids(Prospect.objects.alive().select_related("unit", "account").defer("raw", "unit__raw"))
    return get_for_user_or_404(queryset, request.user, pk=prospect_id)


def _prospect_context(request: HttpRequest, prospect: Prospect, *, size: int) -> dict[str, Any]:
    zone = account_zone(prospect.account)
    only = OneOfField(choices=TIMELINE_FILTERS).clean(request.GET.get("only"))
    assignee_ids = assignee_user_ids(prospect)
    cursor = CursorField().clean(request.GET.get("after"))
    timeline = prospect_timeline(prospect, zone=zone, only=only, cursor=cursor, size=size, names_also=assignee_ids)
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
