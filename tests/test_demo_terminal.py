"""`make demo`'s terminal is quiet by default: the banner, one line for the first sync, warnings and
errors. LOG_LEVEL=INFO brings back a line per task and the servers' info lines."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from dashboard.management.commands.demo import Command, first_sync_line
from integrations.rentengine.models import SyncState

OPTIONS = {"host": "127.0.0.1", "port": 8000, "simulator_port": 8765, "size": "small", "activity": 30}


def argv_of(name: str) -> list[str]:
    return next(child.argv for child in Command()._children(OPTIONS, True) if child.name == name)


def test_by_default_the_children_log_warnings_only_and_celery_prints_no_banner(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LOG_LEVEL", raising=False)
    monkeypatch.delenv("PYTHONWARNINGS", raising=False)
    for name in ("worker", "beat"):
        argv = argv_of(name)
        assert "--quiet" in argv
        assert argv[argv.index("-l") + 1] == "warning"
    web = argv_of("web")
    assert web[web.index("--log-level") + 1] == "warning"
    env = Command()._child_environment(OPTIONS, True)
    assert env["LOG_LEVEL"] == "WARNING"
    assert env["PYTHONWARNINGS"] == "ignore"


def test_log_level_info_brings_back_a_line_per_task(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOG_LEVEL", "INFO")
    worker = argv_of("worker")
    assert "--quiet" not in worker
    assert worker[worker.index("-l") + 1] == "info"
    assert Command()._child_environment(OPTIONS, True)["LOG_LEVEL"] == "INFO"


def test_the_first_sync_is_one_line_that_ends_with_what_came_in() -> None:
    at = datetime(2026, 12, 1, tzinfo=UTC)
    states = [
        SyncState(resource="subteams", last_finished_at=at, last_outcome="ok"),
        SyncState(resource="prospects", run_started_at=at),
    ]
    line, done = first_sync_line(states, 3, 1200, 12.4)
    assert (line, done) == ("First sync: 1 of 3 resources, 1,200 prospects so far (12 s)", False)
    states[1].last_finished_at = at
    states.append(SyncState(resource="floorplans", last_finished_at=at, last_outcome="failed"))
    line, done = first_sync_line(states, 3, 10000, 125)
    assert done
    assert line == "First sync done in 2 min: 3 resources, 10,000 prospects (1 failed: floorplans; see /sync/)."
