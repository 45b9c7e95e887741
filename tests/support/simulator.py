"""The RentEngine simulator as a real HTTP server for tests: a subprocess on a free loopback port.

    from tests.support.simulator import running_simulator

    with running_simulator(size="small", seed=1) as sim:
        httpx.get(f"{sim.base_url}/units", headers=sim.headers)       # the API, with the test token
        sim.add_fault("status", status=500, path="/units", count=2)    # the next two GET /units fail
        sim.requests(path="/units")                                    # what the simulator saw
        sim.state("prospects")["prospects"]                            # ids, status, assignees... of every row

Starting costs about 0.5 s at size small (seeding 0.1 s); `sim.reset()` reseeds in place (about 0.1 s
at small), so a module-scoped simulator plus a reset per test is the cheap pattern:

    @pytest.fixture(scope="module")
    def sim_server():
        with running_simulator(size="small") as sim:
            yield sim

    @pytest.fixture
    def sim(sim_server):
        sim_server.reset()          # fresh data; clears faults, request log, rate windows, webhook stats
        return sim_server

Data facts worth knowing (integrations/rentengine/simulator/lexicon.py): two accounts, Maple Leasing
(`MAPLE_ACCOUNT_ID`, the same id as tests/conftest.py's `maple`) and Birch Homes (`BIRCH_ACCOUNT_ID`,
conftest's `birch`); 12 users, fixed ids, of which Morgan (`OWNER_USER_ID`, in both accounts: the
token's owner, `created_by` of API writes) has conftest mia's RentEngine id, and Priya, Diego and Noah
have ari's, bo's and cy's. `sim.people()` lists them. Data ids and values depend on the seed; the
timestamps also on `anchor` (default: the start of the current hour), so pass `anchor=` when a test
compares timestamps across runs.

The handle's methods wrap the control endpoint (`/_simulator/...`, documented in
integrations/rentengine/simulator/control.py); fault kinds are documented in .../simulator/faults.py,
and the INFERRED features `sim.set_without(...)` takes away in .../simulator/features.py.
"""

from __future__ import annotations

import contextlib
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[2]
READY = re.compile(r"RentEngine simulator ready on (http://\S+?)(/api/public/v1)")
TEST_TOKEN = "test-token"
TEST_WEBHOOK_KEY = "test-webhook-key"


@dataclass
class SimulatorHandle:
    """A running simulator. `base_url` ends in /api/public/v1; `token` is accepted for every account."""

    process: subprocess.Popen[str]
    root_url: str
    token: str
    webhook_key: str
    output: list[str] = field(default_factory=list)
    _control: httpx.Client = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._control = httpx.Client(base_url=self.control_url, timeout=60)

    # --- addresses -------------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"{self.root_url}/api/public/v1"

    @property
    def control_url(self) -> str:
        return f"{self.root_url}/_simulator"

    @property
    def headers(self) -> dict[str, str]:
        """`Authorization: Bearer <token>` plus `Accept: application/json`."""
        return {"Authorization": f"Bearer {self.token}", "Accept": "application/json"}

    def client(self, **kwargs: Any) -> httpx.Client:
        """An httpx client on `base_url` sending the token (close it, or use it as a context manager)."""
        kwargs.setdefault("timeout", 10)
        return httpx.Client(base_url=self.base_url, headers=self.headers, **kwargs)

    # --- control endpoint ------------------------------------------------------------------------

    def control(self, method: str, path: str, **kwargs: Any) -> Any:
        """Call /_simulator/<path> and return its JSON (raises on a non-2xx answer)."""
        response = self._control.request(method, path, **kwargs)
        if response.status_code >= 400:
            raise RuntimeError(f"simulator control {method} {path}: {response.status_code} {response.text}")
        return response.json()

    def health(self) -> dict[str, Any]:
        """seed, size, anchor, row counts per table, rate limit, webhook summary, `without` (features)."""
        return self.control("GET", "/health")

    def people(self) -> dict[str, Any]:
        """{"accounts": [{id, name, time_zone}], "users": [{id, first_name, last_name, name, email, role,
        account_ids, subteam_id}], "subteams": [...], "owner_user_id": ...}"""
        return self.control("GET", "/people")

    def state(self, *resources: str, account_id: str | None = None) -> dict[str, list[dict[str, Any]]]:
        """Key fields of every row, per resource (all resources when none named). prospects rows carry
        `assigned_user_ids`; see control.KEY_FIELDS for the fields of each resource."""
        params = {"resources": ",".join(resources)} if resources else {}
        if account_id:
            params["account_id"] = account_id
        return self.control("GET", "/state", params=params)

    def reset(self, *, seed: int | None = None, size: str | None = None, anchor: str | None = None) -> dict[str, Any]:
        """Reseed (same seed/size unless given) and clear the request log, faults, rate windows and
        webhook queue and stats. Tokens, rate-limit and webhook settings, and the features
        `set_without` took away, are kept."""
        body = {k: v for k, v in {"seed": seed, "size": size, "anchor": anchor}.items() if v is not None}
        return self.control("POST", "/reset", json=body)

    # --- faults ----------------------------------------------------------------------------------

    def add_fault(self, kind: str, **spec: Any) -> dict[str, Any]:
        """Add a fault; returns it (with its `id`). kind: status, rate_limit, slow, delay_after_commit,
        drop, drop_after_commit, html, truncate, garbage (a 200 of random non-JSON bytes), reset (a TCP
        RST). Scope: path="/units" (or "/units*"), method="POST"; count=N, probability=p, skip=N,
        duration=seconds. Effect: status=503, retry_after=3, seconds=2.5, mode="json"|"connection",
        size=bytes (garbage). Example: add_fault("delay_after_commit", method="POST",
        path="/leasing_events", seconds=3, count=1)."""
        return self.control("POST", "/faults", json={"kind": kind, **spec})

    def remove_fault(self, fault_id: str) -> None:
        self.control("DELETE", f"/faults/{fault_id}")

    def clear_faults(self) -> None:
        self.control("DELETE", "/faults")

    def faults(self) -> list[dict[str, Any]]:
        """Live faults with their remaining `count`, `matched` and `applied` counters."""
        return self.control("GET", "/faults")["faults"]

    @contextlib.contextmanager
    def fault(self, kind: str, **spec: Any) -> Iterator[dict[str, Any]]:
        """`with sim.fault("status", status=503, path="/units"): ...` removes the fault afterwards."""
        added = self.add_fault(kind, **spec)
        try:
            yield added
        finally:
            self.remove_fault(added["id"])

    # --- request log -----------------------------------------------------------------------------

    def requests(self, *, path: str | None = None, method: str | None = None, since: int = 0) -> list[dict[str, Any]]:
        """API requests seen, oldest first: {seq, at (Unix s), method, path, query [[k, v]...], status
        (None if dropped), duration_ms, token, body (POST JSON), fault}. `path` matches the full path
        or its end ("/units")."""
        params: dict[str, Any] = {"since": since}
        if path:
            params["path"] = path
        if method:
            params["method"] = method
        return self.control("GET", "/requests", params=params)["requests"]

    def clear_requests(self) -> None:
        self.control("DELETE", "/requests")

    def max_requests_in_window(self, window: float = 5.0, *, token: str | None = None, include_429: bool = False) -> int:
        """The most requests that arrived within any `window` seconds (429s excluded unless asked).
        The rate-limit promise: this never exceeds the limit."""
        times = sorted(
            r["at"]
            for r in self.requests()
            if (include_429 or r["status"] != 429)
            and (token is None or r["token"] == token)
            and r["token"] not in (None, "(invalid)")
        )
        best, start = 0, 0
        for end, moment in enumerate(times):
            while moment - times[start] >= window:
                start += 1
            best = max(best, end - start + 1)
        return best

    def posts(self, path: str = "/leasing_events") -> list[dict[str, Any]]:
        """The POSTs to `path`, with their parsed bodies (for "no duplicate POST" checks)."""
        return self.requests(path=path, method="POST")

    # --- activity, webhooks, rate limit, tokens --------------------------------------------------

    def activity(self, steps: int = 1, kind: str | None = None) -> list[dict[str, Any]]:
        """Make `steps` realistic changes now (kind: enquiry, status, assignment, note, showing,
        access_code, lockbox_move, unit); returns what changed. Each change sends its webhooks."""
        body: dict[str, Any] = {"steps": steps}
        if kind:
            body["kind"] = kind
        return self.control("POST", "/activity", json=body)["changes"]

    def change_record(self, table: str, record_id: Any, **changes: Any) -> dict[str, Any]:
        """A new version of one row (as an enquiry form or an agent's edit would make), with its UPDATE webhook."""
        return self.control("POST", "/records", json={"table": table, "id": record_id, "changes": changes})

    def add_note(self, prospect_id: int, notes: str, event_type: str | None = None) -> dict[str, Any]:
        """A leasing event (a "Log Note" by default) with these notes, with its INSERT webhook."""
        return self.control(
            "POST", "/leasing_events", json={"prospect_id": prospect_id, "notes": notes, "event_type": event_type}
        )

    def webhook_stats(self, recent: int = 200) -> dict[str, Any]:
        """{pending, in_flight, idle, enqueued, delivered, duplicates_delivered, attempts,
        failed_attempts, given_up, dropped, reordered, settings, recent_attempts: [{message_id, table,
        type, record_id, retried, duplicate, status, error, ok, at}]}"""
        return self.control("GET", "/webhooks", params={"recent": recent})

    def configure_webhooks(self, **settings: Any) -> dict[str, Any]:
        """Change delivery settings: url, key, header, max_attempts, backoff_seconds,
        max_backoff_seconds, timeout_seconds, queue_limit, concurrency, duplicate_probability,
        reorder_probability, reorder_delay_seconds."""
        return self.control("POST", "/webhooks", json=settings)

    def wait_for_webhooks(self, timeout: float = 10.0) -> dict[str, Any]:
        """Wait until nothing is queued or in flight (retries included); returns the stats."""
        deadline = time.monotonic() + timeout
        while True:
            stats = self.webhook_stats(recent=0)
            if stats["idle"]:
                return stats
            if time.monotonic() > deadline:
                raise TimeoutError(f"webhooks still busy after {timeout} s: {stats}")
            time.sleep(0.05)

    def set_rate_limit(self, spec: str) -> dict[str, Any]:
        """ "30/5s", "5/1s", "off": applies at once and empties the windows."""
        return self.control("POST", "/rate_limit", json={"rate_limit": spec})

    def add_token(self, token: str, account_ids: Sequence[str] | None = None) -> None:
        """Accept another token, spanning `account_ids` (None: every account)."""
        self.control(
            "POST", "/tokens", json={"token": token, "account_ids": list(account_ids) if account_ids is not None else None}
        )

    # --- INFERRED features ------------------------------------------------------------------------

    def set_without(self, *features: str) -> list[str]:
        """Behave like a RentEngine without these INFERRED features, at once (none: offer them all
        again); kept across `reset()`. Names in integrations/rentengine/simulator/features.py:
        lockbox_installations, subteams, multifamily_properties, floorplans, prospects.updated_after,
        units.updated_after, leasing_events.account_wide, reporting.showings, or all."""
        return self.control("POST", "/features", json={"without": list(features)})["without"]

    def without(self) -> list[str]:
        """The INFERRED features the simulator lacks right now."""
        return self.control("GET", "/features")["without"]

    def close(self) -> None:
        self._control.close()


def _reader(stream: Any, lines: queue.Queue[str | None], sink: list[str]) -> None:
    for line in iter(stream.readline, ""):
        sink.append(line.rstrip("\n"))
        lines.put(line)
    lines.put(None)


@contextlib.contextmanager
def running_simulator(
    *,
    size: str = "small",
    seed: int = 1,
    rate_limit: str = "30/5s",
    token: str = TEST_TOKEN,
    tokens: Mapping[str, Sequence[str] | None] | None = None,
    webhook_url: str | None = None,
    webhook_key: str = TEST_WEBHOOK_KEY,
    webhook_backoff: float = 0.2,
    activity: float = 0,
    anchor: str | None = None,
    without: Sequence[str] = (),
    startup_timeout: float = 120.0,
    extra_args: Sequence[str] = (),
) -> Iterator[SimulatorHandle]:
    """Start the simulator as a subprocess on a free loopback port and stop it (SIGTERM) afterwards.

    `token` is accepted for every account; `tokens` adds more ({token: [account ids] or None}).
    `webhook_url` turns webhooks on (first retry after `webhook_backoff` s, doubling). `activity` is
    changes a minute in the background (0: none; use `sim.activity()` for deterministic steps).
    `without` names INFERRED features the simulator lacks from the start (`sim.set_without()` changes it).
    """
    argv = [sys.executable, "-m", "integrations.rentengine.simulator", "--host", "127.0.0.1", "--port", "0"]
    argv += ["--size", size, "--seed", str(seed), "--rate-limit", rate_limit, "--token", token]
    for extra, accounts in (tokens or {}).items():
        argv += ["--token", extra if accounts is None else f"{extra}={','.join(accounts)}"]
    if webhook_url:
        argv += ["--webhook-url", webhook_url]
    argv += ["--webhook-key", webhook_key, "--webhook-backoff", str(webhook_backoff), "--activity", str(activity)]
    if anchor:
        argv += ["--anchor", anchor]
    if without:
        argv += ["--without", ",".join(without)]
    argv += list(extra_args)
    env = {k: v for k, v in os.environ.items() if not k.startswith("RENTENGINE_")}
    env["PYTHONUNBUFFERED"] = "1"
    process = subprocess.Popen(
        argv, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True
    )
    output: list[str] = []
    lines: queue.Queue[str | None] = queue.Queue()
    threading.Thread(target=_reader, args=(process.stdout, lines, output), daemon=True).start()
    handle: SimulatorHandle | None = None
    try:
        deadline = time.monotonic() + startup_timeout
        while handle is None:
            try:
                line = lines.get(timeout=max(0.1, deadline - time.monotonic()))
            except queue.Empty:
                raise RuntimeError(f"simulator not ready within {startup_timeout} s:\n" + "\n".join(output)) from None
            if line is None:
                raise RuntimeError(f"simulator exited with {process.wait()}:\n" + "\n".join(output))
            if match := READY.search(line):
                handle = SimulatorHandle(process=process, root_url=match[1], token=token, webhook_key=webhook_key, output=output)
        yield handle
    finally:
        if handle is not None:
            handle.close()
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
