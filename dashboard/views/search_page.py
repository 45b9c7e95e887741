"""Global search (`/search/?q=`): prospects by name, phone or email, grouped by person; units by
address; lockboxes by serial number. Across every account this person may see."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from dashboard.display import pills
from dashboard.lists.list_page import Params
from dashboard.people.access import request_accounts
from dashboard.views.prospect_pages import prospect_search
from dashboard.views.unit_pages import unit_search
from integrations.rentengine.models import Lockbox, Prospect, Unit

PROSPECT_LIMIT = 50
OTHER_LIMIT = 10


@dataclass
class Person:
    """One human behind one or more prospect rows (RentEngine makes a prospect per unit enquired)."""

    name: str
    phone: str
    email: str
    prospects: list[Prospect] = field(default_factory=list)


def people_group(prospects: list[Prospect]) -> list[Person]:
    people: dict[tuple[Any, ...], Person] = {}
    for p in prospects:
        key = (p.account_id, p.phone_digits) if p.phone_digits else (p.account_id, p.email.lower() or p.id)
        person = people.setdefault(key, Person(name=p.name, phone=p.phone, email=p.email))
        p.pill = pills.prospect_status_pill(p.status, p.status_family)  # type: ignore[attr-defined]
        person.prospects.append(p)
    return list(people.values())


@require_GET
def search(request: HttpRequest) -> HttpResponse:
    q = Params(request.GET).text("q")
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
            "units": list(
                unit_search(Unit.objects.alive().filter(account_id__in=mine), q)
                .only("id", "address", "status", "city")
                .order_by("address", "id")[:OTHER_LIMIT]
            ),
            "lockboxes": list(
                Lockbox.objects.alive()
                .filter(account_id__in=mine)
                .filter(serial_number__icontains=q)
                .only("id", "serial_number", "lockbox_type", "current_unit_id")
                .order_by("serial_number")[:OTHER_LIMIT]
            ),
        }
        for unit in context["units"]:
            unit.pill = pills.unit_status_pill(unit.status)
    return render(request, "search/results.html", context)
