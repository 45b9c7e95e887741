"""`python manage.py demo`: run the whole product on one machine (what `make demo` ends with).

Starts the web server (uvicorn), a Celery worker, Celery beat and the RentEngine simulator as child
processes, prefixes their output, waits until the dashboard answers /healthz, prints the URL and a
demo login, and stops every child on Ctrl-C. A web server, worker or beat that dies is started again
(after a pause that doubles with each crash in a minute) with one log line; one that crashes
`CRASH_LIMIT` times within `CRASH_WINDOW` seconds, or the simulator dying, stops everything.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
from django.conf import settings
from django.core.management import get_commands
from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError, close_old_connections

from dashboard.people.demo_people import (
    DEMO_PASSWORD,
    DEMO_USERNAME,
    demo_agent_usernames,
    demo_mirror_forget,
    demo_people_ensure,
)
from integrations.rentengine.models import Prospect, SyncState
from integrations.rentengine.sync.resources import resource_specs

_PR_SET_PDEATHSIG = 1

# A child that crashes this often within the window is left down, and with it the whole demo.
CRASH_LIMIT = 5
CRASH_WINDOW = 60.0
# The pause before a restart: 1 s after a first crash, doubling with each crash in the window.
RESTART_DELAY_FIRST = 1.0
RESTART_DELAY_MAX = 30.0


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    """Ask Linux to SIGTERM the child if the demo process itself is killed, so nothing is orphaned."""
    with contextlib.suppress(OSError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


@dataclass
class Child:
    name: str
    argv: list[str]
    # The simulator is not restarted: it keeps RentEngine in memory, and a fresh one would hand out
    # again the ids the mirror already holds for other rows.
    restartable: bool = True
    process: subprocess.Popen[bytes] | None = None
    threads: list[threading.Thread] = field(default_factory=list)
    crashes: list[float] = field(default_factory=list)  # monotonic times, the last CRASH_WINDOW s
    restart_at: float | None = None


def exit_description(returncode: int) -> str:
    """ "exit 1", or "killed by SIGKILL" for a negative return code."""
    if returncode < 0:
        with contextlib.suppress(ValueError):
            return f"killed by {signal.Signals(-returncode).name}"
    return f"exit {returncode}"


def quiet_terminal() -> bool:
    """The demo's terminal shows the banner, one first-sync line, warnings and errors, unless
    LOG_LEVEL asks for more (LOG_LEVEL=INFO: one line per task, every request's server line)."""
    return os.environ.get("LOG_LEVEL", "").strip().upper() not in ("INFO", "DEBUG")


def first_sync_line(states: list[SyncState], total: int, prospects: int, elapsed: float) -> tuple[str, bool]:
    """(the line, finished) for the demo's first sync: how many resources have finished a pass
    (well or not: a failure has its own warning) and how many prospects are in already."""
    finished = [s for s in states if s.last_finished_at is not None or s.mode == SyncState.Mode.OFF]
    failed = [s for s in finished if s.last_outcome == SyncState.Outcome.FAILED]
    done = len(finished) >= total
    took = f"{elapsed:.0f} s" if elapsed < 90 else f"{elapsed / 60:.0f} min"
    if done:
        line = f"First sync done in {took}: {total} resources, {prospects:,} prospects"
        if failed:
            line += f" ({len(failed)} failed: {', '.join(s.resource for s in failed)}; see /sync/)"
        return line + ".", True
    return f"First sync: {len(finished)} of {total} resources, {prospects:,} prospects so far ({took})", False


def restart_delay(crashes: int) -> float | None:
    """Seconds to wait before starting a child again after its `crashes`-th crash in the window;
    None: it crashed too often, leave it down."""
    if crashes >= CRASH_LIMIT:
        return None
    return min(RESTART_DELAY_MAX, RESTART_DELAY_FIRST * 2 ** (crashes - 1))


class Command(BaseCommand):
    help = "Run Leasing Desk locally: simulator, web, worker and beat. Ctrl-C stops everything."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
        parser.add_argument("--simulator-port", type=int, default=settings.RENTENGINE_SIMULATOR_PORT)
        parser.add_argument("--size", default=os.environ.get("DEMO_SIZE", "medium"), choices=["small", "medium", "large"])
        parser.add_argument(
            "--activity", type=int, default=int(os.environ.get("DEMO_ACTIVITY", "30")), help="simulated changes per minute"
        )
        parser.add_argument(
            "--no-simulator", action="store_true", help="use RENTENGINE_BASE_URL as it is (e.g. the real service)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        host, port = options["host"], options["port"]
        use_simulator = not options["no_simulator"] and "rentengine_simulator" in get_commands()
        env = self._child_environment(options, use_simulator)
        os.environ.update(env)
        children = self._children(options, use_simulator)
        stop = threading.Event()

        def on_signal(signum: int, _frame: Any) -> None:
            stop.set()

        signal.signal(signal.SIGINT, on_signal)
        signal.signal(signal.SIGTERM, on_signal)

        if use_simulator:
            removed = demo_mirror_forget()
            if removed:
                self.stdout.write(
                    f"Forgot the last demo run's copy of RentEngine ({removed:,} rows): the simulator starts afresh."
                )
        self.stdout.write(f"Starting {', '.join(child.name for child in children)}...")
        for child in children:
            self._start(child, env)
        failed: str | None = None
        try:
            failed = self._wait_until_ready(f"http://{host}:{port}/healthz", children, env, stop)
            if failed is None and not stop.is_set():
                demo_people_ensure(simulator_url=env["RENTENGINE_BASE_URL"] if use_simulator else None)
                self._banner(host, port, options, use_simulator)
                first_sync = time.monotonic() if use_simulator else None
                next_look = 0.0
                while not stop.is_set():
                    failed = self._supervise(children, env)
                    if failed:
                        break
                    if first_sync is not None and time.monotonic() >= next_look:
                        next_look = time.monotonic() + 2
                        if self._first_sync_progress(first_sync):
                            first_sync = None
                    stop.wait(0.5)
        finally:
            self._stop_all(children)
        if failed:
            raise CommandError(f"{failed}; see its output above. Everything else was stopped.")
        self.stdout.write("Leasing Desk stopped.")

    # --- plumbing -------------------------------------------------------------------------------

    def _first_sync_progress(self, started: float) -> bool:
        """One line for the first sync: rewritten in place on a terminal, else printed when it ends.
        True once it has ended."""
        try:
            line, done = first_sync_line(
                list(SyncState.objects.all()), len(resource_specs()), Prospect.objects.count(), time.monotonic() - started
            )
        except DatabaseError:
            return False  # busy (SQLite) or restarting: look again in a moment
        finally:
            close_old_connections()
        tty = self.stdout.isatty()
        if tty:
            self.stdout.write("\r\033[K" + line, ending="\n" if done else "")
            self.stdout.flush()
        elif done:
            self.stdout.write(line)
        return done

    def _child_environment(self, options: dict[str, Any], use_simulator: bool) -> dict[str, str]:
        env = dict(os.environ)
        env.setdefault("PYTHONUNBUFFERED", "1")
        # What production shows: DEBUG off (styled error pages, no settings or URL lists), static
        # files served by the app (WhiteNoise), over plain HTTP on this machine (cookies not Secure).
        # The signing key is the one kept in var/secret_key unless SECRET_KEY is set.
        if (
            "DEBUG" not in os.environ
            and len(settings.SECRET_KEY) >= 32
            and getattr(settings, "DEV_SECRET_KEY", "") != settings.SECRET_KEY
        ):
            env["DEBUG"] = "false"
            env.setdefault("SECRET_KEY", settings.SECRET_KEY)
            env.setdefault("SESSION_COOKIE_SECURE", "false")
            env.setdefault("LOG_FORMAT", "plain")
        if quiet_terminal():
            env["LOG_LEVEL"] = "WARNING"
            env.setdefault("PYTHONWARNINGS", "ignore")  # setuptools' and Celery's start-up warnings
        if use_simulator:
            env["RENTENGINE_BASE_URL"] = f"http://127.0.0.1:{options['simulator_port']}/api/public/v1"
            # A token for the local simulator only; the real service's token comes from the environment.
            env.setdefault("RENTENGINE_API_TOKEN", "demo-" + secrets.token_urlsafe(18))
            env.setdefault("RENTENGINE_WEBHOOK_API_KEY", "demo-hook-" + secrets.token_urlsafe(12))
        return env

    def _children(self, options: dict[str, Any], use_simulator: bool) -> list[Child]:
        python = sys.executable
        host, port = options["host"], str(options["port"])
        quiet = quiet_terminal()
        level = "warning" if quiet else os.environ.get("LOG_LEVEL", "info").strip().lower()
        celery = [python, "-m", "celery", *(["--quiet"] if quiet else []), "-A", "dashboard"]
        children = []
        if use_simulator:
            children.append(
                Child(
                    "simulator",
                    [
                        python, "manage.py", "rentengine_simulator",
                        "--port", str(options["simulator_port"]),
                        "--size", options["size"],
                        "--activity", str(options["activity"]),
                        "--webhook-url", f"http://127.0.0.1:{port}/webhooks/rentengine/",
                    ],
                    restartable=False,
                )
            )  # fmt: skip
        children += [
            Child("web", [python, "-m", "uvicorn", "dashboard.asgi:application", "--host", host, "--port", port,
                          "--lifespan", "off", "--no-access-log", "--timeout-graceful-shutdown", "3",
                          "--log-level", level]),
            Child("worker", [*celery, "worker", "-l", level, "--concurrency", "3",  # two outbox drains + one free for webhooks and sync
                             "--without-gossip", "--without-mingle", "-n", "demo-worker@%h"]),
            Child("beat", [*celery, "beat", "-l", level, "-s", settings.CELERY_BEAT_SCHEDULE_FILENAME]),
        ]  # fmt: skip
        return children

    def _start(self, child: Child, env: dict[str, str]) -> None:
        child.process = subprocess.Popen(
            child.argv,
            cwd=settings.BASE_DIR,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C reaches only us; we stop the children in order
            preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
        )
        thread = threading.Thread(target=self._relay, args=(child,), daemon=True)
        thread.start()
        child.threads.append(thread)

    def _relay(self, child: Child) -> None:
        assert child.process is not None
        assert child.process.stdout is not None
        prefix = f"[{child.name}] ".ljust(12)
        for raw in iter(child.process.stdout.readline, b""):
            sys.stdout.write(prefix + raw.decode(errors="replace"))
            sys.stdout.flush()

    def _supervise(self, children: list[Child], env: dict[str, str]) -> str | None:
        """Restart children that died, when their pause is over; returns why the demo must stop
        (a child that can't be restarted died, or one crashed too often), else None."""
        now = time.monotonic()
        for child in children:
            if child.restart_at is not None:
                if now >= child.restart_at:
                    child.restart_at = None
                    self._start(child, env)
                continue
            if child.process is None or child.process.poll() is None:
                continue
            how = exit_description(child.process.returncode)
            # A crashed worker's pool processes (its process group) must not outlive it.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(child.process.pid, signal.SIGKILL)
            if not child.restartable:
                return f"{child.name} stopped unexpectedly ({how})"
            child.crashes = [t for t in child.crashes if now - t < CRASH_WINDOW] + [now]
            delay = restart_delay(len(child.crashes))
            if delay is None:
                return (
                    f"{child.name} crashed {len(child.crashes)} times in {CRASH_WINDOW:.0f} s (last: {how}), so it was left down"
                )
            self.stdout.write(self.style.WARNING(f"{child.name} stopped unexpectedly ({how}); restarting it in {delay:.0f} s"))
            child.restart_at = now + delay
        return None

    def _wait_until_ready(self, url: str, children: list[Child], env: dict[str, str], stop: threading.Event) -> str | None:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not stop.is_set():
            failed = self._supervise(children, env)
            if failed:
                return failed
            try:
                if httpx.get(url, timeout=2).status_code == 200:
                    return None
            except httpx.HTTPError:
                pass
            stop.wait(0.5)
        if stop.is_set():
            return None
        raise CommandError(f"The dashboard did not answer {url} within 120 s; see the output above.")

    def _banner(self, host: str, port: int, options: dict[str, Any], use_simulator: bool) -> None:
        line = "=" * 72
        shown_host = "localhost" if host in ("127.0.0.1", "0.0.0.0") else host  # noqa: S104
        self.stdout.write(self.style.SUCCESS(f"\n{line}\n  Leasing Desk is running: http://{shown_host}:{port}/"))
        self.stdout.write(self.style.SUCCESS(f"  Log in as  {DEMO_USERNAME}  /  {DEMO_PASSWORD}   (a manager)"))
        agents = demo_agent_usernames()
        if agents:
            self.stdout.write(f"  Agents:    {', '.join(agents)}   (same password)")
        if use_simulator:
            self.stdout.write(
                f"  RentEngine: the local simulator on port {options['simulator_port']} "
                f"({options['size']} data, {options['activity']} changes a minute)"
            )
            if options["activity"]:
                # Its changes arrive as webhooks and reach open pages live (the dot in the top bar).
                self.stdout.write("  Live:      open Prospects and watch: changed rows light up, new ones wait behind a pill")
        else:
            self.stdout.write(f"  RentEngine: {settings.RENTENGINE_BASE_URL}")
        self.stdout.write(f"  Press Ctrl-C to stop everything.\n{line}\n")

    def _stop_all(self, children: list[Child]) -> None:
        for child in children:
            child.restart_at = None
        running = [c for c in children if c.process is not None and c.process.poll() is None]
        for child in reversed(running):
            assert child.process is not None
            child.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 15
        for child in running:
            assert child.process is not None
            try:
                child.process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.process.kill()
                child.process.wait()
