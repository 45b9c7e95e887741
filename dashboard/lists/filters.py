"""Every list's filter definition: what its query string can ask for and the queryset that answers.

Each is a `filtering.ListFilter` over the account's live rows; the list view, its CSV export and
"select all matching" build the same one, so the three always agree.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import HttpRequest, QueryDict
from django.utils import timezone

from dashboard.display import pills
from dashboard.lists.filtering import (
    AmountFilter,
    DayField,
    DayFilter,
    ListFilter,
    OneOfField,
    OneOfFilter,
    Sort,
    TextFilter,
    WholeNumberFilter,
)
from dashboard.models import BulkAssignment
from dashboard.people.access import account_zone, day_end, day_start, my_user_id
from dashboard.people.names import people_names
from integrations.rentengine import vocabulary
from integrations.rentengine.models import Account, Lockbox, LockboxEvent, Prospect, ProspectAssignee, Showing, Unit

YES_NO = {"yes": "Yes", "no": "No"}


# --- prospects ------------------------------------------------------------------------------------


def prospect_search(queryset: QuerySet[Prospect], q: str) -> QuerySet[Prospect]:
    """Name, email or phone. Digits search the normalised phone, so any spelling of a number matches."""
    digits = "".join(c for c in q if c.isdigit())
    if len(digits) >= 3 and len(digits) >= len(q.replace(" ", "")) // 2:
        return queryset.filter(phone_digits__contains=digits[-10:])
    if "@" in q:
        return queryset.filter(email__fold_contains=q)
    # Accent- and case-insensitive: "Sandulescu" finds "Săndulescu" (integrations/rentengine/text_fold.py).
    return queryset.filter(Q(name__fold_contains=q) | Q(email__fold_contains=q))


def assigned_to(user_id: str) -> Exists:
    return Exists(ProspectAssignee.objects.filter(prospect_id=OuterRef("pk"), user_id=user_id))


def anyone_assigned() -> Exists:
    return Exists(ProspectAssignee.objects.filter(prospect_id=OuterRef("pk")))


def unassigned() -> Q:
    # No assignment event ever means nobody is assigned: a plain column test the database checks
    # first, so the assignee subqueries only run (and their hashes only get built) for the rest.
    return Q(assigned_by_event_id__isnull=True) | Q(~anyone_assigned())


class AssigneeField(OneOfField):
    """A scope ("mine", "all"...) or a RentEngine user id (canonical), else the default scope."""

    def clean(self, value: Any) -> str:
        scope = super().clean(value)
        if scope == self.default and isinstance(value, str) and value and value != self.default:
            try:
                return str(uuid.UUID(value))
            except ValueError:
                pass
        return scope


class AssigneeFilter(OneOfFilter):
    field_class = AssigneeField


class ProspectFilter(ListFilter):
    """The prospects list ("mine + unassigned" unless asked otherwise)."""

    # "Newest" walks the primary key: RentEngine numbers prospects in creation order, and the key is
    # the one order a person's prospects can be read in straight from the assignee index (user_id,
    # prospect_id), instead of scanning the account's prospects for the few that are theirs.
    SORTS = {
        "newest": Sort("id", True, "Newest first"),
        "oldest": Sort("id", False, "Oldest first"),
        "status": Sort("status_changed_at", True, "Latest status change"),
        "follow_up": Sort("next_follow_up", False, "Follow-up due"),
        "name": Sort("name", False, "Name"),
    }
    DEFAULT_SORT = "newest"
    SCOPES = {"mine_unassigned": "Mine + unassigned", "mine": "Mine", "unassigned": "Unassigned", "all": "Everyone"}
    FAMILIES = {"open": "Open (not leased or closed)", **{f.value: label for f, label in vocabulary.STATUS_FAMILY_LABELS.items()}}
    COUNTED = ("family", "status", "source", "unit", "created_from", "created_to", "assignee")

    q = TextFilter(method="filter_search")
    family = OneOfFilter(choices=FAMILIES, method="filter_family")
    status = OneOfFilter("status", choices=vocabulary.LEASING_EVENT_TYPES)
    source = TextFilter("source_normalized")
    unit = WholeNumberFilter("unit_id")
    created_from = DayFilter(method="filter_created_from")
    created_to = DayFilter(method="filter_created_to")
    assignee = AssigneeFilter(choices=SCOPES, default="mine_unassigned", method="filter_assignee")

    def __init__(self, data: QueryDict, *, account: Account, me: str | None) -> None:
        super().__init__(data, Prospect.objects.alive().filter(account=account))
        self.zone, self.me = account_zone(account), me

    def filter_search(self, queryset: QuerySet[Prospect], name: str, value: str) -> QuerySet[Prospect]:
        return prospect_search(queryset, value)

    def filter_family(self, queryset: QuerySet[Prospect], name: str, value: str) -> QuerySet[Prospect]:
        if value == "open":
            return queryset.filter(status_family__in=[f.value for f in vocabulary.OPEN_STATUS_FAMILIES])
        return queryset.filter(status_family=value)

    def filter_created_from(self, queryset: QuerySet[Prospect], name: str, value: Any) -> QuerySet[Prospect]:
        return queryset.filter(created_at__gte=day_start(value, self.zone))

    def filter_created_to(self, queryset: QuerySet[Prospect], name: str, value: Any) -> QuerySet[Prospect]:
        return queryset.filter(created_at__lt=day_end(value, self.zone))

    def filter_assignee(self, queryset: QuerySet[Prospect], name: str, scope: str) -> QuerySet[Prospect]:
        me = self.me
        if scope == "all":
            return queryset
        if scope == "unassigned" or (scope == "mine_unassigned" and me is None):
            return queryset.filter(unassigned())
        if scope == "mine":
            return queryset.filter(assigned_to(me)) if me else queryset.none()
        if scope == "mine_unassigned":
            assert me is not None
            return queryset.filter(Q(assigned_by_event_id__isnull=True) | Q(assigned_to(me)) | ~anyone_assigned())
        return queryset.filter(assigned_to(scope))  # a RentEngine user id


def prospect_filter(request: HttpRequest, account: Account) -> ProspectFilter:
    return ProspectFilter(request.GET, account=account, me=my_user_id(request))


# --- units ----------------------------------------------------------------------------------------


def lockbox_on_unit() -> Exists:
    return Exists(Lockbox.objects.filter(current_unit_id=OuterRef("pk"), deleted_at__isnull=True))


def unit_search(queryset: QuerySet[Unit], q: str) -> QuerySet[Unit]:
    if q.isdigit():
        return queryset.filter(Q(id=int(q)) | Q(address__fold_contains=q) | Q(zip_code=q))
    return queryset.filter(address__fold_contains=q)


class UnitFilter(ListFilter):
    SORTS = {
        "address": Sort("address_order", False, "Address"),  # street, then number as a number, then unit
        "rent_low": Sort("rent", False, "Rent, low to high"),
        "rent_high": Sort("rent", True, "Rent, high to low"),
        "bedrooms": Sort("bedrooms", True, "Most bedrooms"),
        "updated": Sort("source_updated_at", True, "Recently updated"),
    }
    DEFAULT_SORT = "address"
    COUNTED = ("status", "market", "city", "occupied", "lockbox", "bedrooms", "rent_min", "rent_max")

    q = TextFilter(method="filter_search")
    status = OneOfFilter("status", choices=pills.UNIT_STATUSES)
    market = OneOfFilter(choices=YES_NO, method="filter_market")
    city = TextFilter("city")
    bedrooms = AmountFilter("bedrooms", "gte")
    rent_min = AmountFilter("rent", "gte")
    rent_max = AmountFilter("rent", "lte")
    occupied = OneOfFilter(choices=YES_NO, method="filter_occupied")
    lockbox = OneOfFilter(choices=YES_NO, method="filter_lockbox")

    def __init__(self, data: QueryDict, *, account: Account) -> None:
        super().__init__(data, Unit.objects.alive().filter(account=account))

    def filter_search(self, queryset: QuerySet[Unit], name: str, value: str) -> QuerySet[Unit]:
        return unit_search(queryset, value)

    def filter_market(self, queryset: QuerySet[Unit], name: str, value: str) -> QuerySet[Unit]:
        on_market = [s.value for s in vocabulary.UNIT_STATUSES_ON_MARKET]
        return queryset.filter(status__in=on_market) if value == "yes" else queryset.exclude(status__in=on_market)

    def filter_occupied(self, queryset: QuerySet[Unit], name: str, value: str) -> QuerySet[Unit]:
        return queryset.filter(is_occupied=value == "yes")

    def filter_lockbox(self, queryset: QuerySet[Unit], name: str, value: str) -> QuerySet[Unit]:
        return queryset.filter(lockbox_on_unit() if value == "yes" else ~lockbox_on_unit())


# --- lockboxes: the inventory and the activity feed -----------------------------------------------


class LockboxFilter(ListFilter):
    SORTS = {
        "serial": Sort("serial_number", False, "Serial number"),
        "last_event": Sort("last_event_at", True, "Latest activity"),
        "quietest": Sort("last_event_at", False, "Quietest first"),
        "installed": Sort("installed_at", True, "Recently installed"),
    }
    DEFAULT_SORT = "serial"
    STATES = {key: label for key, (label, _) in pills.LOCKBOX_STATES.items()}
    TYPES = ("Sentrilock", "Codebox")
    COUNTED = ("state", "type")

    q = TextFilter("serial_number", "icontains")
    state = OneOfFilter(choices=STATES, method="filter_state")
    type = TextFilter("lockbox_type")

    def __init__(self, data: QueryDict, *, account: Account) -> None:
        super().__init__(data, Lockbox.objects.alive().filter(account=account))

    def filter_state(self, queryset: QuerySet[Lockbox], name: str, value: str) -> QuerySet[Lockbox]:
        quiet_since = timezone.now() - pills.LOCKBOX_QUIET_AFTER
        if value == "not_installed":
            return queryset.filter(current_unit_id__isnull=True)
        if value == "installed":
            return queryset.filter(current_unit_id__isnull=False, last_event_at__gt=quiet_since)
        return queryset.filter(Q(last_event_at__isnull=True) | Q(last_event_at__lte=quiet_since), current_unit_id__isnull=False)


class LockboxActivityFilter(ListFilter):
    SORTS = {"newest": Sort("created_at", True, "Newest first")}
    DEFAULT_SORT = "newest"
    COUNTED = ("type", "unit", "since", "until")

    type = OneOfFilter("event_type", choices=pills.LOCKBOX_EVENT_TYPES)
    unit = WholeNumberFilter("unit_id")
    since = DayFilter(method="filter_since")
    until = DayFilter(method="filter_until")

    def __init__(self, data: QueryDict, *, account: Account) -> None:
        super().__init__(data, LockboxEvent.objects.alive().filter(account=account))
        self.zone = account_zone(account)

    def filter_since(self, queryset: QuerySet[LockboxEvent], name: str, value: Any) -> QuerySet[LockboxEvent]:
        return queryset.filter(created_at__gte=day_start(value, self.zone))

    def filter_until(self, queryset: QuerySet[LockboxEvent], name: str, value: Any) -> QuerySet[LockboxEvent]:
        return queryset.filter(created_at__lt=day_end(value, self.zone))


# --- the showings agenda --------------------------------------------------------------------------


class AgendaFilter(ListFilter):
    """The agenda's showings at any date (`start`/`end` give the range the view shows): one
    definition for the agenda, its chart and its CSV export."""

    SORTS = {"time": Sort("planned_at", False, "Time")}
    DEFAULT_SORT = "time"
    VIEWS = {"day": "Day", "week": "Week"}

    FIELDS = {"view": OneOfField(choices=VIEWS, default="day", required=False), "date": DayField(required=False)}

    agent = TextFilter(method="filter_agent")
    unit = WholeNumberFilter("unit_id")
    status = OneOfFilter("status", choices=pills.SHOWING_STATUSES)

    def __init__(self, data: QueryDict, *, account: Account, request: HttpRequest) -> None:
        super().__init__(data, Showing.objects.alive().filter(account=account))
        self.account_id, self.zone, self.viewer = account.id, account_zone(account), request
        self.today = timezone.now().astimezone(self.zone).date()

    def filter_agent(self, queryset: QuerySet[Showing], name: str, value: str) -> QuerySet[Showing]:
        if value == "mine":
            mine = self.my_agent_names
            return queryset.filter(agent_name__in=mine) if mine else queryset.none()
        return queryset.filter(agent_name=value)

    @property
    def my_agent_names(self) -> list[str]:
        """The names the showings report may give me: my login's full name and my RentEngine name."""
        if not hasattr(self, "_mine"):
            user = self.viewer.user
            names = [user.get_full_name()] if user.is_authenticated else []
            me = my_user_id(self.viewer)
            if me:
                names += people_names([me], account_id=self.account_id).values()
            self._mine = [n for n in names if n]
        return self._mine

    @property
    def day(self) -> Any:
        return self.values["date"] or self.today

    @property
    def days(self) -> int:
        return 1 if self.values["view"] == "day" else 7

    @property
    def start(self) -> Any:
        return day_start(self.day, self.zone)

    @property
    def end(self) -> Any:
        return day_start(self.day + timedelta(days=self.days), self.zone)


# --- bulk assignment jobs -------------------------------------------------------------------------


class JobFilter(ListFilter):
    """/assignments/: newest first, no filters."""

    SORTS = {"newest": Sort("id", True, "Newest first")}
    DEFAULT_SORT = "newest"

    def __init__(self, data: QueryDict, *, account: Account) -> None:
        super().__init__(data, BulkAssignment.objects.filter(account=account))
