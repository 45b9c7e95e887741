"""/sync/: how fresh the mirror is and what stands between it and RentEngine."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST
from django_htmx.middleware import HtmxDetails

from dashboard import submit_once
from dashboard.models import user_is_manager
from dashboard.ops import banners_current
from dashboard.people.access import request_accounts
from integrations.rentengine import limiter, sync, webhooks
from integrations.rentengine.client import RentEngineClient, RentEngineError
from integrations.rentengine.limiter import Lane
from integrations.rentengine.models import (
    LeasingEvent,
    Lockbox,
    LockboxEvent,
    Prospect,
    QuarantinedRecord,
    Showing,
    SyncRun,
    SyncState,
    Unit,
)

# What the per-account table counts (alive rows; grouped counts on indexed account columns).
COUNTED = [("Units", Unit), ("Prospects", Prospect), ("Leasing events", LeasingEvent), ("Showings", Showing),
           ("Lockboxes", Lockbox), ("Lockbox events", LockboxEvent)]  # fmt: skip


def _resource_rows(now: Any) -> list[dict[str, Any]]:
    states = {s.resource: s for s in SyncState.objects.all()}
    due = dict(sync.resources_due(now))
    rows = []
    for name, spec in sync.resource_specs().items():
        state = states.get(name) or SyncState(resource=name)
        running = bool(state.run_id and state.lease_expires_at and state.lease_expires_at > now)
        rows.append(
            {
                "name": name,
                "label": spec.label,
                "state": state,
                "running": running,
                "stalled": bool(state.run_id) and not running,
                "progress": state.progress if running else {},
                "due": name in due,
                "interval": spec.interval,
                "failing": state.consecutive_failures >= sync.FAILING_AFTER,
            }
        )
    return rows


def _sync_context(request: HttpRequest) -> dict[str, Any]:
    now = timezone.now()
    rows = _resource_rows(now)
    try:
        limiter_state: Any = limiter.limiter_state()
        limiter_error = ""
    except Exception as exc:  # shown, not raised: /sync/ is where operators look when things break
        limiter_state, limiter_error = None, f"{type(exc).__name__}: {exc}"
    return {
        "title": "Sync",
        "rows": rows,
        "any_running": any(r["running"] for r in rows),
        "limiter": limiter_state,
        "limiter_error": limiter_error,
        "hooks": webhooks.webhook_health(now=now),
        "history": list(SyncRun.objects.all()[:15]),
        "is_manager": user_is_manager(request.user),
        "quarantine": _quarantine(request) if user_is_manager(request.user) else [],
        "ops_banners": banners_current(),
        "now": now,
    }


def _quarantine(request: HttpRequest) -> list[QuarantinedRecord]:
    """Records the database refused, in the accounts this manager sees (or of no known account)."""
    accounts = [a.id for a in request_accounts(request)]
    held = QuarantinedRecord.objects.filter(Q(account_id__in=accounts) | Q(account_id__isnull=True))
    return list(held.order_by("-last_seen_at").defer("raw")[:50])


@require_GET
def sync_status(request: HttpRequest) -> HttpResponse:
    context = _sync_context(request)
    htmx: HtmxDetails | None = getattr(request, "htmx", None)
    if htmx:
        return render(request, "sync/status.html#live", context)
    accounts = request_accounts(request)
    counts: dict[str, dict[str, int]] = {str(a.id): {} for a in accounts}
    for label, model in COUNTED:
        for row in model.objects.alive().filter(account__in=accounts).values("account_id").annotate(n=Count("pk")).order_by():
            counts[str(row["account_id"])][label] = row["n"]
    context["account_counts"] = [
        (account, [counts[str(account.id)].get(label, 0) for label, _ in COUNTED]) for account in accounts
    ]
    context["counted_labels"] = [label for label, _ in COUNTED]
    return render(request, "sync/status.html", context)


def _require_manager(request: HttpRequest) -> None:
    if not user_is_manager(request.user):
        raise PermissionDenied("Only managers can start syncs or test the connection.")


@require_POST
def sync_now(request: HttpRequest) -> HttpResponse:
    _require_manager(request)
    resource = request.POST.get("resource", "")
    full = request.POST.get("full") == "1"
    names = list(sync.resource_specs()) if resource == "all" else [resource]
    if not set(names) <= set(sync.resource_specs()):
        messages.error(request, f"There is no resource called {resource!r}.")
        return redirect("sync")
    started: list[str] = []

    def start() -> None:
        started.extend(name for name in names if sync.sync_start_now(name, full=full))

    try:
        outcome = submit_once.run_once_then(request, "sync_now", "sync", start)
    except submit_once.SubmitRefused as refusal:
        messages.error(request, str(refusal))
        return redirect("sync")
    if outcome.repeated:  # a double click: the first click started it
        return redirect("sync")
    busy = [name for name in names if name not in started]
    if started:
        messages.success(request, f"{'Full sync' if full else 'Sync'} started: {', '.join(started)}. Progress shows below.")
    if busy:
        messages.warning(request, f"Already running: {', '.join(busy)}.")
    return redirect("sync")


@require_POST
def sync_test_connection(request: HttpRequest) -> HttpResponse:
    """One request on the interactive lane: proves the base URL and the token, right now."""
    _require_manager(request)
    try:
        with RentEngineClient(lane=Lane.INTERACTIVE, max_attempts=1, slot_timeout=10) as client:
            client.connection_check()
    except RentEngineError as exc:
        messages.error(request, f"RentEngine did not accept the connection: {exc.message}")
    else:
        messages.success(request, "Connected: RentEngine accepted the API token.")
    return redirect("sync")


@require_POST
def sync_quarantine_retry(request: HttpRequest) -> HttpResponse:
    """A manager's "retry" of quarantined records: one (`id`) or all of a resource."""
    _require_manager(request)
    resource = request.POST.get("resource", "")
    if resource not in sync.resource_specs():
        messages.error(request, f"There is no resource called {resource[:40]!r}.")
        return redirect("sync")
    raw_id = request.POST.get("id", "")
    ids = [int(raw_id)] if raw_id.isdigit() and len(raw_id) < 12 else None
    before = QuarantinedRecord.objects.filter(resource=resource).count()
    applied = sync.quarantine_retry_now(resource, ids)
    left = QuarantinedRecord.objects.filter(resource=resource).count()
    messages.success(request, f"{before - left} record(s) of {resource} applied now; {left} still refused by the database.")
    if applied.changed:
        messages.info(request, f"{applied.changed} mirror row(s) changed.")
    return redirect("sync")
