"""``ActorServer`` under abuse: clients that never read their answers, answers too large for a
frame. Real sockets, a raw hostile client written byte by byte.

Every wait is bounded with ``asyncio.wait_for`` (or a short bounded poll where there is no
event to wait on) so that a bug fails fast instead of hanging.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import socket
import struct
import tempfile
from collections.abc import AsyncIterator, Callable, Iterator
from typing import TypeAlias

import msgspec
import pytest

from mycelium import (
    Actor,
    ActorServer,
    ActorSystem,
    RemoteActorRef,
    RemoteError,
    UnixSocketListener,
    UnixSocketTransport,
    serve,
)
from mycelium.transport.unix import FLUSH_BYTES, PROTOCOL_VERSION

WAIT = 5.0
GREETING = b"MYCF" + struct.pack(">HH", PROTOCOL_VERSION, 0)
TELL, ASK = 1, 2


class Echo(msgspec.Struct, frozen=True, tag=True):
    data: bytes


class Grow(msgspec.Struct, frozen=True, tag=True):
    size: int


class Shout(msgspec.Struct, frozen=True, tag=True):
    size: int


class Ping(msgspec.Struct, frozen=True, tag=True):
    pass


Msg: TypeAlias = Echo | Grow | Shout | Ping


class Echoer(Actor[Msg]):
    """Answers ``Echo`` with its bytes and ``Grow`` with ``size`` bytes; raises a
    ``size``-character message for ``Shout``."""

    async def handle(self, msg: Msg) -> object:
        match msg:
            case Echo(data):
                return data
            case Grow(size):
                return b"x" * size
            case Shout(size):
                raise ValueError("x" * size)
            case Ping():
                return "pong"


def frame(payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + payload


encode = msgspec.msgpack.Encoder().encode


@pytest.fixture
def sock_dir() -> Iterator[str]:
    path = tempfile.mkdtemp(dir="/tmp", prefix="myc-")
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
async def listener(sock_dir: str) -> AsyncIterator[UnixSocketListener]:
    async with await UnixSocketTransport.listen(os.path.join(sock_dir, "s")) as listener:
        yield listener


async def poll(condition: Callable[[], bool], what: str) -> None:
    """A short bounded poll, for states that have no event to wait on."""
    for _ in range(int(WAIT / 0.005)):
        if condition():
            return
        await asyncio.sleep(0.005)
    raise AssertionError(f"timed out waiting until {what}")


# -------------------------------------------------------- a client that never reads answers

# What a hostile client writes, one frame after another: asks with small or large payloads, or
# tells the server cannot decode (each gets a refusal notice, which takes the same path).
FLOODS: dict[str, Callable[[int], bytes]] = {
    "small asks": lambda n: encode((1, ASK, n, Echo(b"s" * 16))),
    "256 KiB asks": lambda n: encode((1, ASK, n, Echo(b"b" * 256 * 1024))),
    "refused tells": lambda n: encode((1, TELL, 0, {"type": "Nope", "n": n})),
}


@pytest.mark.parametrize("flood", list(FLOODS))
async def test_a_client_that_never_reads_its_answers_cannot_grow_the_server(
    system: ActorSystem,
    listener: UnixSocketListener,
    flood: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.ERROR, logger="mycelium")  # one warning per refused tell
    loop = asyncio.get_running_loop()
    target = await system.spawn(Echoer(), capacity=1000)
    make = FLOODS[flood]

    hostile = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    hostile.setblocking(False)
    await loop.sock_connect(hostile, listener.path)
    server_end = await asyncio.wait_for(listener.accept(), WAIT)
    server = serve(server_end, target, Msg, name="hostile")
    tasks_before = len(asyncio.all_tasks())
    written = 0

    async def write_forever() -> None:
        nonlocal written
        await loop.sock_sendall(hostile, GREETING)
        n = 0
        while True:
            chunk = bytearray()
            while len(chunk) < 64 * 1024:
                n += 1
                chunk += frame(make(n))
            await loop.sock_sendall(hostile, chunk)
            written += len(chunk)

    writer = asyncio.create_task(write_forever())
    try:
        # The reply path fills (the client reads nothing), the server holds off reading, the
        # asks it had delivered are all answered into its backlog: it is stuck, as it should be.
        await poll(
            lambda: not server.reading and server.pending == 0 and server.backlog > 0,
            "the server holds off reading with every delivered ask answered",
        )
        assert not writer.done()  # the client's writes block: the server no longer reads
        # What the server holds is bounded in bytes, whatever the frame size.
        limit = server_end.max_buffered_bytes
        biggest = len(frame(make(1))) + 64
        assert server_end.recv_buffer_bytes <= limit + 256 * 1024 + biggest
        assert server_end.send_buffer_bytes <= limit + 64 * 1024 + FLUSH_BYTES + 2 * biggest
        assert server.backlog_bytes <= server.max_pending_bytes + 2 * biggest
        assert server.buffered_bytes <= server.backlog_bytes + limit + 256 * 1024 + biggest
        total = server_end.recv_buffer_bytes + server_end.send_buffer_bytes + server.buffered_bytes
        assert total <= 8 * 1024 * 1024
        # ... and so is the work: no task per answer, a bounded number of asks in flight.
        # The client, the server's writer and watcher, and the dispatcher's standby handler
        # task (plus one retiring): thousands of answers, a handful of tasks.
        assert len(asyncio.all_tasks()) <= tasks_before + 5
        assert server.pauses >= 1
        assert server.delivered + server.rejected < written // len(frame(make(1)))

        # A normal client of the same actor is served meanwhile.
        client_end = await UnixSocketTransport.connect(listener.path)
        other = serve(await asyncio.wait_for(listener.accept(), WAIT), target, Msg)
        ref = RemoteActorRef(client_end, Msg, name="normal")
        assert await asyncio.wait_for(ref.ask(Echo(b"hello")), WAIT) == b"hello"
        await asyncio.wait_for(ref.aclose(), WAIT)
        await asyncio.wait_for(other.wait_closed(), WAIT)
    finally:
        writer.cancel()
        with pytest.raises(asyncio.CancelledError):
            await writer
        hostile.close()
    # The hostile client is gone: the server ends, and counts what it could not answer.
    await asyncio.wait_for(server.wait_closed(), WAIT)
    assert server.backlog == 0
    assert server.unanswered >= 1
    assert not [r for r in caplog.records if r.name == "asyncio"]


async def test_answers_wait_in_order_and_flow_again_when_the_client_reads(
    system: ActorSystem,
) -> None:
    """The backlog is not a dead end: a client that reads late gets every answer, once."""
    target = await system.spawn(Echoer())
    client_end, server_end = await UnixSocketTransport.pair(max_buffered_bytes=32 * 1024)
    server = serve(server_end, target, Msg, max_pending=8)
    count = 400
    payload = b"p" * 1024
    for n in range(1, count + 1):  # raw asks, without reading the answers
        await client_end.send_bytes(encode((1, ASK, n, Echo(payload + n.to_bytes(4, "big")))))
    await poll(lambda: not server.reading, "the server holds off reading")
    assert server.pending <= server.max_pending
    answers: dict[int, bytes] = {}
    while len(answers) < count:
        for data in await asyncio.wait_for(client_end.recv_batch(), WAIT):
            version, kind, question, answer = msgspec.msgpack.decode(data)
            assert (version, kind) == (1, 3)
            assert question not in answers
            answers[question] = answer
    assert answers == {n: payload + n.to_bytes(4, "big") for n in range(1, count + 1)}
    assert server.reading
    assert (server.answered, server.unanswered, server.backlog) == (count, 0, 0)
    client_end.close()
    await asyncio.wait_for(server.wait_closed(), WAIT)


@pytest.mark.parametrize("option", ["max_pending", "max_pending_bytes"])
async def test_bad_server_limits_are_refused(system: ActorSystem, option: str) -> None:
    target = await system.spawn(Echoer())
    a, b = await UnixSocketTransport.pair()
    with pytest.raises(ValueError, match=rf"^{option} must be an int >= 1, got 0$"):
        ActorServer(b, target, Msg, **{option: 0})  # type: ignore[arg-type]
    a.close()
    b.close()


# ------------------------------------------------------------- an answer too big for a frame


async def served_small_frames(system: ActorSystem) -> tuple[ActorServer[Msg], RemoteActorRef[Msg]]:
    target = await system.spawn(Echoer())
    limit = 64 * 1024
    client_end, server_end = await UnixSocketTransport.pair(max_frame_size=limit)
    server = serve(server_end, target, Msg)
    return server, RemoteActorRef(client_end, Msg, name="small")


async def test_an_answer_too_large_for_a_frame_is_a_prompt_remote_error(
    system: ActorSystem, caplog: pytest.LogCaptureFixture
) -> None:
    server, ref = await served_small_frames(system)
    with pytest.raises(RemoteError, match=r"raised FrameTooLarge: the answer is \d+ bytes") as e:
        await asyncio.wait_for(ref.ask(Grow(5_000_000), timeout=None), WAIT)
    assert "above max_frame_size=65536" in e.value.remote_message
    assert e.value.type_name == "FrameTooLarge"
    assert server.oversized == 1
    assert server.answered == 0
    # The actor goes on, and so does the connection.
    assert await asyncio.wait_for(ref.ask(Ping()), WAIT) == "pong"
    assert ref.is_alive
    await asyncio.wait_for(ref.aclose(), WAIT)
    await asyncio.wait_for(server.wait_closed(), WAIT)
    assert not [r for r in caplog.records if "Exception in callback" in r.getMessage()]
    assert any("above max_frame_size" in r.getMessage() for r in caplog.records)


async def test_an_exception_too_large_for_a_frame_is_shortened_and_says_so(
    system: ActorSystem, caplog: pytest.LogCaptureFixture
) -> None:
    server, ref = await served_small_frames(system)
    with pytest.raises(RemoteError, match=r"raised ValueError: x+ \[shortened: the report") as e:
        await asyncio.wait_for(ref.ask(Shout(5_000_000), timeout=None), WAIT)
    assert "too large for a frame (max_frame_size=65536)" in e.value.remote_message
    assert e.value.remote_traceback == ""
    assert server.oversized == 1
    assert server.failed == 1
    await asyncio.wait_for(ref.aclose(), WAIT)
    await asyncio.wait_for(server.wait_closed(), WAIT)
    assert not [r for r in caplog.records if "Exception in callback" in r.getMessage()]
