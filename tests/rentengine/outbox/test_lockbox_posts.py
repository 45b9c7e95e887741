"""Codes and installs through the outbox, over real HTTP to the simulator: each posted exactly once,
whatever happens to the request (answer lost after RentEngine acted, 503 before it did)."""

from __future__ import annotations

from datetime import date

import pytest
from django.contrib.auth.models import User

from integrations.rentengine import mirror
from integrations.rentengine.models import Lockbox, LockboxInstallation, OutboxLockboxPost
from integrations.rentengine.outbox.lockbox_posts import lockbox_post_create
from tests.rentengine.outbox.conftest import MAPLE, committed_posts, drain, sim_client
from tests.support.simulator import SimulatorHandle

pytestmark = pytest.mark.django_db

State = OutboxLockboxPost.State
CODE_PATH = "/lockboxes/generate_code"


@pytest.fixture
def boxes(sim: SimulatorHandle, maple: object, birch: object, ari: User) -> SimulatorHandle:
    with sim_client(sim) as client:
        for page in client.lockboxes():
            mirror.lockboxes_apply(page.records)
        for page in client.lockbox_installations():
            mirror.lockbox_installations_apply(page.records)
    return sim


def installed_box() -> LockboxInstallation:
    return LockboxInstallation.objects.filter(account_id=MAPLE, uninstalled_at=None).order_by("installed_at").first()


def code_row(user: User, **extra: object) -> OutboxLockboxPost:
    installation = installed_box()
    return lockbox_post_create(
        account_id=MAPLE,
        kind=OutboxLockboxPost.Kind.CODE,
        lockbox_id=installation.lockbox_id,
        unit_id=installation.unit_id,
        requested_by=user,
        why="Prospect running late; meeting them there",
        created_for="Vic Visitor",
        valid_date=date(2026, 12, 3),
        **extra,
    )


def generate_posts(sim: SimulatorHandle) -> list[dict[str, object]]:
    return [p for p in committed_posts_at(sim, CODE_PATH)]


def committed_posts_at(sim: SimulatorHandle, path: str) -> list[dict[str, object]]:
    return [
        p
        for p in sim.posts(path)
        if (p["status"] and 200 <= p["status"] < 300) or p["fault"] in ("drop_after_commit", "delay_after_commit")
    ]


def test_a_code_is_posted_once_and_its_answer_kept_for_the_person_who_asked(boxes: SimulatorHandle, ari: User) -> None:
    row = code_row(ari)
    drain(boxes)
    row.refresh_from_db()
    assert row.state == State.DONE, row.outcome
    assert row.code.isdigit()
    assert row.instructions
    assert row.lockbox_type
    [post] = generate_posts(boxes)
    assert post["body"] == {
        "lockbox_id": str(row.lockbox_id),
        "date": "2026-12-03",
        "code_type": "ACCESS",
        "created_for": f"Vic Visitor · desk #{row.pk}",
    }
    assert "Prospect running late" not in str(post["body"]), "the reason stays with us"
    assert all("code" not in e.get("detail", "") for e in row.log if e["what"] != "sending")
    assert committed_posts(boxes) == [], "no leasing events were posted"


def test_a_code_whose_answer_was_lost_is_reconciled_not_posted_again(
    boxes: SimulatorHandle, ari: User, fast_settle: None
) -> None:
    row = code_row(ari)
    boxes.add_fault("drop_after_commit", method="POST", path=CODE_PATH, count=1)
    drain(boxes, budget=10)
    row.refresh_from_db()
    assert row.state == State.DONE, (row.state, row.outcome, row.log)
    assert "answer was lost" in row.outcome
    assert row.code == ""
    assert len(generate_posts(boxes)) == 1
    assert [e["what"] for e in row.log if e["what"] in ("unknown", "done")] == ["unknown", "done"]


def test_a_code_refused_before_it_reached_rentengine_is_posted_again(boxes: SimulatorHandle, ari: User) -> None:
    row = code_row(ari)
    boxes.add_fault("status", status=503, method="POST", path=CODE_PATH, count=1, retry_after=0)
    drain(boxes, budget=10)
    row.refresh_from_db()
    assert row.state == State.DONE, (row.state, row.outcome)
    assert row.attempts == 2
    assert len(generate_posts(boxes)) == 1


def test_removal_then_install_are_posted_once_each_and_reach_the_mirror_at_once(
    boxes: SimulatorHandle, ari: User, fast_settle: None
) -> None:
    installation = installed_box()
    box, unit_id = installation.lockbox_id, installation.unit_id
    removal = lockbox_post_create(
        account_id=MAPLE,
        kind=OutboxLockboxPost.Kind.UNINSTALL,
        lockbox_id=box,
        unit_id=unit_id,
        requested_by=ari,
        why="Unit leased",
    )
    drain(boxes)
    removal.refresh_from_db()
    assert removal.state == State.DONE, removal.outcome
    assert removal.event_id is not None
    assert Lockbox.objects.get(pk=box).current_unit_id is None
    install = lockbox_post_create(
        account_id=MAPLE, kind=OutboxLockboxPost.Kind.INSTALL, lockbox_id=box, unit_id=unit_id, requested_by=ari, why="Back on"
    )
    boxes.add_fault("drop_after_commit", method="POST", path="/lockbox_events", count=1)
    drain(boxes, budget=10)
    install.refresh_from_db()
    assert install.state == State.DONE, (install.state, install.outcome, install.log)
    bodies = [p["body"]["events"][0]["event_type"] for p in committed_posts_at(boxes, "/lockbox_events")]
    assert bodies == ["Uninstall", "Install"]
    again = lockbox_post_create(
        account_id=MAPLE, kind=OutboxLockboxPost.Kind.INSTALL, lockbox_id=box, unit_id=unit_id, requested_by=ari, why="twice"
    )
    mirror.lockboxes_refresh([box])
    drain(boxes, budget=5)
    again.refresh_from_db()
    assert again.state == State.SKIPPED
    assert len(committed_posts_at(boxes, "/lockbox_events")) == 2
