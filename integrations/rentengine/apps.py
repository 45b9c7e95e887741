from __future__ import annotations

from django.apps import AppConfig


class RentEngineConfig(AppConfig):
    name = "integrations.rentengine"
    label = "rentengine"
    verbose_name = "RentEngine mirror"

    def ready(self) -> None:
        # Celery's autodiscovery only imports `tasks` modules; the webhook and outbox tasks live beside them.
        from integrations.rentengine import tasks_outbox, tasks_webhooks  # noqa: F401
