"""Prometheus metrics at /metrics (with METRICS_TOKEN as a bearer token; off without it).

Web requests are counted and timed here, per view (per process, or across uvicorn's processes when
PROMETHEUS_MULTIPROC_DIR is set, as the image does). Everything workers do is read at scrape time
from where it is recorded anyway (the database and the shared limiter), so no worker needs to be
scraped: sync rows and requests, 429s, limiter waits, webhook backlog and lag, outbox states.
"""

from __future__ import annotations

import hmac
import os
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.db.models import Count, Max, Min
from django.http import Http404, HttpRequest, HttpResponse
from django.utils import timezone
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest, multiprocess
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from integrations.rentengine import limiter
from integrations.rentengine.models import OutboxAssignment, QuarantinedRecord, SyncState, WebhookDelivery

REQUESTS = Counter("leasing_desk_requests", "Web requests answered", ["view", "status"])
PAGE_SECONDS = Histogram(
    "leasing_desk_page_seconds", "Time to answer a web request", ["view"], buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5)
)


class MirrorCollector(Collector):
    """What the workers did, read from the database and the shared limiter at each scrape."""

    def collect(self) -> Iterator[Any]:
        now = timezone.now()
        age = GaugeMetricFamily(
            "leasing_desk_sync_last_success_age_seconds", "Since the last successful sync", labels=["resource"]
        )
        rows = GaugeMetricFamily("leasing_desk_sync_last_rows", "Rows the last sync run read", labels=["resource"])
        requests = GaugeMetricFamily("leasing_desk_sync_last_requests", "Requests the last sync run made", labels=["resource"])
        failing = GaugeMetricFamily("leasing_desk_sync_consecutive_failures", "Failed runs in a row", labels=["resource"])
        for sync_state in SyncState.objects.all():
            if sync_state.last_success_at:
                age.add_metric([sync_state.resource], (now - sync_state.last_success_at).total_seconds())
            rows.add_metric([sync_state.resource], sync_state.last_rows_seen or 0)
            requests.add_metric([sync_state.resource], sync_state.last_requests or 0)
            failing.add_metric([sync_state.resource], sync_state.consecutive_failures)
        yield from (age, rows, requests, failing)

        state = limiter.limiter_state()
        yield GaugeMetricFamily(
            "leasing_desk_rentengine_429_last_minute", "429 answers from RentEngine in the last minute", value=state.recent_429
        )
        yield GaugeMetricFamily(
            "leasing_desk_limiter_rate", "Requests per second the limiter allows now", value=state.effective_rate
        )
        yield GaugeMetricFamily(
            "leasing_desk_limiter_cooldown_seconds", "Left of the pause after a 429", value=state.cooldown_remaining
        )
        waited = CounterMetricFamily("leasing_desk_limiter_wait_seconds", "Seconds callers waited for a slot", labels=["lane"])
        granted = CounterMetricFamily("leasing_desk_limiter_slots", "Slots granted", labels=["lane"])
        waiting = GaugeMetricFamily("leasing_desk_limiter_waiters", "Callers waiting for a slot now", labels=["lane"])
        for lane in state.waited_by_lane:
            waited.add_metric([lane], state.waited_by_lane[lane])
            granted.add_metric([lane], state.granted_by_lane[lane])
            waiting.add_metric([lane], state.waiters_by_lane[lane])
        yield from (waited, granted, waiting)

        hour = WebhookDelivery.objects.filter(received_at__gte=now - timedelta(hours=1))
        acks = GaugeMetricFamily(
            "leasing_desk_webhooks_last_hour", "Deliveries received in the last hour, by status", labels=["status"]
        )
        for by_status in hour.values("status").annotate(n=Count("id")).order_by():
            acks.add_metric([by_status["status"]], by_status["n"])
        yield acks
        waiting_rows = WebhookDelivery.objects.filter(status=WebhookDelivery.Status.RECEIVED).aggregate(
            n=Count("id"), oldest=Min("received_at")
        )
        yield GaugeMetricFamily("leasing_desk_webhooks_waiting", "Deliveries stored, not applied yet", value=waiting_rows["n"])
        oldest = waiting_rows["oldest"]
        yield GaugeMetricFamily(
            "leasing_desk_webhooks_lag_seconds",
            "Age of the oldest delivery waiting",
            value=(now - oldest).total_seconds() if oldest else 0,
        )
        applied = hour.filter(status=WebhookDelivery.Status.APPLIED).aggregate(last=Max("applied_at"))["last"]
        yield GaugeMetricFamily(
            "leasing_desk_webhooks_last_applied_age_seconds",
            "Since a delivery was last applied",
            value=(now - applied).total_seconds() if applied else 0,
        )

        outbox = GaugeMetricFamily("leasing_desk_outbox_rows", "Bulk-assignment outbox rows by state", labels=["state"])
        for by_state in OutboxAssignment.objects.values("state").annotate(n=Count("id")).order_by():
            outbox.add_metric([by_state["state"]], by_state["n"])
        yield outbox
        held = GaugeMetricFamily("leasing_desk_quarantined_records", "Records the database refused", labels=["resource"])
        for by_resource in QuarantinedRecord.objects.values("resource").annotate(n=Count("id")).order_by():
            held.add_metric([by_resource["resource"]], by_resource["n"])
        yield held


def _registry() -> CollectorRegistry:
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.MultiProcessCollector(registry)  # every uvicorn process's request metrics
    else:
        registry.register(REQUESTS)
        registry.register(PAGE_SECONDS)
    registry.register(MirrorCollector())
    return registry


@login_not_required
def metrics(request: HttpRequest) -> HttpResponse:
    token = settings.METRICS_TOKEN
    if not token:
        raise Http404("metrics are off: set METRICS_TOKEN")
    offered = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    if not hmac.compare_digest(offered.encode(), token.encode()):
        return HttpResponse("a bearer token is required\n", status=401, content_type="text/plain")
    return HttpResponse(generate_latest(_registry()), content_type="text/plain; version=0.0.4; charset=utf-8")


def request_metrics_middleware(get_response: Callable[[HttpRequest], Any]) -> Callable[[HttpRequest], Any]:
    """Count and time each request by the view that answered it."""

    def observe(request: HttpRequest, status: int, began: float) -> None:
        match = getattr(request, "resolver_match", None)
        view = match.view_name if match and match.view_name else "unmatched"
        REQUESTS.labels(view=view, status=str(status)).inc()
        PAGE_SECONDS.labels(view=view).observe(time.perf_counter() - began)

    if iscoroutinefunction(get_response):

        async def middleware_async(request: HttpRequest) -> HttpResponse:
            began = time.perf_counter()
            response = await get_response(request)
            observe(request, response.status_code, began)
            return response

        markcoroutinefunction(middleware_async)
        return middleware_async

    def middleware(request: HttpRequest) -> HttpResponse:
        began = time.perf_counter()
        response = get_response(request)
        observe(request, response.status_code, began)
        return response

    return middleware


request_metrics_middleware.sync_capable = True  # type: ignore[attr-defined]
request_metrics_middleware.async_capable = True  # type: ignore[attr-defined]
