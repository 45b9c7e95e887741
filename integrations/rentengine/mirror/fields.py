"""What every mirror write shares: the result type, row fields, value fitting, accounts and users seen."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from integrations.rentengine.models import (
    Account,
    RentEngineUser,
)


@dataclass
class Applied:
    """What a write did: how many rows it looked at, which changed, and in which accounts."""

    seen: int = 0
    changed_ids: list[Any] = field(default_factory=list)
    accounts: set[str] = field(default_factory=set)
    deferred: int = 0  # rows left for a later pass (e.g. a showing whose prospect isn't mirrored yet)

    @property
    def changed(self) -> int:
        return len(self.changed_ids)

    def add(self, other: Applied) -> Applied:
        self.seen += other.seen
        self.changed_ids += other.changed_ids
        self.accounts |= other.accounts
        self.deferred += other.deferred
        return self


def _mirror_fields(record: Any, now: datetime) -> dict[str, Any]:
    return {
        "raw": record.raw,
        "source_updated_at": getattr(record, "updated_at", None),
        "deleted_at": None,
        "tombstone_reason": "",
        "synced_at": now,
    }


def _cut(value: str | None, length: int) -> str:
    return (value or "").strip()[:length]


def _fit(value: Decimal | None, max_digits: int, places: int) -> Decimal | None:
    """A decimal that fits the column, or None (a garbage value must not fail the whole batch)."""
    if value is None:
        return None
    value = round(value, places)
    return value if abs(value) < Decimal(10) ** (max_digits - places) else None


def _int(value: int | None, limit: int = 2**31 - 1) -> int | None:
    return value if value is None or -limit <= value <= limit else None


def accounts_ensure(account_ids: Iterable[str | None]) -> set[str]:
    """Create Account rows for account ids seen for the first time (RentEngine has no accounts endpoint)."""
    wanted = {str(a) for a in account_ids if a}
    if wanted:
        known = {str(a) for a in Account.objects.filter(id__in=wanted).values_list("id", flat=True)}
        missing = wanted - known
        if missing:
            Account.objects.bulk_create([Account(id=a) for a in sorted(missing)], ignore_conflicts=True)
    return wanted


def users_seen(user_ids_by_account: dict[str | None, set[str]]) -> None:
    """Remember RentEngine user ids seen in the data, per account (there is no users endpoint)."""
    wanted = {str(u) for ids in user_ids_by_account.values() for u in ids if u}
    if not wanted:
        return
    known = set(map(str, RentEngineUser.objects.filter(id__in=wanted).values_list("id", flat=True)))
    if wanted - known:
        RentEngineUser.objects.bulk_create([RentEngineUser(id=u) for u in sorted(wanted - known)], ignore_conflicts=True)
    through = RentEngineUser.accounts.through
    pairs = {(str(account), str(u)) for account, ids in user_ids_by_account.items() if account for u in ids if u}
    if pairs:
        linked = {
            (str(a), str(u))
            for a, u in through.objects.filter(
                account_id__in={a for a, _ in pairs}, rentengineuser_id__in={u for _, u in pairs}
            ).values_list("account_id", "rentengineuser_id")
        }
        through.objects.bulk_create(
            [through(account_id=a, rentengineuser_id=u) for a, u in sorted(pairs - linked)], ignore_conflicts=True
        )
