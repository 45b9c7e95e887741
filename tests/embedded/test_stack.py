"""The embedded stack as `make demo` runs it stays up for three minutes under load: the simulator
making 600 changes a minute (their webhooks flowing to the web process), two bulk assignments
confirmed by a manager over HTTP, the sync ticking, all on SQLite and the file-system broker in a
fresh var dir, whatever database and broker the rest of the suite uses.

About four minutes; skip it locally with `-m "not embedded"`.
"""

from __future__ import annotations

import collections
import time
from pathlib import Path
from typing import Any

import pytest

from tests.embedded.stack import Stack, running_stack

pytestmark = [pytest.mark.embedded, pytest.mark.timeout(480)]

RUN_SECONDS = 180.0
SECOND_JOB_AFTER = 90.0
SETTLE_TIMEOUT = 90.0


def settled(stack: Stack, timeout: float) -> dict[str, Any]:
    """The jobs' rows and the deliveries, once every row is terminal and no delivery has waited past
    the grace (or whatever there is when the timeout passes)."""
    deadline = time.monotonic() + timeout
    while True:
        state = stack.jobs()
        rows_done = all(row[2] in ("done", "failed", "skipped") for row in state["rows"])
        if (rows_done and state["unapplied"] == 0) or time.monotonic() > deadline:
            return state
        time.sleep(3)


def test_it_runs_three_minutes_at_600_changes_a_minute_with_bulk_jobs_and_webhooks_without_a_crash_a_lost_task_or_a_duplicate_post(
    tmp_path: Path,
) -> None:
    with running_stack(tmp_path / "var", size="small", activity=600) as stack:
        began = time.monotonic()
        first_pids = {role: pid for role, (pid, _) in stack.processes().items()}
        manager = stack.login()
        account, ids = stack.prospects(manager, at_least=50)
        agents = stack.agents(account)
        jobs = [stack.bulk_assign(manager, ids, [agents[0]], note="stack test")]
        pids_seen: dict[str, set[int]] = collections.defaultdict(set)
        while (elapsed := time.monotonic() - began) < RUN_SECONDS:
            assert stack.alive(), "\n".join(stack.output()[-40:])
            for role, (pid, _) in stack.processes().items():
                pids_seen[role].add(pid)
            if len(jobs) == 1 and elapsed >= SECOND_JOB_AFTER:
                jobs.append(stack.bulk_assign(manager, ids, [agents[1]], note="stack test, again"))
            time.sleep(5)
        state = settled(stack, SETTLE_TIMEOUT)
        posts = stack.posts()
        webhooks = stack.simulator("GET", "/webhooks", params={"recent": 0})
    exit_code = stack.process.returncode

    # Nothing crashed or restarted, and nothing complained.
    assert stack.crashes() == {}
    assert stack.problems() == []
    assert exit_code == 0, "\n".join(stack.output()[-20:])
    for role in ("web", "worker", "beat", "simulator"):
        assert pids_seen[role] == {first_pids[role]}, f"{role} was restarted: {pids_seen[role]}"

    # Every job ended, each of its prospects posted exactly once.
    assert sorted(state["jobs"]) == sorted(jobs)
    rows_by_state = collections.Counter(row[2] for row in state["rows"])
    assert set(rows_by_state) <= {"done", "skipped"}, rows_by_state
    assert rows_by_state["done"] > 0
    expected = collections.Counter(row[1] for row in state["rows"] if row[2] == "done")
    assert posts["acted"] == dict(expected)
    assert posts["duplicated_references"] == {}

    # Webhooks flowed and every one was applied; no task message was lost on the way.
    assert state["deliveries"].get("applied", 0) > 300, state["deliveries"]
    assert state["deliveries"].get("failed", 0) == 0
    assert state["unapplied"] == 0, state
    assert webhooks["given_up"] == 0
    tasks = stack.tasks()
    assert tasks["lost"] == 0, tasks
    assert tasks["received"] > 500
