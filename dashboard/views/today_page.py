"""My day (`/today/`): an agent's landing page, made for a phone in a car; a manager gets the team's."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET

from dashboard.display.links import list_link
from dashboard.lists.my_day import Viewer, my_day
from dashboard.models import user_is_manager
from dashboard.people.access import account_zone, my_user_id, request_account
from dashboard.people.names import people_names, person_name
from dashboard.views.frame import no_account, render_zoned


@require_GET
def today(request: HttpRequest) -> HttpResponse:
    account = request_account(request)
    if account is None:
        return no_account(request, "My day")
    zone = account_zone(account)
    team = user_is_manager(request.user, account=account)
    viewer = Viewer(
        team=team, user_id=my_user_id(request), full_name=request.user.get_full_name() if request.user.is_authenticated else ""
    )
    day = my_day(account, viewer, zone)
    names = people_names(day.user_ids, account_id=account.pk) if day.user_ids else {}
    context = {
        "title": "Team day" if team else "My day",
        "account": account,
        "day": day,
        "team": team,
        "names": names,
        # Object links as list address + id (as lists build them): no URL resolving per card.
        "prospect_base": list_link("prospects"),
        "unit_base": list_link("units"),
        "lockbox_base": list_link("lockboxes"),
        "assignments": [
            {
                "a": a,
                "to": ", ".join(person_name(names, u) for u in a.to_ids),
                "by": person_name(names, a.by_id) if a.by_id else "",
            }
            for a in day.assignments
        ],
        "follow_up_rows": [{"p": p, "who": ", ".join(person_name(names, u) for u in p.assignee_ids)} for p in day.follow_ups],
    }
    return render_zoned(request, "today/page.html", context, zone)
