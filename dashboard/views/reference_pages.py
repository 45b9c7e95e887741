"""Reference data behind the units, read-only: multifamily properties with their floorplans, and
prescreening templates with their rules and questions. Reached from the team page and from units."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Count, Prefetch, Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.http import require_GET

from dashboard.display.prescreening import questions_readable, rules_readable
from dashboard.display.row_models import TemplateRow
from dashboard.models import accounts_for_user, get_for_user_or_404
from dashboard.people.access import account_zone, request_account
from dashboard.views.frame import no_account, render_zoned
from integrations.rentengine.models import Account, Floorplan, MultifamilyProperty, PrescreeningTemplate, Unit

UNITS_SHOWN = 50


def _floorplans() -> Prefetch:
    return Prefetch(
        "floorplans",
        queryset=Floorplan.objects.alive().defer("raw").order_by("bedroom_count", "name", "id"),
        to_attr="plans",
    )


@require_GET
def property_list(request: HttpRequest) -> HttpResponse:
    account = request_account(request)
    if account is None:
        return no_account(request, "Properties")
    properties = list(
        MultifamilyProperty.objects.alive()
        .filter(account=account)
        .defer("raw")
        .prefetch_related(_floorplans())
        .order_by("community_name", "id")
    )
    context = {"title": "Properties and floorplans", "account": account, "properties": properties, "tab": "properties"}
    return render_zoned(request, "reference/properties.html", context, account_zone(account))


@require_GET
def property_detail(request: HttpRequest, property_id: Any) -> HttpResponse:
    prop = get_for_user_or_404(
        MultifamilyProperty.objects.alive().select_related("account").defer("raw").prefetch_related(_floorplans()),
        request.user,
        pk=property_id,
    )
    context = {"title": str(prop), "account": prop.account, "property": prop, "tab": "properties"}
    return render_zoned(request, "reference/property.html", context, account_zone(prop.account))


def templates_for_account(account: Account) -> QuerySet[PrescreeningTemplate]:
    """The account's templates, plus any template without an account that its units use (RentEngine
    may list shared templates without an owner)."""
    used = Unit.objects.filter(account=account, prescreen_template_id__isnull=False).values("prescreen_template_id")
    return PrescreeningTemplate.objects.alive().filter(Q(account=account) | Q(account__isnull=True, id__in=used))


@require_GET
def template_list(request: HttpRequest) -> HttpResponse:
    account = request_account(request)
    if account is None:
        return no_account(request, "Prescreening templates")
    templates = list(templates_for_account(account).defer("raw").order_by("-is_default", "name", "id"))
    uses = dict(
        Unit.objects.alive()
        .filter(account=account, prescreen_template_id__in=[t.id for t in templates])
        .values_list("prescreen_template_id")
        .annotate(n=Count("id"))
        .order_by()
    )
    rows = [
        TemplateRow(
            id=str(t.id),
            name=str(t),
            is_default=t.is_default,
            rule_lines=tuple(rules_readable(t.rules)[:3]),
            questions=len(t.questions) if isinstance(t.questions, list | dict | str) else 0,
            units=uses.get(t.id, 0),
        )
        for t in templates
    ]
    context = {"title": "Prescreening templates", "account": account, "templates": rows, "tab": "templates"}
    return render_zoned(request, "reference/templates.html", context, account_zone(account))


def _get_template_for_user(request: HttpRequest, template_id: Any) -> tuple[PrescreeningTemplate, Account]:
    """The template and the account it is shown under; 404 unless one of the person's accounts owns
    it, or (for a template without an owner) one of their units uses it."""
    try:
        template = PrescreeningTemplate.objects.alive().defer("raw").get(pk=template_id)
    except (PrescreeningTemplate.DoesNotExist, ValidationError, ValueError, TypeError):
        raise Http404("No such template.") from None
    mine = accounts_for_user(request.user).order_by()
    if template.account_id is not None:
        account = mine.filter(pk=template.account_id).first()
    else:
        account = mine.filter(units__prescreen_template_id=template.id, units__deleted_at__isnull=True).first()
    if account is None:
        raise Http404("No such template.")
    return template, account


@require_GET
def template_detail(request: HttpRequest, template_id: Any) -> HttpResponse:
    template, account = _get_template_for_user(request, template_id)
    units = list(
        Unit.objects.alive()
        .filter(account=account, prescreen_template_id=template.id)
        .only("id", "address", "status")
        .order_by("address_order", "id")[: UNITS_SHOWN + 1]
    )
    context = {
        "title": str(template),
        "account": account,
        "template": template,
        "rules": rules_readable(template.rules),
        "questions": questions_readable(template.questions),
        "units": units[:UNITS_SHOWN],
        "units_more": len(units) > UNITS_SHOWN,
        "tab": "templates",
    }
    return render_zoned(request, "reference/template.html", context, account_zone(account))
