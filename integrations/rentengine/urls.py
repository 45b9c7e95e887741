"""URLs served by the RentEngine integration itself (the webhook receiver)."""

from __future__ import annotations

from django.urls import URLPattern, path

from integrations.rentengine import webhooks

urlpatterns: list[URLPattern] = [
    path("webhooks/rentengine/", webhooks.webhook_receive, name="rentengine-webhook"),
]
