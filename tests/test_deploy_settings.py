"""The production values documented in .env.example pass `manage.py check --deploy` with nothing to
report, and every page forbids inline scripts (Content Security Policy)."""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client

ROOT = Path(__file__).resolve().parent.parent


def documented_production_env() -> dict[str, str]:
    values = {}
    for line in (ROOT / ".env.example").read_text().splitlines():
        match = re.fullmatch(r"([A-Z][A-Z0-9_]*)=(.*)", line.strip())
        if match:
            values[match[1]] = match[2]
    return values


def test_check_deploy_is_clean_with_the_documented_production_values(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("DEBUG", "SECRET_KEY", "DJANGO_ALLOW_ASYNC_UNSAFE")}
    env |= documented_production_env()
    env |= {"SECRET_KEY": secrets.token_urlsafe(50), "DEBUG": "false", "LEASING_VAR_DIR": str(tmp_path)}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    done = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "no issues" in done.stdout


@pytest.mark.django_db
def test_pages_forbid_inline_scripts_and_carry_none(mia_client: Client) -> None:
    for path in ("/login/", "/prospects/", "/units/", "/sync/", "/team/"):
        answer = mia_client.get(path)
        policy = answer["Content-Security-Policy"]
        assert "script-src 'self'" in policy
        assert "'unsafe-inline'" not in policy.split("script-src", 1)[1].split(";", 1)[0]
        scripts = re.findall(r"<script\b([^>]*)>", answer.content.decode())
        assert all("src=" in attributes for attributes in scripts), f"an inline script on {path}"
        assert not re.search(r"\son[a-z]+=\"", answer.content.decode()), f"an inline event handler on {path}"
