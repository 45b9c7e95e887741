"""`python manage.py rentengine_simulator --port 8765 [--size medium] ...`: run the local RentEngine.

A thin launcher: the simulator is its own ASGI app (integrations/rentengine/simulator/) with its own
in-memory state; only the defaults come from Django settings (tokens: RENTENGINE_API_TOKEN; webhook
key: RENTENGINE_WEBHOOK_API_KEY). Stops cleanly on SIGTERM or Ctrl-C.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from integrations.rentengine.simulator.config import config_from_arguments, parser_add_arguments
from integrations.rentengine.simulator.server import serve


class Command(BaseCommand):
    help = "Run the RentEngine simulator: /api/public/v1 with seeded data, rate limit, faults and webhooks."

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        token = settings.RENTENGINE_API_TOKEN
        parser_add_arguments(parser, default_tokens=[token] if token else None, default_key=settings.RENTENGINE_WEBHOOK_API_KEY)

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            config = config_from_arguments(options)
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        serve(config, out=sys.stdout)
