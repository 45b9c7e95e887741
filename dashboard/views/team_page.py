"""The team page: the pipeline at a glance, everyone's workload, who uses Leasing Desk with which
role and accounts, the RentEngine user ids seen in the data (named here), and the subteams.
Managers edit; agents see the same page without a single form, and their forged posts are refused."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseForbidden
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from dashboard.display import charts
from dashboard.models import ExpectedRecipient, TeamMember, accounts_for_user, accounts_managed, user_is_manager
from dashboard.people.access import account_zone, request_account
from dashboard.people.team import (
    TeamEditRefused,
    member_update,
    people_of_account,
    person_name_set,
    subteams_of_account,
    user_editable_by,
    user_rows,
    users_on_account,
    users_waiting,
)
from dashboard.views.frame import no_account, render_zoned


@require_GET
def team_page(request: HttpRequest) -> HttpResponse:
    account = request_account(request)
    if account is None:
        return no_account(request, "Team")
    manager = user_is_manager(request.user, account)
    people = people_of_account(account)
    viewer_accounts = list(accounts_for_user(request.user))
    context: dict[str, Any] = {
        "title": "Team",
        "account": account,
        "can_edit": manager,
        "funnel": charts.funnel(account),
        "people": people,
        "users": user_rows(list(users_on_account(account)), account=account, viewer_accounts=viewer_accounts, people=people),
        "subteams": subteams_of_account(account),
        "expected": list(ExpectedRecipient.objects.filter(account=account)),
        "expected_kinds": ExpectedRecipient.Kind.choices,
        "prospects_base": reverse("prospects"),
        "showings_base": reverse("showings"),
    }
    if manager:
        context |= {
            "waiting": user_rows(
                list(users_waiting(request.user)), account=account, viewer_accounts=viewer_accounts, people=people, waiting=True
            ),
            "roles": TeamMember.Role.choices,
            "grantable": list(accounts_managed(request.user)),
        }
    return render_zoned(request, "team/page.html", context, account_zone(account))


def _refused(request: HttpRequest, refusal: TeamEditRefused) -> HttpResponse:
    if refusal.forbidden:
        if not user_is_manager(request.user, request_account(request)):
            return HttpResponseForbidden("Only managers of this account can change its team.")
        raise Http404(refusal.message)
    messages.error(request, refusal.message)
    return redirect(reverse("team"))


@require_POST
def team_member_save(request: HttpRequest, user_id: int) -> HttpResponse:
    """A manager sets one person's role, RentEngine user id and accounts."""
    try:
        account = request_account(request)
        if account is None:
            raise TeamEditRefused("No account to change the team of.", forbidden=True)
        user = user_editable_by(request.user, user_id)
        member_update(
            by=request.user,  # type: ignore[arg-type]
            user=user,
            account=account,
            role=request.POST.get("role", ""),
            rentengine_user_id=request.POST.get("rentengine_user_id", ""),
            account_ids=request.POST.getlist("accounts"),
        )
    except TeamEditRefused as refusal:
        return _refused(request, refusal)
    messages.success(request, f"Saved {user.get_full_name() or user.get_username()}.")
    return redirect(f"{reverse('team')}#user-{user.pk}")


@require_POST
def team_person_name(request: HttpRequest, rentengine_user_id: str) -> HttpResponse:
    """A manager names a RentEngine user id seen in the current account's data."""
    account = request_account(request)
    if not user_is_manager(request.user, account):
        return HttpResponseForbidden("Only managers of this account can name its people.")
    if account is None or not person_name_set(account=account, user_id=rentengine_user_id, name=request.POST.get("name", "")):
        raise Http404("No such RentEngine user in this account.")
    messages.success(request, "Name saved.")
    return redirect(f"{reverse('team')}#person-{rentengine_user_id}")
