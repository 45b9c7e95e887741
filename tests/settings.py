"""Settings for the test run: the project's own, with test-only state kept apart from `make demo`'s.

pytest-django imports these before any conftest runs, so this is where the test environment is set;
child processes (Celery workers, the simulator, uvicorn) inherit it.
"""

from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("LEASING_VAR_DIR", str(Path(__file__).resolve().parent.parent / "var" / "test"))

from dashboard.settings import *  # noqa: F403

# Logins in tests need no key stretching; a real hasher costs about half a second per person.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# Django's test client logs in without a request, which django-axes refuses; the throttling tests
# switch it on themselves.
AXES_ENABLED = False
