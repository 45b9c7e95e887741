"""The embedded Celery broker: kombu's file-system transport, made safe for several processes.

kombu's `filesystem://` writer creates a message file under its final name and then writes it,
while a reader renames any file with that name and parses it: a reader that comes in between gets
an empty or half-written message and the worker stops (`Unrecoverable error: JSONDecodeError`),
and the message is gone. Here a message is written under a folder the reader never lists and
renamed into place once complete (atomic on one file system); a reader claims a message by renaming
it into a folder beside the queue (one reader wins, nothing is copied across file systems), and a
file that still does not parse (a stock kombu writer mid-write, a damaged disk) is put back until
it is old, then set aside with a log line, never raised. Exchange tables are created atomically for
the same reason. Settings name it through `CELERY_BROKER_TRANSPORT` (kombu 5.7 refuses class paths
in a broker URL).
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
import uuid
from pathlib import Path
from queue import Empty
from typing import Any

from kombu.exceptions import ChannelError
from kombu.transport import filesystem
from kombu.utils.encoding import bytes_to_str, str_to_bytes
from kombu.utils.json import dumps, loads

logger = logging.getLogger(__name__)

# Folders inside the queue folder; their names never end in ".<queue>.msg", so no reader (ours or
# kombu's own) takes them for messages.
WRITING = ".writing"
CLAIMED = ".claimed"
BROKEN = ".broken"
# A message that does not parse yet may still be being written by a stock kombu writer (it writes
# in place): it stays in the queue this long before it is set aside.
UNREADABLE_GRACE_SECONDS = 30.0


class Channel(filesystem.Channel):
    """A file-system channel whose messages are whole when a reader sees them."""

    # kombu's own signatures disagree (virtual: `message`, filesystem: `payload`): this is filesystem's.
    def _put(self, queue: str, payload: dict[str, Any], **kwargs: Any) -> None:  # type: ignore[override]
        """Write `payload` under a hidden name, then rename it into the queue in one step."""
        body = str_to_bytes(dumps(payload))
        # Creation time first, as in kombu's names, but in zero-padded nanoseconds rather than
        # milliseconds: readers take names in sorted order, so one writer's messages keep theirs.
        name = f"{time.monotonic_ns():020d}_{uuid.uuid4()}.{queue}.msg"
        folder = Path(self.data_folder_out)
        staging = folder / WRITING / name
        try:
            staging.parent.mkdir(exist_ok=True)
            with open(staging, "wb") as file:
                file.write(body)
            os.replace(staging, folder / name)
        except OSError as exc:
            with contextlib.suppress(OSError):
                staging.unlink()
            raise ChannelError(f"Cannot add file {name!r} to {folder}") from exc

    def _get(self, queue: str, timeout: float | None = None) -> dict[str, Any]:
        """The oldest whole message of `queue` (raises Empty when there is none)."""
        wanted = f"{queue}.msg"
        inbox = Path(self.data_folder_in)
        claimed_dir = inbox / CLAIMED
        claimed_dir.mkdir(exist_ok=True)
        for name in sorted(os.listdir(inbox)):
            if name.partition(".")[2] != wanted:
                continue
            claimed = claimed_dir / name
            try:
                os.rename(inbox / name, claimed)
            except OSError:
                continue  # another reader took it first
            message = self._claimed_read(claimed, inbox / name)
            if message is not None:
                return message
        raise Empty()

    def _claimed_read(self, claimed: Path, origin: Path) -> dict[str, Any] | None:
        """The message in a file this reader claimed, or None when it is not (yet) a message."""
        try:
            raw = claimed.read_bytes()
        except OSError as exc:
            raise ChannelError(f"Cannot read file {str(claimed)!r} from queue.") from exc
        try:
            message = loads(bytes_to_str(raw))
        except ValueError:  # JSONDecodeError and UnicodeDecodeError both are
            message = None
        if not isinstance(message, dict):
            self._unreadable(claimed, origin, raw)
            return None
        if self.store_processed:
            os.replace(claimed, Path(self.processed_folder) / claimed.name)
        else:
            claimed.unlink()
        return message

    def _unreadable(self, claimed: Path, origin: Path, raw: bytes) -> None:
        try:
            age = time.time() - claimed.stat().st_mtime
        except OSError:
            return
        if age < UNREADABLE_GRACE_SECONDS:
            # Possibly still being written in place: back in the queue, under its own name and so
            # in its own place, to be read again on the next poll.
            with contextlib.suppress(OSError):
                os.rename(claimed, origin)
            return
        broken = Path(self.data_folder_in) / BROKEN
        with contextlib.suppress(OSError):
            broken.mkdir(exist_ok=True)
            os.replace(claimed, broken / claimed.name)
        logger.error(
            "Set aside an unreadable broker message (%d bytes, %.0f s old, not JSON): %s",
            len(raw),
            age,
            broken / claimed.name,
        )

    def _queue_bind(self, exchange: str, routing_key: str, pattern: str, queue: str) -> None:
        # kombu creates a missing exchange table with open("wb"), which empties a table another
        # process has just created and filled: create it whole (link fails if it exists), then let
        # kombu add the binding under its lock.
        table = self._exchange_file(exchange)
        if not table.exists():
            self.control_folder.mkdir(exist_ok=True)
            staging = self.control_folder / f".{uuid.uuid4()}.exchange"
            staging.write_bytes(b"[]")
            try:
                os.link(staging, table)
            except FileExistsError:
                pass
            finally:
                staging.unlink()
        super()._queue_bind(exchange, routing_key, pattern, queue)


class Transport(filesystem.Transport):
    """`filesystem://` with whole-message writes (see the module docstring)."""

    Channel = Channel
