"""`{% live_body %}`: the attributes on <body> that `static/js/live.js` starts from: where the
stream, the version check and the alerts are, the versions this page was rendered from, and the
scopes whose changes may raise an alert."""

from __future__ import annotations

import json

from django import template
from django.conf import settings
from django.db import DatabaseError
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html

from dashboard.live.middleware import versions_of_page
from dashboard.people.access import request_account, request_accounts

register = template.Library()


@register.simple_tag(takes_context=True)
def live_body(context: template.Context) -> str:
    request = context.get("request")
    if request is None or not request.user.is_authenticated:
        return ""
    try:
        versions = versions_of_page(request)
        accounts = request_accounts(request)
        alert_scopes = " ".join(sorted(f"lockboxes:{a.id}" for a in accounts))
        account = request_account(request)
    except DatabaseError:  # an error page while the database is away: no live updates on it
        return ""
    return format_html(
        ' data-live-stream="{}" data-live-versions-url="{}" data-live-alerts-url="{}" data-live-versions="{}"'
        ' data-live-alerts="{}" data-live-poll="{}" data-live-now="{}" data-time-zone="{}" data-zone-label="{}"',
        reverse("live_stream"),
        reverse("live_versions"),
        reverse("live_alerts"),
        json.dumps(versions, sort_keys=True, separators=(",", ":")),
        alert_scopes,
        int(settings.LIVE_FALLBACK_POLL_SECONDS * 1000),
        timezone.now().isoformat(),
        # "updated 12:42 PM" in the account's zone, as the page's own times (not the browser's clock),
        # with the zone's name when this person's accounts are in different zones.
        account.time_zone if account else settings.TIME_ZONE,
        "yes" if len({a.time_zone for a in accounts}) > 1 else "",
    )
