"""Splitting a selection between people (issue 16): who gets which prospect when a bulk assignment
is "split between them" instead of "everyone gets all". Plain functions over ids, no database.

- round robin: equal shares of this selection, in prospect order (the 1st to the 1st person, the 2nd
  to the 2nd, ...). With phone numbers kept together, each enquirer (all prospects sharing a phone)
  goes whole to whoever has the fewest of this selection so far, ties in turn.
- balanced: each prospect (or enquirer, the largest first) goes to whoever has the fewest open
  prospects counting what this selection has already given them, so the split evens out today's
  workload rather than the selection.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence

ALL = "all"
ROUND_ROBIN = "round_robin"
BALANCED = "balanced"
MODES = (ALL, ROUND_ROBIN, BALANCED)
LABELS = {ALL: "Everyone gets all", ROUND_ROBIN: "Split: round robin", BALANCED: "Split: balanced by open prospects"}


def groups_of(prospects: Sequence[tuple[int, str]], *, keep_phone_together: bool) -> list[list[int]]:
    """The units that go to one person, in order of their first prospect: each prospect alone, or
    with phone numbers kept together every prospect sharing a (non-empty) phone."""
    if not keep_phone_together:
        return [[pid] for pid, _ in sorted(prospects)]
    by_phone: dict[str, list[int]] = {}
    groups: list[list[int]] = []
    for pid, phone in sorted(prospects):
        if not phone:
            groups.append([pid])
        elif phone in by_phone:
            by_phone[phone].append(pid)
        else:
            by_phone[phone] = [pid]
            groups.append(by_phone[phone])
    return groups


def split_selection(
    prospects: Sequence[tuple[int, str]],
    people: Sequence[str],
    *,
    mode: str,
    workload: Mapping[str, int] | None = None,
    keep_phone_together: bool = False,
) -> dict[int, str]:
    """{prospect id: the one person it goes to} for `prospects` ((id, phone digits) pairs)."""
    if mode not in (ROUND_ROBIN, BALANCED):
        raise ValueError(f"not a split mode: {mode!r}")
    people = list(dict.fromkeys(people))
    if not people:
        raise ValueError("split_selection needs at least one person")
    groups = groups_of(prospects, keep_phone_together=keep_phone_together)
    given: Counter[str] = Counter()
    target: dict[int, str] = {}
    order = {person: i for i, person in enumerate(people)}
    if mode == ROUND_ROBIN:
        turn = 0  # whose turn it is on a tie
        for group in groups:
            person = min(people, key=lambda p: (given[p], (order[p] - turn) % len(people)))
            turn = order[person] + 1
            given[person] += len(group)
            target.update(dict.fromkeys(group, person))
        return target
    base = {p: int((workload or {}).get(p, 0)) for p in people}
    for group in sorted(groups, key=lambda g: (-len(g), g[0])):
        person = min(people, key=lambda p: (base[p] + given[p], order[p]))
        given[person] += len(group)
        target.update(dict.fromkeys(group, person))
    return target


def shares(target: Mapping[int, str], people: Sequence[str]) -> list[tuple[str, int]]:
    """How many each person gets, in the people's order (0 included)."""
    counts = Counter(target.values())
    return [(p, counts.get(p, 0)) for p in dict.fromkeys(people)]
