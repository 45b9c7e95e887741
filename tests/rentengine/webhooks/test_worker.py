"""End to end with real parts: deliveries posted through the ASGI stack (and its webhook fast path) are
written by the receiver's writer threads, and a real Celery worker process applies them to the mirror."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from asgiref.testing import ApplicationCommunicator
from django.core.asgi import get_asgi_application
from django.db import connection
from django.test import AsyncClient, Client

from dashboard.celery import app as celery_app
from integrations.rentengine import webhooks
from integrations.rentengine.models import Unit, WebhookDelivery, WebhookRejection
from integrations.rentengine.webhooks import tasks as webhook_tasks
from integrations.rentengine.webhooks.fast_path import webhook_fast_path
from integrations.rentengine.webhooks.tasks import webhooks_sweep
from tests.rentengine.webhooks.conftest import KEY, URL, deliver, insert, unit_row, update
from tests.support.worker import celery_worker

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def writers() -> Iterator[None]:
    yield
    webhooks.writers_stop()


def eventually(check: Callable[[], bool], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not true within {timeout} s: {check.__doc__ or check}")
        time.sleep(0.1)


def asgi_post(body: dict[str, Any], *, key: str = KEY, message_id: str | None = None) -> Any:
    headers = {"X-API-Key": key, **({"Upstash-Message-Id": message_id} if message_id else {})}
    return async_to_sync(AsyncClient().post)(URL, data=json.dumps(body), content_type="application/json", headers=headers)


# --- the ASGI path ---------------------------------------------------------------------------------


def test_under_asgi_a_delivery_is_stored_by_a_writer_thread_on_its_own_connection(writers: None, no_enqueue: list[int]) -> None:
    for n in range(3):
        assert asgi_post(insert("units", unit_row(n + 1)), message_id=f"msg_{n}").status_code == 200
    assert asgi_post(insert("units", unit_row(1)), message_id="msg_0").json() == {"success": True}
    assert WebhookDelivery.objects.count() == 3
    assert no_enqueue == [1, 1, 1], "each new delivery asks for an apply; the duplicate does not"
    assert asgi_post(insert("units", unit_row()), key="wrong").status_code == 401
    assert WebhookRejection.objects.get().count == 1


@pytest.mark.skipif(connection.vendor != "postgresql", reason="terminating a backend is a PostgreSQL thing")
def test_a_writer_whose_connection_was_killed_reconnects_and_the_delivery_is_stored(writers: None, no_enqueue: list[int]) -> None:
    assert asgi_post(insert("units", unit_row(1)), message_id="msg_1").status_code == 200
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
    for n in range(2, 8):  # enough to reach every writer thread whose connection was killed
        assert asgi_post(insert("units", unit_row(n)), message_id=f"msg_{n}").status_code == 200
    assert WebhookDelivery.objects.count() == 7


# --- a real worker ---------------------------------------------------------------------------------


@pytest.mark.worker
def test_a_real_worker_registers_the_webhook_tasks_and_applies_deliveries_as_they_arrive(client: Client, tmp_path: Path) -> None:
    webhook_tasks.apply_request_flag_clear()
    celery_app.control.purge()
    with celery_worker(log_path=tmp_path / "worker.log"):
        registered = {task for tasks in (celery_app.control.inspect(timeout=5).registered() or {}).values() for task in tasks}
        assert {"rentengine.webhooks_apply", "rentengine.webhooks_sweep"} <= registered
        assert deliver(client, insert("units", unit_row(version=1))).status_code == 200
        assert deliver(client, update("units", unit_row(version=2, status="Leased"))).status_code == 200

        def leased_and_all_applied() -> bool:
            """the unit is Leased and every delivery applied"""
            unit = Unit.objects.filter(id=3318).first()
            return bool(unit and unit.status == "Leased" and not WebhookDelivery.objects.exclude(status="applied").exists())

        eventually(leased_and_all_applied)


@pytest.mark.worker
def test_the_sweep_task_runs_on_a_real_worker_and_applies_what_was_left_waiting(
    client: Client, tmp_path: Path, no_enqueue: list[int]
) -> None:
    celery_app.control.purge()  # an apply queued by an earlier test would get there before the sweep
    deliver(client, insert("units", unit_row()))
    WebhookDelivery.objects.update(received_at=WebhookDelivery.objects.get().received_at.replace(year=2020))
    with celery_worker(log_path=tmp_path / "worker.log"):
        webhooks_sweep.delay()
        deadline = time.monotonic() + 30
        while not Unit.objects.exists():  # task results are not kept: the mirror says it ran
            assert time.monotonic() < deadline, "the sweep did not apply the waiting delivery"
            time.sleep(0.1)
    assert Unit.objects.count() == 1
    assert WebhookDelivery.objects.get().status == "applied"


# --- the ASGI fast path ----------------------------------------------------------------------------


def asgi_call(app: Any, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
             "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
             "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
             "client": ("127.0.0.1", 40000), "server": ("127.0.0.1", 8000)}  # fmt: skip

    async def run() -> tuple[int, dict[str, str], bytes]:
        communicator = ApplicationCommunicator(app, scope)
        await communicator.send_input({"type": "http.request", "body": body, "more_body": False})
        start = await communicator.receive_output(10)
        content = b""
        while True:
            message = await communicator.receive_output(10)
            content += message.get("body", b"")
            if not message.get("more_body"):
                break
        return start["status"], {k.decode().lower(): v.decode() for k, v in start["headers"]}, content

    return async_to_sync(run)()


def test_the_fast_path_serves_the_receiver_without_the_dashboards_middleware(writers: None, no_enqueue: list[int]) -> None:
    app = webhook_fast_path(get_asgi_application())
    body = json.dumps(insert("units", unit_row())).encode()
    headers = {"Host": "127.0.0.1", "Content-Type": "application/json", "Content-Length": str(len(body)), "X-API-Key": KEY}
    status, sent, content = asgi_call(app, URL, body, headers)
    assert (status, json.loads(content)) == (200, {"success": True})
    assert sent["content-length"] == str(len(content))
    assert "x-frame-options" not in sent, "no middleware ran"
    assert WebhookDelivery.objects.count() == 1
    status, _, _ = asgi_call(app, URL, body, {**headers, "Host": "evil.example"})
    assert status == 400, "ALLOWED_HOSTS still holds"
    status, sent, _ = asgi_call(app, "/login/", b"", {"Host": "127.0.0.1"})
    assert "x-frame-options" in sent, "every other path goes through the dashboard, middleware and all"
