"""``actor_ref.py`` and ``local_ref.py``: sending, asking, backpressure, identity of refs."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Coroutine
from typing import Any

import pytest

from mycelium import (
    Actor,
    ActorId,
    ActorRef,
    ActorStopped,
    ActorSystem,
    AskTimeout,
    MailboxFull,
    MailboxView,
    WouldDeadlock,
)


class Echo(Actor[int]):
    """Logs every message and answers an ask with it."""

    def __init__(self) -> None:
        self.log: list[int] = []

    async def handle(self, msg: int) -> int:
        self.log.append(msg)
        return msg


class Gated(Actor[int]):
    """Message 0 waits for ``gate`` (and sets ``entered`` first); every message is logged."""

    def __init__(self) -> None:
        self.log: list[int] = []
        self.entered = asyncio.Event()
        self.gate = asyncio.Event()

    async def handle(self, msg: int) -> int:
        if msg == 0:
            self.entered.set()
            await self.gate.wait()
        self.log.append(msg)
        return msg


async def _full(system: ActorSystem, capacity: int = 1) -> tuple[Gated, ActorRef[int]]:
    """A gated actor stuck in message 0 with ``capacity`` messages (1, 2, ...) queued."""
    actor = Gated()
    ref = await system.spawn(actor, name="full", capacity=capacity)
    ref.tell(0)
    await actor.entered.wait()
    for i in range(1, capacity + 1):
        ref.tell(i)
    return actor, ref


def _mailbox(ref: ActorRef[Any]) -> MailboxView:
    return ref.mailbox


# ----------------------------------------------------------------------------- sending


async def test_try_send_tell_and_send_deliver_in_order(system: ActorSystem) -> None:
    actor = Echo()
    ref = await system.spawn(actor)
    ref.try_send(1)
    ref.tell(2)
    await ref.send(3)
    ref.tell(4)
    assert await ref.ask(5) == 5
    assert actor.log == [1, 2, 3, 4, 5]


async def test_send_returns_once_enqueued_without_waiting_for_the_handler(
    system: ActorSystem,
) -> None:
    actor, ref = await _full(system, capacity=3)
    assert len(_mailbox(ref)) == 3
    actor.gate.set()
    await ref.ask(9)
    assert actor.log == [0, 1, 2, 3, 9]


async def test_send_with_room_needs_no_turn(system: ActorSystem) -> None:
    actor = Echo()
    ref = await system.spawn(actor)
    pending = ref.send(1)
    assert len(_mailbox(ref)) == 1  # enqueued when called, before it is awaited
    await pending
    assert await ref.ask(2) == 2
    assert actor.log == [1, 2]


async def test_a_full_mailbox_makes_try_send_raise_and_count_the_drop(system: ActorSystem) -> None:
    actor, ref = await _full(system, capacity=1)
    pattern = rf"^mailbox of 'full#{int(ref.id)}' is full \(1 messages\); int was not delivered\."
    with pytest.raises(MailboxFull, match=pattern) as info:
        ref.try_send(2)
    assert (info.value.message, info.value.capacity) == (2, 1)
    with pytest.raises(MailboxFull):
        ref.tell(3)
    assert _mailbox(ref).dropped == 2
    assert len(_mailbox(ref)) == 1
    actor.gate.set()
    assert await ref.ask(4) == 4
    assert actor.log == [0, 1, 4]
    assert system.dead_letters.count == 0


async def test_send_waits_for_room_and_completes_once_room_appears(system: ActorSystem) -> None:
    actor, ref = await _full(system, capacity=1)
    sending = asyncio.ensure_future(ref.send(2))
    await asyncio.sleep(0)
    assert not sending.done()
    assert len(_mailbox(ref)) == 1
    actor.gate.set()
    await sending
    assert await ref.ask(3) == 3
    assert actor.log == [0, 1, 2, 3]
    assert _mailbox(ref).dropped == 0


async def test_waiting_senders_are_admitted_in_order(system: ActorSystem) -> None:
    actor, ref = await _full(system, capacity=1)
    sends = [asyncio.ensure_future(ref.send(i)) for i in range(2, 7)]
    asking = asyncio.ensure_future(ref.ask(7))
    await asyncio.sleep(0)
    assert not any(send.done() for send in sends)
    actor.gate.set()
    await asyncio.gather(*sends)
    assert await asking == 7
    assert actor.log == [0, 1, 2, 3, 4, 5, 6, 7]


async def _send_then_note(ref: ActorRef[int], msg: int, sent: list[int]) -> None:
    await ref.send(msg)
    sent.append(msg)


@pytest.mark.parametrize("how", ["awaitable", "task"])
async def test_a_cancelled_waiting_send_leaves_nothing_enqueued(
    system: ActorSystem, how: str
) -> None:
    actor, ref = await _full(system, capacity=1)
    sent: list[int] = []
    waiting: asyncio.Future[None] = (
        asyncio.ensure_future(ref.send(2))
        if how == "awaitable"
        else asyncio.ensure_future(_send_then_note(ref, 2, sent))
    )
    later = asyncio.ensure_future(ref.send(3))
    await asyncio.sleep(0)
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    actor.gate.set()
    await later
    assert await ref.ask(4) == 4
    assert actor.log == [0, 1, 3, 4]
    assert sent == []
    assert system.dead_letters.count == 0


async def test_a_cancelled_waiting_ask_leaves_nothing_enqueued(system: ActorSystem) -> None:
    actor, ref = await _full(system, capacity=1)
    asking = asyncio.ensure_future(ref.ask(2))
    await asyncio.sleep(0)
    asking.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asking
    actor.gate.set()
    assert await ref.ask(3) == 3
    assert actor.log == [0, 1, 3]


class CancelsTheWaitingSender(Actor[int]):
    """Gated on 0; handling 2, cancels ``victim``: the sender of 2, admitted but not resumed."""

    def __init__(self) -> None:
        self.log: list[int] = []
        self.entered = asyncio.Event()
        self.gate = asyncio.Event()
        self.victim: asyncio.Future[None] | None = None

    async def handle(self, msg: int) -> int:
        if msg == 0:
            self.entered.set()
            await self.gate.wait()
        self.log.append(msg)
        if msg == 2 and self.victim is not None:
            self.victim.cancel()
        return msg


async def test_a_send_cancelled_after_admission_is_delivered_and_its_future_says_so(
    system: ActorSystem,
) -> None:
    """The dispatcher admits a waiting message without the sender running; a cancellation
    that comes after that (here: while the message is handled, before the sender's task
    resumed) still raises ``CancelledError`` in the sender, but the message is delivered, and
    the future ``send`` returned is done and not cancelled: it tells what happened."""
    actor = CancelsTheWaitingSender()
    ref = await system.spawn(actor, capacity=1)
    ref.tell(0)
    await actor.entered.wait()
    ref.tell(1)  # the mailbox is full
    sent: list[int] = []
    entering = ref.send(2)
    assert isinstance(entering, asyncio.Future)  # a waiting send returns a future
    actor.victim = asyncio.ensure_future(_await_then_note(entering, 2, sent))
    await asyncio.sleep(0)  # the victim waits for room
    assert not actor.victim.done()
    actor.gate.set()
    with pytest.raises(asyncio.CancelledError):
        await actor.victim
    assert await ref.ask(3) == 3
    assert actor.log == [0, 1, 2, 3]
    assert sent == []
    assert entering.done()
    assert not entering.cancelled()


async def _await_then_note(entering: Awaitable[None], msg: int, sent: list[int]) -> None:
    await entering
    sent.append(msg)


async def test_senders_waiting_when_the_actor_stops_get_actor_stopped(
    system: ActorSystem,
) -> None:
    actor, ref = await _full(system, capacity=1)
    waiting = [asyncio.ensure_future(ref.send(2)), asyncio.ensure_future(ref.ask(3))]
    await asyncio.sleep(0)
    stopping = asyncio.ensure_future(system.stop(ref))
    async with asyncio.timeout(5):  # a guard against a hang, not a timing assertion
        results = await asyncio.gather(*waiting, return_exceptions=True)
    pattern = rf"^actor 'full#{int(ref.id)}' has stopped\b.*; int was not delivered\."
    for result in results:
        assert isinstance(result, ActorStopped)
        with pytest.raises(ActorStopped, match=pattern):
            raise result
    assert [result.message for result in results if isinstance(result, ActorStopped)] == [2, 3]
    actor.gate.set()
    await stopping
    assert actor.log == [0, 1]  # what was in the mailbox was drained
    assert system.dead_letters.count == 0


async def test_sending_to_a_stopped_actor_raises_actor_stopped(system: ActorSystem) -> None:
    actor = Echo()
    ref = await system.spawn(actor, name="gone")
    await system.stop(ref)
    pattern = rf"^actor 'gone#{int(ref.id)}' has stopped; int was not delivered\."
    with pytest.raises(ActorStopped, match=pattern) as info:
        ref.try_send(1)
    assert info.value.message == 1
    with pytest.raises(ActorStopped, match=pattern):
        ref.tell(1)
    with pytest.raises(ActorStopped, match=pattern):
        await ref.send(1)
    with pytest.raises(ActorStopped, match=pattern) as info:
        await ref.ask(1)
    assert info.value.message == 1
    assert actor.log == []
    assert _mailbox(ref).dropped == 0


# -------------------------------------------------------------------------------- asking


async def test_ask_returns_what_handle_returned(system: ActorSystem) -> None:
    ref = await system.spawn(Echo())
    assert await ref.ask(41) == 41
    assert await ref.ask(42, timeout=None) == 42


async def test_ask_times_out_with_ask_timeout_naming_the_actor(system: ActorSystem) -> None:
    actor = Gated()
    ref = await system.spawn(actor, name="stuck")
    ref.tell(0)
    await actor.entered.wait()
    pattern = rf"^actor 'stuck#{int(ref.id)}' did not answer int within 0\.01 s; "
    async with asyncio.timeout(5):  # a guard: the ask's own timeout must fire first
        with pytest.raises(AskTimeout, match=pattern) as info:
            await ref.ask(5, timeout=0.01)
        assert isinstance(info.value, TimeoutError)
        assert (info.value.timeout, info.value.message) == (0.01, 5)
        with pytest.raises(TimeoutError):
            await ref.ask(6, timeout=0.01)
    # The questions stay in the mailbox and are still handled; their answers are discarded.
    actor.gate.set()
    assert await ref.ask(7) == 7
    assert actor.log == [0, 5, 6, 7]
    assert ref.is_alive


async def test_ask_timeout_also_covers_the_wait_for_room(system: ActorSystem) -> None:
    actor, ref = await _full(system, capacity=1)
    with pytest.raises(AskTimeout, match=rf"^actor 'full#{int(ref.id)}' did not answer int"):
        async with asyncio.timeout(5):  # a guard: the ask's own timeout must fire first
            await ref.ask(2, timeout=0.01)
    actor.gate.set()
    assert await ref.ask(3) == 3
    assert actor.log == [0, 1, 3]


@pytest.mark.parametrize("timeout", [0, -1, 0.0])
async def test_ask_refuses_a_timeout_that_is_not_positive(
    system: ActorSystem, timeout: float
) -> None:
    actor = Echo()
    ref = await system.spawn(actor)
    with pytest.raises(ValueError, match=rf"^timeout must be > 0 or None, got {timeout}$"):
        await ref.ask(1, timeout=timeout)
    assert len(_mailbox(ref)) == 0


# ------------------------------------------------------------------ identity and state


async def test_refs_are_equal_and_hash_alike_by_id(system: ActorSystem) -> None:
    first = await system.spawn(Echo(), name="first")
    second = await system.spawn(Echo())
    looked_up = system.lookup("first")
    assert looked_up == first
    assert hash(looked_up) == hash(first) == hash(first.id)
    assert first != second
    assert first != first.id
    assert first != "first"
    assert {first: 1, second: 2}[looked_up] == 1  # pyright: ignore[reportArgumentType]
    assert len({first, second, looked_up}) == 2


async def test_ids_are_unique_readable_and_ordered_by_spawn(system: ActorSystem) -> None:
    refs = [await system.spawn(Echo()) for _ in range(20)]
    ids = [ref.id for ref in refs]
    assert len(set(ids)) == 20
    assert ids == sorted(ids)
    for ref in refs:
        assert isinstance(ref.id, ActorId)
        assert str(ref.id) == f"#{int(ref.id)}"
        assert repr(ref.id) == f"ActorId({int(ref.id)})"
        assert ref.id == ref.id
    async with ActorSystem() as other:
        elsewhere = await other.spawn(Echo())
        assert elsewhere.id not in ids


def test_actor_id_values_are_never_reused() -> None:
    values = {ActorId.next_value() for _ in range(100)}
    assert len(values) == 100


async def test_repr_is_readable(system: ActorSystem) -> None:
    named = await system.spawn(Echo(), name="echo", capacity=8)
    anonymous = await system.spawn(Echo())
    assert repr(named) == f"<LocalActorRef echo#{int(named.id)} alive 0/8>"
    assert repr(anonymous) == f"<LocalActorRef Echo#{int(anonymous.id)} alive 0/1000>"
    await system.stop(named)
    assert repr(named) == f"<LocalActorRef echo#{int(named.id)} stopped 0/8>"


async def test_name_is_the_spawn_name(system: ActorSystem) -> None:
    assert (await system.spawn(Echo(), name="echo")).name == "echo"
    assert (await system.spawn(Echo())).name is None


class SlowStop(Actor[int]):
    def __init__(self) -> None:
        self.entered = asyncio.Event()
        self.release = asyncio.Event()

    async def handle(self, msg: int) -> int:
        return msg

    async def on_stop(self) -> None:
        self.entered.set()
        await self.release.wait()


async def test_is_alive_turns_false_as_soon_as_the_stop_begins(system: ActorSystem) -> None:
    actor = SlowStop()
    ref = await system.spawn(actor)
    assert ref.is_alive
    stopping = asyncio.ensure_future(system.stop(ref))
    await actor.entered.wait()
    assert not ref.is_alive
    assert not stopping.done()
    actor.release.set()
    await stopping
    assert not ref.is_alive


async def test_the_mailbox_counts_for_metrics(system: ActorSystem) -> None:
    actor, ref = await _full(system, capacity=2)
    mailbox = _mailbox(ref)
    assert isinstance(mailbox, MailboxView)
    assert (mailbox.capacity, len(mailbox), mailbox.dropped) == (2, 2, 0)
    with pytest.raises(MailboxFull):
        ref.tell(3)
    assert mailbox.dropped == 1
    actor.gate.set()
    await ref.ask(4)
    assert len(mailbox) == 0
    assert mailbox.handled == 4  # 0, 1, 2 and the question


class RemoteRef(ActorRef[int]):
    """A ref to an actor elsewhere, reduced to what the base class needs."""

    def __init__(self, actor_id: int, name: str | None) -> None:
        self._id = ActorId(actor_id)
        self._name = name
        self.sent: list[int] = []

    @property
    def id(self) -> ActorId:
        return self._id

    @property
    def name(self) -> str | None:
        return self._name

    @property
    def is_alive(self) -> bool:
        return True

    def try_send(self, msg: int, /) -> None:
        self.sent.append(msg)

    def send(self, msg: int, /) -> Coroutine[Any, Any, None]:
        self.sent.append(msg)
        return asyncio.sleep(0)

    async def ask(self, msg: int, /, *, timeout: float | None = 5.0) -> Any:
        return msg


async def test_any_ref_kind_shares_equality_tell_and_repr(system: ActorSystem) -> None:
    local = await system.spawn(Echo())
    remote = RemoteRef(int(local.id), "far")
    assert remote == local
    assert local == remote
    assert hash(remote) == hash(local)
    assert remote != RemoteRef(int(local.id) + 1000, None)
    assert remote.mailbox.capacity is None  # nothing is known here of a remote mailbox
    remote.tell(5)
    assert remote.sent == [5]
    assert repr(remote) == f"<RemoteRef far#{int(local.id)} alive>"
    assert repr(RemoteRef(7, None)) == "<RemoteRef #7 alive>"


class AsksItself(Actor[int]):
    def __init__(self) -> None:
        self.outcome: BaseException | None = None

    async def handle(self, msg: int) -> int:
        if msg == 0:
            try:
                await self.ref.ask(1)
            except WouldDeadlock as exc:
                self.outcome = exc
        return msg


async def test_an_actor_asking_itself_gets_would_deadlock_at_once(system: ActorSystem) -> None:
    actor = AsksItself()
    ref = await system.spawn(actor, name="narcissus")
    assert await ref.ask(0) == 0  # answered: the handler was not stuck on itself
    assert isinstance(actor.outcome, WouldDeadlock)
    assert isinstance(actor.outcome, RuntimeError)
    assert str(actor.outcome).startswith(
        f"actor 'narcissus#{int(ref.id)}' asked itself from its own handler"
    )
    assert ref.is_alive


class FillsItself(Actor[int]):
    def __init__(self) -> None:
        self.outcome: BaseException | None = None

    async def handle(self, msg: int) -> None:
        if msg == 0:
            self.ref.tell(1)  # the mailbox (capacity 1) is now full
            try:
                await self.ref.send(2)
            except WouldDeadlock as exc:
                self.outcome = exc


async def test_waiting_for_room_in_its_own_mailbox_gets_would_deadlock(
    system: ActorSystem,
) -> None:
    actor = FillsItself()
    ref = await system.spawn(actor, capacity=1)
    await ref.ask(0)  # returns: the handler did not hang waiting for itself
    await system.stop(ref)  # drains the 1 it told itself
    assert isinstance(actor.outcome, WouldDeadlock)
    assert "waited for room in its own full mailbox" in str(actor.outcome)


async def test_an_infinite_ask_timeout_means_no_timeout(system: ActorSystem) -> None:
    ref = await system.spawn(Echo())
    assert await ref.ask(3, timeout=float("inf")) == 3
