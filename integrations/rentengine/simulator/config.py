"""How one simulator process is set up: data size and seed, tokens, rate limit, webhooks, activity,
and the INFERRED features it lacks (`--without`).

Parsed from the command line (`__main__.py` and the `rentengine_simulator` management command share
`parser_add_arguments` / `config_from_arguments`), and partly changeable at run time through the
control endpoint.
"""

from __future__ import annotations

import argparse
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime

from .features import ALL, FEATURES, features_parse

SIZES = ("small", "medium", "large")
DEFAULT_TOKEN = "simulator-dev-token"
DEFAULT_RATE_LIMIT = "30/5s"


@dataclass
class RateLimit:
    """`limit` requests per `window` seconds per token; `limit` None means off."""

    limit: int | None = 30
    window: float = 5.0
    # Faults of a shared budget: another client of the same token takes `neighbour` places of every
    # window, and a gateway answers a share of requests 429 whatever the rate (half with Retry-After: 1).
    neighbour: int = 0
    spurious_429: float = 0.0

    @property
    def header_limit(self) -> int:
        # The real service always says 30; a test that lowers the limit sees its own number.
        return self.limit if self.limit is not None else 30


@dataclass
class WebhookSettings:
    url: str | None = None
    key: str = ""
    header: str = "X-API-Key"
    max_attempts: int = 6
    backoff_seconds: float = 1.0  # first retry delay; doubles per attempt
    max_backoff_seconds: float = 60.0
    timeout_seconds: float = 10.0
    queue_limit: int = 5000  # pending messages; beyond it new ones are dropped (and counted)
    concurrency: int = 4
    duplicate_probability: float = 0.0
    reorder_probability: float = 0.0
    reorder_delay_seconds: float = 1.0


@dataclass
class SimulatorConfig:
    host: str = "127.0.0.1"
    port: int = 8765
    seed: int = 1
    size: str = "medium"
    # token -> the account ids it spans (None: every account, like a token of the owner).
    tokens: dict[str, list[str] | None] = field(default_factory=lambda: {DEFAULT_TOKEN: None})
    rate_limit: RateLimit = field(default_factory=RateLimit)
    webhooks: WebhookSettings = field(default_factory=WebhookSettings)
    activity_per_minute: float = 0.0
    anchor: datetime | None = None  # seeded data ends here; None: the start of the current hour (UTC)
    request_log_limit: int = 20000
    without: set[str] = field(default_factory=set)  # INFERRED features this RentEngine lacks (features.py)


def rate_limit_parse(text: str) -> RateLimit:
    """`30/5s`, `30/5`, `30/1m`, `off`."""
    text = text.strip().lower()
    if text in ("off", "none", "0"):
        return RateLimit(limit=None)
    match = re.fullmatch(r"(\d+)\s*/\s*(\d+(?:\.\d+)?)\s*(ms|s|m)?", text)
    if not match:
        raise ValueError(f"rate limit must look like 30/5s or off, got {text!r}")
    number, window, unit = int(match[1]), float(match[2]), match[3] or "s"
    seconds = {"ms": window / 1000, "s": window, "m": window * 60}[unit]
    if number < 1 or seconds <= 0:
        raise ValueError(f"rate limit must be positive, got {text!r}")
    return RateLimit(limit=number, window=seconds)


def rate_limit_faults(limit: RateLimit, *, neighbour: object = None, spurious_429: object = None) -> RateLimit:
    """The shared-budget faults on a rate limit, checked: 0 <= neighbour < limit, 0 <= spurious_429 <= 1."""
    if neighbour is not None:
        limit.neighbour = int(neighbour)  # type: ignore[call-overload]
    if spurious_429 is not None:
        limit.spurious_429 = float(spurious_429)  # type: ignore[arg-type]
    if limit.neighbour < 0 or (limit.limit is not None and limit.neighbour >= limit.limit):
        raise ValueError(f"neighbour must leave at least one place of the {limit.limit} per window, got {limit.neighbour}")
    if not 0 <= limit.spurious_429 <= 1:
        raise ValueError(f"spurious_429 is a share between 0 and 1, got {limit.spurious_429}")
    return limit


def token_parse(text: str) -> tuple[str, list[str] | None]:
    """`TOKEN` (every account) or `TOKEN=ACCOUNT_ID[,ACCOUNT_ID...]`."""
    token, _, accounts = text.partition("=")
    if not token:
        raise ValueError("a token must not be empty")
    return token, ([a.strip() for a in accounts.split(",") if a.strip()] if accounts else None)


def anchor_parse(text: str) -> datetime:
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def parser_add_arguments(
    parser: argparse.ArgumentParser, *, default_tokens: list[str] | None = None, default_key: str = ""
) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8765, help="port to bind; 0 picks a free one (printed when ready)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--size", choices=SIZES, default="medium")
    parser.add_argument(
        "--token",
        action="append",
        default=None,
        help="accepted bearer token, repeatable; TOKEN=ACCOUNT_ID,... limits it to those accounts",
    )
    parser.add_argument("--webhook-url", default=None, help="where to POST webhook deliveries (none: no webhooks)")
    parser.add_argument("--webhook-key", default=default_key, help="sent in X-API-Key with every delivery")
    parser.add_argument("--activity", type=float, default=0.0, help="simulated changes per minute (0: none)")
    parser.add_argument("--rate-limit", default=DEFAULT_RATE_LIMIT, help="per-token sliding window, e.g. 30/5s, or off")
    parser.add_argument("--neighbour", type=int, default=0, help="places of every rate window another client takes")
    parser.add_argument("--spurious-429", type=float, default=0.0, help="share of requests answered 429 whatever the rate")
    parser.add_argument("--anchor", default=None, help="ISO date-time the seeded data ends at (default: this hour)")
    parser.add_argument("--webhook-backoff", type=float, default=1.0, help="first webhook retry delay in seconds")
    parser.add_argument(
        "--without",
        action="append",
        default=None,
        metavar="FEATURE[,FEATURE...]",
        help=f"behave like a RentEngine without these INFERRED features (repeatable): {', '.join(FEATURES)}, or {ALL}",
    )
    parser.set_defaults(default_tokens=default_tokens or [DEFAULT_TOKEN])


def config_from_arguments(options: dict[str, object]) -> SimulatorConfig:
    raw_tokens = options.get("token") or options.get("default_tokens") or [DEFAULT_TOKEN]
    tokens = dict(token_parse(str(t)) for t in raw_tokens)  # type: ignore[attr-defined]
    anchor = options.get("anchor")
    return SimulatorConfig(
        host=str(options.get("host") or "127.0.0.1"),
        port=int(options.get("port") or 0),  # type: ignore[call-overload]
        seed=int(options.get("seed") or 0),  # type: ignore[call-overload]
        size=str(options.get("size") or "medium"),
        tokens=tokens,
        rate_limit=rate_limit_faults(
            rate_limit_parse(str(options.get("rate_limit") or DEFAULT_RATE_LIMIT)),
            neighbour=options.get("neighbour"),
            spurious_429=options.get("spurious_429"),
        ),
        webhooks=WebhookSettings(
            url=str(options["webhook_url"]) if options.get("webhook_url") else None,
            key=str(options.get("webhook_key") or ""),
            backoff_seconds=float(options.get("webhook_backoff") or 1.0),  # type: ignore[arg-type]
        ),
        activity_per_minute=float(options.get("activity") or 0.0),  # type: ignore[arg-type]
        anchor=anchor_parse(str(anchor)) if anchor else None,
        without=features_parse(options.get("without")),
    )
