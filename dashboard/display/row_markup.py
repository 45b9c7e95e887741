"""The HTML of the busiest rows, built in Python (list rows, timelines, the agenda, the unit page's
prospects and showings): one f-string over a row model, each value escaped once. Each has a
reference partial in templates/rows/reference.html, and tests/dashboard/display/test_row_markup.py
renders both for the same rows and compares."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from html import escape as _html_escape
from typing import Any

from django.template.defaultfilters import floatformat
from django.utils.safestring import SafeString, mark_safe

from dashboard.display.agenda_rows import AgendaDay, AgendaItem
from dashboard.display.moments import Moment
from dashboard.display.phones import phone_national, phone_tel
from dashboard.display.pills import Pill
from dashboard.display.row_models import LockboxRow, ProspectRow, UnitProspectRow, UnitRow
from dashboard.display.timeline import Day, Item

DASH_MUTED = '<span class="muted">—</span>'
NO_PILL = Pill("", "")
GONE_PILL = ' <span class="pill danger">deleted in RentEngine</span>'


def e(value: Any) -> str:
    """Escape like the template engine does: already-safe strings as they are, None as "None"."""
    if type(value) is str:  # the common case first: a plain string from the database
        return _html_escape(value, quote=True)
    if hasattr(value, "__html__"):
        return str(value.__html__())
    return _html_escape(str(value), quote=True)


# Moments (presentation.Moment) are made of digits, English names and punctuation: no escaping.
def _moment_time(moment: Moment, *, title: bool = True) -> str:
    if title:
        return f'<time datetime="{moment.iso}" title="{moment.title}">{moment.label}</time>'
    return f'<time datetime="{moment.iso}">{moment.label}</time>'


def decimal_short(value: Decimal | None) -> str:
    """`|floatformat:"-1"`: "3", "2.5"; "" for None."""
    if value is None:
        return ""
    if isinstance(value, Decimal) and value == value.to_integral_value():
        return str(int(value))
    return str(floatformat(value, -1))


def money_whole(value: Decimal) -> str:
    """`|floatformat:"0g"` for en-us: "1,500" (half up, as the filter rounds)."""
    if isinstance(value, Decimal) and value.is_finite():
        return f"{int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP)):,}"
    return str(floatformat(value, "0g"))


def _phone_link(raw: str) -> str:
    """`{% if raw %}<a href="{{ raw|tel }}">{{ raw|phone }}</a>{% endif %}`."""
    if not raw:
        return ""
    return f'<a href="{e(phone_tel(raw))}" class="tel">{e(phone_national(raw))}</a>'


# --- the prospects, units and lockboxes lists ------------------------------------------------------


def prospect_row(p: ProspectRow) -> str:
    pid = e(p.id)
    url = e(p.url)
    gone = p.gone
    name = e(p.name) if p.name else None
    phone, email = p.phone, p.email
    pill = p.pill
    if p.unit_text:
        unit = f'<a href="{e(p.unit_url)}">{e(p.unit_text)}</a>'
    elif p.unit_id:
        unit = f"Unit {e(p.unit_id)}"
    else:
        unit = DASH_MUTED
    assigned = ", ".join(e(n) for n in p.assignee_names) if p.assignee_names else '<span class="muted">Unassigned</span>'
    follow_up = _moment_time(p.follow_up) if p.follow_up else DASH_MUTED
    created = _moment_time(p.created) if p.created else ""
    return (
        f'\n<tr id="prospect-{pid}" data-id="{pid}"{' class="gone"' if gone else ""}>\n'
        f'  <td class="select-col"><input type="checkbox" class="row-select" value="{pid}" aria-label="Select {name or pid}"></td>\n'
        f'  <td data-label="Name" class="name-cell">\n'
        f'    <a href="{url}" class="strong">{name or "(no name)"}</a>{GONE_PILL if gone else ""}\n'
        f'    <a class="quick" href="{url}" hx-get="{url}quick/" hx-target="#quickview" hx-push-url="false" title="Open in the side panel">Quick view</a>\n'
        f'    <a class="assign-one" href="{url}assign/" data-assign-one title="Assign or reassign (keyboard: a)">Assign…</a>\n'
        f'    <div class="muted small contact">{_phone_link(phone)}{" · " if phone and email else ""}{e(email)}</div>\n'
        f"  </td>\n"
        f'  <td data-label="Status"><span class="pill {e(pill.css)}" title="{e(pill.title)}">{e(pill.label)}</span></td>\n'
        f'  <td data-label="Unit">{unit}</td>\n'
        f'  <td data-label="Source">{e(p.source or "—")}</td>\n'
        f'  <td data-label="Assigned">{assigned}</td>\n'
        f'  <td data-label="Follow-up">{follow_up}</td>\n'
        f'  <td data-label="Created">{created}</td>\n'
        f"</tr>\n"
    )


def unit_row(u: UnitRow) -> str:
    uid = e(u.id)
    gone = u.gone
    pill = u.pill
    city, state = u.city, u.state
    bedrooms, bathrooms = decimal_short(u.bedrooms), decimal_short(u.bathrooms)
    rent = f"${e(money_whole(u.rent))}" if u.rent is not None else "—"
    lockbox = f'<a href="{e(u.lockbox_url)}" class="mono">{e(u.lockbox_serial or "lockbox")}</a>' if u.lockbox_url else DASH_MUTED
    interest = f'<a href="{e(u.open_prospects_url)}">{e(u.open_prospects)}</a>' if u.open_prospects else "0"
    return (
        f'\n<tr id="unit-{uid}" data-id="{uid}"{' class="gone"' if gone else ""}>\n'
        f'  <td data-label="Address"><a href="{e(u.url)}" class="strong">{e(u.address or u.id)}</a>'
        f'{GONE_PILL if gone else ""}<div class="muted small">{e(city)}{", " if city and state else ""}{e(state)}</div></td>\n'
        f'  <td data-label="Status"><span class="pill {e(pill.css)}" title="{e(pill.title)}">{e(pill.label)}</span>'
        f"{' <span class="muted small">occupied</span>' if u.occupied else ''}</td>\n"
        f'  <td data-label="Beds / baths">{e(bedrooms or "—")} bd · {e(bathrooms or "—")} ba</td>\n'
        f'  <td data-label="Rent">{rent}</td>\n'
        f'  <td data-label="Showing">{e(u.showing_method or "—")}</td>\n'
        f'  <td data-label="Lockbox">{lockbox}</td>\n'
        f'  <td data-label="Open prospects">{interest}</td>\n'
        f"</tr>\n"
    )


def lockbox_row(box: LockboxRow) -> str:
    bid = e(box.id)
    gone = box.gone
    if box.unit_text:
        where = f'<a href="{e(box.unit_url)}">{e(box.unit_text)}</a>'
    elif box.unit_id:
        where = f"Unit {e(box.unit_id)}"
    else:
        where = DASH_MUTED
    installed = _moment_time(box.installed, title=False) if box.installed else "—"
    last = box.last_event
    last_event = (
        f'<time datetime="{last.iso}" title="{last.title}">{e(box.last_event_age)} ago</time>'
        if last
        else '<span class="muted">never</span>'
    )
    return (
        f'\n<tr id="lockbox-{bid}" data-id="{bid}"{' class="gone"' if gone else ""}>\n'
        f'  <td data-label="Serial"><a href="{e(box.url)}" class="mono strong">{e(box.serial_number or "(no serial)")}</a>'
        f'{GONE_PILL if gone else ""} <span class="muted small">{e(box.lockbox_type)}</span></td>\n'
        f'  <td data-label="State"><span class="pill {e(box.pill.css)}">{e(box.pill.label)}</span></td>\n'
        f'  <td data-label="Unit">{where}</td>\n'
        f'  <td data-label="Installed">{installed}</td>\n'
        f'  <td data-label="Last event">{last_event}</td>\n'
        f"</tr>\n"
    )


# --- the unit page: its prospects and showings ------------------------------------------------------


def unit_prospect_row(p: UnitProspectRow) -> str:
    pid = e(p.id)
    names = ", ".join(e(n) for n in p.assignee_names) or "Unassigned"
    return (
        f'\n      <tr id="prospect-{pid}" data-id="{pid}">\n'
        f'        <td data-label="Name"><a href="{e(p.url)}">{e(p.name or "(no name)")}</a> <span class="muted small">{_phone_link(p.phone)}</span></td>\n'
        f'        <td data-label="Status"><span class="pill {e(p.pill.css)}" title="{e(p.pill.title)}">{e(p.pill.label)}</span></td>\n'
        f'        <td data-label="Assigned">{names}</td>\n'
        f'        <td data-label="Created">{e(p.created)}</td>\n'
        f"      </tr>\n    "
    )


def showing_rows(items: Iterable[Item]) -> SafeString:
    """A unit's showings (timeline items): time, status, the links (but the unit's own) and who."""
    rows = []
    for item in items:
        when, pill = item.when, item.pill or NO_PILL
        links = "".join(f'<a href="{e(url)}">{e(label)}</a>' for label, url in item.links if label != "Unit")
        rows.append(
            f'\n  <li id="{e(item.key)}"><time datetime="{when.iso}" title="{when.title}">{when.label}</time>\n'
            f'    <span class="pill {e(pill.css)}">{e(pill.label)}</span>\n'
            f"    {links}\n"
            f'    <span class="muted small">{e(item.actor)}{f" · {e(item.detail)}" if item.detail else ""}</span></li>\n'
        )
    return mark_safe(f'<ul class="plain showing-rows">\n{"".join(rows)}</ul>\n')  # noqa: S308 - every value went through e()


# --- timelines (prospect, unit and lockbox pages, the lockbox activity feed) ------------------------


def _links(links: Iterable[tuple[str, str]]) -> str:
    return "".join(f' · <a href="{e(url)}">{e(label)}</a>' for label, url in links)


def _timeline_child(child: Item) -> str:
    when = child.when
    detail = f" · {e(child.detail)}" if child.detail else ""
    pill = child.pill or NO_PILL
    return (
        f'\n      <li class="tl-child {e(child.css)}" id="{e(child.key)}">\n'
        f'        <span class="pill {e(pill.css)}">{e(pill.label)}</span> {e(child.title)}\n'
        f'        <span class="muted small"><time datetime="{when.iso}" title="{when.title}">{when.label}</time>'
        f"{detail}{_links(child.links)}</span>\n"
        f"      </li>\n      "
    )


def _linebreaksbr(text: str) -> str:
    """`|linebreaksbr` (after escaping): every line break, of any kind, as <br>."""
    return e(text).replace("\r\n", "\n").replace("\r", "\n").replace("\n", "<br>")


def timeline_item(item: Item) -> str:
    css = e(item.css) + (" problem" if item.problem else "")
    pill = item.pill
    parts = [
        f'\n<li class="tl-item {css}" id="{e(item.key)}" data-kind="{e(item.kind)}">\n'
        f'  <span class="tl-icon" aria-hidden="true">{e(item.icon)}</span>\n'
        f'  <div class="tl-body">\n'
        f'    <div class="tl-title">\n'
        f"      <strong>{e(item.title)}</strong>\n"
        f"      {f'<span class="pill {e(pill.css)}" title="{e(pill.title)}">{e(pill.label)}</span>' if pill else ''}\n"
        f"      {'<span class="pill danger">Problem</span>' if item.problem else ''}\n"
        f"    </div>\n"
    ]
    if item.change:
        old, new = item.change[0], item.change[1]
        parts.append(
            f'    <div class="tl-change"><span class="old">{e(old)}</span> <span aria-label="to">→</span> <span class="new">{e(new)}</span></div>\n'
        )
    else:
        parts.append("    \n")
    parts.append(f'    <div class="tl-detail">{_linebreaksbr(item.detail)}</div>\n' if item.detail else "    \n")
    planned = item.planned_when
    parts.append(
        f'    <div class="tl-detail muted small">Showing time: <time datetime="{planned.iso}">{planned.label}</time></div>\n'
        if planned
        else "    \n"
    )
    when = item.when
    parts.append(
        f'    <div class="tl-meta muted small">\n'
        f'      <time datetime="{when.iso}" title="{when.title}">{when.time}</time>\n'
        f"      {f' · <span class="tl-actor">{e(item.actor)}</span>' if item.actor else ''}\n"
        f"      {f' · <span class="tl-source">{e(item.source)}</span>' if item.source else ''}\n"
        f"      {_links(item.links)}\n"
        f"    </div>\n"
    )
    if item.children:
        parts.append(
            '    \n    <ol class="tl-children">\n      '
            + "".join(_timeline_child(child) for child in item.children)
            + "\n    </ol>\n    \n"
        )
    else:
        parts.append("    \n")
    if item.folded:
        parts.append(
            f'    \n    <details class="tl-fold">\n'
            f"      <summary>{len(item.folded)} more by {e(item.actor)} within two minutes</summary>\n"
            f'      <ol class="tl-items">{"".join(timeline_item(f) for f in item.folded)}</ol>\n'
            f"    </details>\n    \n"
        )
    else:
        parts.append("    \n")
    parts.append("  </div>\n</li>\n")
    return "".join(parts)


def timeline_days(days: Iterable[Day]) -> SafeString:
    """One page of a timeline: day dividers and their rows."""
    out = []
    for day in days:
        iso = day.day.isoformat()
        out.append(
            f'\n<li class="tl-day" data-day="{iso}"><h3 class="tl-divider"><time datetime="{iso}">{e(day.label)}</time></h3>\n'
            f'  <ol class="tl-items">{"".join(timeline_item(item) for item in day.items)}</ol>\n'
            f"</li>\n"
        )
    return mark_safe("".join(out))  # noqa: S308 - every value above went through e()


# --- the showings agenda ---------------------------------------------------------------------------


def agenda_item(item: AgendaItem) -> str:
    when = item.when
    name = e(item.prospect_name or "Prospect")
    who = f'<a href="{e(item.prospect_url)}" class="strong">{name}</a>' if item.prospect_id else f"<strong>{name}</strong>"
    from_events = (
        '<span class="muted small" title="Known from leasing events; the showings report has not listed it yet">from events</span>'
        if item.from_events_only
        else ""
    )
    title = f'<a href="{e(item.unit_url)}">{e(item.title)}</a>' if item.unit_url else e(item.title)
    events = ""
    if item.events:
        events = (
            '<ol class="agenda-events">'
            + "".join(
                f'<li title="{ev.when.title}">{e(ev.event_type)} <span class="muted small">{ev.when.label}'
                f"{f' · {e(ev.source)}' if ev.source else ''}</span></li>"
                for ev in item.events
            )
            + "</ol>"
        )
    return (
        f'\n          <li class="agenda-item card" id="{e(item.key)}">\n'
        f'            <div class="agenda-time"><time datetime="{when.iso}" title="{when.title}">{when.time}</time></div>\n'
        f'            <div class="agenda-body">\n'
        f'              <div><span class="pill {e(item.pill.css)}">{e(item.pill.label)}</span>\n'
        f"                {who}\n"
        f"                {from_events}\n"
        f"              </div>\n"
        f"              <div>{title}</div>\n"
        f'              <div class="muted small">{e(item.agent) if item.agent else ""}{f" · {e(item.detail)}" if item.detail else ""}</div>\n'
        f"              {events}\n"
        f"            </div>\n"
        f"          </li>\n        "
    )


def agenda_days(days: Iterable[AgendaDay], today: date) -> SafeString:
    out = []
    for day in days:
        out.append(
            f'\n      <li class="agenda-day{" today" if day.day == today else ""}"><h2 class="tl-divider">'
            f'<time datetime="{day.day.isoformat()}">{e(day.label)}</time></h2>\n'
            f'        <ol class="agenda-items">\n        {"".join(agenda_item(item) for item in day.items)}\n        </ol>\n'
            f"      </li>\n      "
        )
    return mark_safe("".join(out))  # noqa: S308 - every value above went through e()
