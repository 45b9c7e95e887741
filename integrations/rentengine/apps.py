from __future__ import annotations

from django.apps import AppConfig


class RentEngineConfig(AppConfig):
    name = "integrations.rentengine"
    label = "rentengine"
    verbose_name = "RentEngine mirror"

    def ready(self) -> None:
        from integrations.rentengine import text_fold

        text_fold.install()
