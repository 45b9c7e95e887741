"""Seeded lockboxes, their install/uninstall history, access codes, and the installations derived
from them (an Install opens an installation, the next Uninstall closes it: API-FACTS 3.4).

Most lockboxes are installed right now, on units that are on the market; most lockbox events are
"Generate Code" events made while a box was installed (metadata: created_for, code_type, valid_date).
"""

from __future__ import annotations

import bisect
import random
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from integrations.rentengine.vocabulary import LockboxEventType, LockboxType

from . import lexicon
from .row_shapes import uuid_from
from .state import Row, State, stamp_us

DAY_US = 86_400_000_000
HOUR_US = 3_600_000_000
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
INSTALL_NOTES = ("Installed on front door", "Installed on back gate", "On the water spigot", "On the garage side door")
UNINSTALL_NOTES = ("Removed after lease signed", "Moved to another property", "Battery dead; replaced", "Removed by owner")


def lockboxes_seed(state: State, rng: random.Random, anchor_us: int, count: int, event_count: int) -> None:
    units = state.table("units").rows
    listed = {
        a["id"]: [u for u in units if u["account_id"] == a["id"] and u["status"] in ("Available", "On Hold")]
        for a in state.accounts
    }
    every = {a["id"]: [u for u in units if u["account_id"] == a["id"]] for a in state.accounts}
    installers = {a["id"]: [u["id"] for u in state.users if a["id"] in u["account_ids"]] for a in state.accounts}
    zones = {a["id"]: ZoneInfo(a["time_zone"]) for a in state.accounts}
    serials: set[str] = set()
    occupied: set[int] = set()  # units with a lockbox on them now
    lockboxes: list[Row] = []
    events: list[Row] = []
    installations: list[Row] = []
    # (start, end, lockbox, unit, installation) for spreading access codes over installed time
    periods: list[tuple[int, int, Row, Row]] = []
    for _ in range(count):
        account_id = rng.choices(lexicon.ACCOUNTS, [a["share"] for a in lexicon.ACCOUNTS])[0]["id"]
        serial = None
        while serial is None or serial in serials:
            serial = str(rng.randint(1_000_000, 9_999_999))
        serials.add(serial)
        kind = LockboxType.SENTRILOCK if rng.random() < 0.85 else LockboxType.CODEBOX
        created = anchor_us - rng.randint(60, 900) * DAY_US - rng.randint(0, DAY_US)
        lockbox = {
            "id": uuid_from(rng),
            "lockbox_type": str(kind),
            "serial_number": serial,
            "account_id": account_id,
            "created_at": stamp_us(created),
            "updated_at": stamp_us(created),
        }
        lockboxes.append(lockbox)
        t = created + rng.randint(HOUR_US, 10 * DAY_US)
        while t < anchor_us and every[account_id]:
            stay = rng.randint(10, 120) * DAY_US
            open_now = t + stay >= anchor_us
            pool = [u for u in listed[account_id] if u["id"] not in occupied] if open_now else every[account_id]
            unit = rng.choice(pool or every[account_id])
            end = None if open_now else t + stay
            if open_now:
                occupied.add(unit["id"])
            installation = {
                "id": uuid_from(rng),
                "lockbox_id": lockbox["id"],
                "serial_number": serial,
                "unit_id": str(unit["id"]),
                "account_id": account_id,
                "installed_at": stamp_us(t),
                "uninstalled_at": None if end is None else stamp_us(end),
            }
            installations.append(installation)
            installer = rng.choice(installers[account_id])
            events.append(
                event_row(
                    rng,
                    lockbox,
                    unit,
                    LockboxEventType.INSTALL,
                    t,
                    {"installer_id": installer, "notes": rng.choice(INSTALL_NOTES)},
                )
            )
            if end is None:
                periods.append((t, anchor_us, lockbox, unit))
                break
            events.append(
                event_row(
                    rng,
                    lockbox,
                    unit,
                    LockboxEventType.UNINSTALL,
                    end,
                    {"installer_id": installer, "notes": rng.choice(UNINSTALL_NOTES)},
                )
            )
            periods.append((t, end, lockbox, unit))
            t = end + rng.randint(1, 30) * DAY_US
    codes = max(0, event_count - len(events))
    if periods:
        cumulative, total = [], 0
        for start, end, _lockbox, _unit in periods:
            total += end - start
            cumulative.append(total)
        for _ in range(codes):
            start, end, lockbox, unit = periods[bisect.bisect_right(cumulative, rng.randrange(total))]
            when = rng.randint(start + 1, max(start + 1, end - 1))
            valid = (EPOCH + timedelta(microseconds=when)).astimezone(zones[lockbox["account_id"]]).date()
            code_type = "SHACKLE" if lockbox["lockbox_type"] == LockboxType.SENTRILOCK and rng.random() < 0.1 else "ACCESS"
            metadata = {"created_for": visitor(rng), "code_type": code_type, "valid_date": valid.isoformat()}
            events.append(event_row(rng, lockbox, unit, LockboxEventType.GENERATE_CODE, when, metadata))
    state.table("lockboxes").load(lockboxes)
    state.table("lockbox_events").load(events)
    state.table("lockbox_installations").load(installations)


def visitor(rng: random.Random) -> str:
    if rng.random() < 0.25:
        return rng.choice(lexicon.VISITORS)
    return f"{rng.choice(lexicon.FIRST_NAMES)} {rng.choice(lexicon.LAST_NAMES)}"


def event_row(rng: random.Random, lockbox: Row, unit: Row, kind: LockboxEventType, when: int, metadata: dict[str, Any]) -> Row:
    return {
        "id": uuid_from(rng),
        "lockbox_id": lockbox["id"],
        "event_type": str(kind),
        "unit_id": str(unit["id"]),  # a string here, an integer everywhere else (API-FACTS 2.2)
        "account_id": lockbox["account_id"],
        "created_at": stamp_us(when),
        "metadata": metadata,
    }
