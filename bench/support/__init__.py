"""What the benchmarks share: free ports, scratch PostgreSQL databases and the simulator.

Kept in a package (not a `bench/*.py` module) so `make bench`, which runs every `bench/*.py`,
doesn't take it for a benchmark.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import urlparse, urlunparse

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def postgres_bench_database(suffix: str, *, fresh: bool = True, required_by: str = "this benchmark") -> str:
    """The URL of `<DATABASE_URL's database>_bench_<suffix>` on DATABASE_URL's server, created
    (dropped first when `fresh`). Exits with a clear message when PostgreSQL isn't there."""
    base = os.environ.get("DATABASE_URL") or "postgres://postgres@127.0.0.1:5432/leasing"
    parsed = urlparse(base)
    if parsed.scheme not in ("postgres", "postgresql"):
        sys.exit(f"{required_by} needs PostgreSQL: set DATABASE_URL to a postgres:// URL (it is {parsed.scheme}://...)")
    name = f"{parsed.path.lstrip('/') or 'leasing'}_bench_{suffix}"
    import psycopg

    admin = urlunparse(parsed._replace(path="/postgres"))
    try:
        with psycopg.connect(admin, autocommit=True, connect_timeout=5) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
            if exists and fresh:
                conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
            if fresh or not exists:
                conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError as exc:
        sys.exit(f"{required_by} needs PostgreSQL at {parsed.hostname}:{parsed.port or 5432}: {exc}")
    return urlunparse(parsed._replace(path=f"/{name}"))


def wait_listening(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    """Until `process` (uvicorn) accepts connections on `port`; exits if it dies or takes over 60 s."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit(f"uvicorn exited with {process.returncode}; see {log}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.1)
    sys.exit(f"uvicorn did not listen on {port} within 60 s; see {log}")


def process_stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the process group (started with start_new_session), SIGKILL after 20 s."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def migrate(env: dict[str, str]) -> None:
    """`manage.py migrate` on the database `env` names."""
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True)


def simulator_start(
    *, size: str, port: int, token: str, rate_limit: str = "30/5s", seed: int = 42, extra: Sequence[str] = ()
) -> subprocess.Popen[bytes]:
    """`manage.py rentengine_simulator` on `port`, returned once it says it is ready."""
    process = subprocess.Popen(
        [sys.executable, "manage.py", "rentengine_simulator", "--port", str(port), "--size", size, "--seed", str(seed),
         "--token", token, "--rate-limit", rate_limit, "--activity", "0", *extra],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    assert process.stdout is not None
    deadline = time.monotonic() + 300
    for line in iter(process.stdout.readline, b""):
        if b"ready on" in line:
            print("  " + line.decode().strip()[:160])
            return process
        if time.monotonic() > deadline:
            break
    process.kill()
    sys.exit("the simulator did not start")
