"""Files of market messages (services_v2.bundle.event_file, services_v2.bundle._msgpack_split)."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mycelium_types.messages import PoolSwapEvent
from services_v2.bundle._msgpack_split import MsgpackFramingError, object_end
from services_v2.bundle.event_file import (
    EventFileError,
    detect_format,
    read_events,
    write_events,
)
from services_v2.sim import simulate

POOL = bytes([0xA] * 20)


@pytest.mark.parametrize("name", ["events.jsonl", "events.json", "events.msgpack", "events.bin"])
def test_events_round_trip_through_a_file(tmp_path: Path, name: str) -> None:
    events = simulate(800, seed=31)
    path = tmp_path / name
    assert write_events(path, events) == 800
    assert read_events(path) == events
    assert read_events(path, limit=10) == events[:10]


def test_the_format_follows_the_extension_then_the_first_byte() -> None:
    assert detect_format("a.jsonl") == "jsonl"
    assert detect_format("a.NDJSON") == "jsonl"
    assert detect_format("a.mpk", b"{") == "msgpack"
    assert detect_format("capture", b'  {"type":"swap"') == "jsonl"
    assert detect_format("capture", b"\x85\xa4type") == "msgpack"


def test_blank_lines_are_skipped_and_numbering_follows_lines(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    swap = msgspec.json.encode(PoolSwapEvent(POOL, 1, 2, 3))
    path.write_bytes(swap + b"\n\n" + swap + b"\n" + b'{"type":"swap"}\n')
    with pytest.raises(EventFileError, match=r"events\.jsonl: record 4: Object missing required"):
        read_events(path)


def test_a_bad_json_line_is_named_by_file_and_record(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    write_events(path, simulate(5, seed=0))
    lines = path.read_bytes().splitlines()
    lines[2] = lines[2][:-7] + b"oops"
    path.write_bytes(b"\n".join(lines))
    with pytest.raises(EventFileError) as caught:
        read_events(path)
    assert caught.value.record == 3
    assert str(caught.value).startswith(f"{path}: record 3: JSON is malformed")
    assert "\n" not in str(caught.value)


def test_a_record_of_the_wrong_shape_is_named(tmp_path: Path) -> None:
    path = tmp_path / "wrong.msgpack"
    good = msgspec.msgpack.encode(PoolSwapEvent(POOL, 1, 2, 3))
    bad = msgspec.msgpack.encode({"type": "swap", "pool": POOL[:5], "amount0_in": 1})
    path.write_bytes(good + good + bad)
    with pytest.raises(EventFileError, match=r"wrong\.msgpack: record 3: .*at `\$\.pool`"):
        read_events(path)


def test_truncated_msgpack_names_the_last_record(tmp_path: Path) -> None:
    path = tmp_path / "cut.msgpack"
    write_events(path, simulate(20, seed=0))
    path.write_bytes(path.read_bytes()[:-5])
    with pytest.raises(EventFileError, match=r"cut\.msgpack: record 20: truncated msgpack object"):
        read_events(path)


def test_garbage_bytes_are_refused_at_record_1(tmp_path: Path) -> None:
    path = tmp_path / "garbage.bin"
    path.write_bytes(bytes([0xC1, 0x00, 0xFF, 0x13]) * 8)
    with pytest.raises(
        EventFileError, match=r"garbage\.bin: record 1: invalid msgpack type byte 0xc1"
    ):
        read_events(path)
    path.write_bytes(b"\x05\x06\x07")
    with pytest.raises(
        EventFileError, match=r"garbage\.bin: record 1: Expected `object`, got `int`"
    ):
        read_events(path)


@pytest.mark.parametrize("content", [b"", b"\n\n  \n"])
def test_a_file_without_events_is_refused(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "empty.jsonl"
    path.write_bytes(content)
    with pytest.raises(EventFileError, match=r"empty\.jsonl: the file holds no events$"):
        read_events(path)


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    path = tmp_path / "nope.msgpack"
    with pytest.raises(EventFileError, match=r"nope\.msgpack: cannot read the file: No such file"):
        read_events(path)
    with pytest.raises(EventFileError, match=r"cannot write the file"):
        write_events(tmp_path / "no-dir" / "x.jsonl", [])


sized_bytes = st.integers(min_value=0, max_value=70_000).map(lambda n: b"x" * n)
msgpack_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.floats(allow_nan=False)
    | st.text(max_size=20)
    | st.integers(min_value=0, max_value=70_000).map(lambda n: "é" * n)
    | sized_bytes
    | st.builds(msgspec.msgpack.Ext, st.integers(min_value=-128, max_value=127), sized_bytes),
    lambda children: (
        st.lists(children, max_size=20)
        | st.dictionaries(st.text(max_size=5), children, max_size=20)
    ),
    max_leaves=25,
)


@given(st.lists(msgpack_values, min_size=1, max_size=4))
def test_object_end_finds_every_boundary_of_concatenated_objects(values: list[object]) -> None:
    encoded = [msgspec.msgpack.encode(value) for value in values]
    data = b"".join(encoded)
    start = 0
    for chunk in encoded:
        end = object_end(data, start)
        assert data[start:end] == chunk
        start = end
    assert start == len(data)


@given(msgpack_values, st.floats(min_value=0.0, max_value=1.0, exclude_max=True))
def test_object_end_reports_any_truncation(value: object, keep: float) -> None:
    data = msgspec.msgpack.encode(value)
    with pytest.raises(MsgpackFramingError) as caught:
        object_end(data[: int(len(data) * keep)], 0)
    assert caught.value.truncated


def test_strings_that_are_not_utf8_are_named_by_record(tmp_path: Path) -> None:
    good = msgspec.msgpack.encode(PoolSwapEvent(POOL, 1, 2, 3))
    assert b"\xa4swap" in good
    packed = tmp_path / "latin.msgpack"
    packed.write_bytes(good + good.replace(b"\xa4swap", b"\xa4\xff\xfe\xfd\xfc"))
    with pytest.raises(EventFileError, match=r"latin\.msgpack: record 2: ") as caught:
        read_events(packed)
    assert "\n" not in str(caught.value)
    lines = tmp_path / "latin.jsonl"
    lines.write_bytes(msgspec.json.encode(PoolSwapEvent(POOL, 1, 2, 3)) + b'\n{"type": "\xff"}\n')
    with pytest.raises(EventFileError, match=r"latin\.jsonl: record 2: "):
        read_events(lines)
