"""``RemoteActorRef`` and ``ActorServer``: an actor behind a Unix socket, in this process or
another one, used through the ``ActorRef`` API.

Every wait is bounded with ``asyncio.wait_for`` so that a bug fails fast instead of hanging.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import sys
import tempfile
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any, Literal, TypeAlias

import msgspec
import pytest
import uvloop
from hypothesis import given, settings
from hypothesis import strategies as st

from mycelium import (
    Actor,
    ActorMessage,
    ActorRef,
    ActorServer,
    ActorStopped,
    ActorSystem,
    AskTimeout,
    LocalTransport,
    MailboxFull,
    MessageTypeError,
    RemoteActorRef,
    RemoteError,
    Transport,
    TransportClosed,
    UnixSocketTransport,
    serve,
)

WAIT = 5.0


class Add(msgspec.Struct, frozen=True, tag=True):
    n: int


class Total(msgspec.Struct, frozen=True, tag=True):
    pass


class Fail(msgspec.Struct, frozen=True, tag=True):
    reason: str


class Wait(msgspec.Struct, frozen=True, tag=True):
    pass


class Odd(msgspec.Struct, frozen=True, tag=True):
    pass


class Other(msgspec.Struct, frozen=True, tag=True):
    text: str


class Sum(msgspec.Struct, frozen=True):
    total: int
    seen: list[int]


Calc: TypeAlias = Add | Total | Fail | Wait | Odd


class Calculator(Actor[Calc]):
    """Adds numbers; answers ``Add`` with the running total and ``Total`` with a ``Sum``."""

    def __init__(self) -> None:
        self.seen: list[int] = []
        self.release = asyncio.Event()

    async def handle(self, msg: Calc) -> object:
        match msg:
            case Add(n):
                self.seen.append(n)
                return sum(self.seen)
            case Total():
                return Sum(sum(self.seen), self.seen)
            case Fail(reason):
                raise ValueError(reason)
            case Wait():
                await self.release.wait()
                return "released"
            case Odd():
                return object()  # msgpack cannot carry it


@dataclass
class Remote:
    """A Calculator served over a socket pair, and a ref to it through the socket."""

    actor: Calculator
    target: ActorRef[Calc]
    server: ActorServer[Calc]
    ref: RemoteActorRef[Any]
    client_end: UnixSocketTransport
    server_end: UnixSocketTransport


async def served(
    system: ActorSystem,
    *,
    capacity: int = 1000,
    transport_capacity: int = 1024,
    message_type: object = Calc,
    reply_type: object = Any,
) -> Remote:
    actor = Calculator()
    target = await system.spawn(actor, capacity=capacity)
    client_end, server_end = await UnixSocketTransport.pair(capacity=transport_capacity)
    server = serve(server_end, target, Calc)
    ref: RemoteActorRef[Any] = RemoteActorRef(
        client_end,
        message_type,  # type: ignore[arg-type]  # a union or a class, as the test needs
        name="calc",
        reply_type=reply_type,
    )
    return Remote(actor, target, server, ref, client_end, server_end)


@pytest.fixture
async def remote(system: ActorSystem) -> AsyncIterator[Remote]:
    r = await served(system)
    yield r
    await asyncio.wait_for(r.ref.aclose(), WAIT)
    await asyncio.wait_for(r.server.wait_closed(), WAIT)
    await asyncio.wait_for(r.server_end.wait_closed(), WAIT)


async def ask(ref: ActorRef[Any], msg: object, timeout: float | None = WAIT) -> Any:
    return await asyncio.wait_for(ref.ask(msg, timeout=timeout), WAIT)


# ------------------------------------------------------------------------ the ActorRef API


async def test_ask_returns_the_handler_value(remote: Remote) -> None:
    assert await ask(remote.ref, Add(2)) == 2
    assert await ask(remote.ref, Add(3)) == 5
    assert remote.server.answered == 2


async def test_sends_and_asks_arrive_in_order(remote: Remote) -> None:
    for i in range(500):
        if i % 3 == 0:
            remote.ref.try_send(Add(i))
        else:
            await remote.ref.send(Add(i))
    # Without reply_type an answer comes back as plain msgpack data.
    assert await ask(remote.ref, Total()) == {"total": sum(range(500)), "seen": list(range(500))}
    assert remote.actor.seen == list(range(500))
    assert remote.server.delivered == 501
    assert remote.server.rejected == 0


async def test_answers_decode_as_the_reply_type(system: ActorSystem) -> None:
    r = await served(system, reply_type=Sum | int)
    await r.ref.send(Add(4))
    assert await ask(r.ref, Total()) == Sum(4, [4])
    await r.ref.aclose()


@settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(min_value=-(2**40), max_value=2**40), max_size=200))
def test_every_message_is_handled_once_in_order(numbers: list[int]) -> None:
    async def run() -> list[int]:
        async with ActorSystem() as system:
            r = await served(system, capacity=8, transport_capacity=4)
            for n in numbers:
                await r.ref.send(Add(n))
            await ask(r.ref, Total())
            await r.ref.aclose()
            return r.actor.seen

    assert uvloop.run(run()) == numbers


async def test_a_remote_ref_is_an_actor_ref(remote: Remote, system: ActorSystem) -> None:
    other = await served(system)
    assert isinstance(remote.ref, ActorRef)
    assert remote.ref.name == "calc"
    assert remote.ref.id != other.ref.id
    assert remote.ref == remote.ref
    assert remote.ref != other.ref
    assert remote.ref.mailbox.capacity is None  # nothing is known here of a remote mailbox
    assert remote.ref.is_alive
    assert repr(remote.ref) == f"<RemoteActorRef calc{remote.ref.id} alive>"
    assert remote.ref.transport is remote.client_end
    await other.ref.aclose()


async def test_refs_are_always_true_local_and_remote(remote: Remote, system: ActorSystem) -> None:
    local = await system.spawn(Calculator(), name="idle")  # an empty mailbox: len() is 0
    fallback: ActorRef[Any] = remote.ref
    assert (system.lookup("idle") or fallback) is local
    assert bool(remote.ref) is True
    await asyncio.wait_for(remote.ref.aclose(), WAIT)
    assert not remote.ref.is_alive
    assert (remote.ref or None) is remote.ref  # closed, and still a ref


# ------------------------------------------------------------------------------- errors


async def test_a_remote_handler_exception_is_a_remote_error(remote: Remote) -> None:
    with pytest.raises(RemoteError, match=r"remote actor 'calc#\d+' raised ValueError: nope$") as e:
        await ask(remote.ref, Fail("nope"))
    assert e.value.type_name == "ValueError"
    assert e.value.remote_message == "nope"
    assert "ValueError: nope" in e.value.remote_traceback
    assert remote.server.failed == 1
    # The handler's crash stopped the actor, as it would locally.
    with pytest.raises(ActorStopped, match=r"remote: "):
        await ask(remote.ref, Add(1))
    assert not remote.ref.is_alive
    with pytest.raises(ActorStopped):
        await remote.ref.send(Add(1))
    with pytest.raises(ActorStopped):
        remote.ref.try_send(Add(1))


async def test_an_answer_that_cannot_be_encoded_is_a_remote_error(remote: Remote) -> None:
    with pytest.raises(RemoteError, match=r"the answer cannot be encoded"):
        await ask(remote.ref, Odd())
    assert await ask(remote.ref, Add(1)) == 1  # the actor did not crash


async def test_a_message_of_the_wrong_type_is_refused_at_the_sender(remote: Remote) -> None:
    with pytest.raises(MessageTypeError, match=r"^actor 'calc#\d+' handles Add \| Total"):
        await remote.ref.send("text")
    with pytest.raises(MessageTypeError):
        remote.ref.try_send(Other("x"))
    with pytest.raises(MessageTypeError):
        await remote.ref.ask(3)
    assert remote.client_end.sent == 0


async def test_a_message_of_the_wrong_type_is_refused_and_counted_at_the_receiver(
    system: ActorSystem,
) -> None:
    # The sender's type is wider than what the server decodes: the two sides disagree.
    r = await served(system, message_type=Add | Other)
    await r.ref.send(Other("tell"))
    with pytest.raises(MessageTypeError, match=r"handles .*\(remote\), not Other") as e:
        await ask(r.ref, Other("ask"))
    assert any("the remote side refused it" in note for note in e.value.__notes__)
    # The connection is ordered: the tell's refusal arrived before the ask's answer.
    assert r.ref.rejected == 1
    assert r.ref.last_rejection is not None
    assert "refused" in r.ref.last_rejection
    assert r.server.rejected == 2
    assert await ask(r.ref, Add(5)) == 5  # the connection is still good
    assert r.actor.seen == [5]
    await r.ref.aclose()


async def test_garbage_frames_are_counted_and_answered(system: ActorSystem) -> None:
    target = await system.spawn(Calculator())
    raw, server_end = await UnixSocketTransport.pair()
    server = serve(server_end, target, Calc)
    encode = msgspec.msgpack.encode
    await raw.send(ActorMessage.serialized(b"\xc1 not msgpack"))
    await raw.send(ActorMessage.serialized(encode([99, 2, 7, {"type": "Total"}])))  # version
    await raw.send(ActorMessage.serialized(encode([1, 2, 8, {"type": "Nope"}])))  # payload
    notices: list[Any] = []
    for _ in range(3):
        got = await asyncio.wait_for(raw.recv(), WAIT)
        assert got is not None
        notices.append(msgspec.msgpack.decode(got.data))
    assert [(n[0], n[1], n[2], n[3][0]) for n in notices] == [
        (1, 4, 0, 2),  # no question to answer: a notice (id 0), code 2 "refused"
        (1, 4, 7, 2),
        (1, 4, 8, 2),
    ]
    assert "speaks version 1" in notices[1][3][2]
    assert server.rejected == 3
    assert server.delivered == 0
    raw.close()
    await asyncio.wait_for(server.wait_closed(), WAIT)
    assert server.closed


async def test_an_ask_times_out(remote: Remote) -> None:
    with pytest.raises(AskTimeout, match=r"did not answer Wait within 0.05 s") as e:
        await ask(remote.ref, Wait(), timeout=0.05)
    assert isinstance(e.value, TimeoutError)
    remote.actor.release.set()
    assert await ask(remote.ref, Add(1)) == 1  # the late answer was discarded


async def test_bad_timeouts_are_refused(remote: Remote) -> None:
    with pytest.raises(ValueError, match=r"^timeout must be > 0 or None, got 0$"):
        await remote.ref.ask(Add(1), timeout=0)


async def test_a_stopped_remote_actor_raises_actor_stopped(
    remote: Remote, system: ActorSystem
) -> None:
    await system.stop(remote.target)
    await remote.ref.send(Add(1))  # accepted here, refused there
    with pytest.raises(ActorStopped, match=r"remote: "):
        await ask(remote.ref, Add(2))
    assert remote.ref.rejected == 1
    assert remote.server.undelivered == 2
    assert not remote.ref.is_alive
    with pytest.raises(ActorStopped):
        await remote.ref.send(Add(3))


async def test_an_uncheckable_message_type_is_refused(remote: Remote) -> None:
    with pytest.raises(TypeError, match=r"cannot be checked at runtime"):
        RemoteActorRef(remote.client_end, Literal["x"])


# ------------------------------------------------------------------------- flow control


async def test_try_send_raises_mailbox_full_and_nothing_accepted_is_lost(
    system: ActorSystem,
) -> None:
    r = await served(system, capacity=1, transport_capacity=4)
    await r.ref.send(Wait())  # the actor blocks on it: nothing more is handled
    accepted = 0
    with pytest.raises(MailboxFull, match=r"mailbox of 'calc#\d+' is full"):  # noqa: PT012
        while True:
            r.ref.try_send(Add(1))
            accepted += 1
    assert r.ref.dropped == 1
    blocked = asyncio.create_task(r.ref.send(Add(1)))
    await asyncio.sleep(0)  # one loop turn: the send is now waiting for room
    assert not blocked.done()
    r.actor.release.set()
    await asyncio.wait_for(blocked, WAIT)
    reply = await ask(r.ref, Total())
    assert reply["total"] == accepted + 1
    await r.ref.aclose()


async def test_an_ask_that_times_out_waiting_for_room_is_not_sent() -> None:
    # The far end never reads: once its inbox and the socket are full, nothing moves again.
    client_end, idle_end = await UnixSocketTransport.pair(capacity=4)
    ref: ActorRef[Calc] = RemoteActorRef(client_end, Calc)
    stuck_turns = 0
    while stuck_turns < 3:  # full, and still full after loop turns that let bytes move
        try:
            ref.try_send(Add(1))
            stuck_turns = 0
        except MailboxFull:
            stuck_turns += 1
            await asyncio.sleep(0)
    assert len(idle_end) >= idle_end.capacity  # the far end stopped reading
    sent = client_end.sent
    with pytest.raises(AskTimeout):
        await ask(ref, Add(1000), timeout=0.05)
    assert client_end.sent == sent  # the question that timed out was never sent
    client_end.abort()
    idle_end.close()


# ------------------------------------------------------------------------------ closing


async def test_close_is_idempotent_and_then_sends_raise(remote: Remote) -> None:
    remote.ref.close()
    remote.ref.close()
    await asyncio.wait_for(remote.ref.aclose(), WAIT)
    assert not remote.ref.is_alive
    with pytest.raises(TransportClosed, match=r"closed by this side"):
        await remote.ref.send(Add(1))
    with pytest.raises(TransportClosed):
        remote.ref.try_send(Add(1))
    with pytest.raises(TransportClosed):
        await remote.ref.ask(Add(1))


async def test_a_pending_ask_fails_when_the_server_closes(remote: Remote) -> None:
    waiting = asyncio.create_task(remote.ref.ask(Wait(), timeout=None))
    await asyncio.sleep(0)  # one loop turn: the question is sent
    remote.server.close()
    with pytest.raises(TransportClosed):
        await asyncio.wait_for(waiting, WAIT)
    remote.actor.release.set()


# ----------------------------------------------------------------- a server in a process

_CHILD = """
import asyncio, sys
import msgspec, uvloop
from mycelium import Actor, ActorSystem, UnixSocketTransport, serve

class Add(msgspec.Struct, frozen=True, tag=True):
    n: int

class Wait(msgspec.Struct, frozen=True, tag=True):
    pass

class Server(Actor[Add | Wait]):
    async def handle(self, msg):
        if isinstance(msg, Wait):
            await asyncio.Event().wait()  # never answers
        return msg.n * 2

async def main(path):
    async with ActorSystem() as system:
        ref = await system.spawn(Server())
        async with await UnixSocketTransport.listen(path) as listener:
            print("ready", flush=True)
            server = serve(await listener.accept(), ref, Add | Wait)
            await server.wait_closed()

uvloop.run(main(sys.argv[1]))
"""


@pytest.fixture
def sock_dir() -> Iterator[str]:
    path = tempfile.mkdtemp(dir="/tmp", prefix="myc-")
    yield path
    shutil.rmtree(path, ignore_errors=True)


async def test_a_server_process_killed_mid_stream_fails_pending_asks(sock_dir: str) -> None:
    path = os.path.join(sock_dir, "s")
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-c", _CHILD, path, stdout=asyncio.subprocess.PIPE
    )
    try:
        assert child.stdout is not None
        assert await asyncio.wait_for(child.stdout.readline(), WAIT) == b"ready\n"
        ref: ActorRef[Add | Wait] = RemoteActorRef(
            await UnixSocketTransport.connect(path), Add | Wait, name="child"
        )
        assert await ask(ref, Add(21)) == 42  # across the process boundary
        hanging = asyncio.create_task(ref.ask(Wait(), timeout=None))
        for i in range(1000):
            await ref.send(Add(i))
        child.kill()
        assert await asyncio.wait_for(child.wait(), WAIT) == -signal.SIGKILL
        with pytest.raises(TransportClosed):
            await asyncio.wait_for(hanging, WAIT)
        with pytest.raises(TransportClosed):
            await ref.send(Add(1))
        with pytest.raises(TransportClosed):
            await ref.ask(Add(1))
        assert not ref.is_alive
    finally:
        if child.returncode is None:
            child.kill()
            await child.wait()
    with pytest.raises(ChildProcessError):
        os.waitpid(child.pid, os.WNOHANG)  # noqa: ASYNC222 - WNOHANG: reaped, no zombie left


async def test_a_refused_client_is_told_why(sock_dir: str) -> None:
    path = os.path.join(sock_dir, "s")
    async with await UnixSocketTransport.listen(path, allowed_uids={os.geteuid() + 1}) as server:
        accepting = asyncio.create_task(server.accept())
        ref = RemoteActorRef(await UnixSocketTransport.connect(path), Calc, name="refused")
        with pytest.raises(TransportClosed, match=r"before greeting.*allowed_uids"):
            await ask(ref, Add(1))
        assert server.refused == 1
        accepting.cancel()
        await asyncio.wait_for(ref.aclose(), WAIT)


# ------------------------------------------------------------- any duplex transport will do


class Duplex:
    """Two in-memory ``LocalTransport`` pipes, one per direction: a duplex ``Transport``."""

    def __init__(self, outgoing: LocalTransport, incoming: LocalTransport) -> None:
        self.outgoing, self.incoming = outgoing, incoming

    @classmethod
    def pair(cls) -> tuple[Duplex, Duplex]:
        ab, ba = LocalTransport(name="a->b"), LocalTransport(name="b->a")
        return cls(ab, ba), cls(ba, ab)

    @property
    def closed(self) -> bool:
        return self.outgoing.closed

    def send_nowait(self, msg: ActorMessage) -> None:
        self.outgoing.send_nowait(msg)

    async def send(self, msg: ActorMessage, /) -> None:
        await self.outgoing.send(msg)

    async def recv(self) -> ActorMessage | None:
        return await self.incoming.recv()

    def close(self) -> None:
        self.outgoing.close()
        self.incoming.close()


async def test_a_remote_ref_works_over_any_duplex_transport(system: ActorSystem) -> None:
    actor = Calculator()
    target = await system.spawn(actor)
    near, far = Duplex.pair()
    assert isinstance(near, Transport)
    server = serve(far, target, Calc)
    ref: ActorRef[Calc] = RemoteActorRef(near, Calc, name="calc")
    ref.try_send(Add(1))
    await ref.send(Add(2))
    assert await ask(ref, Add(3)) == 6
    with pytest.raises(RemoteError, match=r"ValueError: no"):
        await ask(ref, Fail("no"))
    await far.send(ActorMessage.local("not bytes"))  # refused at the ref, which logs it
    near.close()
    await asyncio.wait_for(server.wait_closed(), WAIT)
    assert actor.seen == [1, 2, 3]
    assert server.delivered == 4


class Crowded(Duplex):
    """A duplex transport whose non-waiting send refuses with a plain ``asyncio.QueueFull``."""

    def send_nowait(self, msg: ActorMessage) -> None:
        raise asyncio.QueueFull


async def test_any_transport_that_is_full_makes_try_send_raise_mailbox_full() -> None:
    near, _far = Crowded.pair()
    ref = RemoteActorRef(near, Calc, name="crowded")
    with pytest.raises(MailboxFull, match=r"^mailbox of 'crowded#\d+' is full \(0 messages\)"):
        ref.try_send(Add(1))
    assert ref.dropped == 1
    await ref.send(Add(2))  # waits for room instead
    assert len(near.outgoing) == 1
    await asyncio.wait_for(ref.aclose(), WAIT)


async def test_try_send_on_a_full_socket_quotes_the_transports_capacity() -> None:
    client_end, idle_end = await UnixSocketTransport.pair(capacity=4)
    ref = RemoteActorRef(client_end, Calc)
    with pytest.raises(MailboxFull) as refused:  # noqa: PT012 - the loop fills the socket
        while True:
            ref.try_send(Add(1))
    assert refused.value.capacity == 4
    client_end.abort()
    idle_end.abort()
