"""ASGI entry point, served by uvicorn (the live-update stream needs ASGI).

Django opens a database connection per request thread under ASGI, so persistent connections would
pile up (Django's own advice: CONN_MAX_AGE=0 under ASGI). Worker and command processes keep theirs.
"""

from __future__ import annotations

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dashboard.settings")
os.environ.setdefault("DATABASE_CONN_MAX_AGE", "0")

from django.core.asgi import get_asgi_application  # after the environment is set

from integrations.rentengine.webhooks_asgi import webhook_fast_path

# The webhook receiver skips the dashboard's middleware (see webhooks_asgi); everything else is Django as usual.
application = webhook_fast_path(get_asgi_application())
