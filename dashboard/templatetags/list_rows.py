"""`{% load rows %}`: list rows and timeline rows rendered by `dashboard.display.row_markup` (one tag per list
instead of a template node per value: see that module for why)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

from django import template
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

from dashboard.display import row_markup

register = template.Library()


@register.simple_tag
def prospect_rows(rows: Iterable[Any]) -> SafeString:
    return mark_safe("".join(row_markup.prospect_row(p) for p in rows))  # noqa: S308 - markup escapes every value


@register.simple_tag
def unit_rows(rows: Iterable[Any]) -> SafeString:
    bases = {"unit_base": reverse("units"), "lockbox_base": reverse("lockboxes"), "prospects_base": reverse("prospects")}
    return mark_safe("".join(row_markup.unit_row(u, **bases) for u in rows))  # noqa: S308 - markup escapes every value


@register.simple_tag
def lockbox_rows(rows: Iterable[Any]) -> SafeString:
    bases = {"lockbox_base": reverse("lockboxes"), "unit_base": reverse("units")}
    return mark_safe("".join(row_markup.lockbox_row(box, **bases) for box in rows))  # noqa: S308 - markup escapes every value


@register.simple_tag
def timeline_days(days: Iterable[Any]) -> SafeString:
    return row_markup.timeline_days(days)


@register.simple_tag
def agenda_days(days: Iterable[Any], today: date) -> SafeString:
    return row_markup.agenda_days(days, today)


@register.simple_tag
def column_chart(chart: Any, chart_id: str, chart_title: str) -> SafeString:
    return row_markup.column_chart(chart, chart_id, chart_title)


@register.simple_tag
def unit_prospect_rows(rows: Iterable[Any]) -> SafeString:
    base = reverse("prospects")
    return mark_safe("".join(row_markup.unit_prospect_row(p, prospect_base=base) for p in rows))  # noqa: S308 - markup escapes every value


@register.simple_tag
def showing_rows(items: Iterable[Any]) -> SafeString:
    return row_markup.showing_rows(items)


@register.simple_tag
def options_keyed(choices: Any, selected: Any) -> SafeString:
    return row_markup.options_keyed(choices, selected)


@register.simple_tag
def options_plain(values: Iterable[Any], selected: Any) -> SafeString:
    return row_markup.options_plain(values, selected)


@register.simple_tag
def load_more(page: Any, query: str, colspan: int = 0, label: str = "Load more") -> SafeString:
    """The "Load more" link after a keyset page's rows: a link without JavaScript, an htmx swap of
    itself for the next rows with it. A table row when `colspan` is given, else a timeline item."""
    if not page.has_next:
        return mark_safe("")
    href = f"?{query}&after={page.next_cursor}" if query else f"?after={page.next_cursor}"
    if colspan:
        return format_html(
            '<tr class="more-row" id="more-rows"><td colspan="{}"><a class="button" href="{}" hx-get="{}" '
            'hx-target="closest tr" hx-swap="outerHTML" hx-push-url="false">{}</a></td></tr>',
            colspan,
            href,
            href,
            label,
        )
    return format_html(
        '<li class="tl-more" id="more-rows"><a class="button" href="{}" hx-get="{}" '
        'hx-target="closest li" hx-swap="outerHTML" hx-push-url="false">{}</a></li>',
        href,
        href,
        label,
    )
