"""The embedded stack as `make demo` runs it, driven and judged from outside (tests/embedded, bench/soak.py).

`manage.py demo` runs in a scrubbed environment (no DATABASE_URL, REDIS_URL or SECRET_KEY: SQLite and
the file-system broker under a fresh LEASING_VAR_DIR) on free ports. A manager logs in over HTTP and
starts bulk assignments through the web UI's endpoints; the simulator's changes reach the web
process as webhooks. Afterwards the demo's own output (supervisor lines, the worker's task log,
beat's sends), the queue folder, the simulator's request log and a Django shell on the embedded
database say whether anything crashed, was lost or posted twice. Nothing here imports Django or the
project: the process driving it may be configured for PostgreSQL and Redis, and the modules behind
the management commands and HTTP endpoints may move.
"""

from __future__ import annotations

import collections
import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[2]
MANAGER, PASSWORD = "manager", "leasing-desk-demo"  # dashboard/demo.py's demo login
READY = "Leasing Desk is running"
# Kept from the caller's environment; everything else (database, broker, keys, test settings) is not.
KEPT = {"PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TMPDIR", "TZ", "USER", "LOGNAME"}
REFERENCE = re.compile(r"bulk #\d+-\d+(?!\d)")
# A delivery younger than this may still be on its way to the worker when we look.
DELIVERY_GRACE_SECONDS = 15

CHILD_LINE = re.compile(r"^\[(\w+)\]\s+(.*)$")
SUPERVISOR_CRASH = re.compile(r"^(\w+) stopped unexpectedly \((.+?)\); restarting it")
TASK_RECEIVED = re.compile(r"Task ([\w.]+)\[([0-9a-f-]{36})\] received")
TASK_OUTCOME = re.compile(r"Task ([\w.]+)\[([0-9a-f-]{36})\] (?!received)(\w+)")
BEAT_SENT = re.compile(r"Sending due task \S+ \(([\w.]+)\)")
# A problem wherever it appears in anyone's output.
PROBLEM = re.compile(r"Traceback \(most recent call last\)|CRITICAL|Unrecoverable error|CommandError|ERROR")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def scrubbed_environment(var_dir: Path, **extra: str) -> dict[str, str]:
    """Embedded mode whatever the caller runs on: only the basics of the caller's environment."""
    env = {k: v for k, v in os.environ.items() if k in KEPT or k.startswith("LC_")}
    env.update(LEASING_VAR_DIR=str(var_dir), PYTHONUNBUFFERED="1", LOG_LEVEL="INFO", DEBUG="true")
    env.update(extra)
    return env


@dataclass
class Stack:
    """A running `manage.py demo`; its output lines are collected as they come."""

    var_dir: Path
    port: int
    simulator_port: int
    env: dict[str, str]
    process: subprocess.Popen[bytes]
    log_path: Path
    lines: list[str] = field(default_factory=list)
    ready: threading.Event = field(default_factory=threading.Event)
    started_at: float = field(default_factory=time.monotonic)

    # --- addresses -------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def simulator(self, method: str, path: str, **kwargs: Any) -> Any:
        response = httpx.request(method, f"http://127.0.0.1:{self.simulator_port}/_simulator{path}", timeout=120, **kwargs)
        response.raise_for_status()
        return response.json()

    # --- the manager, over HTTP ------------------------------------------------------------------

    def login(self) -> httpx.Client:
        """An HTTP client logged in as the demo manager (CSRF cookie and header as a browser sends)."""
        client = httpx.Client(base_url=self.url, timeout=60, follow_redirects=False)
        client.get("/login/").raise_for_status()
        response = client.post(
            "/login/",
            data={"username": MANAGER, "password": PASSWORD, "csrfmiddlewaretoken": client.cookies["csrftoken"]},
        )
        if response.status_code != 302:
            raise RuntimeError(f"login answered {response.status_code}")
        return client

    def prospects(self, client: httpx.Client, *, at_least: int, timeout: float = 120.0) -> tuple[str, list[int]]:
        """(account id, prospect ids) the manager's "select all matching" gives, once the first sync
        has brought at least `at_least` of them."""
        deadline = time.monotonic() + timeout
        while True:
            response = client.get("/assignments/matching/", params={"assignee": "all"})
            response.raise_for_status()
            found = response.json()
            if found["count"] >= at_least:
                return found["account"], sorted(found["ids"])
            if time.monotonic() > deadline:
                raise TimeoutError(f"only {found['count']} prospects synced after {timeout:.0f} s")
            time.sleep(1)

    def agents(self, account_id: str) -> list[str]:
        """RentEngine user ids of the account's agents (not the token's owner), in a fixed order."""
        people = self.simulator("GET", "/people")
        return sorted(
            u["id"] for u in people["users"] if account_id in u["account_ids"] and u["id"] != people.get("owner_user_id")
        )

    def bulk_assign(self, client: httpx.Client, ids: list[int], user_ids: list[str], note: str = "") -> int:
        """Confirm the assign dialog (the form the browser posts); returns the job id."""
        form = {"ids": ",".join(map(str, ids)), "user_ids": user_ids, "source": "Other", "note": note}
        headers = {"X-CSRFToken": client.cookies["csrftoken"]}
        response = client.post("/assignments/create/", data=form, headers=headers)
        if response.status_code != 302:
            raise RuntimeError(f"the assign form answered {response.status_code}: {response.text[:300]}")
        return int(response.headers["location"].rstrip("/").rsplit("/", 1)[1])

    # --- the embedded database -------------------------------------------------------------------

    def shell(self, code: str) -> Any:
        """Run `code` in `manage.py shell` on the stack's database; it prints one JSON value last."""
        result = subprocess.run(
            [sys.executable, "manage.py", "shell", "-c", code],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        if result.returncode != 0:
            raise RuntimeError(f"manage.py shell failed: {result.stderr[-2000:]}")
        return json.loads(result.stdout.strip().splitlines()[-1])

    def jobs(self) -> dict[str, Any]:
        """Every bulk job row's state, the webhook deliveries by status, and those waiting longer
        than DELIVERY_GRACE_SECONDS to be applied (`unapplied`, with the oldest one's age)."""
        return self.shell(JOBS_CODE.replace("__GRACE__", str(DELIVERY_GRACE_SECONDS)))

    # --- processes -------------------------------------------------------------------------------

    def processes(self) -> dict[str, tuple[int, int]]:
        """{role: (pid, RSS in kB)} of the demo's process tree: demo, simulator, web, worker and its
        pool processes (worker-child-1...), beat."""
        tree = _process_tree()
        found: dict[str, tuple[int, int]] = {"demo": (self.process.pid, _rss_kb(self.process.pid))}
        for pid in sorted(tree.get(self.process.pid, [])):
            role = _role(pid)
            if role is None:
                continue
            found[role] = (pid, _rss_kb(pid))
            if role == "worker":
                for n, child in enumerate(sorted(tree.get(pid, [])), 1):
                    found[f"worker-child-{n}"] = (child, _rss_kb(child))
        return found

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self, timeout: float = 60.0) -> int:
        """Ctrl-C, as a person ends the demo; returns the demo's exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        return self.process.returncode

    # --- judging ---------------------------------------------------------------------------------

    def output(self, child: str | None = None) -> list[str]:
        """The demo's output lines; with `child`, that child's lines without their prefix."""
        if child is None:
            return list(self.lines)
        return [m[2] for line in self.lines if (m := CHILD_LINE.match(line)) and m[1] == child]

    def crashes(self) -> dict[str, list[str]]:
        """{child: [how it ended, ...]} from the supervisor's restart lines."""
        found: dict[str, list[str]] = collections.defaultdict(list)
        for line in self.lines:
            if m := SUPERVISOR_CRASH.search(line):
                found[m[1]].append(m[2])
        return dict(found)

    def problems(self) -> list[str]:
        """Tracebacks, CRITICAL and ERROR lines, and the supervisor's own failures."""
        return [line for line in self.lines if PROBLEM.search(line)]

    def queued(self) -> list[tuple[str, str]]:
        """(task id, task name) of the task messages still in the queue folder: kept for the next
        start, not lost."""
        found = []
        folder = self.var_dir / "celery" / "queue"
        for path in [*folder.glob("*.msg"), *folder.glob(".claimed/*.msg")]:
            with contextlib.suppress(OSError, ValueError, KeyError):
                headers = json.loads(path.read_bytes())["headers"]
                found.append((headers["id"], headers["task"]))
        return found

    def tasks(self) -> dict[str, Any]:
        """What the worker's and beat's logs say about task messages, once the demo has stopped:
        `lost` are ids the worker received and neither finished nor gave back to the queue, and
        beat's sends per task that the worker never received and the queue doesn't hold."""
        worker = self.output("worker")
        received: dict[str, str] = {}
        finished: set[str] = set()
        for line in worker:
            if m := TASK_RECEIVED.search(line):
                received[m[2]] = m[1]
            elif m := TASK_OUTCOME.search(line):
                finished.add(m[2])
        queued = dict(self.queued())
        unfinished = [i for i in received if i not in finished]
        lost_in_worker = [i for i in unfinished if i not in queued]
        sent_by_beat = collections.Counter(m[1] for line in self.output("beat") if (m := BEAT_SENT.search(line)))
        # Every message accounted for once: received by the worker, or still in the queue folder.
        accounted = collections.Counter({**queued, **received}.values())
        lost_from_beat = {name: sent - accounted[name] for name, sent in sent_by_beat.items() if sent > accounted[name]}
        return {
            "received": len(received),
            "finished": len(finished & received.keys()),
            "given_back_to_queue": len([i for i in unfinished if i in queued]),
            "lost_in_worker": lost_in_worker,
            "sent_by_beat": dict(sent_by_beat),
            "lost_from_beat": lost_from_beat,
            "lost": len(lost_in_worker) + sum(lost_from_beat.values()),
        }

    def posts(self) -> dict[str, Any]:
        """The simulator's "Assign to User" POSTs per prospect: how many RentEngine acted on (2xx),
        refused (429 and other answers), and the references it acted on more than once."""
        posts = self.simulator("GET", "/requests", params={"method": "POST", "path": "/leasing_events"})["requests"]
        acted: collections.Counter[int] = collections.Counter()
        refused = 0
        references: collections.Counter[str] = collections.Counter()
        for post in posts:
            for event in (post.get("body") or {}).get("events", []):
                if event.get("event_type") != "Assign to User":
                    continue
                if post["status"] and 200 <= post["status"] < 300:
                    acted[int(event["prospect_id"])] += 1
                    if ref := REFERENCE.search(event.get("notes") or ""):
                        references[ref.group(0)] += 1
                else:
                    refused += 1
        return {
            "acted": dict(acted),
            "refused": refused,
            "duplicated_references": {r: n for r, n in references.items() if n > 1},
        }


JOBS_CODE = """
import json
from datetime import timedelta
from django.apps import apps
from django.db.models import Count, Min
from django.utils import timezone
Job = apps.get_model("dashboard", "BulkAssignment")
Row = apps.get_model("rentengine", "OutboxAssignment")
Delivery = apps.get_model("rentengine", "WebhookDelivery")
waiting = Delivery.objects.filter(status__in=["received", "failed"])
oldest = waiting.aggregate(at=Min("received_at"))["at"]
stale = waiting.filter(received_at__lt=timezone.now() - timedelta(seconds=__GRACE__))
print(json.dumps({
    "jobs": list(Job.objects.order_by("pk").values_list("pk", flat=True)),
    "rows": [[r["job_id"], r["prospect_id"], r["state"]] for r in Row.objects.values("job_id", "prospect_id", "state")],
    "deliveries": dict(Delivery.objects.values_list("status").annotate(n=Count("id")).values_list("status", "n")),
    "unapplied": stale.count(),
    "unapplied_oldest_seconds": (timezone.now() - oldest).total_seconds() if oldest else None,
}))
"""


def _process_tree() -> dict[int, list[int]]:
    children: dict[int, list[int]] = collections.defaultdict(list)
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children[int(fields[1])].append(int(stat.parent.name))
    return children


def _role(pid: int) -> str | None:
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return None
    words = [a.decode(errors="replace") for a in argv]
    if "rentengine_simulator" in words:
        return "simulator"
    if "uvicorn" in words:
        return "web"
    if "celery" in words:
        return "beat" if "beat" in words else "worker"
    return None


def _rss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _relay(stack: Stack, echo: bool) -> None:
    assert stack.process.stdout is not None
    with open(stack.log_path, "ab") as log:
        for raw in iter(stack.process.stdout.readline, b""):
            log.write(raw)
            log.flush()
            line = raw.decode(errors="replace").rstrip("\n")
            stack.lines.append(line)
            if echo:
                print(line, flush=True)
            if READY in line:
                stack.ready.set()


@contextlib.contextmanager
def running_stack(
    var_dir: Path, *, size: str = "small", activity: int = 600, echo: bool = False, startup_timeout: float = 180.0, **env: str
) -> Iterator[Stack]:
    """`manage.py migrate` then `manage.py demo` on a fresh `var_dir`, until the banner says it runs;
    stopped with Ctrl-C (SIGINT) afterwards. Extra keyword arguments are environment variables."""
    var_dir.mkdir(parents=True, exist_ok=True)
    environment = scrubbed_environment(var_dir, **env)
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=environment, check=True)
    port, simulator_port = free_port(), free_port()
    argv = [sys.executable, "manage.py", "demo", "--port", str(port), "--simulator-port", str(simulator_port),
            "--size", size, "--activity", str(activity)]  # fmt: skip
    process = subprocess.Popen(
        argv, cwd=ROOT, env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True
    )
    stack = Stack(var_dir, port, simulator_port, environment, process, var_dir / "demo.log")
    threading.Thread(target=_relay, args=(stack, echo), daemon=True).start()
    try:
        deadline = time.monotonic() + startup_timeout
        while not stack.ready.wait(0.5):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the demo did not start:\n" + "\n".join(stack.lines[-40:]))
        yield stack
    finally:
        stack.stop()
