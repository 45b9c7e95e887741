"""Settings come from the environment and fail loudly on bad values (checked in a fresh process)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def load_settings(**env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "SECRET_KEY", "DATABASE_URL", "REDIS_URL"}}
    clean.update(env)
    code = "import django; django.setup(); from django.conf import settings; print(settings.DATABASES['default']['ENGINE'], settings.CELERY_BROKER_URL)"
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=clean, capture_output=True, text=True, timeout=60)


def test_it_runs_with_no_configuration_on_sqlite_and_the_filesystem_broker() -> None:
    result = load_settings()
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["django.db.backends.sqlite3", "filesystem://"]


def test_it_uses_postgresql_and_redis_when_their_urls_are_set() -> None:
    result = load_settings(DATABASE_URL="postgres://u:p@127.0.0.1:5432/leasing", REDIS_URL="redis://127.0.0.1:6379/3")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["django.db.backends.postgresql", "redis://127.0.0.1:6379/3"]


def test_it_refuses_to_start_with_debug_off_and_no_secret_key() -> None:
    result = load_settings(DEBUG="false")
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr


def test_it_refuses_to_start_with_debug_off_and_the_development_key() -> None:
    result = load_settings(DEBUG="false", SECRET_KEY="dev-only-insecure-key-change-me")
    assert result.returncode != 0
    assert "development key" in result.stderr


def secret_key(var_dir: Path, **env: str) -> str:
    code = "import django; django.setup(); from django.conf import settings; print(settings.SECRET_KEY)"
    clean = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "SECRET_KEY", "DATABASE_URL", "REDIS_URL"}}
    clean.update(LEASING_VAR_DIR=str(var_dir), **env)
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=clean, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_without_a_secret_key_a_development_run_keeps_one_random_key_under_var_dir_for_its_owner_only(tmp_path: Path) -> None:
    first = secret_key(tmp_path)
    assert len(first) >= 50
    assert first != "dev-only-insecure-key-change-me"
    assert (tmp_path / "secret_key").stat().st_mode & 0o777 == 0o600

    assert secret_key(tmp_path) == first  # the next start signs with the same key: sessions survive
    assert secret_key(tmp_path / "elsewhere") != first


def test_processes_starting_at_once_all_read_the_same_new_key(tmp_path: Path) -> None:
    code = "import django; django.setup(); from django.conf import settings; print(settings.SECRET_KEY)"
    clean = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "SECRET_KEY", "DATABASE_URL", "REDIS_URL"}}
    clean["LEASING_VAR_DIR"] = str(tmp_path)
    processes = [
        subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, env=clean, stdout=subprocess.PIPE, text=True) for _ in range(4)
    ]
    keys = {process.communicate(timeout=60)[0].strip() for process in processes}
    assert len(keys) == 1
    assert len(keys.pop()) >= 50


def test_a_secret_key_from_the_environment_wins_and_nothing_is_kept_on_disk(tmp_path: Path) -> None:
    assert secret_key(tmp_path, SECRET_KEY="k" * 50) == "k" * 50
    assert not (tmp_path / "secret_key").exists()


def test_it_starts_with_debug_off_and_a_real_key() -> None:
    result = load_settings(DEBUG="false", SECRET_KEY="k" * 50)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("DEBUG", "maybe", "DEBUG must be true or false"),
        ("REDIS_URL", "http://127.0.0.1:6379", "REDIS_URL must be a URL starting with redis://"),
        ("RENTENGINE_BASE_URL", "app.rentengine.io/api", "RENTENGINE_BASE_URL must be a URL"),
        ("RENTENGINE_RATE_LIMIT", "lots", "RENTENGINE_RATE_LIMIT must be an integer"),
        ("RENTENGINE_RATE_LIMIT", "0", "RENTENGINE_RATE_LIMIT must be at least 1"),
        ("DATABASE_URL", "nonsense://x", "DATABASE_URL is not a database URL"),
    ],
)
def test_a_bad_value_fails_loudly_naming_the_variable(name: str, value: str, message: str) -> None:
    result = load_settings(**{name: value})
    assert result.returncode != 0
    assert message in result.stderr


def test_the_embedded_broker_is_the_file_system_transport_with_whole_message_writes() -> None:
    code = "import django; django.setup(); from django.conf import settings; print(settings.CELERY_BROKER_TRANSPORT)"
    clean = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=clean, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "dashboard.embedded_broker:Transport"
