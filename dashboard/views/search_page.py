"""Global search (`/search/?q=`): prospects by name, phone or email, grouped by person; units by
address; lockboxes by serial number. Across every account this person may see."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from dashboard.display import pills
from dashboard.display.row_models import SearchPerson, SearchProspect, SearchUnit
from dashboard.lists.filtering import text_clean
from dashboard.lists.filters import prospect_search, unit_search
from dashboard.people.access import request_accounts
from integrations.rentengine.models import Lockbox, Prospect, Unit

PROSPECT_LIMIT = 50
OTHER_LIMIT = 10


def people_group(prospects: list[Prospect]) -> list[SearchPerson]:
    """Enquiries grouped by the human behind them: the same phone (else email) in the same account."""
    people: dict[tuple[Any, ...], tuple[Prospect, list[SearchProspect]]] = {}
    for p in prospects:
        key = (p.account_id, p.phone_digits) if p.phone_digits else (p.account_id, p.email.lower() or p.id)
        _, enquiries = people.setdefault(key, (p, []))
        address = p.unit.address if p.unit else ""
        enquiries.append(
            SearchProspect(id=p.id, unit_address=address, pill=pills.prospect_status_pill(p.status, p.status_family))
        )
    return [SearchPerson(name=p.name, phone=p.phone, email=p.email, prospects=tuple(e)) for p, e in people.values()]


@require_GET
def search(request: HttpRequest) -> HttpResponse:
    q = text_clean(request.GET.get("q"))
    context: dict[str, Any] = {"title": "Search", "q": q}
    if q:
        # The accounts this person may see, as the list the shell already read: a literal list lets
        # the planner treat it as the cheap filter it is (an IN subquery made it intersect the
        # trigram matches with every row of the account index first).
        mine = [a.id for a in request_accounts(request)]
        prospects = list(
            prospect_search(Prospect.objects.alive().filter(account_id__in=mine), q)
            .select_related("unit")
            .only(
                "id",
                "account_id",
                "name",
                "email",
                "phone",
                "phone_digits",
                "status",
                "status_family",
                "created_at",
                "unit__id",
                "unit__address",
            )
            .order_by("-created_at", "-id")[:PROSPECT_LIMIT]
        )
        context |= {
            "people": people_group(prospects),
            "prospects_more": len(prospects) == PROSPECT_LIMIT,
            "units": [
                SearchUnit(id=u.id, address=u.address, pill=pills.unit_status_pill(u.status))
                for u in unit_search(Unit.objects.alive().filter(account_id__in=mine), q)
                .only("id", "address", "status", "city")
                .order_by("address_order", "id")[:OTHER_LIMIT]
            ],
            "lockboxes": list(
                Lockbox.objects.alive()
                .filter(account_id__in=mine)
                .filter(serial_number__icontains=q)
                .only("id", "serial_number", "lockbox_type", "current_unit_id")
                .order_by("serial_number")[:OTHER_LIMIT]
            ),
        }
    return render(request, "search/results.html", context)
