"""What a list reads from its query string: a `ListFilter` (a django-filter FilterSet) per list with
its filters, sorts and cursor, and the fields that clean every value: the one place a hand-edited
URL is made harmless (a NUL byte, 10,000 characters, a date past 2999, a number no column holds, a
cursor that isn't one read as "not set" or are cut to size, never a 500)."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, ClassVar

import django_filters
from django import forms
from django.db.models import QuerySet
from django.http import QueryDict

TEXT_MAX = 100
CURSOR_MAX = 1_000  # a keyset cursor is ~30-150 characters of base64
NUMBER_LIMIT = 2**62  # inside a bigint, with room for the +1s of range lookups
AMOUNT_LIMIT = Decimal(10**9)
FIRST_DAY, LAST_DAY = date(1900, 1, 1), date(2999, 12, 31)  # day arithmetic (a week on, a chart around) stays in range
# C0 control characters and DEL, but the whitespace ones (str.split() takes those): PostgreSQL
# refuses NUL in text, and none of them belong in a search.
_CONTROLS = dict.fromkeys([*range(0x00, 0x09), *range(0x0E, 0x1C), 0x7F])
_CURSOR_ALPHABET = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=")


@dataclass(frozen=True)
class Sort:
    """One way to order a list: a model field and a direction (ties broken by primary key)."""

    field: str
    descending: bool
    label: str = ""


def value_fits(value: Any) -> bool:
    """Whether a value read from a cursor can go into a query: no NUL in text, numbers and dates in range."""
    if isinstance(value, str):
        return "\x00" not in value
    if isinstance(value, bool) or value is None:
        return True
    if isinstance(value, int):
        return -NUMBER_LIMIT < value < NUMBER_LIMIT
    if isinstance(value, Decimal):
        return value.is_finite() and abs(value) < NUMBER_LIMIT
    if isinstance(value, datetime):
        return FIRST_DAY <= value.date() <= LAST_DAY
    if isinstance(value, date):
        return FIRST_DAY <= value <= LAST_DAY
    return True


def text_clean(value: Any, *, max_length: int = TEXT_MAX) -> str:
    """Text as a list reads it: control characters dropped, whitespace collapsed, cut to length."""
    if not isinstance(value, str):
        return ""
    return " ".join(value.translate(_CONTROLS).split())[:max_length]


class TextField(forms.Field):
    def __init__(self, *, max_length: int = TEXT_MAX, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.max_length = max_length

    def clean(self, value: Any) -> str:
        return text_clean(value, max_length=self.max_length)


class OneOfField(forms.Field):
    """One of `choices` (their keys), else `default`."""

    def __init__(self, *, choices: Collection[str], default: str = "", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.choices, self.default = choices, default

    def clean(self, value: Any) -> str:
        return value if isinstance(value, str) and value in self.choices else self.default


class WholeNumberField(forms.Field):
    def clean(self, value: Any) -> int | None:
        try:
            number = int(value or "")
        except ValueError:  # also for a string of thousands of digits
            return None
        return number if -NUMBER_LIMIT < number < NUMBER_LIMIT else None


class AmountField(forms.Field):
    """A number as people type money: "1,925", "$1925", "2.5"."""

    def clean(self, value: Any) -> Decimal | None:
        try:
            amount = Decimal((value or "").replace(",", "").replace("$", "").strip())
        except InvalidOperation:
            return None
        return amount if amount.is_finite() and abs(amount) < AMOUNT_LIMIT else None


class DayField(forms.Field):
    """An ISO date, clamped to FIRST_DAY..LAST_DAY (a range reaching past them means the same)."""

    def clean(self, value: Any) -> date | None:
        try:
            day = date.fromisoformat((value or "").strip())
        except ValueError:
            return None
        return min(max(day, FIRST_DAY), LAST_DAY)


class CursorField(forms.Field):
    """A keyset cursor's text (`paging.cursor_decode` reads what it says, or ignores it)."""

    def clean(self, value: Any) -> str | None:
        if not isinstance(value, str) or not value or len(value) > CURSOR_MAX or not _CURSOR_ALPHABET.issuperset(value):
            return None
        return value


class _Filter(django_filters.Filter):
    def __init__(self, field_name: str | None = None, lookup_expr: str | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("label", "")  # the sheet writes its own labels
        super().__init__(field_name, lookup_expr, **kwargs)


class TextFilter(_Filter):
    field_class = TextField


class OneOfFilter(_Filter):
    field_class = OneOfField


class WholeNumberFilter(_Filter):
    field_class = WholeNumberField


class AmountFilter(_Filter):
    field_class = AmountField


class DayFilter(_Filter):
    field_class = DayField


class _SharedFields(dict[str, forms.Field]):
    """A form's fields, shared by its instances: the fields above only clean, they keep nothing."""

    def __deepcopy__(self, memo: dict[int, Any]) -> dict[str, forms.Field]:
        return dict(self)


class ListFilter(django_filters.FilterSet):
    """One list's query string: its filters (declared on the subclass), FIELDS (values it reads
    that filter nothing by themselves), `sort` (one of SORTS) and `after` (the keyset cursor).
    `values` is what the filter sheet shows back."""

    FIELDS: ClassVar[dict[str, forms.Field]] = {}
    SORTS: ClassVar[dict[str, Sort]] = {}
    DEFAULT_SORT: ClassVar[str] = ""
    COUNTED: ClassVar[tuple[str, ...]] = ()  # the filters the sheet's badge counts when set
    _form_classes: ClassVar[dict[type, type[forms.Form]]] = {}

    def __init__(self, data: QueryDict, queryset: QuerySet[Any]) -> None:
        # FilterSet.__init__ deep-copies every filter (their choices too) to bind it to this
        # instance; these filters hold no per-request state, so every instance shares them.
        self.is_bound, self.data, self.queryset = True, data, queryset
        self.request, self.form_prefix = None, None
        self.filters = self.base_filters

    def get_form_class(self) -> type[forms.Form]:
        # Likewise the form's fields: one form class per list, sharing its fields, not a copy a request.
        found = ListFilter._form_classes.get(type(self))
        if found is None:
            fields: dict[str, forms.Field] = {name: f.field for name, f in self.filters.items()} | self.FIELDS
            fields["sort"] = OneOfField(choices=self.SORTS, default=self.DEFAULT_SORT, required=False)
            fields["after"] = CursorField(required=False)
            found = type(f"{type(self).__name__}Form", (forms.Form,), fields)
            found.base_fields = _SharedFields(found.base_fields)
            ListFilter._form_classes[type(self)] = found
        return found

    def filter_queryset(self, queryset: QuerySet[Any]) -> QuerySet[Any]:
        cleaned = self.form.cleaned_data
        for name, filter_ in self.filters.items():
            value = cleaned.get(name)
            if value in (None, ""):
                continue
            queryset = getattr(self, filter_.method)(queryset, name, value) if filter_.method else filter_.filter(queryset, value)
        return queryset

    @property
    def values(self) -> dict[str, Any]:
        """Every cleaned value by name, plus `active`: how many of COUNTED are set (not to their default)."""
        if not hasattr(self, "_values"):
            self.is_valid()  # the fields never refuse a value; this only runs them
            cleaned = dict(self.form.cleaned_data)
            defaults = {name: getattr(self.form.fields[name], "default", None) for name in self.COUNTED}
            cleaned["active"] = sum(1 for name in self.COUNTED if cleaned.get(name) not in (None, "", defaults[name]))
            self._values = cleaned
        return self._values

    @property
    def sort(self) -> Sort:
        return self.SORTS[self.values["sort"]]

    @property
    def cursor(self) -> str | None:
        cursor: str | None = self.values["after"]
        return cursor

    @classmethod
    def sort_choices(cls) -> list[tuple[str, str]]:
        """(key, label) for the sheet's Sort menu."""
        return [(key, sort.label) for key, sort in cls.SORTS.items()]
