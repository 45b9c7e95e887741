"""Reachability checks for /healthz: plain functions, each returns (ok, detail)."""

from __future__ import annotations

import os
from pathlib import Path

import redis
from django.conf import settings

from dashboard.raw_sql import database_answers


def database_check() -> tuple[bool, str]:
    try:
        vendor = database_answers()
    except Exception as exc:  # any driver error means "down"; the detail says which
        return False, f"{type(exc).__name__}: {exc}".strip()[:200]
    return True, vendor


def broker_check() -> tuple[bool, str]:
    url = settings.CELERY_BROKER_URL
    if url.startswith(("redis://", "rediss://", "unix://")):
        try:
            client = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)
            client.ping()
        except redis.RedisError as exc:
            return False, f"redis: {exc}"[:200]
        finally:
            client.close()
        return True, "redis"
    if url.startswith("filesystem://"):
        folders = [Path(str(settings.CELERY_BROKER_TRANSPORT_OPTIONS[key])) for key in ("data_folder_in", "control_folder")]
        missing = [str(folder) for folder in folders if not (folder.is_dir() and os.access(folder, os.W_OK))]
        if missing:
            return False, f"filesystem broker folder not writable: {', '.join(missing)}"
        return True, "filesystem"
    return False, f"no health check for broker {url.split(':', 1)[0]}"
