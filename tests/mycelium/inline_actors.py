"""Actors and waits shared by the inline-run tests (test_inline.py, test_inline_review.py)."""

from __future__ import annotations

from mycelium import Actor, ActorSystem

__all__ = ["Fails", "quiet"]


class Fails(Actor[int]):
    def __init__(self) -> None:
        self.seen: list[int] = []

    async def handle(self, msg: int) -> int:
        self.seen.append(msg)
        if msg < 0:
            raise ValueError(f"boom {msg}")
        return msg


async def quiet(system: ActorSystem) -> None:
    """Wait until no actor of ``system`` has mail or a handler in progress."""
    dispatcher = system._dispatcher  # pyright: ignore[reportPrivateUsage]
    assert dispatcher is not None
    assert await dispatcher.quiesce(5.0)
