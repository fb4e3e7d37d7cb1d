"""Reading and writing files of market messages in the libs/types wire format.

Two layouts, chosen by the file's extension, or else by its first non-blank byte:

- **JSON lines** (``.jsonl``, ``.ndjson``, ``.json``; or a file starting with ``{``): one
  message per line, as :func:`mycelium_types.codec.encode_json` writes it (tagged objects,
  ``bytes`` as base64). Blank lines are skipped; record ``n`` is line ``n``.
- **msgpack** (``.msgpack``, ``.mpk``, ``.msgp``; anything else): messages as
  :func:`mycelium_types.codec.encode` writes them, concatenated with no framing; record ``n``
  is the ``n``-th object.

Every problem with a file raises :class:`EventFileError`, whose one-line message names the file
and, when it is about one record, the record's number (from 1). Files are read as a stream
(:func:`iter_events`): a bad record is reported when it is reached, without reading the rest.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Iterable, Iterator
from io import BufferedReader
from itertools import chain
from pathlib import Path
from typing import Literal, final

from mycelium_types.codec import MARKET_DECODER, MessageDecodeError, encode, encode_json
from mycelium_types.messages import MarketMessage

from ._msgpack_split import MsgpackFramingError, object_end

__all__ = [
    "MAX_RECORD_BYTES",
    "READ_CHUNK",
    "EventFileError",
    "EventFormat",
    "detect_format",
    "format_for_extension",
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


def format_for_extension(path: str | Path) -> EventFormat | None:
    """The layout ``path``'s extension names, or ``None`` for an extension of neither kind."""
    suffix = Path(path).suffix.lower()
    if suffix in _JSON_SUFFIXES:
        return "jsonl"
    if suffix in _MSGPACK_SUFFIXES:
        return "msgpack"
    return None


def detect_format(path: str | Path, head: bytes = b"") -> EventFormat:
    """The layout of ``path``: by extension, else ``jsonl`` if ``head`` starts with ``{``."""
    by_extension = format_for_extension(path)
    if by_extension is not None:
        return by_extension
    return "jsonl" if head.lstrip()[:1] == b"{" else "msgpack"


def read_events(path: str | Path, *, limit: int | None = None) -> list[MarketMessage]:
    """Every message in ``path`` (the first ``limit`` if given), in file order.

    See :func:`iter_events`, which this collects.

    Raises:
        EventFileError: the file cannot be read, holds no message, or a record is malformed
            (not msgpack/JSON, truncated, too large, or not a valid MarketMessage).
    """
    return list(iter_events(path, limit=limit))


def iter_events(path: str | Path, *, limit: int | None = None) -> Iterator[MarketMessage]:
    """The messages in ``path`` (the first ``limit`` if given), decoded as they are read.

    The file is read as a stream, :data:`READ_CHUNK` bytes at a time: a bad record is reported
    as soon as it is read, reading stops after ``limit`` messages, and a FIFO or a pipe works
    as well as a regular file. Memory is bounded by one record (at most
    :data:`MAX_RECORD_BYTES`) plus one chunk, whatever the size of the file.

    Raises:
        EventFileError: as :func:`read_events`, when the bad part is reached; a file that
            holds no message raises once it is read to its end.
    """
    if limit is not None and limit <= 0:
        return
    try:
        file = open(path, "rb")  # noqa: SIM115 (the with below closes it)
    except OSError as exc:
        raise EventFileError(path, None, f"cannot read the file: {exc.strerror or exc}") from exc
    with file:
        chunks = _chunks(path, file)
        head = b""
        for chunk in chunks:
            head += chunk
            if head.strip() or len(head) > MAX_RECORD_BYTES:
                break
        stream = chain((head,), chunks)
        if detect_format(path, head) == "jsonl":
            records = _jsonl_events(path, stream)
        else:
            regular = stat.S_ISREG(os.fstat(file.fileno()).st_mode)
            records = _msgpack_events(path, stream, regular=regular)
        count = 0
        for event in records:
            yield event
            count += 1
            if count == limit:
                return
        if count == 0:
            raise EventFileError(path, None, "the file holds no events")


READ_CHUNK = 1 << 16
"""Bytes asked of the file per read (a read returns what is there, up to this)."""

MAX_RECORD_BYTES = 1 << 20
"""The largest record a file may hold (1 MiB; a market message takes well under 1 KiB): a
longer one is refused rather than buffered."""


def _chunks(path: str | Path, file: BufferedReader) -> Iterator[bytes]:
    """What each read of ``file`` returns, until its end (``read1``: no waiting for a full
    chunk, so a pipe's data is decoded as it comes)."""
    while True:
        try:
            chunk = file.read1(READ_CHUNK)
        except OSError as exc:
            raise EventFileError(
                path, None, f"cannot read the file: {exc.strerror or exc}"
            ) from exc
        if not chunk:
            return
        yield chunk


def _too_large(path: str | Path, record: int) -> EventFileError:
    return EventFileError(
        path, record, f"the record is larger than {MAX_RECORD_BYTES:,} bytes, the limit"
    )


def _jsonl_events(path: str | Path, chunks: Iterator[bytes]) -> Iterator[MarketMessage]:
    decode = MARKET_DECODER.decode_json
    number = 0  # lines seen (record n is line n, blank lines included)
    pending = b""  # the start of a line whose end is not read yet
    for chunk in chunks:
        if b"\n" not in chunk:
            pending += chunk
            if len(pending) > MAX_RECORD_BYTES:
                raise _too_large(path, number + 1)
            continue
        lines = (pending + chunk).split(b"\n")
        pending = lines.pop()
        for line in lines:
            number += 1
            if line.strip():
                yield _decoded(path, number, decode, line)
        if len(pending) > MAX_RECORD_BYTES:
            raise _too_large(path, number + 1)
    if pending.strip():
        yield _decoded(path, number + 1, decode, pending)


def _msgpack_events(
    path: str | Path, chunks: Iterator[bytes], *, regular: bool
) -> Iterator[MarketMessage]:
    decode = MARKET_DECODER.decode
    data = b""  # a window of the file: bytes base .. base + len(data)
    base = 0
    start = 0  # where, in data, the next record begins
    number = 0  # records decoded
    while True:
        cut: MsgpackFramingError | None = None  # the next record, if it is not all here
        if start < len(data):
            try:
                end = object_end(data, start, base=base)
            except MsgpackFramingError as exc:
                if not exc.truncated:
                    raise EventFileError(path, number + 1, str(exc)) from exc
                if len(data) - start + exc.needed > MAX_RECORD_BYTES:
                    raise _too_large(path, number + 1) from None
                cut = exc
            else:
                number += 1
                yield _decoded(path, number, decode, memoryview(data)[start:end])
                start = end
                continue
        # Read what the next record needs at least: a read returns what is there (up to a
        # chunk), so a pipe is never waited on for bytes the record does not need. From a
        # regular file, where reads do not wait, at least as much again as is pending: a large
        # record is then walked O(log n) times, not once per chunk.
        needed = 1 if cut is None else cut.needed
        if cut is not None and regular:
            needed = max(needed, len(data) - start)
        parts = [data[start:]]
        got = 0
        for chunk in chunks:
            parts.append(chunk)
            got += len(chunk)
            if got >= needed:
                break
        if got == 0:  # the end of the file
            if cut is not None:
                raise EventFileError(path, number + 1, str(cut)) from cut
            return
        base += start
        start = 0
        data = b"".join(parts)


def _decoded(
    path: str | Path,
    number: int,
    decode: Callable[[bytes | memoryview], MarketMessage],
    record: bytes | memoryview,
) -> MarketMessage:
    try:
        return decode(record)
    except _DECODE_ERRORS as exc:
        raise EventFileError(path, number, str(exc)) from exc


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
