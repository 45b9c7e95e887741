"""`manage.py demo` keeps its children up: a web server, worker or beat that dies is started again
with one log line and a growing pause, and only a child that keeps crashing (or the simulator)
stops the demo, saying why."""

from __future__ import annotations

import io
import os
import signal
import sys
import time
from pathlib import Path

import pytest

from dashboard.management.commands import demo
from dashboard.management.commands.demo import Child, Command, exit_description, restart_delay


def supervisor() -> tuple[Command, io.StringIO]:
    out = io.StringIO()
    return Command(stdout=out, stderr=out), out


def supervise_until(command: Command, children: list[Child], *, seconds: float) -> str | None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        failed = command._supervise(children, dict(os.environ))
        if failed:
            return failed
        time.sleep(0.02)
    return None


def test_it_waits_longer_after_each_crash_in_a_minute_and_gives_up_at_the_fifth() -> None:
    assert [restart_delay(n) for n in range(1, 6)] == [1.0, 2.0, 4.0, 8.0, None]


def test_it_names_how_a_child_ended() -> None:
    assert exit_description(1) == "exit 1"
    assert exit_description(-9) == "killed by SIGKILL"


def test_a_crashed_worker_is_restarted_with_one_line_each_time_until_it_crashes_five_times_in_a_minute(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(demo, "RESTART_DELAY_FIRST", 0.01)
    command, out = supervisor()
    worker = Child("worker", [sys.executable, "-c", "import sys; print('up', flush=True); sys.exit(3)"])
    command._start(worker, dict(os.environ))

    failed = supervise_until(command, [worker], seconds=30)

    lines = [line for line in out.getvalue().splitlines() if "worker" in line]
    assert lines[:4] == [f"worker stopped unexpectedly (exit 3); restarting it in {d:.0f} s" for d in (0.01, 0.02, 0.04, 0.08)]
    assert len(lines) == 4
    assert failed == "worker crashed 5 times in 60 s (last: exit 3), so it was left down"


def test_a_worker_that_stays_up_after_a_restart_keeps_running(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(demo, "RESTART_DELAY_FIRST", 0.01)
    command, out = supervisor()
    marker = tmp_path / "crashed-once"
    code = (
        f"import pathlib, sys, time\nm = pathlib.Path({str(marker)!r})\nif not m.exists(): m.touch(); sys.exit(1)\ntime.sleep(60)"
    )
    worker = Child("worker", [sys.executable, "-c", code])
    command._start(worker, dict(os.environ))
    try:
        assert supervise_until(command, [worker], seconds=3) is None
        assert worker.process is not None
        assert worker.process.poll() is None
        assert out.getvalue().count("stopped unexpectedly") == 1
    finally:
        command._stop_all([worker])


def test_the_simulator_dying_stops_the_demo_because_a_new_one_would_not_match_the_mirror() -> None:
    command, _ = supervisor()
    simulator = Child(
        "simulator", [sys.executable, "-c", "import os, signal; os.kill(os.getpid(), signal.SIGKILL)"], restartable=False
    )
    command._start(simulator, dict(os.environ))

    assert supervise_until(command, [simulator], seconds=10) == "simulator stopped unexpectedly (killed by SIGKILL)"


def test_a_crashed_workers_pool_processes_do_not_outlive_it(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(demo, "RESTART_DELAY_FIRST", 60.0)  # no restart within the test
    command, _ = supervisor()
    pid_file = tmp_path / "pool.pid"
    code = (
        "import subprocess, sys, time, pathlib\n"
        "pool = subprocess.Popen(['sleep', '60'])\n"
        f"pathlib.Path({str(pid_file)!r}).write_text(str(pool.pid))\n"
        "sys.exit(1)"
    )
    worker = Child("worker", [sys.executable, "-c", code])
    command._start(worker, dict(os.environ))
    assert worker.process is not None
    worker.process.wait(10)
    pool_pid = int(pid_file.read_text())

    assert supervise_until(command, [worker], seconds=0.2) is None

    deadline = time.monotonic() + 5
    while running(pool_pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    if running(pool_pid):
        os.kill(pool_pid, signal.SIGKILL)
        pytest.fail("the crashed worker's child was still running")


def running(pid: int) -> bool:
    """Alive and not a zombie waiting for init to reap it."""
    try:
        return not Path(f"/proc/{pid}/stat").read_text().rsplit(") ", 1)[1].startswith("Z")
    except (FileNotFoundError, ProcessLookupError):
        return False
