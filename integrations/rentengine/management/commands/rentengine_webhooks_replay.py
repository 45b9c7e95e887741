"""Apply stored webhook deliveries again: `rentengine_webhooks_replay [--since ...] [--status ...] [--id ...]`."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from integrations.rentengine import webhooks
from integrations.rentengine.models import WebhookDelivery


def _since(value: str) -> datetime:
    """An ISO date-time ("2026-11-27T10:00", naive = the project's time zone) or an age ("90m", "2h", "1d")."""
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    text = value.strip()
    if text[:-1].isdigit() and text[-1:] in units:
        return timezone.now() - timedelta(seconds=int(text[:-1]) * units[text[-1]])
    parsed = parse_datetime(text) or (parse_datetime(text + "T00:00") if len(text) == 10 else None)
    if parsed is None:
        raise CommandError(f"--since takes an ISO date-time or an age like 30m, 2h, 1d; got {value!r}")
    return parsed if timezone.is_aware(parsed) else timezone.make_aware(parsed)


class Command(BaseCommand):
    help = "Apply stored RentEngine webhook deliveries again (safe: older states never overwrite newer ones)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--since", help="deliveries received since an ISO date-time or an age (30m, 2h, 1d)")
        parser.add_argument("--status", choices=[s.value for s in WebhookDelivery.Status], help="only deliveries in this status")
        parser.add_argument("--id", type=int, action="append", dest="ids", help="a delivery id (repeatable)")
        parser.add_argument("--dry-run", action="store_true", help="count what would be replayed, apply nothing")

    def handle(self, *args: Any, **options: Any) -> None:
        if not (options["since"] or options["status"] or options["ids"]):
            raise CommandError("say what to replay: --since, --status and/or --id (replaying everything is rarely meant)")
        since = _since(options["since"]) if options["since"] else None
        selection = {"ids": options["ids"], "since": since, "status": options["status"]}
        count = webhooks.deliveries_for_replay(**selection).count()
        if options["dry_run"]:
            self.stdout.write(f"{count} deliveries would be replayed")
            return
        report = webhooks.deliveries_replay(**selection)
        changed = ", ".join(f"{n} {table}" for table, n in report.as_dict()["changed"].items()) or "nothing"
        self.stdout.write(
            f"replayed {report.claimed} of {count} deliveries: {report.applied} applied, {report.ignored} ignored, "
            f"{report.failed} failed; mirror rows changed: {changed}"
        )
        if report.failed:
            raise CommandError(f"{report.failed} deliveries failed; see their last_error (admin or /sync/)")
