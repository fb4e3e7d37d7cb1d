"""Reading and writing files of market messages in the libs/types wire format.

Two layouts, chosen by the file's extension, or else by its first non-blank byte:

- **JSON lines** (``.jsonl``, ``.ndjson``, ``.json``; or a file starting with ``{``): one
  message per line, as :func:`mycelium_types.codec.encode_json` writes it (tagged objects,
  ``bytes`` as base64). Blank lines are skipped; record ``n`` is line ``n``.
- **msgpack** (``.msgpack``, ``.mpk``, ``.msgp``; anything else): messages as
  :func:`mycelium_types.codec.encode` writes them, concatenated with no framing; record ``n``
  is the ``n``-th object.

Every problem with a file raises :class:`EventFileError`, whose one-line message names the file
and, when it is about one record, the record's number (from 1).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Literal, final

from mycelium_types.codec import MARKET_DECODER, MessageDecodeError, encode, encode_json
from mycelium_types.messages import MarketMessage

from ._msgpack_split import MsgpackFramingError, object_end

__all__ = ["EventFileError", "EventFormat", "detect_format", "read_events", "write_events"]

EventFormat = Literal["jsonl", "msgpack"]

# The codec reports every bad input as MessageDecodeError; UnicodeDecodeError is caught too in
# case a string that is not UTF-8 slips through (msgspec raises it, msgspec issue #714).
_DECODE_ERRORS = (MessageDecodeError, UnicodeDecodeError)

_JSON_SUFFIXES = frozenset({".jsonl", ".ndjson", ".json"})
_MSGPACK_SUFFIXES = frozenset({".msgpack", ".mpk", ".msgp"})


@final
class EventFileError(ValueError):
    """A file of events cannot be read or written; the message is one line.

    Attributes:
        path: the file.
        record: the 1-based number of the bad record, or ``None`` for the whole file.
        detail: what is wrong.
    """

    def __init__(self, path: str | Path, record: int | None, detail: str) -> None:
        self.path = str(path)
        self.record = record
        self.detail = " ".join(detail.split())
        where = self.path if record is None else f"{self.path}: record {record}"
        super().__init__(f"{where}: {self.detail}")


def detect_format(path: str | Path, head: bytes = b"") -> EventFormat:
    """The layout of ``path``: by extension, else ``jsonl`` if ``head`` starts with ``{``."""
    suffix = Path(path).suffix.lower()
    if suffix in _JSON_SUFFIXES:
        return "jsonl"
    if suffix in _MSGPACK_SUFFIXES:
        return "msgpack"
    return "jsonl" if head.lstrip()[:1] == b"{" else "msgpack"


def read_events(path: str | Path, *, limit: int | None = None) -> list[MarketMessage]:
    """Every message in ``path`` (the first ``limit`` if given), in file order.

    Raises:
        EventFileError: the file cannot be read, holds no message, or a record is malformed
            (not msgpack/JSON, truncated, or not a valid MarketMessage).
    """
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise EventFileError(path, None, f"cannot read the file: {exc.strerror or exc}") from exc
    if detect_format(path, data[:64]) == "jsonl":
        events = _read_jsonl(path, data, limit)
    else:
        events = _read_msgpack(path, data, limit)
    if not events and limit != 0:
        raise EventFileError(path, None, "the file holds no events")
    return events


def _read_jsonl(path: str | Path, data: bytes, limit: int | None) -> list[MarketMessage]:
    decode = MARKET_DECODER.decode_json
    events: list[MarketMessage] = []
    for number, line in enumerate(data.split(b"\n"), start=1):
        if limit is not None and len(events) >= limit:
            break
        if not line.strip():
            continue
        try:
            events.append(decode(line))
        except _DECODE_ERRORS as exc:
            raise EventFileError(path, number, str(exc)) from exc
    return events


def _read_msgpack(path: str | Path, data: bytes, limit: int | None) -> list[MarketMessage]:
    decode = MARKET_DECODER.decode
    view = memoryview(data)
    events: list[MarketMessage] = []
    start = 0
    size = len(data)
    while start < size and (limit is None or len(events) < limit):
        number = len(events) + 1
        try:
            end = object_end(view, start)
        except MsgpackFramingError as exc:
            raise EventFileError(path, number, str(exc)) from exc
        try:
            events.append(decode(view[start:end]))
        except _DECODE_ERRORS as exc:
            raise EventFileError(path, number, str(exc)) from exc
        start = end
    return events


def write_events(
    path: str | Path, events: Iterable[MarketMessage], *, fmt: EventFormat | None = None
) -> int:
    """Write ``events`` to ``path`` (replacing it) and return how many were written.

    ``fmt`` defaults to the extension's layout (msgpack for an unknown extension).

    Raises:
        EventFileError: the file cannot be written.
    """
    layout = fmt if fmt is not None else detect_format(path)
    if layout == "jsonl":
        chunks = [encode_json(event) + b"\n" for event in events]
    else:
        chunks = [encode(event) for event in events]
    try:
        Path(path).write_bytes(b"".join(chunks))
    except OSError as exc:
        raise EventFileError(path, None, f"cannot write the file: {exc.strerror or exc}") from exc
    return len(chunks)
