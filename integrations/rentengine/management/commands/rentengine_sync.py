"""`python manage.py rentengine_sync [--resource NAME] [--full]`: sync in the foreground.

Runs the same steps the Celery tasks run, in this process, with a progress line per resource and a
summary at the end. Exits non-zero, with the reason, when a resource failed. Resources RentEngine
does not offer (INFERRED endpoints that answer 404) are reported and skipped, not failures.
"""

from __future__ import annotations

import sys
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from integrations.rentengine import sync
from integrations.rentengine.client import RentEngineClient, RentEngineError
from integrations.rentengine.limiter import Lane
from integrations.rentengine.models import SyncState


class Command(BaseCommand):
    help = "Sync the RentEngine mirror in the foreground (all resources, or one)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--resource", choices=list(sync.resource_specs()), help="only this resource")
        parser.add_argument("--full", action="store_true", help="full passes: re-read everything and detect deletions")
        parser.add_argument("--quiet", action="store_true", help="no progress line, only the summary")

    def handle(self, *args: Any, **options: Any) -> None:
        names = [options["resource"]] if options["resource"] else list(sync.resource_specs())
        full = options["full"]
        self.live = sys.stdout.isatty() and not options["quiet"]
        try:
            client = RentEngineClient(lane=Lane.BACKFILL if full else Lane.INCREMENTAL)
        except RentEngineError as exc:
            raise CommandError(exc.message) from None
        began = time.monotonic()
        rows: list[tuple[str, str, str]] = []
        failures: list[str] = []
        with client:
            for name in names:
                outcome = self._one(name, full, client)
                state = SyncState.objects.get(resource=name)
                rows.append((name, outcome, self._describe(state, outcome)))
                if outcome == "failed":
                    failures.append(f"{name}: {state.last_error}")
                    if "token" in state.last_error.lower() and "rejected" in state.last_error.lower():
                        break  # every other resource would fail the same way
        elapsed = time.monotonic() - began
        self.stdout.write("")
        for name, outcome, text in rows:
            style = {"done": self.style.SUCCESS, "failed": self.style.ERROR}.get(outcome, self.style.WARNING)
            self.stdout.write(f"{name:<24} {style(outcome.upper()):<8} {text}")
        stats = client.stats
        self.stdout.write(
            f"\n{len(rows)} resources in {elapsed:.1f} s: {stats.requests} requests "
            f"({stats.requests / elapsed if elapsed else 0:.1f}/s), {stats.http_429} rate-limited (429), {stats.retries} retries"
        )
        notices = SyncState.objects.filter(resource__in=names).exclude(mode=SyncState.Mode.NORMAL)
        for state in notices:
            self.stdout.write(
                self.style.WARNING(f"notice: {state.resource} is {state.get_mode_display().lower()}: {state.notice}")
            )
        if failures:
            raise CommandError("sync failed: " + "; ".join(failures))

    def _one(self, name: str, full: bool, client: RentEngineClient) -> str:
        try:
            run_id = sync.run_start(name, full=full)
        except sync.SyncBusy as busy:
            self.stdout.write(self.style.WARNING(f"{name}: skipped, {busy}"))
            return "busy"
        outcome = "more"
        started = time.monotonic()
        while outcome == "more":
            outcome = sync.run_step(name, run_id, client=client)
            self._progress(name, started)
        if self.live:
            sys.stdout.write("\r\033[K")
        return outcome

    def _progress(self, name: str, started: float) -> None:
        if not self.live:
            return
        state = SyncState.objects.get(resource=name)
        progress = state.progress or {}
        pages, seen = int(progress.get("pages") or 0), int(progress.get("seen") or 0)
        elapsed = max(time.monotonic() - started, 0.001)
        bar = "#" * min(30, pages % 31)
        sys.stdout.write(f"\r\033[K{name:<24} [{bar:<30}] page {pages}  {seen:,} rows  {pages / elapsed:.1f} pages/s")
        sys.stdout.flush()

    def _describe(self, state: SyncState, outcome: str) -> str:
        if outcome == "busy":
            return "another run holds it"
        text = (
            f"{state.last_kind} pass: {state.last_rows_seen:,} rows seen, {state.last_rows_changed:,} changed, "
            f"{state.last_requests} requests, {state.last_duration_ms / 1000:.1f} s"
        )
        if state.mode != SyncState.Mode.NORMAL:
            text += f" [{state.get_mode_display().lower()}]"
        if state.last_error:
            text += f"\n{'':<33}{state.last_error}"
        return text
