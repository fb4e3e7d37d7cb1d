"""``transport/framing.py``: the frame protocol, encoded and decoded without a socket."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mycelium.errors import FrameTooLarge, TransportClosed
from mycelium.transport.framing import (
    GREETING,
    PROTOCOL_VERSION,
    FrameDecoder,
    encode_frame,
    encode_frames,
)


def decode(chunks: list[bytes], *, max_frame_size: int = 1 << 20) -> list[bytes]:
    decoder = FrameDecoder(max_frame_size, describe="test")
    frames: list[bytes] = []
    for chunk in chunks:
        decoder.feed(chunk, frames.append)
    decoder.end()
    return frames


def split(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({min(cut, len(data)) for cut in cuts})
    return [data[a:b] for a, b in zip([0, *points], [*points, len(data)], strict=True)]


def test_the_greeting_is_magic_version_and_reserved_bytes() -> None:
    assert b"MYCF" + struct.pack(">HH", PROTOCOL_VERSION, 0) == GREETING
    assert encode_frame(b"abc") == b"\x00\x00\x00\x03abc"


def test_a_stream_cut_anywhere_yields_its_frames_once_complete() -> None:
    stream = encode_frames([b"one", b"two"], greeting=True)
    decoder = FrameDecoder(100)
    frames: list[bytes] = []
    decoder.feed(stream[:5], frames.append)  # inside the greeting
    assert (frames, decoder.greeted, decoder.buffered) == ([], False, 5)
    decoder.feed(stream[5:10], frames.append)  # greeting done, inside a length prefix
    assert (frames, decoder.greeted, decoder.buffered) == ([], True, 2)
    decoder.feed(stream[10:14], frames.append)  # inside the first payload
    assert frames == []
    assert decoder.feed(stream[14:], frames.append) == 6  # the payload bytes handed out
    assert frames == [b"one", b"two"]
    assert (decoder.frames, decoder.payload_bytes, decoder.buffered) == (2, 6, 0)
    decoder.end()


def test_several_frames_in_one_chunk_come_out_in_order() -> None:
    payloads = [b"a", b"", b"bc" * 100, b"d"]
    assert decode([encode_frames(payloads, greeting=True)]) == payloads


def test_a_zero_length_frame_is_a_frame() -> None:
    assert decode([GREETING, encode_frame(b""), encode_frame(b"")]) == [b"", b""]


def test_an_oversize_length_prefix_breaks_the_stream_after_the_good_frames() -> None:
    decoder = FrameDecoder(10, describe="T('x')")
    frames: list[bytes] = []
    stream = GREETING + encode_frame(b"ok") + struct.pack(">I", 11) + b"x" * 11
    with pytest.raises(
        TransportClosed,
        match=r"^transport T\('x'\) is closed: the peer announced a frame of 11 bytes$",
    ) as caught:
        decoder.feed(stream, frames.append)
    assert frames == [b"ok"]
    assert (decoder.frames, decoder.payload_bytes) == (1, 2)
    cause = caught.value.__cause__
    assert isinstance(cause, FrameTooLarge)
    assert (cause.size, cause.limit) == (11, 10)


def test_a_frame_of_exactly_max_frame_size_passes() -> None:
    assert decode([GREETING + encode_frame(b"x" * 10)], max_frame_size=10) == [b"x" * 10]


def test_a_wrong_greeting_is_refused_naming_what_came() -> None:
    with pytest.raises(
        TransportClosed, match=r"did not greet as a Mycelium frame transport \(got b'HTTP/1\.1'\)"
    ):
        decode([b"HTTP/1.1 200 OK\r\n"])


def test_another_protocol_version_is_refused() -> None:
    with pytest.raises(TransportClosed, match=r"speaks frame protocol version 9, this side 1"):
        decode([b"MYCF" + struct.pack(">HH", 9, 0)])


@pytest.mark.parametrize(
    ("stream", "detail"),
    [
        (GREETING[:3], r"inside a greeting \(3 of 8 bytes arrived\)"),
        (GREETING + b"\x00\x00", r"inside a frame \(2 of 4 bytes arrived\)"),
        (GREETING + b"\x00\x00\x00\x05ab", r"inside a frame \(6 of 9 bytes arrived\)"),
    ],
)
def test_a_stream_that_ends_inside_a_greeting_or_frame_is_truncated(
    stream: bytes, detail: str
) -> None:
    with pytest.raises(
        TransportClosed, match=detail + r"; the peer died or wrote a truncated frame$"
    ):
        decode([stream])


def test_a_decoder_without_greeting_reads_frames_at_once() -> None:
    decoder = FrameDecoder(100, greeting=False)
    frames: list[bytes] = []
    decoder.feed(encode_frame(b"x"), frames.append)
    assert frames == [b"x"]


@pytest.mark.parametrize("limit", [0, 2**32])
def test_max_frame_size_is_checked(limit: int) -> None:
    with pytest.raises(ValueError, match=r"^max_frame_size must be in \[1, 2\*\*32 - 1\], got "):
        FrameDecoder(limit)


@settings(max_examples=300, deadline=None)
@given(
    payloads=st.lists(st.binary(max_size=40), max_size=30),
    cuts=st.lists(st.integers(min_value=0, max_value=2000), max_size=40),
)
def test_any_split_of_a_stream_yields_the_same_frames(
    payloads: list[bytes], cuts: list[int]
) -> None:
    stream = encode_frames(payloads, greeting=True)
    assert decode(split(stream, cuts)) == payloads


@settings(max_examples=200, deadline=None)
@given(
    payloads=st.lists(st.binary(max_size=20), max_size=10),
    last=st.binary(max_size=20),
    data=st.data(),
)
def test_a_stream_cut_inside_its_last_frame_is_truncated(
    payloads: list[bytes], last: bytes, data: st.DataObject
) -> None:
    stream = encode_frames([*payloads, last], greeting=True)
    missing = data.draw(st.integers(min_value=1, max_value=len(last) + 3))  # keep >= 1 byte
    decoder = FrameDecoder(100)
    frames: list[bytes] = []
    decoder.feed(stream[:-missing], frames.append)
    assert frames == payloads
    with pytest.raises(TransportClosed, match=r"inside a frame"):
        decoder.end()


@settings(max_examples=200, deadline=None)
@given(garbage=st.binary(min_size=1, max_size=64), cuts=st.lists(st.integers(0, 64), max_size=8))
def test_malformed_bytes_yield_what_they_say_or_raise_transport_closed(
    garbage: bytes, cuts: list[int]
) -> None:
    decoder = FrameDecoder(16, describe="fuzz")
    frames: list[bytes] = []
    error: TransportClosed | None = None
    try:
        for chunk in split(GREETING + garbage, cuts):
            decoder.feed(chunk, frames.append)
        decoder.end()
    except TransportClosed as exc:
        error = exc
    read = encode_frames(frames)
    assert garbage.startswith(read)  # every frame handed out is what the bytes said
    if error is None:
        assert read == garbage  # a clean end: every byte was a whole frame
    else:
        assert error.transport == "fuzz"
