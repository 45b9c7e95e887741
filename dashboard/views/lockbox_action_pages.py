"""Codes on demand and installs/removals, from a lockbox's page (and its unit's): each is a row of the
lockbox outbox, posted once by the outbox drain. The code and its instructions are shown only to the
person who asked; who asked, why and for which showing are on the lockbox's timeline, never in logs.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django import forms
from django.contrib.auth.models import User
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from dashboard.display.moments import SHORT_DATETIME, Moment
from dashboard.display.timeline import Item
from dashboard.models import get_for_user_or_404, scoped_to_user
from dashboard.people.access import account_zone, day_end, day_start
from dashboard.views.frame import render_zoned
from integrations.rentengine import vocabulary
from integrations.rentengine.models import Lockbox, OutboxLockboxPost, Showing, Unit
from integrations.rentengine.outbox import drain_on_commit
from integrations.rentengine.outbox.lockbox_posts import lockbox_post_create

Kind = OutboxLockboxPost.Kind
State = OutboxLockboxPost.State
MAX_REASON = 500


def _lockbox(request: HttpRequest, lockbox_id: Any) -> Lockbox:
    return get_for_user_or_404(Lockbox.objects.alive().select_related("account", "current_unit"), request.user, pk=lockbox_id)


def todays_showings(lockbox: Lockbox, now: datetime | None = None) -> list[Showing]:
    """Today's showings (not canceled) on the unit the box sits on, in the box's account."""
    if not lockbox.current_unit_id:
        return []
    zone = account_zone(lockbox.account)
    today = (now or timezone.now()).astimezone(zone).date()
    return list(
        Showing.objects.alive()
        .filter(
            account_id=lockbox.account_id,
            unit_id=lockbox.current_unit_id,
            planned_at__gte=day_start(today, zone),
            planned_at__lt=day_end(today, zone),
        )
        .exclude(status=vocabulary.ShowingStatus.CANCELED)
        .only("id", "prospect_id", "prospect_name", "planned_at", "status", "agent_name")
        .order_by("planned_at", "id")
    )


class CodeForm(forms.Form):
    reason = forms.CharField(max_length=MAX_REASON, strip=True, widget=forms.Textarea(attrs={"rows": 2}))
    showing = forms.TypedChoiceField(required=False, coerce=int, empty_value=None)

    def __init__(self, *args: Any, showings: list[Showing], zone: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.showings = {s.id: s for s in showings}
        choices = [("", "No showing (say why above)")]
        for s in showings:
            when = s.planned_at.astimezone(zone).strftime("%-I:%M %p") if s.planned_at else "?"
            choices.append((str(s.id), f"{when} · {s.prospect_name or 'a prospect'} ({s.status or 'scheduled'})"))
        field = self.fields["showing"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = choices


def _person(user: User | None) -> str:
    if user is None:
        return "someone"
    return user.get_full_name() or user.get_username()


@require_http_methods(["GET", "POST"])
def lockbox_code(request: HttpRequest, lockbox_id: Any) -> HttpResponse:
    lockbox = _lockbox(request, lockbox_id)
    zone = account_zone(lockbox.account)
    installed = lockbox.current_unit_id is not None and (
        lockbox.current_unit is None or lockbox.current_unit.account_id == lockbox.account_id
    )
    showings = todays_showings(lockbox) if installed else []
    form = CodeForm(request.POST or None, showings=showings, zone=zone)
    if request.method == "POST" and installed and form.is_valid():
        showing = form.showings.get(form.cleaned_data["showing"]) if form.cleaned_data["showing"] else None
        assert lockbox.current_unit_id is not None
        with transaction.atomic():
            row = lockbox_post_create(
                account_id=lockbox.account_id,
                kind=Kind.CODE,
                lockbox_id=lockbox.id,
                unit_id=lockbox.current_unit_id,
                requested_by=request.user,
                why=form.cleaned_data["reason"],
                showing_id=showing.id if showing else None,
                created_for=(showing.prospect_name if showing and showing.prospect_name else _person(request.user)),  # type: ignore[arg-type]
                valid_date=timezone.now().astimezone(zone).date(),
            )
            drain_on_commit()
        return redirect("lockbox_request", row_id=row.pk)
    context = {"title": f"Get a code · {lockbox}", "lockbox": lockbox, "form": form, "installed": installed, "showings": showings}
    return render_zoned(request, "lockboxes/code.html", context, zone)


@require_POST
def lockbox_placement(request: HttpRequest, lockbox_id: Any) -> HttpResponse:
    """ "Mark installed" (on a unit of the box's account with no box) or "Mark removed"."""
    lockbox = _lockbox(request, lockbox_id)
    action = request.POST.get("action")
    reason = (request.POST.get("reason") or "").replace("\x00", "").strip()[:MAX_REASON]
    if action == "uninstall" and lockbox.current_unit_id:
        kind, unit_id = Kind.UNINSTALL, lockbox.current_unit_id
    elif action == "install" and not lockbox.current_unit_id:
        try:
            unit_id = int(request.POST.get("unit_id") or "")
        except ValueError:
            raise Http404("No such unit") from None
        if not Unit.objects.alive().filter(account_id=lockbox.account_id, pk=unit_id).exists():
            raise Http404("No such unit")
        kind = Kind.INSTALL
    else:
        return redirect("lockbox", lockbox_id=lockbox.id)
    with transaction.atomic():
        row = lockbox_post_create(
            account_id=lockbox.account_id,
            kind=kind,
            lockbox_id=lockbox.id,
            unit_id=unit_id,
            requested_by=request.user,
            why=reason,
        )
        drain_on_commit()
    return redirect("lockbox_request", row_id=row.pk)


def lockbox_request(request: HttpRequest, row_id: int) -> HttpResponse:
    """What became of one's own request: the code and instructions once RentEngine answered. Only
    the person who asked sees this page (anyone else: 404)."""
    rows = scoped_to_user(OutboxLockboxPost.objects.filter(requested_by_id=request.user.pk), request.user)
    row = rows.filter(pk=row_id).first()
    if row is None:
        raise Http404("No such request")
    lockbox = Lockbox.objects.filter(pk=row.lockbox_id, account_id=row.account_id).select_related("account").first()
    zone = account_zone(lockbox.account if lockbox else None)
    context = {
        "title": "Your lockbox request",
        "row": row,
        "lockbox": lockbox,
        "pending": not row.is_terminal,
        "showing": Showing.objects.filter(pk=row.showing_id, account_id=row.account_id).first() if row.showing_id else None,
    }
    template = "lockboxes/request.html#result" if getattr(request, "htmx", None) else "lockboxes/request.html"
    return render_zoned(request, template, context, zone)


def desk_request_items(lockbox: Lockbox, zone: Any, *, since: datetime | None) -> list[Item]:
    """Codes asked for and installs/removals marked from the desk, as timeline rows: who and why
    (visible to the box's account), never the code."""
    rows = OutboxLockboxPost.objects.filter(account_id=lockbox.account_id, lockbox_id=lockbox.id).select_related("requested_by")
    if since is not None:
        rows = rows.filter(created_at__gte=since)
    rows = rows.order_by("-created_at")[:50]
    showings = {
        s.id: s
        for s in Showing.objects.filter(account_id=lockbox.account_id, pk__in=[r.showing_id for r in rows if r.showing_id]).only(
            "id", "prospect_name", "planned_at"
        )
    }
    items = []
    for row in rows:
        what = {Kind.CODE: "Code asked for", Kind.INSTALL: "Marked installed", Kind.UNINSTALL: "Marked removed"}[Kind(row.kind)]
        details = [row.why]
        showing = showings.get(row.showing_id) if row.showing_id else None
        if showing is not None:
            when = showing.planned_at.astimezone(zone).strftime("%-I:%M %p") if showing.planned_at else ""
            details.append(f"for the {when} showing with {showing.prospect_name or 'a prospect'}".replace("the  ", "the "))
        details.append(row.get_state_display().lower())
        items.append(
            Item(
                kind="lockbox",
                at=row.created_at,
                when=Moment(row.created_at.astimezone(zone), SHORT_DATETIME),
                title=f"{what} from the desk",
                key=f"desk-request-{row.pk}",
                actor=_person(row.requested_by),
                source="Leasing Desk",
                detail=" · ".join(d for d in details if d),
                problem=row.state == State.FAILED,
            )
        )
    return items
