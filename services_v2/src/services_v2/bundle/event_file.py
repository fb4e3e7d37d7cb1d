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

import contextlib
from collections.abc import Callable, Generator, Iterable, Iterator
from pathlib import Path
from typing import BinaryIO, Literal, final

from mycelium_types.codec import MARKET_DECODER, MessageDecodeError, encode, encode_json
from mycelium_types.messages import MarketMessage

from ._msgpack_split import MsgpackFramingError, object_end

__all__ = [
    "CHUNK_BYTES",
    "EventFileError",
    "EventFormat",
    "detect_format",
    "iter_events",
    "read_events",
    "write_events",
]

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
    """Every message in ``path`` (the first ``limit`` if given), in file order, as a list.

    Raises:
        EventFileError: the file cannot be read, holds no message, or a record is malformed
            (not msgpack/JSON, truncated, or not a valid MarketMessage).
    """
    with contextlib.closing(iter_events(path, limit=limit)) as events:
        return list(events)


def iter_events(
    path: str | Path, *, limit: int | None = None
) -> Generator[MarketMessage, None, None]:
    """The messages in ``path`` (the first ``limit`` if given), in file order, as they are read.

    The file is opened here (so a file that cannot be read fails at once) and read in chunks
    of :data:`CHUNK_BYTES` as the generator is consumed: memory stays flat whatever the size
    of the file, and a malformed record is reported when it is reached. Close the generator
    (``contextlib.closing``) if you stop early: that closes the file.

    Raises:
        EventFileError: the file cannot be read (here), or, while iterating, it holds no
            message or a record is malformed.
    """
    try:
        file = Path(path).open("rb")  # noqa: SIM115 - closed by the generator
    except OSError as exc:
        raise EventFileError(path, None, f"cannot read the file: {exc.strerror or exc}") from exc
    try:
        head = file.peek(64)[:64]
    except OSError as exc:
        file.close()
        raise EventFileError(path, None, f"cannot read the file: {exc.strerror or exc}") from exc
    reader = _iter_jsonl if detect_format(path, head) == "jsonl" else _iter_msgpack
    return _records(path, file, reader, limit)


CHUNK_BYTES = 1 << 20
"""How much of a msgpack file is read at a time."""

_Reader = Callable[[str | Path, BinaryIO, int | None], Iterator[MarketMessage]]


def _records(
    path: str | Path, file: BinaryIO, reader: _Reader, limit: int | None
) -> Generator[MarketMessage, None, None]:
    count = 0
    try:
        for event in reader(path, file, limit):
            count += 1
            yield event
    except OSError as exc:
        raise EventFileError(path, None, f"cannot read the file: {exc.strerror or exc}") from exc
    finally:
        file.close()
    if not count and limit != 0:
        raise EventFileError(path, None, "the file holds no events")


def _iter_jsonl(path: str | Path, file: BinaryIO, limit: int | None) -> Iterator[MarketMessage]:
    decode = MARKET_DECODER.decode_json
    count = 0
    for number, line in enumerate(file, start=1):
        if limit is not None and count >= limit:
            return
        if not line.strip():
            continue
        try:
            event = decode(line)
        except _DECODE_ERRORS as exc:
            raise EventFileError(path, number, str(exc)) from exc
        count += 1
        yield event


def _iter_msgpack(path: str | Path, file: BinaryIO, limit: int | None) -> Iterator[MarketMessage]:
    decode = MARKET_DECODER.decode
    data = b""
    base = 0  # the file offset of data[0]
    start = 0
    number = 0
    while limit is None or number < limit:
        if start >= len(data):
            base += len(data)
            data, start = file.read(CHUNK_BYTES), 0
            if not data:
                return
        try:
            end = object_end(data, start, base=base)
        except MsgpackFramingError as exc:
            more = file.read(CHUNK_BYTES) if exc.truncated else b""
            if not more:
                raise EventFileError(path, number + 1, str(exc)) from exc
            base += start
            data, start = data[start:] + more, 0
            continue
        number += 1
        try:
            event = decode(memoryview(data)[start:end])
        except _DECODE_ERRORS as exc:
            raise EventFileError(path, number, str(exc)) from exc
        start = end
        yield event


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
