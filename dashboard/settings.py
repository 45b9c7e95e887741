"""Leasing Desk settings: one module, driven by environment variables.

Every setting has a default that runs on a laptop with nothing configured (SQLite file, file-system
Celery broker, the local RentEngine simulator). Production sets the variables listed in README.md.
Bad values fail loudly at start-up rather than at the first request.
"""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("LEASING_VAR_DIR", BASE_DIR / "var")).resolve()

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, got {raw!r}")


def env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, got {raw!r}") from None
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, got {value}")
    return value


def env_float(name: str, default: float, *, minimum: float = 0.0) -> float:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a number, got {raw!r}") from None
    if value < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, got {value}")
    return value


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def env_url(name: str, default: str, *, schemes: tuple[str, ...]) -> str:
    raw = os.environ.get(name, default).strip()
    if not raw:
        return ""
    parsed = urlparse(raw)
    if parsed.scheme not in schemes:
        raise ImproperlyConfigured(f"{name} must be a URL starting with {' or '.join(s + '://' for s in schemes)}, got {raw!r}")
    return raw


# --- Core -----------------------------------------------------------------------------------------


def local_secret_key(path: Path) -> str:
    """A random key made the first time and kept in `path` (mode 0600), so that sessions and logins
    of a development run survive a restart. The web server, worker and beat start at once: the key
    is written under a temporary name and linked into place, so every process reads the same whole key."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        staging = path.with_name(f".{path.name}.{os.getpid()}")
        descriptor = os.open(staging, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as file:
            file.write(secrets.token_urlsafe(50))
        try:
            os.link(staging, path)
        except FileExistsError:
            pass  # another process made it first: use theirs
        finally:
            staging.unlink()
    key = path.read_text().strip()
    if len(key) < 32:
        raise ImproperlyConfigured(f"{path} holds no usable key: delete it and a new one is made, or set SECRET_KEY.")
    return key


# Shipped as docker-compose.yml's default: never good enough to sign anything in production.
DEV_SECRET_KEY = "dev-only-insecure-key-change-me"
SECRET_KEY = env_str("SECRET_KEY")
DEBUG = env_bool("DEBUG", True)
if not DEBUG and not SECRET_KEY:
    raise ImproperlyConfigured("DEBUG is off but SECRET_KEY is not set: set SECRET_KEY to a long random value.")
if not DEBUG and SECRET_KEY == DEV_SECRET_KEY:
    raise ImproperlyConfigured("DEBUG is off but SECRET_KEY is the development key: set SECRET_KEY to a long random value.")
if not DEBUG and len(SECRET_KEY) < 32:
    raise ImproperlyConfigured("SECRET_KEY must be at least 32 characters when DEBUG is off.")
if not SECRET_KEY:
    SECRET_KEY = local_secret_key(VAR_DIR / "secret_key")

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "axes",
    "csp",
    "integrations.rentengine",
    "dashboard",
]

MIDDLEWARE = [
    "dashboard.observability.request_id_middleware",
    "dashboard.metrics.request_metrics_middleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Reads the change versions a page starts from before its view reads data (dashboard/live).
    "dashboard.live.middleware.live_versions_middleware",
    # Login throttling: refuses a locked-out username or address with the lockout page (last, as axes asks).
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "dashboard.urls"
WSGI_APPLICATION = "dashboard.wsgi.application"
ASGI_APPLICATION = "dashboard.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "dashboard.context.shell",
                "dashboard.ops.banners",
            ],
        },
    }
]

# --- Database -------------------------------------------------------------------------------------
# PostgreSQL when DATABASE_URL is set; otherwise an SQLite file under var/ tuned so that the web
# server, the Celery worker and beat can share it: WAL, a busy timeout, and IMMEDIATE transactions
# (a deferred transaction that later writes is what produces "database is locked").

DATABASE_URL = env_str("DATABASE_URL")
if DATABASE_URL:
    try:
        DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60))}
    except ValueError as exc:
        raise ImproperlyConfigured(f"DATABASE_URL is not a database URL I understand: {exc}") from None
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
        # No parallel plans: every query here is a small indexed read (a page, a capped count) or
        # a write, and on a small server starting the workers costs more than they save (a capped
        # "mine" count took 11 ms with one worker, 3 ms without; bench/pages.py).
        # No synchronized scans: a capped count (LIMIT n) over a sequential scan must start at the
        # table's first page; joining another scan mid-table made the same count read 6,000
        # pages instead of 114 now and then (1 ms became 23-50 ms; bench/pages.py).
        _options = DATABASES["default"].setdefault("OPTIONS", {})
        _options["options"] = (
            f"{_options.get('options', '')} -c max_parallel_workers_per_gather=0 -c synchronize_seqscans=off".strip()
        )
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": env_str("SQLITE_PATH", str(VAR_DIR / "db.sqlite3")),
            "OPTIONS": {
                "timeout": 30,
                "transaction_mode": "IMMEDIATE",
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=30000;",
            },
            # A file, not memory, so that a worker subprocess in tests sees the test database.
            "TEST": {"NAME": str(VAR_DIR / "test-db.sqlite3")},
        }
    }
IS_POSTGRES = DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis, cache, Celery -------------------------------------------------------------------------

REDIS_URL = env_url("REDIS_URL", "", schemes=("redis", "rediss", "unix"))
CELERY_DIR = VAR_DIR / "celery"
CELERY_VISIBILITY_TIMEOUT = env_int("CELERY_VISIBILITY_TIMEOUT", 300, minimum=5)
CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, Any]

if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
    CELERY_BROKER_URL = REDIS_URL
    CELERY_RESULT_BACKEND = REDIS_URL
    # Same value everywhere (Celery's Redis notes): a task whose worker died is redelivered after this.
    # Kombu looks for such tasks only every interval x throttle seconds (10 x 10 by default), which
    # would add up to 100 s to any visibility timeout: look every fifth of it (at most 10 s) instead.
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": CELERY_VISIBILITY_TIMEOUT,
        "unacked_restore_interval": max(1, min(10, CELERY_VISIBILITY_TIMEOUT // 5)),
        "unacked_restore_throttle": 1,
    }
    CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS = {"visibility_timeout": CELERY_VISIBILITY_TIMEOUT}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.filebased.FileBasedCache", "LOCATION": str(VAR_DIR / "cache")}}
    CELERY_BROKER_URL = "filesystem://"
    # kombu's file-system transport with whole-message writes: its own lets a reader parse a file
    # still being written, which stopped the demo's worker. A subclass rather than a Redis the demo
    # starts itself: embedded mode stays server-free. (kombu 5.7 takes class paths only here.)
    CELERY_BROKER_TRANSPORT = "dashboard.embedded_broker:Transport"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(CELERY_DIR / "queue"),
        "data_folder_out": str(CELERY_DIR / "queue"),
        "processed_folder": str(CELERY_DIR / "processed"),
        "store_processed": False,
        "control_folder": str(CELERY_DIR / "control"),
        "polling_interval": 0.2,
    }
    CELERY_RESULT_BACKEND = f"file://{CELERY_DIR / 'results'}"
    for _folder in ("queue", "processed", "control", "results"):
        (CELERY_DIR / _folder).mkdir(parents=True, exist_ok=True)

VAR_DIR.mkdir(parents=True, exist_ok=True)

CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_RESULT_EXPIRES = 3600
# Nothing reads task results but the worker health check, which asks for its own.
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 300, minimum=1)
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", 240, minimum=1)
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
# A lockbox code raises an alert only when no showing of its unit is planned within this many minutes
# of the code (before or after).
LOCKBOX_ALERT_WINDOW_MINUTES = env_int("LOCKBOX_ALERT_WINDOW_MINUTES", 120, minimum=0)
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
# Only one beat sends the schedule, however many are started (dashboard/beat.py); a standby takes over
# this long after the sending one stops.
CELERY_BEAT_SCHEDULER = "dashboard.beat:SingleBeatScheduler"
BEAT_LOCK_SECONDS = env_int("BEAT_LOCK_SECONDS", 30, minimum=2)
CELERY_TIMEZONE = "UTC"
# Beat only ticks; what is due is decided from the database (sync.resources_due), so intervals are
# settings (RENTENGINE_SYNC_INTERVALS) and a restarted beat never double-starts a run.
CELERY_BEAT_SCHEDULE: dict[str, dict[str, Any]] = {
    "rentengine-sync-due": {
        "task": "rentengine.sync_due",
        "schedule": env_float("RENTENGINE_SYNC_TICK_SECONDS", 15.0, minimum=1.0),
    },
    # The bulk-assign outbox's safety net: sweeps rows whose worker died, reconciles unknown ones,
    # and starts a drain when rows are due but none is running (a lost task message, a restart).
    "rentengine-outbox-tick": {
        "task": "rentengine.outbox_tick",
        "schedule": env_float("RENTENGINE_OUTBOX_TICK_SECONDS", 15.0, minimum=1.0),
    },
    "retention-prune": {"task": "dashboard.retention_prune", "schedule": 24 * 3600.0},
    # Webhooks' safety net: applies deliveries whose apply request was lost, and failed ones due for retry.
    "rentengine-webhooks-sweep": {
        "task": "rentengine.webhooks_sweep",
        "schedule": env_float("RENTENGINE_WEBHOOK_SWEEP_EVERY_SECONDS", 60.0, minimum=1.0),
    },
}

# --- RentEngine -----------------------------------------------------------------------------------

RENTENGINE_BASE_URL = env_url("RENTENGINE_BASE_URL", "http://127.0.0.1:8765/api/public/v1", schemes=("http", "https")).rstrip("/")
# Secret: never logged, never rendered.
RENTENGINE_API_TOKEN = env_str("RENTENGINE_API_TOKEN")
RENTENGINE_WEBHOOK_API_KEY = env_str("RENTENGINE_WEBHOOK_API_KEY")
# A second accepted key while the key is being rotated in RentEngine's developer portal.
RENTENGINE_WEBHOOK_API_KEY_PREVIOUS = env_str("RENTENGINE_WEBHOOK_API_KEY_PREVIOUS")
RENTENGINE_WEBHOOK_HEADER = env_str("RENTENGINE_WEBHOOK_HEADER", "X-API-Key")
RENTENGINE_WEBHOOK_MAX_BYTES = env_int("RENTENGINE_WEBHOOK_MAX_BYTES", 1_000_000, minimum=1024)
# Retention (days): applied webhook deliveries, settled bulk-assign rows and their jobs, sync runs, login records.
RETENTION_WEBHOOK_DAYS = env_int("RETENTION_WEBHOOK_DAYS", 30, minimum=1)
RETENTION_OUTBOX_DAYS = env_int("RETENTION_OUTBOX_DAYS", 90, minimum=1)
RETENTION_SYNC_RUN_DAYS = env_int("RETENTION_SYNC_RUN_DAYS", 30, minimum=1)
RETENTION_LOGIN_DAYS = env_int("RETENTION_LOGIN_DAYS", 90, minimum=1)
# Prometheus metrics at /metrics, for a scraper that sends this as a bearer token (unset: no metrics).
METRICS_TOKEN = env_str("METRICS_TOKEN")
# Any other request body over this is refused (413) before it is read (dashboard/request_guard.py).
REQUEST_MAX_BODY_BYTES = env_int("REQUEST_MAX_BODY_BYTES", 2_621_440, minimum=1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = REQUEST_MAX_BODY_BYTES
# The receiver commits deliveries on a few long-lived writer threads (one connection each).
RENTENGINE_WEBHOOK_WRITER_THREADS = env_int("RENTENGINE_WEBHOOK_WRITER_THREADS", 4, minimum=1)
# The sweeper applies deliveries left waiting this long (a lost apply task) and retries failed ones.
RENTENGINE_WEBHOOK_SWEEP_AFTER_SECONDS = env_int("RENTENGINE_WEBHOOK_SWEEP_AFTER_SECONDS", 60, minimum=1)
RENTENGINE_WEBHOOK_SWEEP_EVERY_SECONDS = env_int("RENTENGINE_WEBHOOK_SWEEP_EVERY_SECONDS", 60, minimum=1)
# Shared limiter: requests per window, kept under RentEngine's 30 for headroom.
RENTENGINE_RATE_LIMIT = env_int("RENTENGINE_RATE_LIMIT", 28, minimum=1)
RENTENGINE_RATE_WINDOW_SECONDS = env_float("RENTENGINE_RATE_WINDOW_SECONDS", 5.0, minimum=0.1)
RENTENGINE_TIMEOUT_SECONDS = env_float("RENTENGINE_TIMEOUT_SECONDS", 15.0, minimum=0.1)
RENTENGINE_CONNECT_TIMEOUT_SECONDS = env_float("RENTENGINE_CONNECT_TIMEOUT_SECONDS", 3.0, minimum=0.1)
# Bulk assign: how long after a post whose outcome is unknown (timeout, worker died) before its
# prospect's events are read to settle it; a request still in flight at RentEngine must have landed.
RENTENGINE_OUTBOX_SETTLE_SECONDS = env_float("RENTENGINE_OUTBOX_SETTLE_SECONDS", 30.0, minimum=0.0)
# Sync schedule: seconds between passes per resource, e.g. "prospects=60,units=300" (see sync.py
# for every resource and its default), and how often a full pass re-reads everything.
RENTENGINE_SYNC_INTERVALS = {
    name.strip(): int(seconds)
    for name, _, seconds in (item.partition("=") for item in env_list("RENTENGINE_SYNC_INTERVALS"))
    if name.strip() and seconds.strip().isdigit()
}
if len(RENTENGINE_SYNC_INTERVALS) != len(env_list("RENTENGINE_SYNC_INTERVALS")):
    raise ImproperlyConfigured("RENTENGINE_SYNC_INTERVALS must look like 'prospects=60,units=300' (seconds)")
RENTENGINE_FULL_SYNC_EVERY = timedelta(hours=env_float("RENTENGINE_FULL_SYNC_HOURS", 24.0, minimum=0.01))
# Simulator fault knobs are driven through this control endpoint in tests and the demo.
RENTENGINE_SIMULATOR_PORT = env_int("RENTENGINE_SIMULATOR_PORT", 8765, minimum=1)

# --- Live screens (dashboard/live, static/js/live.js) ------------------------------------------------
# Off: pages never open an event stream and poll the versions instead (e.g. behind a proxy that
# buffers responses whatever X-Accel-Buffering says).
LIVE_STREAM = env_bool("LIVE_STREAM", True)
# Open live streams allowed per person (across web processes with Redis) and per web process; a page
# refused a stream polls instead and says so.
LIVE_STREAMS_PER_PERSON = env_int("LIVE_STREAMS_PER_PERSON", 8, minimum=1)
LIVE_STREAMS_PER_PROCESS = env_int("LIVE_STREAMS_PER_PROCESS", 1000, minimum=1)
# A comment line on an otherwise quiet stream, inside nginx's default 60 s proxy_read_timeout.
LIVE_HEARTBEAT_SECONDS = env_float("LIVE_HEARTBEAT_SECONDS", 15.0, minimum=0.05)
# Without Redis, how often a web process reads the change counters for its open streams.
LIVE_POLL_SECONDS = env_float("LIVE_POLL_SECONDS", 0.5, minimum=0.05)
# How often a page polls the versions where no stream can be served (WSGI).
LIVE_FALLBACK_POLL_SECONDS = env_float("LIVE_FALLBACK_POLL_SECONDS", 2.0, minimum=0.2)

# --- Auth, i18n, static ---------------------------------------------------------------------------

# Content Security Policy (django-csp): scripts only from this site (no inline script, no eval);
# styles may be inline (progress bars set a width; htmx adds its indicator style).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "https:", "http:", "data:"],  # unit photos live on RentEngine's hosts
        "connect-src": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
        "base-uri": ["'self'"],
        "object-src": ["'none'"],
    }
}

# Behind a TLS-terminating proxy: trust its X-Forwarded-Proto (only set this when a proxy you run
# sets that header), send HSTS, redirect plain HTTP. All off by default (a plain-HTTP demo).
if env_bool("SECURE_PROXY_SSL", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", False)
# /healthz answers plain HTTP on the host network (health checks), even with SSL redirects on.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# Login throttling (django-axes): after AXES_FAILURE_LIMIT wrong passwords for one username, or from
# one address, that username or address is locked out for AXES_COOLOFF_MINUTES. Unlock early in the
# admin (Axes > Access attempts) or with `manage.py axes_reset_username NAME` / `axes_reset_ip IP`.
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
AXES_ENABLED = env_bool("AXES_ENABLED", True)
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("AXES_COOLOFF_MINUTES", 15, minimum=1))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_VERBOSE = False

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("TIME_ZONE", "America/Chicago")
USE_I18N = False
USE_TZ = True
# "12:42 PM" and "Dec 3, 2026" wherever Django formats a date or time (dashboard/formats/en).
FORMAT_MODULE_PATH = ["dashboard.formats"]

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "staticfiles"
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SESSION_COOKIE_AGE = 60 * 60 * 12

# LOG_FORMAT json (the default with DEBUG off): one JSON object per line, with the request id, or the
# task and its resource or job (integrations/rentengine/log_context.py). plain: for a terminal.
LOG_FORMAT = env_str("LOG_FORMAT", "plain" if DEBUG else "json")
if LOG_FORMAT not in ("plain", "json"):
    raise ImproperlyConfigured(f"LOG_FORMAT must be plain or json, got {LOG_FORMAT!r}")
LOGGING: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"context": {"()": "integrations.rentengine.log_context.ContextFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s %(task)s %(task_id)s %(resource)s %(job)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT, "filters": ["context"]}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        "httpx": {"level": "WARNING"},
        "httpcore": {"level": "WARNING"},
    },
}
if not REDIS_URL:
    # The file-system broker has no host: kombu says so at every connection ("No hostname was supplied").
    LOGGING["loggers"]["kombu.connection"] = {"level": "ERROR"}
# Workers log through the same configuration (JSON lines with the task's context), not Celery's own.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
