"""Event files are read as a stream: a bad record is refused when it is reached, and reading
stops after ``limit`` events, without reading (or holding) the rest of the file.

The input here is mostly a FIFO whose writer never ends it (``pipe_feeder``): a reader that
waited for the end of the file would still be waiting when the writer gives up.
"""

from __future__ import annotations

import json
from pathlib import Path

import msgspec
import pytest
from pipe_feeder import fed_fifo

from mycelium_types.codec import encode, encode_json
from mycelium_types.messages import PoolSwapEvent
from services_v2.bundle.cli import main
from services_v2.bundle.event_file import (
    MAX_RECORD_BYTES,
    READ_CHUNK,
    EventFileError,
    iter_events,
    read_events,
    write_events,
)
from services_v2.sim import simulate

POOL = bytes([0xB] * 20)
LOTS = 8 << 20  # bytes after the first record: far more than a pipe and a read hold


def _good(n: int) -> list[PoolSwapEvent]:
    return [PoolSwapEvent(POOL, 1, 2, i) for i in range(n)]


@pytest.mark.parametrize(
    ("name", "bad", "message"),
    [
        ("bad.msgpack", b"\xc1", r"record 1: invalid msgpack type byte 0xc1 at byte 0"),
        ("bad.jsonl", b'{"type": "swap", oops}\n', r"record 1: JSON is malformed"),
    ],
)
def test_a_bad_first_record_is_refused_without_reading_the_rest(
    tmp_path: Path, name: str, bad: bytes, message: str
) -> None:
    fifo = tmp_path / name
    filler = b"\n" * LOTS if name.endswith(".jsonl") else encode(_good(1)[0]) * (LOTS // 40)
    with fed_fifo(fifo, bad + filler) as feeder:
        with pytest.raises(EventFileError, match=message):
            read_events(fifo)
        assert not feeder.closed.is_set()  # refused while the input had no end yet
        assert feeder.written < LOTS  # and the reader stopped taking it


@pytest.mark.parametrize("name", ["events.msgpack", "events.jsonl"])
def test_reading_stops_after_the_limit(tmp_path: Path, name: str) -> None:
    events = _good(500)
    encoded = [encode_json(e) + b"\n" if name.endswith(".jsonl") else encode(e) for e in events]
    fifo = tmp_path / name
    with fed_fifo(fifo, b"".join(encoded)) as feeder:
        assert read_events(fifo, limit=10) == events[:10]
        assert not feeder.closed.is_set()


def test_the_bundle_reads_only_the_events_it_was_asked_for(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    events = simulate(3_000, seed=4)
    fifo = tmp_path / "capture.msgpack"
    with fed_fifo(fifo, b"".join(encode(event) for event in events)) as feeder:
        assert main(["--input", str(fifo), "--events", "100", "--json", "--quiet"]) == 0
        assert not feeder.closed.is_set()
    assert json.loads(capsys.readouterr().out)["events"] == 100


def test_records_split_across_reads_decode_the_same(tmp_path: Path) -> None:
    events = simulate(3_000, seed=8)  # several chunks of READ_CHUNK bytes
    for name in ("many.msgpack", "many.jsonl"):
        path = tmp_path / name
        write_events(path, events)
        assert path.stat().st_size > 3 * READ_CHUNK
        assert read_events(path) == events
        fifo = tmp_path / f"fifo-{name}"
        with fed_fifo(fifo, path.read_bytes()) as feeder:
            assert list(iter_events(fifo, limit=len(events))) == events
            assert not feeder.closed.is_set()


def test_a_truncated_record_deep_in_a_file_is_named_with_its_file_offset(tmp_path: Path) -> None:
    events = simulate(2_000, seed=2)
    path = tmp_path / "cut.msgpack"
    write_events(path, events)
    data = path.read_bytes()
    path.write_bytes(data[:-5])
    last_starts_at = len(data) - len(encode(events[-1]))
    with pytest.raises(
        EventFileError,
        match=rf"record 2000: truncated msgpack object \(starts at byte {last_starts_at}, ",
    ):
        read_events(path)


def test_a_record_larger_than_the_limit_is_refused_not_buffered(tmp_path: Path) -> None:
    # msgpack: a bin 32 that claims 2 GiB and keeps coming (the FIFO never ends).
    header = b"\xc6" + (2**31).to_bytes(4, "big")
    fifo = tmp_path / "huge.msgpack"
    with fed_fifo(fifo, header + bytes(MAX_RECORD_BYTES + 2 * READ_CHUNK)) as feeder:
        with pytest.raises(
            EventFileError, match=r"record 1: the record is larger than 1,048,576 bytes"
        ):
            read_events(fifo)
        assert not feeder.closed.is_set()
    # JSON lines: a line that never ends.
    lines = tmp_path / "huge.jsonl"
    good = msgspec.json.encode(PoolSwapEvent(POOL, 1, 2, 3))
    with fed_fifo(lines, good + b"\n" + b" " * (MAX_RECORD_BYTES + 2 * READ_CHUNK)) as feeder:
        with pytest.raises(EventFileError, match=r"record 2: the record is larger than"):
            read_events(lines)
        assert not feeder.closed.is_set()
