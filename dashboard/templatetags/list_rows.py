"""`{% load list_rows %}`: the rows `dashboard.display.row_markup` builds in Python, one tag per list
instead of a template node per value."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from django import template
from django.utils.safestring import SafeString, mark_safe

from dashboard.display import row_markup
from dashboard.display.agenda_rows import AgendaDay
from dashboard.display.row_models import LockboxRow, ProspectRow, UnitProspectRow, UnitRow
from dashboard.display.timeline import Day, Item

register = template.Library()


@register.simple_tag
def prospect_rows(rows: Iterable[ProspectRow]) -> SafeString:
    return mark_safe("".join(row_markup.prospect_row(p) for p in rows))  # noqa: S308 - row_markup escapes every value


@register.simple_tag
def unit_rows(rows: Iterable[UnitRow]) -> SafeString:
    return mark_safe("".join(row_markup.unit_row(u) for u in rows))  # noqa: S308 - row_markup escapes every value


@register.simple_tag
def lockbox_rows(rows: Iterable[LockboxRow]) -> SafeString:
    return mark_safe("".join(row_markup.lockbox_row(box) for box in rows))  # noqa: S308 - row_markup escapes every value


@register.simple_tag
def unit_prospect_rows(rows: Iterable[UnitProspectRow]) -> SafeString:
    return mark_safe("".join(row_markup.unit_prospect_row(p) for p in rows))  # noqa: S308 - row_markup escapes every value


@register.simple_tag
def showing_rows(items: Iterable[Item]) -> SafeString:
    return row_markup.showing_rows(items)


@register.simple_tag
def timeline_days(days: Iterable[Day]) -> SafeString:
    return row_markup.timeline_days(days)


@register.simple_tag
def agenda_days(days: Iterable[AgendaDay], today: date) -> SafeString:
    return row_markup.agenda_days(days, today)
