"""Is the mirror equal to the simulator? Key fields per resource, compared row by row, with a readable
difference (not just a digest) when they are not.

    assert mirror_differences(sim) == {}
    assert mirror_differences(sim, "prospects") == {}        # only what a bulk job touched

The fields are those tests/rentengine/sync/test_sync.py's `mirror_matches` compares: units (status,
account), prospects (status, assignees), leasing events (type; deleted ones must be tombstones or
absent), lockbox events (type, unit), and the ids of lockboxes, installations and subteams.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any

from integrations.rentengine.models import (
    LeasingEvent,
    Lockbox,
    LockboxEvent,
    LockboxInstallation,
    Prospect,
    ProspectAssignee,
    Subteam,
    Unit,
)
from tests.support.simulator import SimulatorHandle

Rows = dict[str, tuple[Any, ...]]


def _prospects_mirror() -> Rows:
    assignees: dict[int, list[str]] = defaultdict(list)
    for prospect_id, user_id in ProspectAssignee.objects.values_list("prospect_id", "user_id"):
        assignees[prospect_id].append(str(user_id))
    return {
        str(pk): (status, tuple(sorted(assignees.get(pk, []))))
        for pk, status in Prospect.objects.alive().values_list("pk", "status")
    }


MIRROR: dict[str, Callable[[], Rows]] = {
    "units": lambda: {
        str(pk): (status, str(account)) for pk, status, account in Unit.objects.alive().values_list("pk", "status", "account_id")
    },
    "prospects": _prospects_mirror,
    "leasing_events": lambda: {str(pk): (kind,) for pk, kind in LeasingEvent.objects.alive().values_list("pk", "event_type")},
    "lockbox_events": lambda: {
        str(pk): (kind, unit) for pk, kind, unit in LockboxEvent.objects.alive().values_list("pk", "event_type", "unit_id")
    },
    "lockboxes": lambda: {str(pk): () for pk in Lockbox.objects.alive().values_list("pk", flat=True)},
    "lockbox_installations": lambda: {str(pk): () for pk in LockboxInstallation.objects.alive().values_list("pk", flat=True)},
    "subteams": lambda: {str(pk): () for pk in Subteam.objects.alive().values_list("pk", flat=True)},
}

SOURCE: dict[str, Callable[[dict[str, Any]], tuple[str, tuple[Any, ...]] | None]] = {
    "units": lambda r: (str(r["id"]), (r["status"], r["account_id"])),
    "prospects": lambda r: (str(r["id"]), (r["status"], tuple(sorted(r["assigned_user_ids"])))),
    "leasing_events": lambda r: None if r["deleted"] else (str(r["id"]), (r["event_type"],)),
    "lockbox_events": lambda r: (str(r["id"]), (r["event_type"], int(r["unit_id"]) if r["unit_id"] is not None else None)),
    "lockboxes": lambda r: (str(r["id"]), ()),
    "lockbox_installations": lambda r: (str(r["id"]), ()),
    "subteams": lambda r: (str(r["id"]), ()),
}

COMPARED = tuple(MIRROR)


def mirror_differences(sim: SimulatorHandle, *resources: str, shown: int = 5) -> dict[str, str]:
    """{resource: what differs} for the named resources (all compared ones by default); {} when equal."""
    names = resources or COMPARED
    state = sim.state(*names)
    found: dict[str, str] = {}
    for name in names:
        expected: Rows = {}
        for row in state[name]:
            keyed = SOURCE[name](row)
            if keyed is not None:
                expected[keyed[0]] = keyed[1]
        actual = MIRROR[name]()
        problem = _difference(expected, actual, shown)
        if problem:
            found[name] = problem
    return found


def _difference(expected: Rows, actual: Rows, shown: int) -> str:
    missing = sorted(set(expected) - set(actual))
    extra = sorted(set(actual) - set(expected))
    changed = sorted(k for k in set(expected) & set(actual) if expected[k] != actual[k])
    parts = []
    if missing:
        parts.append(f"{len(missing)} missing from the mirror (e.g. {_some(missing, shown)})")
    if extra:
        parts.append(f"{len(extra)} in the mirror but not in RentEngine (e.g. {_some(extra, shown)})")
    if changed:
        examples = ", ".join(f"{k}: mirror {actual[k]} != source {expected[k]}" for k in changed[:shown])
        parts.append(f"{len(changed)} differ ({examples})")
    return "; ".join(parts)


def _some(keys: Iterable[str], shown: int) -> str:
    keys = list(keys)
    return ", ".join(keys[:shown]) + (" ..." if len(keys) > shown else "")
