"""URLs served by the RentEngine integration itself (the webhook receiver)."""

from __future__ import annotations

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
