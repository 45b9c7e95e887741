"""The RentEngineError family: what a failed RentEngine call tells its caller.

Every error says whether retrying can help (`permanent`) and whether the request surely never reached
RentEngine (`not_sent`), which is what decides if even a POST may be sent again. Raised by the client
(`endpoints.py`, `transport.py`); the package re-exports them all.
"""

from __future__ import annotations

import re
from typing import Any

# What an error quotes ends up in text columns and logs: no control characters (PostgreSQL refuses
# NUL) and no lone surrogates, whatever bytes RentEngine, or a proxy in front of it, sent.
_UNSAFE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")


def _printable(text: str) -> str:
    return _UNSAFE.sub("\ufffd", text)


class RentEngineError(Exception):
    """A RentEngine call failed.

    permanent: retrying the same request will fail the same way (4xx, configuration).
    not_sent: the request surely never reached RentEngine (connect failure, pool timeout, 429, 503,
      no limiter slot), so even a POST may be sent again. False means it may have been received.
    retry_after: seconds RentEngine asked us to wait (capped), when it said so.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        body: str = "",
        permanent: bool = False,
        not_sent: bool = False,
        retry_after: float | None = None,
        endpoint: str = "",
    ) -> None:
        message, body = _printable(message), _printable(body)
        super().__init__(message)
        self.message = message
        self.status = status
        self.body = body
        self.permanent = permanent
        self.not_sent = not_sent
        self.retry_after = retry_after
        self.endpoint = endpoint

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self.message!r}, status={self.status}, endpoint={self.endpoint!r}, "
            f"permanent={self.permanent}, not_sent={self.not_sent}, retry_after={self.retry_after})"
        )


class MissingToken(RentEngineError):
    """No token configured: nothing was sent."""


class TokenRejected(RentEngineError):
    """401/403: the token is wrong, revoked, or lacks access."""


class InvalidRequest(RentEngineError):
    """400 (or another 4xx): RentEngine refused the request as written.

    unknown_parameter: the strict query validation rejected a parameter ("must NOT have additional
    properties"); `parameter` names it when the details say which. The sync uses this to switch an
    INFERRED parameter off.
    """

    def __init__(self, message: str, *, unknown_parameter: bool = False, parameter: str | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.unknown_parameter = unknown_parameter
        self.parameter = parameter


class NotFound(RentEngineError):
    """404: the path (an INFERRED endpoint) or the record does not exist."""


class RateLimited(RentEngineError):
    """429: RentEngine refused the request before acting on it."""


class ServerError(RentEngineError):
    """5xx: a 503 is a refusal (not sent); other 5xx may have been acted on."""


class TransportError(RentEngineError):
    """No HTTP answer: connection refused, reset, protocol violation."""


class Timeout(TransportError):
    """Connect, pool, write or read timeout."""


class MalformedResponse(RentEngineError):
    """A 2xx whose body is not what the endpoint returns (HTML, truncated JSON, wrong shape).

    On a POST, `status` 2xx means RentEngine accepted the request: treat the outcome as unknown.
    """


class SlotUnavailable(RentEngineError):
    """The shared rate limiter gave no slot in time (or is unreachable): nothing was sent."""
