"""``actor.py``: the lifecycle of an actor and what happens when its handler raises."""

from __future__ import annotations

import asyncio
import logging

import pytest

from mycelium import Actor, ActorStopped, ActorSystem, DeadLetter


class Recorder(Actor[int]):
    """Logs its lifecycle and every message; answers an ask with twice the message."""

    def __init__(self, log: list[object]) -> None:
        self.log = log

    async def on_start(self) -> None:
        self.log.append("start")

    async def handle(self, msg: int) -> int:
        self.log.append(msg)
        return msg * 2

    async def on_stop(self) -> None:
        self.log.append("stop")


class Boom(Exception):
    """What the crashing actors raise."""


class Crasher(Actor[str]):
    """Raises Boom on "boom", after yielding once on "slow-boom", after ``gate`` opens on
    "gated-boom"; logs everything else."""

    def __init__(self) -> None:
        self.log: list[object] = []
        self.stopped = asyncio.Event()
        self.entered = asyncio.Event()
        self.gate = asyncio.Event()

    async def handle(self, msg: str) -> str:
        if msg == "gated-boom":
            self.entered.set()
            await self.gate.wait()
            raise Boom("gated")
        if msg == "slow-boom":
            await asyncio.sleep(0)
            raise Boom("slow")
        if msg == "boom":
            raise Boom("fast")
        self.log.append(msg)
        return msg

    async def on_stop(self) -> None:
        self.log.append("stop")
        self.stopped.set()


# ----------------------------------------------------------------------------- lifecycle


async def test_on_start_then_messages_in_order_then_on_stop(system: ActorSystem) -> None:
    log: list[object] = []
    ref = await system.spawn(Recorder(log))
    assert log == ["start"]
    ref.tell(1)
    await ref.send(2)
    assert await ref.ask(3) == 6
    await system.stop(ref)
    assert log == ["start", 1, 2, 3, "stop"]


async def test_on_stop_runs_once_whatever_stops_the_actor_again(system: ActorSystem) -> None:
    log: list[object] = []
    ref = await system.spawn(Recorder(log))
    await asyncio.gather(system.stop(ref), system.stop(ref))
    await system.stop(ref)
    await system.shutdown()
    assert log == ["start", "stop"]


async def test_on_stop_runs_after_the_last_message(system: ActorSystem) -> None:
    log: list[object] = []
    ref = await system.spawn(Recorder(log))
    for i in range(50):
        ref.tell(i)
    await system.stop(ref)
    assert log == ["start", *range(50), "stop"]


class SlowStart(Actor[int]):
    """on_start suspends until released; messages are logged."""

    def __init__(self) -> None:
        self.log: list[object] = []
        self.entered = asyncio.Event()
        self.release = asyncio.Event()

    async def on_start(self) -> None:
        self.log.append("start")
        self.entered.set()
        await self.release.wait()
        self.log.append("started")

    async def handle(self, msg: int) -> int:
        self.log.append(msg)
        return msg


async def test_no_message_is_handled_before_on_start_returns(system: ActorSystem) -> None:
    actor = SlowStart()
    spawning = asyncio.ensure_future(system.spawn(actor, name="slow"))
    await actor.entered.wait()
    ref = system.lookup("slow")
    assert ref is not None
    ref.tell(1)
    await ref.send(2)
    asking = asyncio.ensure_future(ref.ask(3))
    await asyncio.sleep(0)
    assert actor.log == ["start"]
    actor.release.set()
    assert await spawning == ref
    assert await asking == 3
    assert actor.log == ["start", "started", 1, 2, 3]


class TellsItselfOnStart(Actor[str]):
    def __init__(self) -> None:
        self.log: list[str] = []

    async def on_start(self) -> None:
        self.ref.tell("hello from on_start")
        self.log.append("start")

    async def handle(self, msg: str) -> str:
        self.log.append(msg)
        return msg


async def test_a_message_sent_to_itself_from_on_start_is_handled_after_it(
    system: ActorSystem,
) -> None:
    actor = TellsItselfOnStart()
    ref = await system.spawn(actor)
    assert await ref.ask("barrier") == "barrier"
    assert actor.log == ["start", "hello from on_start", "barrier"]


class Introspective(Actor[int]):
    def __init__(self) -> None:
        self.seen: list[object] = []

    async def on_start(self) -> None:
        self.seen.extend([self.ref, self.system])

    async def handle(self, msg: int) -> None:
        self.seen.append(self.ref)


async def test_ref_and_system_are_set_from_on_start_on(system: ActorSystem) -> None:
    actor = Introspective()
    ref = await system.spawn(actor)
    await ref.ask(0)
    assert actor.seen == [ref, system, ref]
    assert actor.seen[1] is system


def test_ref_and_system_before_spawn_raise() -> None:
    actor = Introspective()
    with pytest.raises(
        RuntimeError, match=r"^Introspective is not spawned: ref and system are set"
    ):
        _ = actor.ref
    with pytest.raises(RuntimeError, match=r"^Introspective is not spawned"):
        _ = actor.system


class Bare(Actor[int]):
    """Defines nothing: the default handle raises, on_start and on_stop do nothing."""


async def test_default_on_start_and_on_stop_do_nothing(system: ActorSystem) -> None:
    ref = await system.spawn(Bare())
    assert ref.is_alive
    await system.stop(ref)
    assert not ref.is_alive


async def test_default_handle_raises_not_implemented(system: ActorSystem) -> None:
    ref = await system.spawn(Bare())
    with pytest.raises(NotImplementedError, match=r"^Bare must implement handle\(\)$"):
        await ref.ask(1)
    assert not ref.is_alive


class Suspender(Actor[int]):
    """Handlers that suspend; tracks how many run at once."""

    def __init__(self) -> None:
        self.log: list[int] = []
        self.running = 0
        self.most_running = 0

    async def handle(self, msg: int) -> int:
        self.running += 1
        self.most_running = max(self.most_running, self.running)
        for _ in range(msg % 3):
            await asyncio.sleep(0)
        self.log.append(msg)
        self.running -= 1
        return msg


async def test_suspending_handlers_run_one_at_a_time_in_order(system: ActorSystem) -> None:
    actor = Suspender()
    ref = await system.spawn(actor)
    answers = await asyncio.gather(*(ref.ask(i) for i in range(30)))
    assert answers == list(range(30))
    assert actor.log == list(range(30))
    assert actor.most_running == 1


class Gated(Actor[int]):
    """Message 0 waits for ``gate``; every message is logged once handled."""

    def __init__(self) -> None:
        self.log: list[object] = []
        self.entered = asyncio.Event()
        self.gate = asyncio.Event()

    async def handle(self, msg: int) -> int:
        if msg == 0:
            self.entered.set()
            await self.gate.wait()
        self.log.append(msg)
        return msg

    async def on_stop(self) -> None:
        self.log.append("stop")


async def test_graceful_stop_of_a_busy_actor_drains_then_runs_on_stop(system: ActorSystem) -> None:
    actor = Gated()
    ref = await system.spawn(actor)
    for i in range(4):
        ref.tell(i)
    await actor.entered.wait()
    stopping = asyncio.ensure_future(system.stop(ref))
    await asyncio.sleep(0)
    assert not ref.is_alive
    with pytest.raises(ActorStopped):
        ref.tell(99)
    assert actor.log == []
    actor.gate.set()
    await stopping
    assert actor.log == [0, 1, 2, 3, "stop"]
    assert system.dead_letters.count == 0


class FailingStop(Actor[int]):
    async def handle(self, msg: int) -> int:
        return msg

    async def on_stop(self) -> None:
        raise Boom("on_stop failed")


async def test_on_stop_that_raises_is_logged_and_the_actor_still_stops(
    system: ActorSystem, caplog: pytest.LogCaptureFixture
) -> None:
    ref = await system.spawn(FailingStop(), name="failing")
    await system.stop(ref)
    assert not ref.is_alive
    assert system.lookup("failing") is None
    [record] = [r for r in caplog.records if r.name == "mycelium"]
    assert record.levelno == logging.ERROR
    assert f"failing#{int(ref.id)}" in record.getMessage()
    assert record.exc_info is not None
    assert isinstance(record.exc_info[1], Boom)


# ------------------------------------------------------------------------------- crashes


def _crash_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "mycelium" and r.levelno >= logging.ERROR]


@pytest.mark.parametrize("boom", ["boom", "slow-boom"])
async def test_a_crash_stops_only_that_actor_and_dead_letters_the_rest(
    system: ActorSystem, caplog: pytest.LogCaptureFixture, boom: str
) -> None:
    bystander_log: list[object] = []
    bystander = await system.spawn(Recorder(bystander_log))
    crasher = Crasher()
    ref = await system.spawn(crasher, name="crasher")
    label = f"crasher#{int(ref.id)}"
    for msg in ["ok", boom, "a", "b", "c"]:
        ref.tell(msg)
    bystander.tell(1)
    await crasher.stopped.wait()

    assert crasher.log == ["ok", "stop"]
    assert not ref.is_alive
    assert system.lookup("crasher") is None
    assert system.dead_letters.count == 4
    [failed, *rest] = system.dead_letters.recent
    assert (failed.actor, failed.message) == (label, boom)
    assert failed.reason == f"handler raised Boom: {'slow' if boom == 'slow-boom' else 'fast'}"
    assert isinstance(failed.error, Boom)
    assert rest == [DeadLetter(label, msg, "actor crashed") for msg in ["a", "b", "c"]]
    assert ref.mailbox is not None
    assert ref.mailbox.handled == 1
    assert ref.mailbox.handled + system.dead_letters.count == 5  # every message accepted

    [record] = _crash_records(caplog)
    assert label in record.getMessage()
    assert record.exc_info is not None
    assert isinstance(record.exc_info[1], Boom)
    assert "Traceback" in caplog.text

    # The other actor keeps running.
    assert await bystander.ask(2) == 4
    assert bystander_log == ["start", 1, 2]
    assert bystander.is_alive


async def test_sends_to_a_crashed_actor_raise_actor_stopped(system: ActorSystem) -> None:
    crasher = Crasher()
    ref = await system.spawn(crasher, name="crasher")
    ref.tell("boom")
    await crasher.stopped.wait()
    pattern = rf"^actor 'crasher#{int(ref.id)}' has stopped; str was not delivered"
    with pytest.raises(ActorStopped, match=pattern):
        ref.try_send("late")
    with pytest.raises(ActorStopped, match=pattern):
        ref.tell("late")
    with pytest.raises(ActorStopped, match=pattern):
        await ref.send("late")
    with pytest.raises(ActorStopped, match=pattern):
        await ref.ask("late")
    assert [letter.message for letter in system.dead_letters.recent] == ["boom"]  # not the rest


async def test_asks_waiting_in_the_mailbox_fail_with_actor_stopped(system: ActorSystem) -> None:
    crasher = Crasher()
    ref = await system.spawn(crasher)
    ref.tell("gated-boom")
    await crasher.entered.wait()
    asks = [asyncio.ensure_future(ref.ask(f"q{i}")) for i in range(3)]
    await asyncio.sleep(0)  # one turn: each ask enqueues its question
    mailbox = ref.mailbox
    assert len(mailbox) == 3
    crasher.gate.set()
    results = await asyncio.gather(*asks, return_exceptions=True)
    assert all(isinstance(result, ActorStopped) for result in results), results
    assert [str(result) for result in results] == [
        f"actor 'Crasher#{int(ref.id)}' has stopped (actor crashed); str was not delivered. "
        "Stopping is final: spawn a new actor."
    ] * 3
    assert [letter.message for letter in system.dead_letters.recent] == [
        "gated-boom",
        "q0",
        "q1",
        "q2",
    ]


@pytest.mark.parametrize("boom", ["boom", "slow-boom"])
async def test_an_ask_whose_handler_raises_reraises_at_the_asker_and_stops_the_actor(
    system: ActorSystem, caplog: pytest.LogCaptureFixture, boom: str
) -> None:
    crasher = Crasher()
    ref = await system.spawn(crasher)
    with pytest.raises(Boom, match=r"^(fast|slow)$"):
        await ref.ask(boom)
    assert not ref.is_alive
    await crasher.stopped.wait()
    assert crasher.log == ["stop"]
    assert len(_crash_records(caplog)) == 1
    with pytest.raises(ActorStopped):
        await ref.ask("again")


async def test_a_crash_does_not_reach_the_sender_of_a_tell(system: ActorSystem) -> None:
    crasher = Crasher()
    ref = await system.spawn(crasher)
    ref.tell("boom")  # returns: the failure is the actor's, logged and dead-lettered
    await ref.send("queued")
    await crasher.stopped.wait()
    assert [letter.message for letter in system.dead_letters.recent] == ["boom", "queued"]


class StopsBadly(Actor[str]):
    def __init__(self) -> None:
        self.stops = 0

    async def handle(self, msg: str) -> None:
        raise Boom(msg)

    async def on_stop(self) -> None:
        self.stops += 1


async def test_on_stop_runs_exactly_once_after_a_crash(system: ActorSystem) -> None:
    actor = StopsBadly()
    ref = await system.spawn(actor)
    ref.tell("first")
    ref.tell("second")
    await system.stop(ref)
    await system.shutdown()
    assert actor.stops == 1
    assert [letter.message for letter in system.dead_letters.recent] == ["first", "second"]


# ------------------------------------------------------------------ the runtime's names


class KeepsItsOwn(Actor[str]):
    """Assigns every name the runtime puts on an actor, as a new user would."""

    def __init__(self, system: ActorSystem) -> None:
        self.system = system
        self.ref = "my own ref"
        self.children = ["my", "own"]
        self.timers = {"my": "timers"}
        self.watch = "my watch"  # pyright: ignore[reportAttributeAccessIssue]
        self.unwatch = "my unwatch"  # pyright: ignore[reportAttributeAccessIssue]
        self.on_terminated = "my hook"  # pyright: ignore[reportAttributeAccessIssue]
        self.spawn_calls = 0

    async def on_start(self) -> None:
        await self.spawn(Recorder([]), name="kid")

    async def handle(self, msg: str) -> object:
        return {
            "system": self.system,
            "ref": self.ref,
            "children": self.children,
            "timers": self.timers,
            "watch": self.watch,
        }[msg]


async def test_a_subclass_may_assign_the_runtime_names_and_reads_back_its_own(
    system: ActorSystem,
) -> None:
    actor = KeepsItsOwn(system)
    ref = await system.spawn(actor, name="own")
    assert await ref.ask("system") is system
    assert await ref.ask("ref") == "my own ref"
    assert await ref.ask("children") == ["my", "own"]
    assert await ref.ask("timers") == {"my": "timers"}
    assert await ref.ask("watch") == "my watch"
    # The runtime's own bookkeeping does not read those names: its child stops before it.
    kid = system.lookup("own/kid")
    assert kid is not None
    await system.stop(ref)
    assert not kid.is_alive


def test_a_slotted_subclass_gets_an_error_naming_the_rule() -> None:
    class Slotted(Actor[int]):
        __slots__ = ()

        def __init__(self, system: object) -> None:
            self.system = system

        async def handle(self, msg: int) -> None:
            pass

    with pytest.raises(
        AttributeError,
        match=r"^test_a_slotted.*Slotted\.system is provided by the runtime .* use another "
        r"name, e\.g\. self\._system$",
    ):
        Slotted(object())
