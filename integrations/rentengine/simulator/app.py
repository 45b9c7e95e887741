"""The simulator as one plain ASGI app: `/api/public/v1/...` is RentEngine, `/_simulator/...` is the
control endpoint (no token; bind to loopback), anything else is a 404.

An API request goes: authenticate (401), take a place in the token's rate window (429 with
Retry-After), pick an injected fault, refuse what a RentEngine without some INFERRED features would
refuse (features.py: 404 or 403), route to an endpoint function (endpoints.py, showings.py,
assignments.py), then apply any fault that acts after the handling, and log it. Every API response
carries `X-Ratelimit-Limit`. Handlers are synchronous and fast; everything runs on one event loop, so
the in-memory state needs no locks.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
import sys
import time
import traceback
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from integrations.rentengine.vocabulary import API_PREFIX

from . import control, features
from . import list_endpoints as endpoints
from . import lockbox_write_endpoints as lockbox_writes
from . import showing_endpoints as showings
from .activity import activity_run
from .config import SimulatorConfig
from .faults import BEFORE, Fault, FaultBook
from .messages import JSON, Request, Response, error_response, json_response, not_found
from .ratelimit import SlidingWindow
from .requestlog import RequestLog
from .seed import state_seed
from .state import State
from .validation import Invalid
from .webhook_sender import WebhookSender
from .write_endpoints import leasing_events_create

Handler = Callable[[State, Request], Response]
Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]

OPENAPI_PATH = Path(__file__).with_name("openapi.json")

ROUTES: dict[tuple[str, str], Handler] = {
    ("GET", "/units"): endpoints.units_list,
    ("GET", "/prospects"): endpoints.prospects_list,
    ("GET", "/leasing_events"): endpoints.leasing_events_list,
    ("POST", "/leasing_events"): leasing_events_create,
    ("GET", "/lockboxes"): endpoints.lockboxes_list,
    ("GET", "/lockbox_events"): endpoints.lockbox_events_list,
    ("POST", "/lockbox_events"): lockbox_writes.lockbox_events_create,
    ("POST", "/lockboxes/generate_code"): lockbox_writes.generate_code,
    ("GET", "/lockbox_installations"): endpoints.lockbox_installations_list,
    ("GET", "/subteams"): endpoints.subteams_list,
    ("GET", "/prescreening_templates"): endpoints.prescreening_templates_list,
    ("GET", "/multifamily_properties"): endpoints.multifamily_properties_list,
    ("GET", "/floorplans"): endpoints.floorplans_list,
    ("GET", "/showings/availability"): showings.availability,
    ("GET", "/reporting/showings"): showings.reporting_showings,
}
# Real operations no feature needs yet (issue 3): a 405 that says so, rather than a misleading 404.
NOT_IMPLEMENTED = {
    ("POST", "/units"),
    ("POST", "/lockboxes"),
    ("POST", "/lockboxes/transfer_accounts"),
    ("POST", "/multifamily_properties"),
    ("POST", "/floorplans"),
    ("POST", "/showings/create"),
}
HTML_ERROR = (
    b"<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center>"
    b"<hr><center>cloudflare</center></body></html>"
)


@dataclass(eq=False)
class Simulator:
    config: SimulatorConfig
    state: State
    limiter: SlidingWindow
    faults: FaultBook
    log: RequestLog
    webhooks: WebhookSender
    openapi: bytes = b""
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
        elif scope["type"] != "http":
            return
        elif scope["path"] == API_PREFIX or scope["path"].startswith(API_PREFIX + "/"):
            await self._api(scope, receive, send)
        elif scope["path"].startswith(control.PREFIX):
            body = await _read_body(receive)
            request = Request(
                scope["method"], scope["path"][len(control.PREFIX) :], scope["query_string"].decode("latin-1"), body
            )
            try:
                response = control.handle(self, request)
            except (ValueError, TypeError, KeyError) as exc:
                response = error_response(400, str(exc))
            await _send(send, response, [])
        else:
            await _send(send, not_found(), [])

    # --- lifecycle -------------------------------------------------------------------------------

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                self.start()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.stop()
                await send({"type": "lifespan.shutdown.complete"})
                return

    def start(self) -> None:
        self.webhooks.start()
        if self.config.activity_per_minute > 0:
            self.tasks.append(
                asyncio.get_running_loop().create_task(activity_run(lambda: self.state, self.config.activity_per_minute))
            )

    async def stop(self) -> None:
        for task in self.tasks:
            task.cancel()
        for task in self.tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self.tasks.clear()
        await self.webhooks.stop()

    def reset(self, *, seed: int | None = None, size: str | None = None, anchor: Any = None) -> None:
        """Reseed the data and forget requests, faults, rate windows and queued webhooks."""
        self.config.seed = self.config.seed if seed is None else seed
        self.config.size = size or self.config.size
        if anchor is not None:
            self.config.anchor = anchor
        self.state = state_seed(seed=self.config.seed, size=self.config.size, anchor=self.config.anchor)
        self.config.anchor = self.state.anchor
        self.state.on_change = self.webhooks.enqueue
        self.webhooks.seed = self.config.seed
        self.webhooks.reset()
        self.faults.clear()
        self.log.clear()
        self.limiter.reset()

    # --- the API ---------------------------------------------------------------------------------

    async def _api(self, scope: Scope, receive: Receive, send: Send) -> None:
        started, arrived = time.perf_counter(), time.time()
        method, full_path = scope["method"], scope["path"]
        path = full_path[len(API_PREFIX) :] or "/"
        query = scope["query_string"].decode("latin-1")
        body = await _read_body(receive)
        if method == "GET" and path == "/openapi.json":
            await _send(send, Response(200, self.openapi, JSON), [])  # downloadable without auth (API-FACTS 1.1)
            return
        limit_header = [("X-Ratelimit-Limit", str(self.config.rate_limit.header_limit))]
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        token, accounts = self._authenticate(headers.get("authorization"))
        entry = self.log.add(at=arrived, method=method, path=full_path, query=query, body=body, token=token)
        fault: Fault | None = None
        response: Response | None = None
        if token is None or token == "(invalid)":
            message = "Missing bearer token" if token is None else "Invalid or revoked token"
            response = error_response(401, message)
        elif (retry_after := self.limiter.admit(token)) is not None:
            response = error_response(429, "Too many requests")
            if retry_after:
                response.headers.append(("Retry-After", str(retry_after)))
        else:
            fault = self.faults.pick(method, path)
            entry["fault"] = fault.kind if fault else None
            if fault is not None and fault.kind in BEFORE:
                if fault.kind == "slow":
                    await asyncio.sleep(fault.seconds)
                elif fault.kind in ("drop", "reset"):
                    await _drop(send, reset=fault.kind == "reset")
                    entry["duration_ms"] = round((time.perf_counter() - started) * 1000, 3)
                    return
                else:
                    response = _fault_response(fault)
            if response is None:
                without = frozenset(self.config.without)
                response = self._handle(Request(method, path, query, body, headers, token, accounts, without))
        if fault is not None and fault.kind == "delay_after_commit":
            await asyncio.sleep(fault.seconds)
        entry["status"] = response.status
        if fault is not None and fault.kind == "drop_after_commit":
            entry["status"] = None
            await _drop(send)
        elif fault is not None and fault.kind == "truncate":
            await _send_truncated(send, response, limit_header, fault.mode)
        elif fault is not None and fault.kind == "garbage":
            entry["status"] = fault.status or 200
            await _send(send, Response(entry["status"], self.faults.garbage(fault.size), JSON), limit_header)
        else:
            await _send(send, response, limit_header)
        entry["duration_ms"] = round((time.perf_counter() - started) * 1000, 3)

    def _authenticate(self, header: str | None) -> tuple[str | None, frozenset[str]]:
        if not header or not header.lower().startswith("bearer "):
            return None, frozenset()
        token = header[7:].strip()
        if token not in self.config.tokens:
            return "(invalid)", frozenset()
        wanted = self.config.tokens[token]
        every = frozenset(a["id"] for a in self.state.accounts)
        return token, every if wanted is None else every & frozenset(wanted)

    def _handle(self, request: Request) -> Response:
        if features.path_hidden(request.path, request.without):
            return not_found()  # a RentEngine without this INFERRED endpoint
        refused = features.refusal(request)
        if refused is not None:
            return refused
        handler = ROUTES.get((request.method, request.path))
        if handler is None:
            allowed = sorted(method for method, path in ROUTES if path == request.path)
            if not allowed:
                return not_found()
            where = f"{request.method} {request.path}"
            message = (
                f"{where} exists in RentEngine but not in the simulator"
                if (request.method, request.path) in NOT_IMPLEMENTED
                else "Method not allowed"
            )
            response = error_response(405, message)
            response.headers.append(("Allow", ", ".join(allowed)))
            return response
        try:
            return handler(self.state, request)
        except Invalid as invalid:
            return json_response(invalid.status, invalid.body())
        except Exception:
            traceback.print_exc(file=sys.stderr)
            return error_response(500, "Internal server error")


def _fault_response(fault: Fault) -> Response:
    if fault.kind == "html":
        return Response(fault.status or 502, HTML_ERROR, "text/html; charset=utf-8")
    status = fault.status or 500
    if status == 429:
        response = error_response(429, "Too many requests")
        response.headers.append(("Retry-After", str(fault.retry_after)))
        return response
    return error_response(status, "Internal server error" if status == 500 else f"Injected fault {status}")


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            break
    return b"".join(chunks)


def _headers(response: Response, extra: list[tuple[str, str]], length: int) -> list[tuple[bytes, bytes]]:
    pairs = [("content-type", response.content_type), ("content-length", str(length)), *extra, *response.headers]
    return [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in pairs]


async def _send(send: Send, response: Response, extra: list[tuple[str, str]]) -> None:
    await send(
        {"type": "http.response.start", "status": response.status, "headers": _headers(response, extra, len(response.body))}
    )
    await send({"type": "http.response.body", "body": response.body})


async def _send_truncated(send: Send, response: Response, extra: list[tuple[str, str]], mode: str) -> None:
    cut = response.body[: len(response.body) // 2]
    if mode == "json":  # a complete HTTP response whose JSON ends mid-way
        await _send(send, Response(response.status, cut, response.content_type, response.headers), extra)
        return
    # Promise the whole body, send half, and end: uvicorn closes a connection whose response is unfinished.
    await send(
        {"type": "http.response.start", "status": response.status, "headers": _headers(response, extra, len(response.body))}
    )
    await send({"type": "http.response.body", "body": cut, "more_body": True})


async def _drop(send: Send, *, reset: bool = False) -> None:
    """Close the connection without a byte of response. ASGI has no word for this, so reach the
    transport through uvicorn's response cycle (the `send` bound method's owner). With `reset`, the
    close is abortive (SO_LINGER on, 0 s): the kernel sends an RST instead of a FIN."""
    transport = getattr(getattr(send, "__self__", None), "transport", None)
    if transport is None:
        raise ConnectionAbortedError("cannot drop the connection under this server")
    if reset:
        sock = transport.get_extra_info("socket")
        if sock is None:
            raise ConnectionAbortedError("cannot reset the connection under this server")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()
    await asyncio.sleep(0)  # let the protocol see the connection is gone before the app returns


def simulator_new(config: SimulatorConfig) -> Simulator:
    state = state_seed(seed=config.seed, size=config.size, anchor=config.anchor)
    config.anchor = state.anchor
    webhooks = WebhookSender(config.webhooks, seed=config.seed)
    state.on_change = webhooks.enqueue
    return Simulator(
        config=config,
        state=state,
        limiter=SlidingWindow(config.rate_limit, seed=config.seed),
        faults=FaultBook(config.seed),
        log=RequestLog(config.request_log_limit),
        webhooks=webhooks,
        openapi=OPENAPI_PATH.read_bytes() if OPENAPI_PATH.exists() else b"{}",
    )
