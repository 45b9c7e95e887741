"""Bulk assignment jobs: creating one from a selection (the job and one outbox row per prospect in one
transaction, posted by the outbox workers), its progress (always counted from those rows), retry,
operator decisions and undo."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.db.models import Count, Max, Q
from django.utils import timezone

from dashboard import assignment_split
from dashboard.models import BulkAssignment, user_is_manager
from dashboard.people.names import people_in_account, user_id_normalize
from dashboard.people.team import candidates_with_workload
from integrations.rentengine import outbox, vocabulary
from integrations.rentengine.models import Account, OutboxAssignment, Prospect, ProspectAssignee

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser, User

State = OutboxAssignment.State

UNDO_WINDOW = timedelta(minutes=10)
MAX_PROSPECTS = 5_000  # one job; "select all matching" offers no more than this
RATE_WINDOW = 30.0  # seconds of recent posts the rate (and so the ETA) is measured over
SOURCES: tuple[str, ...] = tuple(str(s) for s in vocabulary.LEASING_EVENT_SOURCES_WRITABLE)
DEFAULT_SOURCE = "Other"
NOTE_MAX = 500


class AssignmentRefused(Exception):
    """The request can't become a job; the message says why, in words for the person asking.

    `forbidden`: it names something outside the person's accounts (a forged or stale request).
    """

    def __init__(self, message: str, *, forbidden: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.forbidden = forbidden


# --- who may do what ------------------------------------------------------------------------------


def assignable_people(account: Account) -> dict[str, str]:
    """{RentEngine user id: name} of everyone a prospect in this account can be assigned to."""
    return people_in_account(account.id)


def job_can_control(user: User | AnonymousUser, job: BulkAssignment) -> bool:
    """Retry, undo and decisions: the person who started the job, or a manager of its account."""
    if not user.is_authenticated:
        return False
    if job.created_by_id == user.pk:
        return True
    return user_is_manager(user, job.account_id)


# --- creating a job -------------------------------------------------------------------------------


def prospect_ids_parse(raw: str | Iterable[str]) -> list[int]:
    """Ids from the form ("1,2,3" or a list); anything that is not a positive integer is refused."""
    items = raw.replace(",", " ").split() if isinstance(raw, str) else [str(v) for v in raw]
    ids: list[int] = []
    for item in items:
        if not item.isdigit():
            raise AssignmentRefused("The selection contains something that is not a prospect id.")
        ids.append(int(item))
    return list(dict.fromkeys(ids))


def selection_check(account: Account, prospect_ids: Sequence[int]) -> None:
    if not prospect_ids:
        raise AssignmentRefused("Select at least one prospect.")
    if len(prospect_ids) > MAX_PROSPECTS:
        raise AssignmentRefused(f"One bulk assignment takes at most {MAX_PROSPECTS:,} prospects; narrow the filter.")
    found = Prospect.objects.alive().filter(account=account, id__in=prospect_ids).count()
    if found != len(prospect_ids):
        # Another account's prospect (a forged request) or one deleted since it was selected.
        raise AssignmentRefused("Some selected prospects are not in this account (or no longer exist).", forbidden=True)


def people_check(account: Account, user_ids: Iterable[str]) -> list[str]:
    wanted = [u for u in (user_id_normalize(v) for v in user_ids) if u]
    wanted = list(dict.fromkeys(wanted))
    if not wanted:
        raise AssignmentRefused("Choose at least one person to assign to.")
    unknown = set(wanted) - assignable_people(account).keys()
    if unknown:
        raise AssignmentRefused("Some chosen people are not on this account's team.", forbidden=True)
    return wanted


def source_check(source: str) -> str:
    source = (source or DEFAULT_SOURCE).strip()
    if source not in SOURCES:
        raise AssignmentRefused(f"Source must be one of: {', '.join(SOURCES)}.")
    return source


def split_check(split: str) -> str:
    split = split or assignment_split.ALL
    if split not in assignment_split.MODES:
        raise AssignmentRefused("Choose how to share the prospects: everyone gets all, round robin or balanced.")
    return split


def targets_plan(
    account: Account,
    prospect_ids: Sequence[int],
    users: Sequence[str],
    *,
    split: str,
    keep_phone_together: bool,
    workload: Mapping[str, int] | None = None,
) -> dict[int, list[str]]:
    """{prospect id: the users it goes to}: all of them, or its one person when split. `workload`
    (open prospects per person) is read now when not given (the review passes what it showed)."""
    prospects = list(Prospect.objects.filter(account=account, id__in=prospect_ids).values_list("id", "phone_digits"))
    if split == assignment_split.ALL:
        return {pid: list(users) for pid, _ in prospects}
    if split == assignment_split.BALANCED and workload is None:
        workload = open_workload(account)
    one = assignment_split.split_selection(
        prospects, users, mode=split, workload=workload, keep_phone_together=keep_phone_together
    )
    return {pid: [person] for pid, person in one.items()}


def open_workload(account: Account) -> dict[str, int]:
    return {c.user_id: c.open_prospects for c in candidates_with_workload(account)}


def signature(by: User, text: str) -> str:
    return f"{text} by {by.get_full_name() or by.get_username()}"


def assignment_create(
    *,
    account: Account,
    by: User,
    prospect_ids: Sequence[int],
    user_ids: Sequence[str],
    note: str = "",
    source: str = DEFAULT_SOURCE,
    apply_in_bulk: bool = False,
    split: str = assignment_split.ALL,
    keep_phone_together: bool = False,
    workload: Mapping[str, int] | None = None,
) -> BulkAssignment:
    """Check the request, then write the job and one outbox row per prospect in one transaction;
    the outbox workers start once it commits. Split between people, each row carries its one person
    (`apply_in_bulk` then keeps a phone's enquiries together: one post assigns them all)."""
    selection_check(account, prospect_ids)
    users = people_check(account, user_ids)
    source = source_check(source)
    split = split_check(split)
    keep_phone_together = split != assignment_split.ALL and (keep_phone_together or apply_in_bulk)
    note = " ".join(note.split())[:NOTE_MAX]
    with transaction.atomic():
        job = BulkAssignment.objects.create(
            account=account,
            created_by=by,
            user_ids=users,
            note=note,
            source=source,
            apply_in_bulk=apply_in_bulk,
            split=split,
            keep_phone_together=keep_phone_together,
        )
        summary = signature(by, f"Bulk assign #{job.pk}")
        row_note = f"{note} · {summary}" if note else summary
        prospects = list(
            Prospect.objects.filter(account=account, id__in=prospect_ids).order_by("id").values_list("id", "phone_digits")
        )
        current = assignees_of([pid for pid, _ in prospects])
        plan = targets_plan(account, prospect_ids, users, split=split, keep_phone_together=keep_phone_together, workload=workload)
        rows: list[OutboxAssignment] = []
        leads: dict[int, int] = {}
        lead_by_phone: dict[tuple[str, tuple[str, ...]], int] = {}
        for prospect_id, phone in prospects:
            target = plan[prospect_id]
            row = OutboxAssignment(
                job_id=job.pk,
                account=account,
                prospect_id=prospect_id,
                user_ids=target,
                apply_in_bulk=apply_in_bulk,
                source=source,
                note=row_note,
            )
            if current.get(prospect_id) == set(target):
                row.state, row.reason = State.SKIPPED, "already assigned to exactly these users"
            elif apply_in_bulk and phone:
                # One post assigns every prospect with this phone: the others wait for it.
                group = (phone, tuple(target))
                if group in lead_by_phone:
                    leads[prospect_id] = lead_by_phone[group]
                else:
                    lead_by_phone[group] = prospect_id
            rows.append(row)
        outbox.rows_create(rows, leads=leads)
        outbox.drain_on_commit()
    return job


def assignees_of(prospect_ids: Sequence[int]) -> dict[int, set[str]]:
    current: dict[int, set[str]] = defaultdict(set)
    for prospect_id, user_id in ProspectAssignee.objects.filter(prospect_id__in=prospect_ids).values_list(
        "prospect_id", "user_id"
    ):
        current[prospect_id].add(str(user_id))
    return current


# --- progress -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Progress:
    total: int
    queued: int
    sending: int
    done: int
    failed: int
    unknown: int
    skipped: int
    needs_decision: int
    recent_done: int
    window: float
    ended_at: datetime | None

    @property
    def pending(self) -> int:
        return self.queued + self.sending + self.unknown

    @property
    def settled(self) -> int:
        return self.done + self.failed + self.skipped

    @property
    def finished(self) -> bool:
        return self.pending == 0

    @property
    def percent(self) -> int:
        return round(100 * self.settled / self.total) if self.total else 100

    @property
    def rate(self) -> float | None:
        """Posts per second lately (None before there is anything to measure)."""
        if self.finished or self.window <= 0 or not self.recent_done:
            return None
        return self.recent_done / self.window

    @property
    def eta_seconds(self) -> float | None:
        rate = self.rate
        waiting = self.queued + self.sending
        return waiting / rate if rate and waiting else None

    @property
    def eta_label(self) -> str:
        eta = self.eta_seconds
        if eta is None:
            return ""
        if eta < 60:
            return f"about {max(1, round(eta))} s left"
        return f"about {round(eta / 60)} min left"

    @property
    def status(self) -> str:
        """running, reconciling, needs_decision, done, done_with_failures."""
        if self.queued or self.sending:
            return "running"
        if self.unknown:
            return "needs_decision" if self.needs_decision == self.unknown else "reconciling"
        return "done_with_failures" if self.failed else "done"

    @property
    def status_label(self) -> str:
        return {
            "running": "Running",
            "reconciling": "Checking with RentEngine",
            "needs_decision": "Needs a decision",
            "done_with_failures": "Finished with failures",
            "done": "Finished",
        }[self.status]

    @property
    def summary(self) -> str:
        """The result in a few words, for the job list."""
        parts = [f"{self.done} assigned"]
        if self.skipped:
            parts.append(f"{self.skipped} skipped")
        if self.failed:
            parts.append(f"{self.failed} failed")
        if self.unknown:
            parts.append(f"{self.unknown} unknown")
        if not self.finished:
            parts.insert(0, f"{self.settled} of {self.total}")
        return " · ".join(parts)


def progress_counts(job_ids: Sequence[int], *, now: datetime | None = None) -> dict[int, Progress]:
    """Each job's progress, counted from its outbox rows in one query."""
    now = now or timezone.now()
    recent_since = now - timedelta(seconds=RATE_WINDOW)
    created = dict(BulkAssignment.objects.filter(pk__in=job_ids).values_list("pk", "created_at"))
    rows = (
        OutboxAssignment.objects.filter(job_id__in=job_ids)
        .values("job_id")
        .annotate(
            total=Count("id"),
            queued=Count("id", filter=Q(state=State.QUEUED)),
            sending=Count("id", filter=Q(state=State.SENDING)),
            done=Count("id", filter=Q(state=State.DONE)),
            failed=Count("id", filter=Q(state=State.FAILED)),
            unknown=Count("id", filter=Q(state=State.UNKNOWN)),
            skipped=Count("id", filter=Q(state=State.SKIPPED)),
            needs_decision=Count("id", filter=Q(state=State.UNKNOWN, needs_decision=True)),
            recent_done=Count("id", filter=Q(state=State.DONE, completed_at__gte=recent_since)),
            last_completed=Max("completed_at"),
        )
        .order_by()
    )
    found: dict[int, Progress] = {}
    for r in rows:
        started = created.get(r["job_id"]) or now
        window = min(RATE_WINDOW, max((now - started).total_seconds(), 1.0))
        pending = r["queued"] + r["sending"] + r["unknown"]
        found[r["job_id"]] = Progress(
            total=r["total"],
            queued=r["queued"],
            sending=r["sending"],
            done=r["done"],
            failed=r["failed"],
            unknown=r["unknown"],
            skipped=r["skipped"],
            needs_decision=r["needs_decision"],
            recent_done=r["recent_done"],
            window=window,
            ended_at=r["last_completed"] if pending == 0 else None,
        )
    empty = Progress(0, 0, 0, 0, 0, 0, 0, 0, 0, 0.0, None)
    return {job_id: found.get(job_id, empty) for job_id in job_ids}


def job_progress(job: BulkAssignment) -> Progress:
    return progress_counts([job.pk])[job.pk]


# --- control --------------------------------------------------------------------------------------


def undo_available(job: BulkAssignment, progress: Progress, *, undone: bool | None = None, now: datetime | None = None) -> bool:
    """Undo: an assignment that has ended, for 10 minutes, once (`undone`: whether it already was, if known)."""
    if job.kind != BulkAssignment.Kind.ASSIGN or not progress.finished or not progress.done or progress.ended_at is None:
        return False
    if (now or timezone.now()) - progress.ended_at > UNDO_WINDOW:
        return False
    return not (BulkAssignment.objects.filter(undo_of=job).exists() if undone is None else undone)


NOBODY_BEFORE = "can't undo: nobody was assigned before, and RentEngine has no unassign"
REASSIGNED_SINCE = "reassigned since: left as it is"


def _undo_entries(job: BulkAssignment) -> list[tuple[int, dict[str, Any], str]]:
    """(prospect id, RentEngine's answer for it, why undo must skip it or "") for every prospect
    the job assigned."""
    events: dict[int, dict[str, Any]] = {}
    for result in OutboxAssignment.objects.filter(job_id=job.pk, state=State.DONE).values_list("result", flat=True):
        for entry in result or []:
            events.setdefault(int(entry["prospect_id"]), entry)
    latest = dict(Prospect.objects.filter(id__in=events.keys()).values_list("id", "assigned_by_event_id"))
    entries = []
    for prospect_id, entry in sorted(events.items()):
        reason = ""
        if not entry.get("previous"):
            reason = NOBODY_BEFORE
        elif latest.get(prospect_id) != entry.get("event_id"):
            reason = REASSIGNED_SINCE
        entries.append((prospect_id, entry, reason))
    return entries


@dataclass(frozen=True)
class UndoPlan:
    """What an undo would do now: how many prospects it puts back, and how many it must leave."""

    restores: int
    nobody_before: int
    reassigned_since: int


def undo_plan(job: BulkAssignment) -> UndoPlan:
    reasons = [reason for _, _, reason in _undo_entries(job)]
    return UndoPlan(
        restores=reasons.count(""),
        nobody_before=reasons.count(NOBODY_BEFORE),
        reassigned_since=reasons.count(REASSIGNED_SINCE),
    )


def assignment_undo(job: BulkAssignment, *, by: User) -> BulkAssignment:
    """Re-assign every prospect the job assigned to the users RentEngine said it had before
    (`previousAssignedToUserIds`). Prospects reassigned since are left alone; those nobody was
    assigned to before can't be undone (RentEngine documents no unassign). Both are reported."""
    progress = job_progress(job)
    if not undo_available(job, progress):
        raise AssignmentRefused("This assignment can no longer be undone (undo lasts 10 minutes after it ends).")
    if not undo_plan(job).restores:
        raise AssignmentRefused(
            "Undo would change nothing: nobody had these prospects before (RentEngine has no unassign), or they were reassigned since."
        )
    with transaction.atomic():
        # The one-to-one `undo_of` makes a second undo of the same job fail here, not post twice.
        locked = BulkAssignment.objects.select_for_update().get(pk=job.pk)
        if BulkAssignment.objects.filter(undo_of=locked).exists():
            raise AssignmentRefused("This assignment is already being undone.")
        undo = BulkAssignment.objects.create(
            account=job.account, created_by=by, kind=BulkAssignment.Kind.UNDO, undo_of=locked, note="", source=job.source
        )
        note = signature(by, f"Undo of bulk assign #{job.pk}")
        rows = []
        for prospect_id, entry, reason in _undo_entries(job):
            row = OutboxAssignment(
                job_id=undo.pk,
                account=job.account,
                prospect_id=prospect_id,
                user_ids=list(entry.get("previous") or []),
                source=job.source,
                note=note,
                expect_event_id=entry.get("event_id"),
            )
            if reason:
                row.state, row.reason = State.SKIPPED, reason
            rows.append(row)
        outbox.rows_create(rows)
        outbox.drain_on_commit()
    return undo


def assignment_retry_failed(job: BulkAssignment, *, by: User) -> int:
    with transaction.atomic():
        count = outbox.rows_retry_failed(job.pk, by=by.get_username())
        if count:
            outbox.drain_on_commit()
    return count


def assignment_decide(job: BulkAssignment, row_id: int, decision: str, *, by: User) -> bool:
    """An operator settles a row RentEngine couldn't: "sent" (it is there) or "resend"."""
    if not OutboxAssignment.objects.filter(pk=row_id, job_id=job.pk).exists():
        return False
    with transaction.atomic():
        if decision == "sent":
            return outbox.row_mark_sent(row_id, by=by.get_username())
        if decision == "resend":
            done = outbox.row_resend(row_id, by=by.get_username())
            if done:
                outbox.drain_on_commit()
            return done
    raise AssignmentRefused(f"Unknown decision {decision!r}.")
