"""Phase 2 figures (issue 6): the Unix-socket transport's throughput and round trip.

THIS IS THE PLACE for ``unix_throughput_msgs_per_s`` and ``unix_rtt_ns``. The report asks
:func:`load_unix` for them; while ``mycelium.transport.unix`` is missing (or lacks the API used
below) it gets a one-line note instead, writes both keys as ``null`` and prints the note.

What the figures measure, on two connected ends of ``UnixSocketTransport.pair()`` (a
``socketpair`` in this process, both ends on the report's event loop; the kernel path is the one
two processes would use):

- ``unix_throughput_msgs_per_s``: messages per second one way, from the first send to the last
  message decoded on the other end. Each message is encoded with a reused msgspec msgpack
  encoder, sent as an ``ActorMessage.serialized`` frame with ``await send`` (backpressure),
  received with ``await recv`` and decoded with a reused decoder: what a remote ref pays.
- ``unix_rtt_ns``: ns per request/reply, one at a time: encode, send, an echo task on the other
  end receives and sends the frame back, receive, decode.

The baselines have no transport, so these rows have no naive or floor column.
"""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from time import perf_counter_ns
from typing import Any, Protocol, cast, final

import msgspec

from mycelium import ActorMessage

from .workload import Tick

__all__ = ["UnixFigures", "load_unix"]

_MODULE = "mycelium.transport.unix"


class _End(Protocol):
    """The part of ``UnixSocketTransport`` the figures use."""

    async def send(self, msg: ActorMessage, /) -> None: ...

    async def recv(self) -> ActorMessage | None: ...

    def close(self) -> None: ...

    async def wait_closed(self) -> None: ...


_Pair = Callable[[], Coroutine[Any, Any, tuple[_End, _End]]]


@final
@dataclass(frozen=True, slots=True)
class UnixFigures:
    """One sample of each transport figure: msgs/s one way, and ns per request/reply."""

    throughput_msgs_per_s: Callable[[Sequence[Tick]], Coroutine[Any, Any, float]]
    rtt_ns: Callable[[Sequence[Tick]], Coroutine[Any, Any, float]]


def load_unix() -> UnixFigures | str:
    """The transport's figures, or a note saying why they are not measured."""
    try:
        module = importlib.import_module(_MODULE)
    except ModuleNotFoundError as exc:
        name = exc.name or ""
        if name and _MODULE.startswith(name):
            return f"unix_throughput_msgs_per_s, unix_rtt_ns: {_MODULE} is not there yet"
        raise
    transport_class = getattr(module, "UnixSocketTransport", None)
    pair = getattr(transport_class, "pair", None)
    if pair is None or not all(
        callable(getattr(transport_class, name, None))
        for name in ("send", "recv", "close", "wait_closed")
    ):
        return (
            f"unix_throughput_msgs_per_s, unix_rtt_ns: {_MODULE} has no "
            "UnixSocketTransport.pair/send/recv/close/wait_closed to measure"
        )
    new_pair = cast("_Pair", pair)
    return UnixFigures(
        throughput_msgs_per_s=lambda msgs: _throughput(new_pair, msgs),
        rtt_ns=lambda msgs: _rtt(new_pair, msgs),
    )


async def _close(ends: tuple[_End, _End]) -> None:
    for end in ends:
        end.close()
    for end in ends:
        await end.wait_closed()


async def _throughput(new_pair: _Pair, msgs: Sequence[Tick]) -> float:
    ends = await new_pair()
    sender, receiver = ends
    encode = msgspec.msgpack.Encoder().encode
    decode = msgspec.msgpack.Decoder(Tick).decode
    serialized = ActorMessage.serialized
    count = len(msgs)

    async def consume() -> int:
        recv = receiver.recv
        for _ in range(count):
            frame = await recv()
            if frame is None:
                raise RuntimeError("the transport closed before every message arrived")
            decode(frame.data)
        return perf_counter_ns()

    try:
        consumer = asyncio.get_running_loop().create_task(consume())
        send = sender.send
        started = perf_counter_ns()
        for msg in msgs:
            await send(serialized(encode(msg)))
        finished = await consumer
        return count * 1e9 / (finished - started)
    finally:
        await _close(ends)


async def _rtt(new_pair: _Pair, msgs: Sequence[Tick]) -> float:
    ends = await new_pair()
    client, server = ends
    encode = msgspec.msgpack.Encoder().encode
    decode = msgspec.msgpack.Decoder(Tick).decode
    serialized = ActorMessage.serialized

    async def echo() -> None:
        while (frame := await server.recv()) is not None:
            await server.send(frame)

    echoing = asyncio.get_running_loop().create_task(echo())
    try:
        send, recv = client.send, client.recv
        started = perf_counter_ns()
        for msg in msgs:
            await send(serialized(encode(msg)))
            frame = await recv()
            if frame is None:
                raise RuntimeError("the transport closed during the round trips")
            decode(frame.data)
        return (perf_counter_ns() - started) / len(msgs)
    finally:
        await _close(ends)
        await echoing
