"""Times as lists show them, in the account's zone: a `Moment` formats each form (label, title,
machine-readable, time of day) the first time it is read."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, tzinfo
from functools import cached_property
from typing import Final

# The forms lists use are written out from the datetime's fields, not strftime (bench/NOTES.md);
# English names, as strftime's under the C locale Django runs in. Other formats go to strftime.
_DAYS: Final = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS: Final = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _clock(local: datetime) -> str:
    """ "%-I:%M %p"."""
    hour = local.hour
    return f"{hour % 12 or 12}:{local.minute:02d} {'AM' if hour < 12 else 'PM'}"


SHORT_DATE = "%b %-d, %Y"
SHORT_DATETIME = "%b %-d, %-I:%M %p"
_LABELS: Final[dict[str, Callable[[datetime], str]]] = {
    SHORT_DATE: lambda d: f"{_MONTHS[d.month - 1]} {d.day}, {d.year}",
    SHORT_DATETIME: lambda d: f"{_MONTHS[d.month - 1]} {d.day}, {_clock(d)}",
}


class Moment:
    """A time as a list shows it: machine-readable, short label, full title on hover, time of day,
    each made the first time it is read (a row shows two or three of the four). Every form is
    digits, English names and punctuation: nothing that needs HTML escaping."""

    def __init__(self, local: datetime, label_format: str = SHORT_DATE) -> None:
        self.local = local
        self.label_format = label_format

    @cached_property
    def iso(self) -> str:
        return self.local.isoformat()

    @cached_property
    def label(self) -> str:
        quick = _LABELS.get(self.label_format)
        return quick(self.local) if quick else self.local.strftime(self.label_format)

    @cached_property
    def title(self) -> str:
        """ "%a, %b %-d %Y, %-I:%M %p %Z"."""
        d = self.local
        return f"{_DAYS[d.weekday()]}, {_MONTHS[d.month - 1]} {d.day} {d.year}, {_clock(d)} {d.tzname() or ''}"

    @cached_property
    def time(self) -> str:
        return _clock(self.local)

    def __str__(self) -> str:
        return self.label

    def __repr__(self) -> str:
        return f"Moment({self.iso!r})"


def moment(value: datetime | None, zone: tzinfo, label: str = SHORT_DATE) -> Moment | None:
    if value is None:
        return None
    return Moment(value.astimezone(zone), label)


def age(since: datetime | None, now: datetime) -> str:
    """How long ago, coarsely ("5 min", "3 h", "12 days"): for "last event" columns."""
    if since is None:
        return ""
    seconds = max(0, int((now - since).total_seconds()))
    if seconds < 3600:
        return f"{max(1, seconds // 60)} min"
    if seconds < 86400:
        return f"{seconds // 3600} h"
    days = seconds // 86400
    return f"{days} day{'s' if days != 1 else ''}"
