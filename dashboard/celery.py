"""The Celery app. Configuration comes from Django settings (CELERY_* names)."""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dashboard.settings")

app = Celery("dashboard")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()  # dashboard.tasks
# Each data path keeps its tasks beside its logic: <package>/tasks.py.
app.autodiscover_tasks(["integrations.rentengine.sync", "integrations.rentengine.webhooks", "integrations.rentengine.outbox"])
