"""``transport/local.py``: LocalTransport, and the Transport protocol it implements."""

from __future__ import annotations

import asyncio
from typing import NamedTuple

import pytest
import uvloop
from hypothesis import given, settings
from hypothesis import strategies as st

from mycelium import ActorMessage, LocalTransport, MyceliumError, Transport, TransportClosed
from mycelium.errors import MailboxFull, TransportFull
from mycelium.transport.base import FrameTransport


class Item(NamedTuple):
    sender: int
    value: int


def local(value: object) -> ActorMessage:
    return ActorMessage.local(value)


def values(messages: list[ActorMessage | None]) -> list[object]:
    return [None if msg is None else msg.value for msg in messages]


def test_local_transport_satisfies_the_protocol() -> None:
    assert isinstance(LocalTransport(), Transport)


def test_other_objects_do_not_satisfy_the_protocol() -> None:
    assert not isinstance(object(), Transport)
    assert not isinstance(asyncio.Queue[int](), Transport)


async def test_messages_are_received_in_send_order() -> None:
    transport = LocalTransport(capacity=8)
    for i in range(5):
        await transport.send(local(i))
    assert len(transport) == 5
    assert values([await transport.recv() for _ in range(5)]) == [0, 1, 2, 3, 4]


async def test_the_envelope_itself_travels() -> None:
    transport = LocalTransport()
    msg = local(object())
    await transport.send(msg)
    assert await transport.recv() is msg


async def test_send_nowait_raises_queue_full_when_full() -> None:
    transport = LocalTransport(capacity=1)
    transport.send_nowait(local(1))
    with pytest.raises(asyncio.QueueFull):
        transport.send_nowait(local(2))
    assert len(transport) == 1


async def test_a_full_transport_raises_transport_full_naming_it() -> None:
    transport = LocalTransport(capacity=2, name="pipe")
    transport.send_nowait(local(1))
    transport.send_bytes_nowait(b"2")
    with pytest.raises(
        TransportFull,
        match=r"^transport LocalTransport\('pipe'\) is full \(2 frames\); nothing was sent\. ",
    ) as caught:
        transport.send_nowait(local(3))
    assert isinstance(caught.value, MyceliumError)
    assert not isinstance(caught.value, MailboxFull)
    assert (caught.value.transport, caught.value.capacity) == ("LocalTransport('pipe')", 2)
    with pytest.raises(TransportFull):
        transport.send_bytes_nowait(b"3")
    assert len(transport) == 2


async def test_send_nowait_refuses_what_is_not_an_envelope() -> None:
    transport = LocalTransport()
    with pytest.raises(TypeError, match=r"^a transport carries ActorMessage, got int$"):
        transport.send_nowait(1)  # pyright: ignore[reportArgumentType]


async def test_send_waits_while_full_and_completes_once_room_appears() -> None:
    transport = LocalTransport(capacity=1)
    await transport.send(local(1))
    sending = asyncio.ensure_future(transport.send(local(2)))
    await asyncio.sleep(0)
    assert not sending.done()
    assert len(transport) == 1
    assert values([await transport.recv()]) == [1]
    await sending
    assert values([await transport.recv()]) == [2]


async def test_recv_waits_for_a_message() -> None:
    transport = LocalTransport()
    receiving = asyncio.ensure_future(transport.recv())
    await asyncio.sleep(0)
    assert not receiving.done()
    await transport.send(local("hi"))
    assert values([await receiving]) == ["hi"]


async def test_send_after_close_raises_transport_closed() -> None:
    transport = LocalTransport(name="pipe")
    transport.close()
    assert transport.closed
    with pytest.raises(
        TransportClosed,
        match=r"^transport LocalTransport\('pipe'\) is closed: closed by this side$",
    ):
        await transport.send(local(1))
    with pytest.raises(TransportClosed):
        transport.send_nowait(local(1))


async def test_recv_drains_then_returns_none_after_close() -> None:
    transport = LocalTransport()
    await transport.send(local(1))
    await transport.send(local(2))
    transport.close()
    assert values([await transport.recv() for _ in range(4)]) == [1, 2, None, None]


async def test_close_is_idempotent() -> None:
    transport = LocalTransport()
    transport.close()
    transport.close()
    assert transport.closed
    assert await transport.recv() is None


async def test_close_wakes_a_waiting_receiver_with_none() -> None:
    transport = LocalTransport()
    receivers = [asyncio.ensure_future(transport.recv()) for _ in range(3)]
    await asyncio.sleep(0)
    transport.close()
    async with asyncio.timeout(5):  # a guard against a hang, not a timing assertion
        assert await asyncio.gather(*receivers) == [None, None, None]


async def test_close_wakes_waiting_senders_with_transport_closed() -> None:
    transport = LocalTransport(capacity=1)
    await transport.send(local(0))
    senders = [asyncio.ensure_future(transport.send(local(i))) for i in (1, 2)]
    await asyncio.sleep(0)
    transport.close()
    async with asyncio.timeout(5):  # a guard against a hang, not a timing assertion
        results = await asyncio.gather(*senders, return_exceptions=True)
    assert [type(result) for result in results] == [TransportClosed, TransportClosed]
    assert values([await transport.recv(), await transport.recv()]) == [0, None]


async def test_a_cancelled_send_enqueues_nothing() -> None:
    transport = LocalTransport(capacity=1)
    await transport.send(local(0))
    sending = asyncio.ensure_future(transport.send(local("cancelled")))
    await asyncio.sleep(0)
    sending.cancel()
    with pytest.raises(asyncio.CancelledError):
        await sending
    assert values([await transport.recv()]) == [0]
    transport.close()
    assert await transport.recv() is None


async def test_a_cancelled_recv_takes_nothing() -> None:
    transport = LocalTransport()
    receiving = asyncio.ensure_future(transport.recv())
    await asyncio.sleep(0)
    receiving.cancel()
    with pytest.raises(asyncio.CancelledError):
        await receiving
    await transport.send(local("kept"))
    assert values([await transport.recv()]) == ["kept"]


async def test_a_woken_receiver_cancelled_before_it_runs_passes_the_message_on() -> None:
    transport = LocalTransport()
    first = asyncio.ensure_future(transport.recv())
    second = asyncio.ensure_future(transport.recv())
    await asyncio.sleep(0)
    transport.send_nowait(local("only"))  # wakes `first`...
    first.cancel()  # ...which is cancelled before it can take the message
    with pytest.raises(asyncio.CancelledError):
        await first
    assert values([await second]) == ["only"]


async def test_a_woken_sender_cancelled_before_it_runs_passes_the_room_on() -> None:
    transport = LocalTransport(capacity=1)
    transport.send_nowait(local(0))
    first = asyncio.ensure_future(transport.send(local("cancelled")))
    second = asyncio.ensure_future(transport.send(local("kept")))
    await asyncio.sleep(0)
    assert values([await transport.recv()]) == [0]  # wakes `first`...
    first.cancel()  # ...which is cancelled before it can use the room
    with pytest.raises(asyncio.CancelledError):
        await first
    await second
    transport.close()
    assert values([await transport.recv(), await transport.recv()]) == ["kept", None]


def test_capacity_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match=r"^capacity must be >= 1, got 0$"):
        LocalTransport(capacity=0)


def test_repr_shows_state_and_fill() -> None:
    transport = LocalTransport(capacity=2, name="pipe")
    transport.send_nowait(local(1))
    assert repr(transport) == "<LocalTransport('pipe') open 1/2>"
    transport.close()
    assert repr(transport) == "<LocalTransport('pipe') closed 1/2>"


@given(
    st.integers(min_value=1, max_value=4),
    st.lists(st.lists(st.integers(), max_size=10), min_size=1, max_size=4),
)
@settings(max_examples=50, deadline=None)
def test_concurrent_senders_keep_their_order_and_lose_nothing(
    capacity: int, per_sender: list[list[int]]
) -> None:
    total = sum(map(len, per_sender))

    async def scenario() -> list[Item]:
        transport = LocalTransport(capacity=capacity)

        async def sender(who: int, items: list[int]) -> None:
            for item in items:
                await transport.send(local(Item(who, item)))

        async def receiver() -> list[Item]:
            got: list[Item] = []
            while len(got) < total:
                msg = await transport.recv()
                assert msg is not None
                item = msg.downcast(Item)
                assert item is not None
                got.append(item)
            return got

        async with asyncio.timeout(10):  # a guard against a hang, not a timing assertion
            receiving = asyncio.ensure_future(receiver())
            await asyncio.gather(*(sender(who, items) for who, items in enumerate(per_sender)))
            got = await receiving
        transport.close()
        assert await transport.recv() is None
        return got

    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        got = runner.run(scenario())
    for who, items in enumerate(per_sender):
        assert [item.value for item in got if item.sender == who] == items
    assert len(got) == total


# ---------------------------------------------------------------------------- frames (bytes)


def test_local_transport_is_a_frame_transport() -> None:
    transport: FrameTransport = LocalTransport()  # pyright checks the protocol statically
    assert isinstance(transport, FrameTransport)
    assert transport.max_frame_size is None
    assert transport.capacity == 1000


def test_an_envelope_queue_is_not_a_frame_transport() -> None:
    assert not isinstance(object(), FrameTransport)


async def test_frames_and_envelopes_share_one_queue_in_order() -> None:
    transport = LocalTransport(capacity=8)
    transport.send_bytes_nowait(b"a")
    await transport.send_bytes(b"b")
    await transport.send(ActorMessage.serialized(b"c"))
    transport.send_nowait(local("no bytes"))
    assert await transport.recv_batch() == [b"a", b"b", b"c", b""]
    await transport.send_bytes(b"d")
    msg = await transport.recv()
    assert msg is not None
    assert msg.data == b"d"


async def test_recv_batch_takes_at_most_limit_and_makes_room_for_waiting_senders() -> None:
    transport = LocalTransport(capacity=2)
    await transport.send_bytes(b"1")
    await transport.send_bytes(b"2")
    waiting = [asyncio.ensure_future(transport.send_bytes(bytes([n]))) for n in b"34"]
    await asyncio.sleep(0)
    assert not any(sending.done() for sending in waiting)
    assert await transport.recv_batch(limit=1) == [b"1"]
    assert await transport.recv_batch() == [b"2"]
    await asyncio.gather(*waiting)
    assert await transport.recv_batch() == [b"3", b"4"]
    with pytest.raises(ValueError, match=r"^limit must be >= 1, got 0$"):
        await transport.recv_batch(limit=0)


async def test_recv_batch_waits_then_returns_empty_once_closed_and_drained() -> None:
    transport = LocalTransport()
    taking = asyncio.ensure_future(transport.recv_batch())
    await asyncio.sleep(0)
    assert not taking.done()
    transport.send_bytes_nowait(b"x")
    assert await taking == [b"x"]
    transport.send_bytes_nowait(b"last")
    transport.close()
    assert await transport.recv_batch() == [b"last"]
    assert await transport.recv_batch() == []
    with pytest.raises(TransportClosed, match=r"closed by this side$"):
        await transport.send_bytes(b"late")


async def test_wait_closed_returns_once_closed_and_close_reason_says_why() -> None:
    transport = LocalTransport()
    assert transport.close_reason == ""
    waiting = asyncio.ensure_future(transport.wait_closed())
    await asyncio.sleep(0)
    assert not waiting.done()
    transport.close()
    await waiting
    await transport.wait_closed()  # closed already: at once
    assert transport.close_reason == "closed by this side"
