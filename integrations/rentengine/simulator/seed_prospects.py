"""Seeded prospects, their leasing-event history and their showings.

A prospect's journey is a short walk through the pipeline (New, contacted, a showing, an
application, a lease, or a drop-out somewhere), cut off at the anchor; its `status` is the type of
its latest pipeline event (vocabulary.LEASING_EVENT_TYPES) and its `updated_at` that event's time.
One person (phone) is often several prospects, one per unit they asked about (API-FACTS 3.4).
"""

from __future__ import annotations

import itertools
import random
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from integrations.rentengine.vocabulary import ASSIGN_TO_USER, LOG_NOTE, ShowingMethod, ShowingStatus, is_pipeline_status

from . import lexicon
from .row_shapes import leasing_event_row
from .state import Row, State, stamp_us

DAY_US = 86_400_000_000
HOUR_US = 3_600_000_000
MINUTE_US = 60_000_000
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

DROP_OUTS = ("Ghosting", "Not Interested", "Still Deciding", "Looking too early", "Ghosting", "Not Interested")
RARE_ENDS = ("Unit of Interest Unavailable", "Duplicate Lead", "Withdrawn", "Blocklist Prospect", "Prescreen Rejected")
PRESCREEN_ENDS = (
    "Prescreen Rejected - Self reported income",
    "Prescreen Rejected - Self reported credit",
    "Prescreen Rejected - ID Verification",
    "Prescreen Approved",
)
SOURCE_NAMES = tuple(name for name, _ in lexicon.SOURCES)
SOURCE_CUMULATIVE = tuple(itertools.accumulate(weight for _, weight in lexicon.SOURCES))
ACCOUNT_SHARES = tuple(a["share"] for a in lexicon.ACCOUNTS)
MANUAL_SOURCES = ("Phone Call", "Text Message", "Email", "Other", "Text Message")


def ascii_slug(text: str) -> str:
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(c for c in plain.lower() if c.isalnum())


def person_new(rng: random.Random, account_id: str, phones: set[str]) -> dict[str, Any]:
    first, last = rng.choice(lexicon.FIRST_NAMES), rng.choice(lexicon.LAST_NAMES)
    style = rng.random()
    if style < 0.04:
        name = first
    elif style < 0.09:
        name = f"{first} {last}".lower()
    elif style < 0.12:
        name = f"{first} {last}".upper()
    elif style < 0.13:
        name = f"{first} {last} "
    else:
        name = f"{first} {last}"
    codes = rng.choice(lexicon.PLACES[account_id])[5]
    phone = None
    if rng.random() > 0.03:
        while phone is None or phone in phones:
            phone = f"+1{rng.choice(codes)}{rng.randint(200, 999)}{rng.randint(0, 9999):04d}"
        phones.add(phone)
    source = rng.choices(SOURCE_NAMES, cum_weights=SOURCE_CUMULATIVE)[0]
    if rng.random() < 0.15:
        email = None
    elif source and "zillow" in source.lower() and rng.random() < 0.4:
        email = f"{ascii_slug(first)[:6]}{rng.randint(1000, 99999)}@convo.zillow.com"
    else:
        email = f"{ascii_slug(first)}.{ascii_slug(last)}{rng.choice(('', '', str(rng.randint(1, 99))))}@{rng.choice(lexicon.EMAIL_DOMAINS)}"
    return {"name": name, "phone": phone, "email": email, "source": source}


def prospects_seed(state: State, rng: random.Random, anchor_us: int, count: int) -> None:
    units = state.table("units").rows
    units_by_account: dict[str, list[Row]] = {}
    listed_by_account: dict[str, list[Row]] = {}
    for unit in units:
        units_by_account.setdefault(unit["account_id"], []).append(unit)
        if unit["status"] in ("Available", "On Hold"):
            listed_by_account.setdefault(unit["account_id"], []).append(unit)
    phones: set[str] = set()
    drafts: list[tuple[int, str, dict[str, Any], Row | None]] = []
    while len(drafts) < count:
        account = rng.choices(lexicon.ACCOUNTS, ACCOUNT_SHARES)[0]
        person = person_new(rng, account["id"], phones)
        first_contact = anchor_us - int(rng.random() ** 1.6 * 365 * DAY_US)
        enquiries = rng.choices((1, 2, 3, 4), (85, 10, 4, 1))[0] if person["phone"] else 1
        recent = anchor_us - first_contact < 60 * DAY_US
        pool = listed_by_account.get(account["id"]) if recent and rng.random() < 0.7 else None
        pool = pool or units_by_account.get(account["id"], [])
        chosen: list[Row | None] = [*rng.sample(pool, min(enquiries, len(pool)))] or [None]
        for n, choice in enumerate(chosen):
            # Later enquiries follow within two weeks, but never after the anchor (and never all at it).
            created = first_contact if n == 0 else first_contact + rng.randint(0, min(14 * DAY_US, anchor_us - first_contact))
            drafts.append((created, account["id"], person, None if rng.random() < 0.08 else choice))
    drafts = sorted(drafts[:count], key=lambda d: d[0])

    prospects: list[Row] = []
    next_id = 100_000
    for created, account_id, person, interest in drafts:
        next_id += rng.choice((1, 1, 1, 2, 3))
        prospect = {
            "id": next_id,
            "name": person["name"],
            "email": person["email"] if rng.random() > 0.05 else None,
            "phone": person["phone"],
            "status": "New",
            "source": person["source"],
            "unit_of_interest": interest["id"] if interest else None,
            "account_id": account_id,
            "prospect_type": "Agent" if rng.random() < 0.08 else "Self",
            "prescreened": rng.random() < 0.35,
            "notes": rng.choice(lexicon.NOTES) if rng.random() < 0.12 else None,
            "created_at": stamp_us(created),
            "updated_at": stamp_us(created),
            "_assignees": [],
        }
        prospects.append(prospect)
        if person["phone"]:
            state.phones.setdefault((account_id, person["phone"]), []).append(next_id)

    units_by_id = {u["id"]: u for u in units}
    zones = {a["id"]: ZoneInfo(a["time_zone"]) for a in state.accounts}
    agents = {
        a["id"]: [u for u in state.users if a["id"] in u["account_ids"] and u["id"] != lexicon.OWNER_USER_ID]
        for a in state.accounts
    }
    drafts_events: list[tuple[int, int, Row, dict[str, Any]]] = []
    showings: list[Row] = []
    for (created, _account, _person, _unit), prospect in zip(drafts, prospects, strict=True):
        walk = Walk(
            rng,
            prospect,
            units_by_id.get(prospect["unit_of_interest"]),
            created,
            anchor_us,
            agents[prospect["account_id"]],
            drafts_events,
        )
        journey(walk, zones[prospect["account_id"]], showings)

    drafts_events.sort(key=lambda d: (d[0], d[1]))
    events = []
    next_event = 5_000_000
    for _when, _order, prospect, fields in drafts_events:
        next_event += 1
        event = leasing_event_row(event_id=next_event, prospect=prospect, **fields)
        events.append(event)
        if is_pipeline_status(event["event_type"]) and not event["deleted"]:
            prospect["status"] = event["event_type"]
            prospect["updated_at"] = event["created_at"]
        elif event["event_type"] == ASSIGN_TO_USER:
            prospect["_assignees"] = list(event["context"]["assignedToUserIds"])
    showings.sort(key=lambda s: s["created_at"])
    for n, showing in enumerate(showings):
        showing["id"] = 70_000 + n * 3 + 1
    state.table("prospects").load(prospects)
    state.table("leasing_events").load(events)
    state.table("showings").load(showings)


@dataclass
class Walk:
    """One prospect's way through the pipeline: a clock `t` that only moves forward, and the events so far."""

    rng: random.Random
    prospect: Row
    unit: Row | None
    t: int
    anchor_us: int
    agents: list[Row]
    out: list[tuple[int, int, Row, dict[str, Any]]]
    assignee: Row | None = None

    def step(self, low: int = HOUR_US, high: int = 3 * DAY_US) -> bool:
        """Move the clock on; False once it passes the anchor (the journey is still under way)."""
        self.t += self.rng.randint(low, high)
        return self.t <= self.anchor_us

    def add(self, event_type: str, when: int | None = None, **fields: Any) -> None:
        rng = self.rng
        fields.setdefault("source", rng.choice(MANUAL_SOURCES))
        if "created_by" not in fields:
            fields["created_by"] = None if fields["source"] == "Automation" else (self.assignee or rng.choice(self.agents))["id"]
        address = self.unit["address"]["formatted_address"] if self.unit else None
        when = self.t if when is None else when
        fields.update(event_type=event_type, created_at=stamp_us(when), property_address=address)
        self.out.append((when, len(self.out), self.prospect, fields))


def journey(walk: Walk, zone: ZoneInfo, showings: list[Row]) -> None:
    rng, prospect, unit = walk.rng, walk.prospect, walk.unit
    subteam = unit.get("subteam_id") if unit else None
    team = [a for a in walk.agents if a["subteam_id"] == subteam] or walk.agents
    first_source = prospect["source"] if prospect["source"] in ("Phone Call", "Text Message") else "Automation"
    walk.add("New", source=first_source, created_by=None)
    if rng.random() < 0.15:
        if not walk.step(5 * MINUTE_US, DAY_US):
            return
        walk.assignee = rng.choice(team)
        context = {
            "assignedToUserIds": [walk.assignee["id"]],
            "createdByUserRole": "Property Manager",
            "previousAssignedToUserIds": [],
        }
        walk.add(ASSIGN_TO_USER, source="Other", created_by=lexicon.OWNER_USER_ID, context=context)
    if rng.random() < 0.5:
        return
    if rng.random() < 0.25:
        if not walk.step():
            return
        follow_up = stamp_us(walk.t + 2 * DAY_US) if rng.random() < 0.3 else None
        walk.add("Contacted, Awaiting Information", next_follow_up=follow_up)
    if rng.random() < 0.06 and walk.step():
        walk.add(LOG_NOTE, notes=rng.choice(lexicon.NOTES), deleted=rng.random() < 0.05)
    branch = rng.random()
    if branch < 0.66 and unit is not None:
        showing_path(walk, zone, team, showings)
    elif branch < 0.85:
        if walk.step():
            walk.add(rng.choice(DROP_OUTS))
    elif branch < 0.93:
        if walk.step():
            walk.add("Prescreen Submitted", source="Automation", created_by=None)
        if walk.step(MINUTE_US, HOUR_US):
            walk.add(rng.choice(PRESCREEN_ENDS), source="Automation", created_by=None)
    elif walk.step():
        walk.add(rng.choice(RARE_ENDS))


def showing_path(walk: Walk, zone: ZoneInfo, team: list[Row], showings: list[Row]) -> None:
    """Showing Scheduled, then its outcome; after a completed showing, maybe an application and a lease."""
    rng, prospect, unit = walk.rng, walk.prospect, walk.unit
    assert unit is not None
    if not walk.step():
        return
    if rng.random() < 0.15:
        walk.add("Showing Desired")
        if not walk.step(10 * MINUTE_US, DAY_US):
            return
    planned = planned_time(rng, walk.t, zone)
    accompanied = unit["showing_method"] == ShowingMethod.ACCOMPANIED
    agent = (walk.assignee or rng.choice(team)) if accompanied else None
    showing = showing_row(
        prospect, unit, planned=stamp_us(planned), created=stamp_us(walk.t), agent_id=agent["id"] if agent else None
    )
    showings.append(showing)
    planned_text = showing["planned_date_time"]
    walk.add("Showing Scheduled", source="Showing Scheduler", created_by=None, planned_date_time=planned_text)
    confirm_at = walk.t + rng.randint(HOUR_US, 20 * HOUR_US)
    if rng.random() < 0.25 and confirm_at < min(planned, walk.anchor_us):
        walk.add("Showing Confirmed", when=confirm_at, source="Automation", created_by=None, planned_date_time=planned_text)
        showing.update(status=str(ShowingStatus.CONFIRMED), updated_at=stamp_us(confirm_at))
        walk.t = confirm_at
    outcome_at = planned + rng.randint(15 * MINUTE_US, 2 * HOUR_US)
    if outcome_at > walk.anchor_us:
        return  # an upcoming showing
    roll = rng.random()
    status, event = (
        (ShowingStatus.COMPLETED, "Showing Complete") if roll < 0.62
        else (ShowingStatus.MISSED, "Missed Showing") if roll < 0.78
        else (ShowingStatus.CANCELED, "Showing Canceled") if roll < 0.96
        else (ShowingStatus.FAILED, "Showing Failed")
    )  # fmt: skip
    if status is ShowingStatus.CANCELED:
        outcome_at = max(planned - rng.randint(HOUR_US, 20 * HOUR_US), walk.t + MINUTE_US)
        showing["cancellation_reason"] = rng.choice(lexicon.CANCELLATION_REASONS)
    if status is ShowingStatus.COMPLETED:
        showing["feedback"] = rng.choice(lexicon.SHOWING_FEEDBACK)
    showing.update(status=str(status), updated_at=stamp_us(outcome_at))
    walk.t = outcome_at
    walk.add(event, source="Showing Scheduler", created_by=None, planned_date_time=planned_text)
    if status is not ShowingStatus.COMPLETED:
        return
    if rng.random() < 0.6:
        if rng.random() < 0.5 and walk.step():  # many just go quiet after a showing
            walk.add(rng.choice(DROP_OUTS))
        return
    for event_type, keep in APPLICATION_STEPS:
        if rng.random() > keep:
            if walk.step():
                walk.add(rng.choice(("Ghosting", "Application Rejected", "Withdrawn")))
            return
        if not walk.step(HOUR_US, 6 * DAY_US):
            return
        walk.add(event_type)


APPLICATION_STEPS = (
    ("Application Sent to Prospect", 1.0),
    ("Application Received", 0.7),
    ("Application Approved", 0.7),
    ("Lease Signed", 0.85),
    ("Moved In", 0.7),
)


def showing_row(prospect: Row, unit: Row, *, planned: str, created: str, agent_id: str | None) -> Row:
    """The simulator's own showings table (Gaps: kept so availability and reporting agree)."""
    return {
        "id": 0,
        "prospect_id": prospect["id"],
        "unit_id": unit["id"],
        "account_id": prospect["account_id"],
        "planned_date_time": planned,
        "showing_method": unit["showing_method"],
        "status": str(ShowingStatus.SCHEDULED),
        "agent_user_id": agent_id,
        "feedback": None,
        "cancellation_reason": None,
        "created_at": created,
        "updated_at": created,
    }


def planned_time(rng: random.Random, now: int, zone: ZoneInfo) -> int:
    """A half-hour slot between 9:00 and 18:00 local time, one to six days ahead."""
    local = (EPOCH + timedelta(microseconds=now)).astimezone(zone)
    day = local.date() + timedelta(days=rng.randint(1, 6))
    minutes = rng.randrange(9 * 60, 18 * 60, 30)
    when = datetime(day.year, day.month, day.day, minutes // 60, minutes % 60, tzinfo=zone)
    return (when.astimezone(UTC) - EPOCH) // timedelta(microseconds=1)
