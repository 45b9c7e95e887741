"""Assign or reassign one prospect (issue 16): from its page, the quick view or its list row (keyboard
`a`). The chooser shows each person's workload; confirming makes a job of one prospect through the
same outbox as bulk jobs, so a single assignment is exactly-once too, and the form's one-time key
makes a double click one job. No follow-up date or note: RentEngine's API takes neither for an
assignment we post (API-FACTS: only "Assign to User")."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.encoding import iri_to_uri
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods

from dashboard import bulk_assignment, submit_once
from dashboard.bulk_assignment import AssignmentRefused
from dashboard.models import BulkAssignment, get_for_user_or_404
from dashboard.people.access import account_zone, my_user_id
from dashboard.people.names import assignee_user_ids, people_names, person_name, with_assignee_ids
from dashboard.people.team import candidates_with_workload
from dashboard.submit_once import SubmitRefused
from dashboard.views.frame import render_zoned
from integrations.rentengine.models import OutboxAssignment, Prospect


def _next(request: HttpRequest, prospect: Prospect) -> str:
    """Where to go after assigning: the page it was opened from (a path of this site), else the prospect."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if (
        target.startswith("/")
        and "\x00" not in target
        and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure())
    ):
        return target
    return reverse("prospect", args=[prospect.pk])


def _chooser(request: HttpRequest, prospect: Prospect, *, error: str = "", status: int = 200) -> HttpResponse:
    current = assignee_user_ids(prospect)
    chosen = set(request.POST.getlist("user_ids")) if request.method == "POST" else set(current)
    names = people_names(current, account_id=prospect.account_id)
    context: dict[str, Any] = {
        "title": f"Assign {prospect.name or f'prospect {prospect.pk}'}",
        "prospect": prospect,
        "current": [person_name(names, u) for u in current],
        "candidates": candidates_with_workload(prospect.account, me=my_user_id(request)),
        "chosen": chosen,
        "sources": bulk_assignment.SOURCES,
        "source": request.POST.get("source") or bulk_assignment.DEFAULT_SOURCE,
        "next": _next(request, prospect),
        "error": error,
    }
    if getattr(request, "htmx", None):
        return render(request, "prospects/assign.html#chooser", context, status=status)
    response = render_zoned(request, "prospects/assign.html", context, account_zone(prospect.account))
    response.status_code = status
    return response


@require_http_methods(["GET", "POST"])
def prospect_assign(request: HttpRequest, prospect_id: int) -> HttpResponse:
    queryset = with_assignee_ids(Prospect.objects.alive().select_related("account").defer("raw"))
    prospect = get_for_user_or_404(queryset, request.user, pk=prospect_id)
    if request.method != "POST":
        return _chooser(request, prospect)

    def create() -> str:
        job = bulk_assignment.assignment_create(
            account=prospect.account,
            by=request.user,  # type: ignore[arg-type]
            prospect_ids=[prospect.pk],
            user_ids=request.POST.getlist("user_ids"),
            source=request.POST.get("source", ""),
        )
        return str(job.pk)

    try:
        outcome = submit_once.run_once(request, "assign_one", create)
    except AssignmentRefused as refusal:
        return _chooser(request, prospect, error=refusal.message, status=403 if refusal.forbidden else 400)
    except SubmitRefused as refusal:
        return _chooser(request, prospect, error=str(refusal), status=400)
    if not outcome.repeated:
        job = BulkAssignment.objects.get(pk=int(outcome.result))
        names = people_names(job.user_ids, account_id=job.account_id)
        people = " and ".join(person_name(names, u) for u in job.user_ids)
        who = prospect.name or f"Prospect {prospect.pk}"
        if OutboxAssignment.objects.filter(job_id=job.pk, state=OutboxAssignment.State.SKIPPED).exists():
            messages.info(request, f"{who} is already assigned to exactly {people}: nothing to change.")
        else:
            messages.success(request, f"Assigning {who} to {people} (assignment #{job.pk}); RentEngine has it in a moment.")
    return HttpResponseRedirect(iri_to_uri(_next(request, prospect)))
