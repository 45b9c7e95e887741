"""The simulator's data, in memory: one ordered table per resource, with cached JSON per row.

Rows are plain dicts holding exactly the fields the REST API returns, plus internal fields whose
names start with "_" (never served). Each table is kept in API order, `created_at` (or its own
order field) then `id`, so a list request is a filter (cached per query until the table changes)
and a slice; every row's JSON is serialised once and reused until the row changes, which is what
keeps large sizes fast. New rows always get a timestamp later than every existing one
(`State.clock`), so they append at the end and offset pages stay stable, as on the real service.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

Row = dict[str, Any]
STAMP_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"
VIEW_CACHE_LIMIT = 512


def stamp(moment: datetime) -> str:
    """RentEngine's timestamp spelling: `2024-10-05T18:53:03.406168Z` (always six digits, UTC).
    Spelled out by hand: strftime does not zero-pad years before 1000."""
    m = moment.astimezone(UTC)
    return f"{m.year:04d}-{m.month:02d}-{m.day:02d}T{m.hour:02d}:{m.minute:02d}:{m.second:02d}.{m.microsecond:06d}Z"


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_DAY_US = 86_400_000_000
_day_prefixes: dict[int, str] = {}


def stamp_us(micros: int) -> str:
    """`stamp()` for microseconds since the epoch; fast, because seeding formats a million of them."""
    day, rest = divmod(micros, _DAY_US)
    prefix = _day_prefixes.get(day)
    if prefix is None:
        prefix = _day_prefixes[day] = (_EPOCH + timedelta(days=day)).strftime("%Y-%m-%dT")
    seconds, fraction = divmod(rest, 1_000_000)
    minutes, second = divmod(seconds, 60)
    hour, minute = divmod(minutes, 60)
    return f"{prefix}{hour:02d}:{minute:02d}:{second:02d}.{fraction:06d}Z"


def micros(moment: datetime) -> int:
    return (moment - _EPOCH) // timedelta(microseconds=1)


def stamp_parse(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def json_bytes(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def public(row: Row) -> Row:
    return {k: v for k, v in row.items() if k[0] != "_"}


@dataclass(eq=False)
class Table:
    name: str
    order: str = "created_at"
    rows: list[Row] = field(default_factory=list)
    index: dict[Any, int] = field(default_factory=dict)
    blobs: dict[Any, bytes] = field(default_factory=dict)
    views: dict[tuple[Any, ...], list[Row]] = field(default_factory=dict)
    version: int = 0
    # Rows grouped by one field, for tables whose rows never change (leasing events by prospect).
    group_by: str | None = None
    groups: dict[Any, list[Row]] = field(default_factory=dict)

    def load(self, rows: Iterable[Row]) -> None:
        self.rows = sorted(rows, key=lambda r: (r[self.order], r["id"]))
        self.index = {row["id"]: position for position, row in enumerate(self.rows)}
        self.blobs.clear()
        self.groups = {}
        if self.group_by:
            for row in self.rows:
                self.groups.setdefault(row[self.group_by], []).append(row)
        self.changed()

    def get(self, row_id: Any) -> Row | None:
        position = self.index.get(row_id)
        return None if position is None else self.rows[position]

    def append(self, row: Row) -> None:
        # Callers stamp new rows with State.clock(), so the order holds by construction.
        self.index[row["id"]] = len(self.rows)
        self.rows.append(row)
        if self.group_by:
            self.groups.setdefault(row[self.group_by], []).append(row)
        self.changed()

    def replace(self, row: Row) -> None:
        assert self.group_by is None, "grouped tables hold rows that never change"
        self.rows[self.index[row["id"]]] = row
        self.blobs.pop(row["id"], None)
        self.changed()

    def changed(self) -> None:
        self.version += 1
        self.views.clear()

    def blob(self, row: Row) -> bytes:
        cached = self.blobs.get(row["id"])
        if cached is None:
            cached = self.blobs[row["id"]] = json_bytes(public(row))
        return cached

    def view(
        self,
        key: tuple[Any, ...],
        keep: Callable[[Row], bool] | None,
        *,
        source: Sequence[Row] | None = None,
        sort: Callable[[Row], Any] | None = None,
    ) -> Sequence[Row]:
        """The rows a query selects (from `source`, default all rows) in API order, cached until the
        table changes; `sort` reorders them (reporting sorts by planned time)."""
        source = self.rows if source is None else source
        if keep is None and sort is None:
            return source
        cached = self.views.get(key)
        if cached is None:
            if len(self.views) >= VIEW_CACHE_LIMIT:
                self.views.clear()
            cached = [row for row in source if keep(row)] if keep is not None else list(source)
            if sort is not None:
                cached.sort(key=sort)
            self.views[key] = cached
        return cached


TABLE_NAMES = (
    "units",
    "prospects",
    "leasing_events",
    "showings",
    "lockboxes",
    "lockbox_events",
    "lockbox_installations",
    "subteams",
    "prescreening_templates",
    "multifamily_properties",
    "floorplans",
)


@dataclass(eq=False)
class State:
    seed: int
    size: str
    anchor: datetime
    accounts: list[Row] = field(default_factory=list)
    users: list[Row] = field(default_factory=list)
    tables: dict[str, Table] = field(default_factory=dict)
    # (account_id, phone) -> prospect ids: one person enquiring about several units.
    phones: dict[tuple[str, str], list[int]] = field(default_factory=dict)
    next_ids: dict[str, int] = field(default_factory=dict)
    rng: random.Random = field(default_factory=random.Random)  # activity and fault dice, seeded
    on_change: Callable[[str, str, Row | None, Row | None], None] | None = None
    _last: datetime | None = None

    def table(self, name: str) -> Table:
        return self.tables[name]

    def clock(self) -> datetime:
        """Now, but strictly after every timestamp already handed out (and after the seeded data)."""
        now = datetime.now(UTC)
        floor = (self._last or self.anchor) + timedelta(microseconds=1)
        self._last = max(now, floor)
        return self._last

    def new_id(self, name: str) -> int:
        self.next_ids[name] += 1
        return self.next_ids[name]

    def user(self, user_id: str) -> Row | None:
        return next((u for u in self.users if u["id"] == user_id), None)

    def account_user_ids(self, account_id: str) -> set[str]:
        return {u["id"] for u in self.users if account_id in u["account_ids"]}

    def account(self, account_id: str) -> Row | None:
        return next((a for a in self.accounts if a["id"] == account_id), None)

    def emit(self, table: str, kind: str, record: Row | None, old_record: Row | None) -> None:
        if self.on_change is not None:
            self.on_change(table, kind, record, old_record)


def state_new(*, seed: int, size: str, anchor: datetime) -> State:
    state = State(seed=seed, size=size, anchor=anchor, rng=random.Random(f"activity:{seed}"))
    state.tables = {name: Table(name) for name in TABLE_NAMES}
    state.tables["lockbox_installations"].order = "installed_at"
    state.tables["leasing_events"].group_by = "prospect_id"
    return state
