"""The outbox against the simulator, drained in this process: each prospect assigned exactly once,
whatever RentEngine does to the requests (slow answers after committing, drops, 429 storms, 500s)."""

from __future__ import annotations

import time

import pytest
from django.contrib.auth.models import User
from django.db import connection

from dashboard import bulk_assignment
from integrations.rentengine import mirror, outbox
from integrations.rentengine.models import LeasingEvent, OutboxAssignment, Prospect, ProspectAssignee
from integrations.rentengine.outbox.send import HOLD_NAMESPACE
from tests.rentengine.outbox.conftest import (
    ARI_ID,
    BO_ID,
    committed_posts,
    drain,
    duplicates,
    fast_limiter,
    job_for,
    maple_prospects,
    phone_group,
    sim_assignees,
    sim_client,
    states,
    went_through,
)
from tests.support.simulator import SimulatorHandle

pytestmark = pytest.mark.django_db

State = OutboxAssignment.State


def mirror_assignees(prospect_id: int) -> set[str]:
    return {str(u) for u in ProspectAssignee.objects.filter(prospect_id=prospect_id).values_list("user_id", flat=True)}


def test_a_job_posts_each_prospect_once_and_the_mirror_shows_the_new_assignee_at_once(filled: SimulatorHandle, ari: User) -> None:
    ids = maple_prospects(12, exclude_assigned_to=BO_ID)
    job = job_for(ari, ids, [BO_ID], note="Weekend cover")
    report = drain(filled)
    assert states(job) == {"done": 12}
    assert report.posted == 12
    posts = filled.posts()
    assert len(posts) == 12
    assert duplicates(filled) == {}
    notes = posts[0]["body"]["events"][0]["notes"]
    assert notes.startswith("Weekend cover · Bulk assign #")
    assert notes.endswith(f"bulk #{job.pk}-{OutboxAssignment.objects.filter(job_id=job.pk).order_by('id').first().pk}")
    assert posts[0]["body"]["events"][0]["context"] == {"assignedToUserIds": [BO_ID], "applyActionInBulk": False}
    remote = sim_assignees(filled)
    for pid in ids:
        assert remote[pid] == {BO_ID}
        assert mirror_assignees(pid) == {BO_ID}, "the mirror knows before any webhook or sync"
    row = OutboxAssignment.objects.filter(job_id=job.pk).first()
    assert row.result[0]["event_id"] == Prospect.objects.get(pk=row.prospect_id).assigned_by_event_id


def test_the_webhook_echo_and_the_next_sync_of_the_posted_events_change_nothing(filled: SimulatorHandle, ari: User) -> None:
    ids = maple_prospects(5, exclude_assigned_to=BO_ID)
    job_for(ari, ids, [BO_ID])
    drain(filled)
    shown = {p: mirror_assignees(p) for p in ids}
    with sim_client(filled) as client:
        echoed = [r for p in ids for page in client.leasing_events(prospect_id=p) for r in page.records]
    assert mirror.leasing_events_apply(echoed).changed == 0, "no flicker: the mirror already had them"
    assert {p: mirror_assignees(p) for p in ids} == shown


def test_prospects_already_assigned_to_exactly_those_users_are_skipped_without_a_post(filled: SimulatorHandle, ari: User) -> None:
    assigned = list(Prospect.objects.filter(assignees__user_id=ARI_ID).values_list("id", flat=True)[:3])
    assigned = [p for p in assigned if mirror_assignees(p) == {ARI_ID}]
    others = maple_prospects(2, exclude_assigned_to=ARI_ID)
    job = job_for(ari, assigned + others, [ARI_ID])
    drain(filled)
    assert states(job) == {"skipped": len(assigned), "done": 2}
    assert len(filled.posts()) == 2


def test_with_apply_in_bulk_one_post_covers_every_selected_prospect_sharing_a_phone(filled: SimulatorHandle, ari: User) -> None:
    same = phone_group(at_least=2, exclude_assigned_to=BO_ID)
    job = job_for(ari, [*same, *maple_prospects(1, exclude_assigned_to=BO_ID)], [BO_ID], apply_in_bulk=True)
    drain(filled)
    assert states(job) == {"done": len(same) + 1}
    assert len(filled.posts()) == 2, "one post per phone"
    assert all(sim_assignees(filled)[p] == {BO_ID} for p in same)
    covered = OutboxAssignment.objects.filter(job_id=job.pk, covered_by__isnull=False)
    assert covered.count() == len(same) - 1
    assert all(r.result for r in covered)


def test_a_response_delayed_after_commit_becomes_unknown_and_is_reconciled_without_a_second_post(
    filled: SimulatorHandle, ari: User, fast_settle: None
) -> None:
    ids = maple_prospects(4, exclude_assigned_to=BO_ID)
    filled.add_fault("delay_after_commit", method="POST", path="/leasing_events", seconds=2, count=2)
    job = job_for(ari, ids, [BO_ID])
    report = drain(filled, timeout=0.5)
    assert report.unknown == 2
    assert report.reconciled >= 2
    assert states(job) == {"done": 4}
    assert len(filled.posts()) == 4, "the two timed-out posts were found in RentEngine's events, not sent again"
    assert duplicates(filled) == {}
    assert all(sim_assignees(filled)[p] == {BO_ID} for p in ids)
    reconciled = went_through(job, "unknown")
    assert len(reconciled) == 2
    assert all(r.result and r.result[0]["event_id"] for r in reconciled)


def test_a_request_dropped_before_commit_or_a_500_is_proven_absent_and_sent_again_once(
    filled: SimulatorHandle, ari: User, fast_settle: None
) -> None:
    ids = maple_prospects(6, exclude_assigned_to=BO_ID)
    filled.add_fault("drop", method="POST", path="/leasing_events", count=1)
    filled.add_fault("status", status=500, method="POST", path="/leasing_events", count=2)
    job = job_for(ari, ids, [BO_ID])
    drain(filled)
    assert states(job) == {"done": 6}
    assert len(filled.posts()) == 9
    assert len(committed_posts(filled)) == 6
    assert duplicates(filled) == {}
    assert all(sim_assignees(filled)[p] == {BO_ID} for p in ids)


def test_a_drop_after_commit_is_found_by_the_reconciler_and_never_sent_twice(
    filled: SimulatorHandle, ari: User, fast_settle: None
) -> None:
    ids = maple_prospects(3, exclude_assigned_to=BO_ID)
    filled.add_fault("drop_after_commit", method="POST", path="/leasing_events", count=3)
    job = job_for(ari, ids, [BO_ID])
    drain(filled)
    assert states(job) == {"done": 3}
    assert len(filled.posts()) == 3
    assert duplicates(filled) == {}


def test_a_429_storm_loses_nothing_and_duplicates_nothing(filled: SimulatorHandle, ari: User) -> None:
    ids = maple_prospects(10, exclude_assigned_to=BO_ID)
    filled.add_fault("rate_limit", method="POST", path="/leasing_events", count=5, retry_after=1)
    job = job_for(ari, ids, [BO_ID])
    drain(filled, limiter=fast_limiter())
    assert states(job) == {"done": 10}
    assert len(committed_posts(filled)) == 10
    assert duplicates(filled) == {}
    assert sum(1 for p in filled.posts() if p["status"] == 429) == 5


def test_a_refused_post_fails_with_the_reason_and_retry_failed_sends_it_again(filled: SimulatorHandle, ari: User) -> None:
    ids = maple_prospects(3, exclude_assigned_to=BO_ID)
    filled.add_fault("status", status=400, method="POST", path="/leasing_events", count=1)
    job = job_for(ari, ids, [BO_ID])
    drain(filled)
    assert states(job) == {"done": 2, "failed": 1}
    failed = OutboxAssignment.objects.get(job_id=job.pk, state=State.FAILED)
    assert "HTTP 400" in failed.reason
    assert bulk_assignment.assignment_retry_failed(job, by=ari) == 1
    drain(filled)
    assert states(job) == {"done": 3}


def test_when_rentengine_cant_tell_an_operator_marks_it_sent_or_sends_it_again(
    filled: SimulatorHandle, ari: User, fast_settle: None
) -> None:
    ids = maple_prospects(2, exclude_assigned_to=BO_ID)
    filled.add_fault("delay_after_commit", method="POST", path="/leasing_events", seconds=2, count=1)
    filled.add_fault(
        "status", status=500, method="POST", path="/leasing_events", count=1
    )  # checked after the first fault is used up
    filled.add_fault("status", status=404, method="GET", path="/leasing_events")  # the list RentEngine doesn't document
    job = job_for(ari, ids, [BO_ID])
    drain(filled, timeout=0.5)
    assert states(job) == {"unknown": 2}
    undecided = list(OutboxAssignment.objects.filter(job_id=job.pk).order_by("id"))
    assert all(r.needs_decision and "can't tell" in r.reason for r in undecided)
    assert bulk_assignment.job_progress(job).status == "needs_decision"
    filled.clear_faults()
    # The first really landed (the operator saw it in RentEngine); the second got a 500 before.
    assert bulk_assignment.assignment_decide(job, undecided[0].pk, "sent", by=ari)
    assert bulk_assignment.assignment_decide(job, undecided[1].pk, "resend", by=ari)
    drain(filled)
    assert states(job) == {"done": 2}
    assert duplicates(filled) == {}
    assert all(sim_assignees(filled)[p] == {BO_ID} for p in ids)


def test_undo_puts_back_the_previous_assignees_and_leaves_prospects_reassigned_since(
    filled: SimulatorHandle, ari: User, bo: User
) -> None:
    someone_else = [p for p in maple_prospects(80) if mirror_assignees(p) and BO_ID not in mirror_assignees(p)][:2]
    nobody = [p for p in maple_prospects(400) if not mirror_assignees(p)][:1]
    ids = someone_else + nobody
    before = mirror_assignees(ids[1])
    assert len(ids) == 3
    job = job_for(ari, ids, [BO_ID])
    drain(filled)
    # Someone reassigns the first prospect in the meantime (it reaches us like any other event).
    with filled.client() as http:
        http.post("/leasing_events", json={"events": [{"prospect_id": ids[0], "event_type": "Assign to User", "source": "Other",
                                                       "context": {"assignedToUserIds": [ARI_ID, BO_ID]}}]})  # fmt: skip
    with sim_client(filled) as client:
        for page in client.leasing_events(prospect_id=ids[0]):
            mirror.leasing_events_apply(page.records)
    undo = bulk_assignment.assignment_undo(job, by=ari)
    rows = {r.prospect_id: r for r in OutboxAssignment.objects.filter(job_id=undo.pk)}
    assert rows[ids[0]].state == State.SKIPPED
    assert "reassigned since" in rows[ids[0]].reason
    assert rows[ids[2]].state == State.SKIPPED
    assert "can't undo" in rows[ids[2]].reason
    assert set(rows[ids[1]].user_ids) == before
    drain(filled)
    assert states(undo) == {"done": 1, "skipped": 2}
    assert sim_assignees(filled)[ids[1]] == before
    assert mirror_assignees(ids[1]) == before
    assert sim_assignees(filled)[ids[0]] == {ARI_ID, BO_ID}
    with pytest.raises(bulk_assignment.AssignmentRefused):
        bulk_assignment.assignment_undo(job, by=ari)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="in-flight rows are told apart by PostgreSQL advisory locks")
def test_the_sweeper_leaves_a_row_its_worker_still_holds_and_takes_one_whose_worker_died(
    filled: SimulatorHandle, ari: User
) -> None:
    import psycopg

    job = job_for(ari, maple_prospects(2, exclude_assigned_to=BO_ID), [BO_ID])
    first, second = OutboxAssignment.objects.filter(job_id=job.pk).order_by("id")
    OutboxAssignment.objects.filter(job_id=job.pk).update(state=State.SENDING, attempts=1)
    params = connection.get_connection_params()
    with psycopg.connect(
        **{k: v for k, v in params.items() if k in ("dbname", "user", "password", "host", "port")}, autocommit=True
    ) as other:
        other.execute("SELECT pg_advisory_lock(%s)", [HOLD_NAMESPACE | first.pk])  # its worker, alive
        assert outbox.rows_sweep() == 1
        assert OutboxAssignment.objects.get(pk=first.pk).state == State.SENDING
        assert OutboxAssignment.objects.get(pk=second.pk).state == State.UNKNOWN
    # The connection closed (the worker died): its lock goes with it once the server's backend exits,
    # a moment after the client hung up; the sweeper takes the row on one of its next rounds.
    deadline = time.monotonic() + 5
    while not outbox.rows_sweep():
        assert time.monotonic() < deadline, "the dead connection's lock was never released"
        time.sleep(0.05)
    assert OutboxAssignment.objects.get(pk=first.pk).state == State.UNKNOWN


def test_the_reconciler_reads_the_mirror_first_when_a_webhook_already_brought_the_event(
    filled: SimulatorHandle, ari: User, fast_settle: None
) -> None:
    job = job_for(ari, maple_prospects(1, exclude_assigned_to=BO_ID), [BO_ID])
    filled.add_fault("delay_after_commit", method="POST", path="/leasing_events", seconds=2, count=1)
    with sim_client(filled, timeout=0.5) as client:
        row = outbox.row_claim()
        assert outbox.row_send(client, row).state == State.UNKNOWN
    # The echo arrives (here: applied straight from RentEngine's list, as the webhook would).
    with sim_client(filled) as client:
        mirror.leasing_events_apply([r for page in client.leasing_events(prospect_id=row.prospect_id) for r in page.records])
    assert LeasingEvent.objects.filter(notes__endswith=row.reference).exists()
    gets_before = len(filled.requests(method="GET", path="/leasing_events"))
    drain(filled)
    assert states(job) == {"done": 1}
    assert len(filled.requests(method="GET", path="/leasing_events")) == gets_before, "no request needed"
