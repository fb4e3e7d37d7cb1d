"""Small actors for the bundle tests, imported by factory path (also in child processes)."""

from __future__ import annotations

import msgspec

from mycelium import Actor, ActorRef


class Tally(msgspec.Struct, frozen=True):
    """What a test actor did."""

    received: int
    total: int
    pid: int


class Sink(Actor[int]):
    """Adds up what it receives."""

    def __init__(self, scale: int = 1) -> None:
        self.scale = scale
        self.received = 0
        self.total = 0

    async def handle(self, msg: int) -> int:
        self.received += 1
        self.total += msg * self.scale
        return self.total

    def report(self) -> Tally:
        import os

        return Tally(self.received, self.total, os.getpid())


class Relay(Actor[int]):
    """Sends each message on to ``target``, plus ``add``."""

    def __init__(self, target: ActorRef[int], add: int = 0) -> None:
        self.target = target
        self.add = add
        self.received = 0

    async def handle(self, msg: int) -> None:
        self.received += 1
        await self.target.send(msg + self.add)

    def report(self) -> Tally:
        import os

        return Tally(self.received, 0, os.getpid())


class Tee(Actor[int]):
    """Sends each message to both ``left`` and ``right``."""

    def __init__(self, left: ActorRef[int], right: ActorRef[int]) -> None:
        self.left = left
        self.right = right

    async def handle(self, msg: int) -> None:
        await self.left.send(msg)
        await self.right.send(msg)


def make_sink(scale: int = 1) -> Sink:
    """A function factory."""
    return Sink(scale)


def not_an_actor() -> int:
    """Declares that it returns no Actor."""
    return 3


def lies() -> Sink:
    """Declares a Sink, returns something else."""
    return 3  # type: ignore[return-value]  # pyright: ignore[reportReturnType]


def unannotated():  # pyright: ignore[reportUnknownParameterType]
    """No return annotation."""
    return Sink()


class StartFails(Actor[int]):
    """``on_start`` raises."""

    async def on_start(self) -> None:
        raise RuntimeError("no database")

    async def handle(self, msg: int) -> None:
        pass


NOT_CALLABLE = 42


class Left(msgspec.Struct):
    """One of two untagged Structs: msgspec cannot tell them apart when decoding."""

    x: int


class Right(msgspec.Struct):
    """The other."""

    y: int


class UntaggedSink(Actor[Left | Right]):
    """Handles messages that cannot cross a process boundary (an untagged union)."""

    async def handle(self, msg: Left | Right) -> None:
        pass


def make_relay(target: ActorRef[int]) -> Relay:
    """A function factory with a wire."""
    return Relay(target)


class Flaky(Actor[int]):
    """Adds up what it receives; raises on a negative message (before counting it)."""

    def __init__(self, received: int = 0, total: int = 0) -> None:
        self.received = received
        self.total = total

    async def handle(self, msg: int) -> None:
        if msg < 0:
            raise ValueError(f"refused {msg}")
        self.received += 1
        self.total += msg

    def report(self) -> Tally:
        import os

        return Tally(self.received, self.total, os.getpid())


class DurableFlaky(Flaky):
    """A ``Flaky`` whose restart hands its tally on to its successor."""

    def successor(self) -> Actor[int]:
        return DurableFlaky(self.received, self.total)
