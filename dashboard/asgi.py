"""ASGI entry point, served by uvicorn (the live-update stream needs ASGI).

Django opens a database connection per request thread under ASGI, so persistent connections would
pile up (Django's own advice: CONN_MAX_AGE=0 under ASGI). Worker and command processes keep theirs.

Start-up ends with the URLconf (every view) loaded and `gc.freeze()`: the objects of start-up, most
of the heap, then never enter the collector's full passes, which otherwise stall a request now and
then for as long as the request itself (bench/pages.py measured 59 ms).
"""

from __future__ import annotations

import gc
import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dashboard.settings")
os.environ.setdefault("DATABASE_CONN_MAX_AGE", "0")

from django.core.asgi import get_asgi_application  # after the environment is set

django_application = get_asgi_application()  # sets Django up: the apps below import models

from dashboard.request_guard import RequestGuard, quiet_after_disconnect  # noqa: E402
from integrations.rentengine.webhooks import webhook_fast_path  # noqa: E402

# Oversized bodies and unkeyed webhooks are refused before a byte is read; the webhook receiver then
# skips the dashboard's middleware; everything else is Django as usual.
application = quiet_after_disconnect(RequestGuard(webhook_fast_path(django_application)))

import dashboard.urls  # noqa: E402, F401 - every view loaded before the freeze

gc.freeze()
