"""The bell's panel (and its page without JavaScript), the daily digest of unexpected codes, muting a
lockbox, and the team's list of expected recipients. Every read is kept to the accounts the person
may see, and to the units they work (managers: all of their account's)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django.contrib import messages
from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseForbidden
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from dashboard.live.alerts import CodeAlert, alerts_mark_seen, bell_alerts, day_codes
from dashboard.models import ExpectedRecipient, LockboxMute, get_for_user_or_404, user_is_manager
from dashboard.people.access import account_zone, day_end, day_start, request_account, request_accounts
from dashboard.views.frame import no_account, render_zoned
from integrations.rentengine.models import Account, Lockbox, Prospect, Showing

MUTE_DAYS_MAX = 90


def _user(request: HttpRequest) -> User | None:
    return request.user if isinstance(request.user, User) else None


@never_cache
@require_GET
def live_alerts(request: HttpRequest) -> HttpResponse:
    """The bell: how many alerts arrived since the panel was last opened, and the panel's list."""
    alerts, unseen = bell_alerts(request.user, request_accounts(request), now=timezone.now())
    return render(request, "live/alerts.html", {"alerts": alerts, "unseen": unseen})


@require_POST
def alerts_seen(request: HttpRequest) -> HttpResponse:
    """The panel was opened: the bell's count starts again from now."""
    alerts_mark_seen(request.user, timezone.now())  # type: ignore[arg-type]
    return HttpResponse(status=204)


@never_cache
@require_GET
def alerts_page(request: HttpRequest) -> HttpResponse:
    """The panel as a page (the bell's link without JavaScript); opening it counts as seeing them."""
    now = timezone.now()
    alerts, _ = bell_alerts(request.user, request_accounts(request), now=now)
    alerts_mark_seen(request.user, now)  # type: ignore[arg-type]
    return render(request, "alerts/page.html", {"title": "Alerts", "alerts": alerts})


@require_GET
def alerts_digest(request: HttpRequest) -> HttpResponse:
    """A day's unexpected codes on the current account, each with the showing and prospect it can be
    tied to."""
    account = request_account(request)
    if account is None:
        return no_account(request, "Lockbox digest")
    zone = account_zone(account)
    now = timezone.now()
    today = now.astimezone(zone).date()
    try:
        day = date.fromisoformat(request.GET.get("day", "")) if request.GET.get("day") else today
    except ValueError:
        day = today
    codes = day_codes(request.user, account, day, now=now)
    rows = [{"alert": code, **ties} for code, ties in zip(codes, _ties(account, codes, day, zone), strict=True)]
    context = {
        "title": "Lockbox digest",
        "account": account,
        "day": day,
        "previous_day": (day - timedelta(days=1)).isoformat(),
        "next_day": (day + timedelta(days=1)).isoformat() if day < today else "",
        "rows": rows,
    }
    return render_zoned(request, "alerts/digest.html", context, zone)


def _ties(account: Account, codes: list[CodeAlert], day: date, zone: Any) -> list[dict[str, Any]]:
    """Per code: the showing on its unit that day nearest to it, and the prospect (that showing's, or
    one of the account named as the code's "created for")."""
    units = {c.unit_id for c in codes}
    showings = list(
        Showing.objects.alive()
        .filter(account=account, unit_id__in=units, planned_at__gte=day_start(day, zone), planned_at__lt=day_end(day, zone))
        .only("id", "unit_id", "prospect_id", "prospect_name", "planned_at", "status")[:1000]
    )
    names = {c.created_for.strip() for c in codes if c.created_for}
    prospects: dict[str, Prospect] = {}
    if names:
        for prospect in Prospect.objects.alive().filter(account=account, name__in=names).only("id", "name").order_by("id"):
            prospects.setdefault(prospect.name.strip().lower(), prospect)
    tied = []
    for code in codes:
        near = sorted(
            (s for s in showings if s.unit_id == code.unit_id and s.planned_at),
            key=lambda s: abs((s.planned_at - code.at).total_seconds()) if s.planned_at else 0.0,
        )
        showing = near[0] if near else None
        prospect_id = showing.prospect_id if showing and showing.prospect_id else None
        prospect_name = showing.prospect_name if showing else ""
        by_name = prospects.get(code.created_for.strip().lower()) if code.created_for else None
        if by_name is not None:
            prospect_id, prospect_name = by_name.id, by_name.name
        tied.append({"showing": showing, "prospect_id": prospect_id, "prospect_name": prospect_name})
    return tied


@require_POST
def lockbox_mute(request: HttpRequest, lockbox_id: Any) -> HttpResponse:
    """A manager mutes a lockbox's alerts for N days (0: unmute)."""
    lockbox = get_for_user_or_404(Lockbox.objects.alive().select_related("account"), request.user, pk=lockbox_id)
    if not user_is_manager(request.user, lockbox.account):
        return HttpResponseForbidden("Only managers of this account can mute a lockbox.")
    try:
        days = max(0, min(MUTE_DAYS_MAX, int(request.POST.get("days", "7"))))
    except ValueError:
        days = 7
    now = timezone.now()
    LockboxMute.objects.filter(account=lockbox.account, lockbox_id=lockbox.id, until__gt=now).delete()
    if days:
        LockboxMute.objects.create(
            account=lockbox.account, lockbox_id=lockbox.id, until=now + timedelta(days=days), muted_by=_user(request)
        )
        messages.success(request, f"Alerts for {lockbox} muted for {days} day{'s' if days != 1 else ''}.")
    else:
        messages.success(request, f"Alerts for {lockbox} are on again.")
    target = request.POST.get("next") or ""
    return redirect(target if target.startswith("/") and not target.startswith("//") else reverse("lockbox", args=[lockbox.id]))


def lockbox_muted_until(lockbox: Lockbox) -> Any:
    return (
        LockboxMute.objects.filter(account_id=lockbox.account_id, lockbox_id=lockbox.id, until__gt=timezone.now())
        .order_by("-until")
        .values_list("until", flat=True)
        .first()
    )


# --- expected recipients (the team page) ----------------------------------------------------------


@require_POST
def expected_recipient_add(request: HttpRequest) -> HttpResponse:
    account = request_account(request)
    if account is None or not user_is_manager(request.user, account):
        return HttpResponseForbidden("Only managers of this account can change its expected recipients.")
    name = " ".join((request.POST.get("name") or "").replace("\x00", "").split())[:120]
    kind = request.POST.get("kind") or ExpectedRecipient.Kind.VENDOR
    if kind not in ExpectedRecipient.Kind.values:
        kind = ExpectedRecipient.Kind.OTHER
    if name:
        try:
            with transaction.atomic():
                ExpectedRecipient.objects.create(account=account, name=name, kind=kind, added_by=_user(request))
        except IntegrityError:
            messages.info(request, f"{name} is already on the list.")
    return redirect(reverse("team") + "#expected-recipients")


@require_POST
def expected_recipient_delete(request: HttpRequest, recipient_id: int) -> HttpResponse:
    account = request_account(request)
    if account is None or not user_is_manager(request.user, account):
        return HttpResponseForbidden("Only managers of this account can change its expected recipients.")
    deleted, _ = ExpectedRecipient.objects.filter(account=account, pk=recipient_id).delete()
    if not deleted:
        raise Http404("No such expected recipient")
    return redirect(reverse("team") + "#expected-recipients")
