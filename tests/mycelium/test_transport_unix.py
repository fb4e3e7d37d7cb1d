"""``UnixSocketTransport`` and ``UnixSocketListener``: real sockets, real peer processes.

Every wait is bounded with ``asyncio.wait_for`` so that a bug fails fast instead of hanging.
Socket paths live in a short directory under /tmp (Unix socket paths are limited to 107 bytes).
"""

from __future__ import annotations

import asyncio
import math
import os
import re
import shutil
import signal
import socket
import stat
import struct
import sys
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import uvloop
from hypothesis import given, settings
from hypothesis import strategies as st

from mycelium import (
    ActorMessage,
    FrameTooLarge,
    MyceliumError,
    SocketPathError,
    SocketPathInUse,
    Transport,
    TransportClosed,
    UnixSocketListener,
    UnixSocketTransport,
)
from mycelium.errors import TransportFull
from mycelium.transport.base import FrameTransport
from mycelium.transport.unix import FLUSH_BYTES, PROTOCOL_VERSION

WAIT = 5.0
GREETING = b"MYCF" + struct.pack(">HH", PROTOCOL_VERSION, 0)


def frame(payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + payload


def msg(data: bytes) -> ActorMessage:
    return ActorMessage.serialized(data)


def touch(path: str) -> None:
    with open(path, "w"):
        pass


def exists(path: str) -> bool:
    return os.path.exists(path)


@pytest.fixture
def sock_dir() -> Iterator[str]:
    path = tempfile.mkdtemp(dir="/tmp", prefix="myc-")
    yield path
    shutil.rmtree(path, ignore_errors=True)


class Ends:
    """Opens connections for a test and closes every one of them at teardown.

    (An end left open fails the run: uvloop warns about it at loop close, and warnings are
    errors in this suite.)
    """

    def __init__(self) -> None:
        self.transports: list[UnixSocketTransport] = []
        self.writers: list[asyncio.StreamWriter] = []

    def keep(self, *transports: UnixSocketTransport) -> None:
        self.transports.extend(transports)

    async def connect(
        self, listener: UnixSocketListener, *, max_frame_size: int = 1 << 20, capacity: int = 1024
    ) -> tuple[UnixSocketTransport, UnixSocketTransport]:
        client = await UnixSocketTransport.connect(
            listener.path, max_frame_size=max_frame_size, capacity=capacity
        )
        self.keep(client)
        server = await asyncio.wait_for(listener.accept(), WAIT)
        self.keep(server)
        return client, server

    async def raw(
        self, listener: UnixSocketListener
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter, UnixSocketTransport]:
        """A plain socket client (it writes whatever bytes a test wants) and the accepted end."""
        reader, writer = await asyncio.open_unix_connection(listener.path)
        self.writers.append(writer)
        server = await asyncio.wait_for(listener.accept(), WAIT)
        self.keep(server)
        return reader, writer, server

    def close(self) -> None:
        for transport in self.transports:
            transport.close()
        for writer in self.writers:
            writer.close()


@pytest.fixture
async def ends() -> AsyncIterator[Ends]:
    opened = Ends()
    yield opened
    opened.close()
    for transport in opened.transports:
        await asyncio.wait_for(transport.wait_closed(), WAIT)


@pytest.fixture
async def listener(sock_dir: str) -> AsyncIterator[UnixSocketListener]:
    async with await UnixSocketTransport.listen(os.path.join(sock_dir, "s")) as listener:
        yield listener


async def recv(transport: UnixSocketTransport) -> ActorMessage | None:
    return await asyncio.wait_for(transport.recv(), WAIT)


async def recv_data(transport: UnixSocketTransport) -> bytes:
    got = await recv(transport)
    assert got is not None
    return got.data


# --------------------------------------------------------------------------- the protocol


async def test_it_is_a_transport(listener: UnixSocketListener, ends: Ends) -> None:
    client, server = await ends.connect(listener)
    assert isinstance(client, Transport)
    assert isinstance(server, Transport)
    assert not client.closed
    client.close()
    server.close()


async def test_frames_cross_in_order_both_ways(listener: UnixSocketListener, ends: Ends) -> None:
    client, server = await ends.connect(listener)
    for data in (b"one", b"", b"three"):
        await client.send(msg(data))
    assert [await recv_data(server) for _ in range(3)] == [b"one", b"", b"three"]
    server.send_nowait(msg(b"back"))
    assert await recv_data(client) == b"back"
    assert (client.sent, client.received, server.sent, server.received) == (3, 1, 1, 3)
    client.close()
    assert await recv(server) is None


async def test_one_chunk_of_many_frames_is_parsed_at_once(
    listener: UnixSocketListener, ends: Ends
) -> None:
    reader, writer, server = await ends.raw(listener)
    writer.write(GREETING + b"".join(frame(b"%d" % i) for i in range(100)))
    assert await recv_data(server) == b"0"
    # The rest of the chunk is already parsed: recv hands it out without waiting.
    assert len(server) == 99
    assert [await recv_data(server) for _ in range(99)] == [b"%d" % i for i in range(1, 100)]
    writer.close()
    assert await recv(server) is None
    assert await asyncio.wait_for(reader.read(), WAIT) == GREETING  # then EOF


@settings(max_examples=40, deadline=None)
@given(st.lists(st.binary(max_size=300), max_size=300))
def test_ordering_is_preserved_over_the_socket(payloads: list[bytes]) -> None:
    async def run() -> list[bytes]:
        a, b = await UnixSocketTransport.pair(capacity=16)
        received: list[bytes] = []

        async def drain() -> None:
            while (got := await b.recv()) is not None:
                received.append(got.data)

        reading = asyncio.create_task(drain())
        for i, payload in enumerate(payloads):
            if i % 3:
                await a.send(msg(payload))
            else:
                try:
                    a.send_nowait(msg(payload))
                except asyncio.QueueFull:
                    await a.send(msg(payload))
        a.close()
        await asyncio.wait_for(reading, WAIT)
        b.close()
        return received

    assert uvloop.run(run()) == payloads


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.binary(max_size=40), max_size=30),
    st.lists(st.integers(min_value=1, max_value=64), min_size=1, max_size=50),
)
def test_frames_split_at_any_byte_are_reassembled(payloads: list[bytes], cuts: list[int]) -> None:
    stream = GREETING + b"".join(frame(p) for p in payloads)

    async def run() -> list[bytes]:
        # An unconnected end fed straight from the bytes the socket would deliver, in chunks.
        end = UnixSocketTransport(name="parser")
        start = 0
        i = 0
        while start < len(stream):
            size = cuts[i % len(cuts)]
            end._on_data(stream[start : start + size])  # pyright: ignore[reportPrivateUsage]
            start += size
            i += 1
        end.close()
        return [got.data for _ in payloads if (got := await end.recv()) is not None]

    assert uvloop.run(run()) == payloads


async def test_the_bytes_fast_path_carries_the_same_frames(ends: Ends) -> None:
    a, b = await UnixSocketTransport.pair(capacity=4)
    ends.keep(a, b)
    a.send_bytes_nowait(b"1")
    await a.send_bytes(b"2")
    await a.send(msg(b"3"))
    assert await asyncio.wait_for(b.recv_batch(limit=2), WAIT) == [b"1", b"2"]
    assert await asyncio.wait_for(b.recv_batch(), WAIT) == [b"3"]
    with pytest.raises(TypeError, match=r"^a frame's payload must be bytes, got bytearray$"):
        a.send_bytes_nowait(bytearray(b"x"))  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"payload must be bytes, got str"):
        await a.send_bytes("x")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"^limit must be >= 1, got 0$"):
        await b.recv_batch(limit=0)
    a.close()
    assert await asyncio.wait_for(b.recv_batch(), WAIT) == []  # ended and drained


# ------------------------------------------------------------------------------ bad input


async def test_send_rejects_a_local_message(listener: UnixSocketListener, ends: Ends) -> None:
    client, _ = await ends.connect(listener)
    with pytest.raises(TypeError, match=r"serialized messages only; encode first"):
        await client.send(ActorMessage.local("hello"))
    with pytest.raises(TypeError, match=r"encode first"):
        client.send_nowait(ActorMessage.local("hello"))
    with pytest.raises(TypeError, match=r"^a transport carries ActorMessage, got bytes$"):
        await client.send(b"raw")  # type: ignore[arg-type]
    assert client.sent == 0


async def test_send_refuses_a_frame_above_the_maximum_and_stays_open(
    listener: UnixSocketListener, ends: Ends
) -> None:
    client, server = await ends.connect(listener, max_frame_size=8)
    with pytest.raises(FrameTooLarge, match=r"frame of 9 bytes exceeds max_frame_size=8") as info:
        await client.send(msg(b"123456789"))
    assert (info.value.size, info.value.limit) == (9, 8)
    assert isinstance(info.value, ValueError)
    with pytest.raises(FrameTooLarge):
        client.send_nowait(msg(b"123456789"))
    assert client.oversized == 2
    await client.send(msg(b"12345678"))
    assert await recv_data(server) == b"12345678"
    assert not client.closed


async def test_a_peer_announcing_a_frame_above_the_maximum_breaks_the_connection(
    sock_dir: str, ends: Ends
) -> None:
    path = os.path.join(sock_dir, "s")
    async with await UnixSocketTransport.listen(path, max_frame_size=64) as listener:
        client, server = await ends.connect(listener)  # the client's own limit is larger
        await client.send(msg(b"fits"))
        await client.send(msg(b"x" * 65))
        assert await recv_data(server) == b"fits"
        with pytest.raises(TransportClosed, match=r"announced a frame of 65 bytes") as info:
            await recv(server)
        assert isinstance(info.value.__cause__, FrameTooLarge)
        assert server.oversized == 1
        assert server.closed
        assert await recv(server) is None  # reported once, then the usual end
        with pytest.raises(TransportClosed):
            await server.send(msg(b"late"))
        # The client sees the connection end.
        assert await recv(client) is None


async def test_a_truncated_frame_at_eof_is_reported(
    listener: UnixSocketListener, ends: Ends
) -> None:
    _, writer, server = await ends.raw(listener)
    writer.write(GREETING + frame(b"whole") + struct.pack(">I", 10) + b"abc")
    writer.close()
    assert await recv_data(server) == b"whole"
    with pytest.raises(TransportClosed, match=r"ended inside a frame \(7 of 14 bytes arrived\)"):
        await recv(server)
    assert await recv(server) is None


async def test_a_truncated_greeting_is_reported(listener: UnixSocketListener, ends: Ends) -> None:
    _, writer, server = await ends.raw(listener)
    writer.write(b"MYC")
    writer.close()
    with pytest.raises(TransportClosed, match=r"ended inside a greeting \(3 of 8 bytes"):
        await recv(server)


async def test_a_peer_that_connects_and_leaves_is_a_plain_end(
    listener: UnixSocketListener, ends: Ends
) -> None:
    _, writer, server = await ends.raw(listener)
    writer.close()
    assert await recv(server) is None
    with pytest.raises(TransportClosed, match=r"the peer closed the connection"):
        await server.send(msg(b"x"))


async def test_garbage_instead_of_a_greeting_closes_the_connection(
    listener: UnixSocketListener, ends: Ends
) -> None:
    reader, writer, server = await ends.raw(listener)
    writer.write(b"GET / HTTP/1.1\r\n\r\n")
    with pytest.raises(TransportClosed, match=r"did not greet as a Mycelium frame transport"):
        await recv(server)
    assert server.closed
    # What the transport sent before it hung up is its greeting, then EOF.
    assert await asyncio.wait_for(reader.read(), WAIT) == GREETING
    writer.close()


async def test_garbage_after_the_greeting_closes_the_connection(
    listener: UnixSocketListener, ends: Ends
) -> None:
    _, writer, server = await ends.raw(listener)
    writer.write(GREETING + frame(b"good") + b"\xff\xff\xff\xffgarbage")
    assert await recv_data(server) == b"good"
    with pytest.raises(TransportClosed, match=r"announced a frame of 4294967295 bytes"):
        await recv(server)
    writer.close()


async def test_another_protocol_version_is_refused(
    listener: UnixSocketListener, ends: Ends
) -> None:
    _, writer, server = await ends.raw(listener)
    writer.write(b"MYCF" + struct.pack(">HH", 99, 0) + frame(b"x"))
    with pytest.raises(TransportClosed, match=r"speaks frame protocol version 99, this side 1"):
        await recv(server)
    assert server.received == 0
    writer.close()


@pytest.mark.parametrize(
    ("max_frame_size", "capacity", "error"),
    [
        (0, 1, r"^max_frame_size must be in \[1, 2\*\*32 - 1\], got 0$"),
        (2**32, 1, r"^max_frame_size must be in"),
        (1, 0, r"^capacity must be >= 1, got 0$"),
    ],
)
async def test_bad_limits_are_refused(max_frame_size: int, capacity: int, error: str) -> None:
    with pytest.raises(ValueError, match=error):
        await UnixSocketTransport.pair(max_frame_size=max_frame_size, capacity=capacity)


async def test_a_bad_buffer_limit_is_refused() -> None:
    with pytest.raises(ValueError, match=r"^max_buffered_bytes must be >= 1, got 0$"):
        await UnixSocketTransport.pair(max_buffered_bytes=0)


# ------------------------------------------------------------------------------- closing


async def test_close_is_idempotent_and_refuses_sends(
    listener: UnixSocketListener, ends: Ends
) -> None:
    client, server = await ends.connect(listener)
    client.close()
    client.close()
    assert client.closed
    with pytest.raises(TransportClosed, match=r"is closed: closed by this side$"):
        await client.send(msg(b"x"))
    with pytest.raises(TransportClosed):
        client.send_nowait(msg(b"x"))
    await asyncio.wait_for(client.wait_closed(), WAIT)
    client.abort()  # also idempotent, after close
    assert await recv(server) is None


async def test_recv_after_close_returns_what_arrived_then_none(
    listener: UnixSocketListener, ends: Ends
) -> None:
    _, writer, server = await ends.raw(listener)
    writer.write(GREETING + frame(b"1") + frame(b"2") + frame(b"3"))
    assert await recv_data(server) == b"1"
    server.close()
    assert [await recv_data(server) for _ in range(2)] == [b"2", b"3"]
    assert await recv(server) is None
    assert await recv(server) is None
    writer.close()


async def test_a_graceful_close_delivers_everything_sent_before_it(
    listener: UnixSocketListener, ends: Ends
) -> None:
    client, server = await ends.connect(listener)
    for i in range(5000):
        client.send_nowait(msg(i.to_bytes(4, "big"))) if i % 2 else await client.send(
            msg(i.to_bytes(4, "big"))
        )
    client.close()
    got = [int.from_bytes(await recv_data(server), "big") for _ in range(5000)]
    assert got == list(range(5000))
    assert await recv(server) is None
    await asyncio.wait_for(client.wait_closed(), WAIT)
    assert client.undelivered == 0


async def test_abort_counts_what_was_not_written(listener: UnixSocketListener, ends: Ends) -> None:
    client, server = await ends.connect(listener)
    client.send_nowait(msg(b"a"))
    client.send_nowait(msg(b"b"))  # both wait for the end of this loop turn
    client.abort()
    assert client.undelivered == 2
    assert await recv(server) is None
    assert server.received == 0


async def test_a_cancelled_recv_takes_nothing(listener: UnixSocketListener, ends: Ends) -> None:
    client, server = await ends.connect(listener)
    waiting = asyncio.create_task(server.recv())
    await asyncio.sleep(0)  # one loop turn: recv is now waiting
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    await client.send(msg(b"kept"))
    assert await recv_data(server) == b"kept"


# ---------------------------------------------------------------------------- flow control


async def test_send_waits_while_the_peer_does_not_read(
    listener: UnixSocketListener, ends: Ends
) -> None:
    client, server = await ends.connect(listener, capacity=8)
    payload = b"p" * 1024
    accepted = 0
    with pytest.raises(asyncio.QueueFull):  # noqa: PT012 - the loop fills the socket
        for accepted in range(1, 10**6):
            client.send_nowait(msg(accepted.to_bytes(4, "big") + payload))
    blocked = asyncio.create_task(client.send(msg(accepted.to_bytes(4, "big") + payload)))
    await asyncio.sleep(0)  # one loop turn: the send is now waiting for room
    assert not blocked.done()
    got = [int.from_bytes((await recv_data(server))[:4], "big") for _ in range(accepted)]
    assert got == list(range(1, accepted + 1))
    await asyncio.wait_for(blocked, WAIT)
    assert client.undelivered == 0


async def test_a_full_transport_raises_transport_full_saying_what_waits() -> None:
    a, b = await UnixSocketTransport.pair(capacity=4, max_buffered_bytes=1 << 20)
    refused: TransportFull | None = None
    while refused is None:  # the peer never reads: the socket, then this side's buffer fill
        try:
            a.send_bytes_nowait(b"x" * 4096)
        except TransportFull as exc:
            refused = exc
    assert isinstance(refused, MyceliumError)
    assert refused.capacity == 4
    assert re.fullmatch(
        r"transport UnixSocketTransport\('pair\.a'\) is full \(4 frames, 16400 bytes wait for "
        r"a backed-up socket; capacity=4, max_buffered_bytes=1048576\); nothing was sent\. .*",
        str(refused),
    )
    with pytest.raises(TransportFull):
        a.send_nowait(msg(b"y"))
    a.abort()
    b.abort()


async def test_it_is_a_frame_transport() -> None:
    a, b = await UnixSocketTransport.pair(max_frame_size=100)
    ends: list[FrameTransport] = [a, b]  # pyright checks the protocol statically
    assert all(isinstance(end, FrameTransport) for end in ends)
    assert a.max_frame_size == 100
    assert a.close_reason == ""
    a.close()
    await asyncio.wait_for(a.wait_closed(), WAIT)
    assert a.close_reason == "closed by this side"
    assert await b.recv_batch() == []
    assert b.close_reason == "the peer closed the connection"
    b.close()


async def test_a_cancelled_send_accepted_nothing(listener: UnixSocketListener, ends: Ends) -> None:
    client, server = await ends.connect(listener, capacity=4)
    count = 0
    with pytest.raises(asyncio.QueueFull):  # noqa: PT012
        while True:
            client.send_nowait(msg(b"x" * 4096))
            count += 1
    blocked = asyncio.create_task(client.send(msg(b"cancelled")))
    await asyncio.sleep(0)
    blocked.cancel()
    with pytest.raises(asyncio.CancelledError):
        await blocked
    await client.send(msg(b"last"))
    for _ in range(count):
        assert await recv_data(server) == b"x" * 4096
    assert await recv_data(server) == b"last"
    assert client.sent == count + 1


# Most bytes one direction may hold beyond max_buffered_bytes, whatever the frame size: a read
# chunk parsed whole (the event loop reads up to 256 KiB at a time) and the frame being read on
# the receiving side; on the sending side, the event loop's write buffer (its high-water mark,
# 64 KiB, plus the last write: up to FLUSH_BYTES or one frame) and the frame that crossed the
# limit.
READ_CHUNK = 256 * 1024
LOOP_HIGH_WATER = 64 * 1024


def recv_bound(end: UnixSocketTransport, size: int) -> int:
    return end.max_buffered_bytes + READ_CHUNK + size + 4


def send_bound(end: UnixSocketTransport, size: int) -> int:
    return end.max_buffered_bytes + LOOP_HIGH_WATER + max(FLUSH_BYTES, size) + 2 * (size + 4)


async def fill(end: UnixSocketTransport, payload: bytes) -> None:
    """Send until ``end`` refuses even after the event loop has had turns to move bytes."""
    stalls = 0
    while stalls < 20:  # a short bounded poll: there is no event for "nothing moves any more"
        try:
            end.send_nowait(msg(payload))
            stalls = 0
        except asyncio.QueueFull:
            stalls += 1
            await asyncio.sleep(0.001)


@pytest.mark.parametrize("size", [100, 16 * 1024, 256 * 1024, 4 * 1024 * 1024])
async def test_each_direction_holds_a_bounded_number_of_bytes(size: int) -> None:
    """Backpressure counts bytes: big frames do not let either side buffer `capacity` of them
    (1024 frames of 256 KiB would be 256 MiB)."""
    limit = 256 * 1024
    a, b = await UnixSocketTransport.pair(max_buffered_bytes=limit, max_frame_size=5 << 20)
    try:
        await fill(a, b"z" * size)  # b does not read: everything backs up
        assert a.send_buffer_bytes <= send_bound(a, size)
        assert b.recv_buffer_bytes <= recv_bound(b, size)
        assert len(b) * size <= recv_bound(b, size)  # the frames b holds, counted by b alone
        # Nothing accepted is lost: b gets every frame once it reads.
        got = 0
        while got < a.sent:
            got += len(await asyncio.wait_for(b.recv_batch(), WAIT))
        assert got == a.sent
        assert b.recv_buffer_bytes == 0
    finally:
        a.close()
        b.close()
        await asyncio.wait_for(a.wait_closed(), WAIT)
        await asyncio.wait_for(b.wait_closed(), WAIT)


async def test_reading_resumes_when_the_reader_catches_up() -> None:
    a, b = await UnixSocketTransport.pair(max_buffered_bytes=64 * 1024)
    try:
        payloads = [i.to_bytes(4, "big") * 1024 for i in range(300)]  # 4 KiB each, 1.2 MB
        sending = asyncio.create_task(send_all(a, payloads))
        got: list[bytes] = []
        while len(got) < len(payloads):
            got.append(await recv_data(b))
        assert got == payloads
        await asyncio.wait_for(sending, WAIT)
    finally:
        a.close()
        b.close()


async def send_all(end: UnixSocketTransport, payloads: list[bytes]) -> None:
    for payload in payloads:
        await end.send(msg(payload))


# ----------------------------------------------------------------------------- the socket


async def test_listening_on_an_existing_path_is_a_clear_error(sock_dir: str) -> None:
    path = os.path.join(sock_dir, "taken")
    touch(path)
    with pytest.raises(SocketPathInUse, match=r"already exists.*replace=True") as info:
        await UnixSocketTransport.listen(path)
    assert isinstance(info.value, FileExistsError)
    assert isinstance(info.value, MyceliumError)
    assert info.value.path == path
    assert path in str(info.value)
    assert exists(path)  # never removed without replace=True


async def test_a_second_listener_on_a_live_path_is_refused(
    listener: UnixSocketListener, ends: Ends
) -> None:
    with pytest.raises(SocketPathInUse):
        await UnixSocketTransport.listen(listener.path)
    client, _ = await ends.connect(listener)  # the first one still works
    client.close()


async def test_replace_takes_over_a_stale_socket(sock_dir: str, ends: Ends) -> None:
    path = os.path.join(sock_dir, "stale")
    dead = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    dead.bind(path)
    dead.close()  # the file stays, as after a crash
    with pytest.raises(ConnectionRefusedError, match=r"is a listener running there"):
        await UnixSocketTransport.connect(path)
    async with await UnixSocketTransport.listen(path, replace=True) as listener:
        client, server = await ends.connect(listener)
        await client.send(msg(b"hi"))
        assert await recv_data(server) == b"hi"
    assert not exists(path)  # closing the listener unlinks its socket


async def test_replace_never_removes_a_file_that_is_not_a_socket(sock_dir: str) -> None:
    path = os.path.join(sock_dir, "data.txt")
    touch(path)
    with pytest.raises(SocketPathError, match=r"not a socket; replace=True only replaces"):
        await UnixSocketTransport.listen(path, replace=True)
    assert exists(path)


async def test_listening_in_a_missing_directory_is_a_clear_error(sock_dir: str) -> None:
    path = os.path.join(sock_dir, "nope", "s")
    with pytest.raises(SocketPathError, match=r"directory '.*/nope' does not exist") as info:
        await UnixSocketTransport.listen(path)
    assert isinstance(info.value, OSError)
    assert path in str(info.value)


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores directory permissions")
async def test_listening_in_a_read_only_directory_is_a_clear_error(sock_dir: str) -> None:
    os.chmod(sock_dir, 0o500)
    try:
        path = os.path.join(sock_dir, "s")
        with pytest.raises(SocketPathError, match=r"is not writable by this process"):
            await UnixSocketTransport.listen(path)
    finally:
        os.chmod(sock_dir, 0o700)


async def test_a_path_too_long_for_a_unix_socket_is_a_clear_error() -> None:
    path = "/tmp/" + "x" * 120
    with pytest.raises(SocketPathError, match=r"limited to 107; use a shorter path"):
        await UnixSocketTransport.listen(path)


async def test_connecting_to_nothing_names_the_path(sock_dir: str) -> None:
    path = os.path.join(sock_dir, "nobody")
    with pytest.raises(FileNotFoundError, match=r"is a listener running there") as info:
        await UnixSocketTransport.connect(path)
    assert info.value.filename == path


async def test_a_closed_listener_unlinks_its_socket_and_accepts_nothing(sock_dir: str) -> None:
    path = os.path.join(sock_dir, "s")
    listener = await UnixSocketTransport.listen(path)
    waiting = asyncio.create_task(listener.accept())
    await asyncio.sleep(0)
    listener.close()
    listener.close()
    with pytest.raises(TransportClosed, match=r"listener closed"):
        await asyncio.wait_for(waiting, WAIT)
    with pytest.raises(TransportClosed):
        await listener.accept()
    await asyncio.wait_for(listener.wait_closed(), WAIT)
    assert not exists(path)
    assert listener.closed


# ------------------------------------------------------------------------ who may connect


async def test_the_socket_file_is_owner_only_by_default(sock_dir: str) -> None:
    path = os.path.join(sock_dir, "s")
    old_umask = os.umask(0o022)  # the usual umask: a bare bind() would make it 0755
    try:
        async with await UnixSocketTransport.listen(path):
            assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    finally:
        os.umask(old_umask)


async def test_mode_widens_the_socket_file(sock_dir: str, ends: Ends) -> None:
    path = os.path.join(sock_dir, "s")
    async with await UnixSocketTransport.listen(path, mode=0o660) as listener:
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o660
        client, server = await ends.connect(listener)
        await client.send(msg(b"hi"))
        assert await recv_data(server) == b"hi"


@pytest.mark.parametrize(
    ("options", "error"),
    [
        ({"mode": 0o1777}, r"^mode must be permission bits in \[0, 0o777\], got 1023$"),
        ({"mode": "600"}, r"^mode must be permission bits"),
        ({"backlog": 0}, r"^backlog must be an int >= 1, got 0$"),
        ({"allowed_uids": [-1]}, r"^a uid is >= 0, got -1 in allowed_uids$"),
    ],
)
async def test_bad_listen_options_are_refused(
    sock_dir: str, options: dict[str, object], error: str
) -> None:
    path = os.path.join(sock_dir, "s")
    with pytest.raises(ValueError, match=error):
        await UnixSocketTransport.listen(path, **options)  # type: ignore[arg-type]
    assert not exists(path)


@pytest.mark.parametrize("uids", [0, "0", ["0"]])
async def test_allowed_uids_must_be_ints(sock_dir: str, uids: object) -> None:
    with pytest.raises(TypeError, match=r"^allowed_uids must"):
        await UnixSocketTransport.listen(os.path.join(sock_dir, "s"), allowed_uids=uids)  # type: ignore[arg-type]


async def test_a_peer_whose_uid_is_not_allowed_is_refused_and_logged(
    sock_dir: str, caplog: pytest.LogCaptureFixture
) -> None:
    """CI runs as root: an allowed set without our own uid stands for "another user"."""
    path = os.path.join(sock_dir, "s")
    me = os.geteuid()
    stranger = me + 1
    async with await UnixSocketTransport.listen(path, allowed_uids={stranger}) as listener:
        accepting = asyncio.create_task(listener.accept())
        client = await UnixSocketTransport.connect(path)
        # The listener closes the connection at once, without a greeting.
        assert await recv(client) is None
        with pytest.raises(TransportClosed, match=r"closed the connection before greeting"):
            await client.send(msg(b"x"))
        await client.wait_closed()
        assert listener.refused == 1
        assert not accepting.done()  # nothing was accepted
        accepting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await accepting
    [record] = [r for r in caplog.records if "refused a connection" in r.getMessage()]
    assert record.levelname == "WARNING"
    assert f"runs as uid {me}, which is not in allowed_uids [{stranger}]" in record.getMessage()
    assert f"(pid {os.getpid()})" in record.getMessage()
    assert listener.accepted == 0


async def test_by_default_only_our_own_uid_is_allowed(sock_dir: str, ends: Ends) -> None:
    async with await UnixSocketTransport.listen(os.path.join(sock_dir, "s")) as listener:
        assert listener.allowed_uids == {os.geteuid()}
        client, server = await ends.connect(listener)
        await client.send(msg(b"welcome"))
        assert await recv_data(server) == b"welcome"
        assert (listener.accepted, listener.refused) == (1, 0)


async def test_connections_not_accepted_wait_in_a_bounded_queue(sock_dir: str) -> None:
    """3,000 clients connect to a listener that accepts none: at most `backlog` (+1: Linux
    admits one more) wait, the others are refused by the kernel, and nothing else holds them."""
    path = os.path.join(sock_dir, "s")
    backlog = 16
    waiting: list[socket.socket] = []
    refused = 0
    async with await UnixSocketTransport.listen(path, backlog=backlog) as listener:
        try:
            for _ in range(3000):
                sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                sock.setblocking(False)
                try:
                    sock.connect(path)
                except BlockingIOError:
                    sock.close()
                    refused += 1
                else:
                    waiting.append(sock)
                await asyncio.sleep(0)  # the event loop may run: nothing accepts eagerly
            assert len(waiting) <= backlog + 1
            assert refused == 3000 - len(waiting)
            with pytest.raises(BlockingIOError, match=r"queue of connections not yet accepted"):
                await UnixSocketTransport.connect(path)
            # The queue is there for accept(): the first client waiting is served.
            server = await asyncio.wait_for(listener.accept(), WAIT)
            waiting[0].setblocking(True)
            assert waiting[0].recv(len(GREETING)) == GREETING
            server.close()  # a half-close: the socket goes once the client has closed too
            waiting[0].close()
            await asyncio.wait_for(server.wait_closed(), WAIT)
        finally:
            for sock in waiting:
                sock.close()


async def test_concurrent_accepts_each_take_one_connection(
    listener: UnixSocketListener, ends: Ends
) -> None:
    accepting = [asyncio.create_task(listener.accept()) for _ in range(3)]
    await asyncio.sleep(0)
    clients = [await UnixSocketTransport.connect(listener.path) for _ in range(3)]
    ends.keep(*clients)
    servers = await asyncio.wait_for(asyncio.gather(*accepting), WAIT)
    ends.keep(*servers)
    assert len({id(server) for server in servers}) == 3
    for i, client in enumerate(clients):
        await client.send(msg(bytes([i])))
    assert sorted([await recv_data(server) for server in servers]) == [b"\0", b"\1", b"\2"]
    assert listener.accepted == 3


# ---------------------------------------------------------------------- a peer process dies

_IDLE_PEER = """
import socket, sys
sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
sock.connect(sys.argv[1])
sock.sendall(bytes.fromhex(sys.argv[2]))
print("ready", flush=True)
sys.stdin.read()  # never reads the socket; blocks until killed
"""


@pytest.mark.parametrize("size", [512, 4096], ids=["capacity-bound", "byte-bound"])
async def test_a_peer_killed_mid_stream_ends_the_transport(
    listener: UnixSocketListener, ends: Ends, size: int
) -> None:
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        _IDLE_PEER,
        listener.path,
        GREETING.hex(),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        server = await asyncio.wait_for(listener.accept(), WAIT)
        ends.keep(server)
        assert child.stdout is not None
        assert await asyncio.wait_for(child.stdout.readline(), WAIT) == b"ready\n"
        # Fill the socket: the child never reads, so frames end up waiting in our buffer.
        with pytest.raises(asyncio.QueueFull):  # noqa: PT012
            while True:
                server.send_nowait(msg(b"z" * size))
        blocked = asyncio.create_task(server.send(msg(b"one more")))
        receiving = asyncio.create_task(server.recv())
        child.kill()
        assert await asyncio.wait_for(child.wait(), WAIT) == -signal.SIGKILL
        assert await asyncio.wait_for(receiving, WAIT) is None
        with pytest.raises(TransportClosed):
            await asyncio.wait_for(blocked, WAIT)
        with pytest.raises(TransportClosed, match=r"peer closed the connection|was lost"):
            await server.send(msg(b"after"))
        # What was still in our buffer is counted, not lost silently. The buffer took frames
        # until it held `capacity` of them or `max_buffered_bytes`, whichever came first.
        by_bytes = math.ceil(server.max_buffered_bytes / (4 + size))
        assert server.undelivered == min(server.capacity, by_bytes)
        assert server.closed
    finally:
        if child.returncode is None:
            child.kill()
            await child.wait()
    with pytest.raises(ChildProcessError):
        os.waitpid(child.pid, os.WNOHANG)  # noqa: ASYNC222 - WNOHANG: reaped, no zombie left


def test_repr_shows_the_state() -> None:
    async def run() -> tuple[str, str]:
        a, b = await UnixSocketTransport.pair(name="r")
        a.close()
        reprs = repr(a), repr(b)
        b.close()
        return reprs

    closed, open_ = uvloop.run(run())
    assert closed.startswith("<UnixSocketTransport('r.a') closed sent=0")
    assert open_.startswith("<UnixSocketTransport('r.b') open")


def test_a_close_before_the_peer_took_the_connection_loses_nothing(tmp_path: Path) -> None:
    """The listener takes the connection after this side has closed: its greeting cannot be
    written to a closed socket, and a full close made it drop what had been sent before it
    could read it. A half-close keeps it. Deterministic on the standard loop (on uvloop it
    happens across processes, when the peer is slow to accept)."""

    async def scenario() -> int:
        path = str(tmp_path / "late.sock")
        async with await UnixSocketTransport.listen(path) as listener:
            client = await UnixSocketTransport.connect(path)
            for _ in range(300):
                client.send_bytes_nowait(b"x")
            client.close()
            server = await listener.accept()
            got = 0
            while batch := await server.recv_batch():
                got += len(batch)
            # The client's socket goes once the server has closed its side too.
            server.close()
            await asyncio.wait_for(client.wait_closed(), WAIT)
            return got

    assert asyncio.run(scenario()) == 300
