"""Two beats started by mistake (or one as a standby) send the schedule once; the standby takes over."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest
from django.conf import settings

from tests.support.worker import beat_start, worker_stop

pytestmark = [
    pytest.mark.worker,
    pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="the beat lock across hosts is on Redis"),
]


def sent(log: Path) -> int:
    return log.read_text(errors="replace").count("Sending due task rentengine-sync-due") if log.exists() else 0


def test_two_beats_send_each_tick_once_and_the_standby_takes_over_when_the_first_dies(tmp_path: Path) -> None:
    import redis

    redis.Redis.from_url(settings.REDIS_URL).delete("leasing-desk:beat")
    logs = [tmp_path / "one.log", tmp_path / "two.log"]
    env = {"RENTENGINE_SYNC_TICK_SECONDS": "1", "BEAT_LOCK_SECONDS": "3", "LOG_LEVEL": "INFO"}
    (tmp_path / "one").mkdir()
    (tmp_path / "two").mkdir()
    beats = [beat_start(tmp_path / "one", log_path=logs[0], **env), beat_start(tmp_path / "two", log_path=logs[1], **env)]
    try:
        deadline = time.monotonic() + 60
        while sum(sent(log) for log in logs) < 8 and time.monotonic() < deadline:
            time.sleep(0.5)
        counts = [sent(log) for log in logs]
        assert sum(counts) >= 8
        assert min(counts) == 0, f"both beats sent the schedule: {counts}"
        leader = counts.index(max(counts))
        os.killpg(beats[leader].pid, signal.SIGKILL)
        standby = logs[1 - leader]
        deadline = time.monotonic() + 60
        while sent(standby) < 3 and time.monotonic() < deadline:
            time.sleep(0.5)
        assert sent(standby) >= 3, "the standby did not take over"
    finally:
        for beat in beats:
            worker_stop(beat, kill=True)
