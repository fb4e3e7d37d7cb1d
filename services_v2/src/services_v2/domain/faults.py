"""Injected faults (``mycelium-bundle --faults RATE``): which messages are made to fail.

A :class:`FaultPlan` is a rate and a seed; each actor that injects faults draws from a
:class:`FaultStream` of its own, seeded with ``(seed, name)``, once per message in the order it
receives them: a draw below the rate fails that message (the actor raises
:class:`InjectedFault` before touching any state). The draws depend on nothing but the seed,
the name and the order of the messages, so the same seed fails the same messages, and the
sequential oracle can remove exactly those (``services_v2.layouts.sequential``).
"""

from __future__ import annotations

import math
import random
from typing import Final, final

__all__ = ["MARKET_STREAM", "SIGNAL_STREAM", "FaultPlan", "FaultStream", "InjectedFault"]

MARKET_STREAM: Final = "market-data"
"""The name the market-data actor draws its faults under (whatever its name in the bundle)."""

SIGNAL_STREAM: Final = "signal-generator"
"""The name the signal generator draws its faults under."""


class InjectedFault(Exception):
    """An error raised on purpose by ``--faults``; never a bug."""


@final
class FaultStream:
    """Which of one actor's messages fail, drawn in the order they arrive.

    ``seen``: draws made (messages seen); ``injected``: those that failed.
    """

    __slots__ = ("_draw", "injected", "rate", "seen")

    def __init__(self, rate: float, seed: int, name: str) -> None:
        self.rate = rate
        self._draw = random.Random(f"{seed}/{name}").random
        self.seen = 0
        self.injected = 0

    def fails(self) -> bool:
        """Draw for the next message: True if it is to fail."""
        self.seen += 1
        if self._draw() < self.rate:
            self.injected += 1
            return True
        return False


@final
class FaultPlan:
    """The fault rate (a fraction, 0 to 1) and seed; ``stream(name)`` gives each actor its own
    draws.

    Raises:
        TypeError: ``rate`` is not a number, or ``seed`` not an int.
        ValueError: ``rate`` is not between 0 and 1 (NaN included).
    """

    __slots__ = ("rate", "seed")

    def __init__(self, rate: float, seed: int) -> None:
        if isinstance(rate, bool) or not isinstance(rate, int | float):  # pyright: ignore[reportUnnecessaryIsInstance]
            raise TypeError(f"the fault rate must be a number, got {type(rate).__name__}")
        if math.isnan(rate) or not 0 <= rate <= 1:
            raise ValueError(f"the fault rate must be between 0 and 1, got {rate!r}")
        if isinstance(seed, bool) or not isinstance(seed, int):  # pyright: ignore[reportUnnecessaryIsInstance]
            raise TypeError(f"the fault seed must be an int, got {type(seed).__name__}")
        self.rate = float(rate)
        self.seed = seed

    def stream(self, name: str) -> FaultStream:
        """A fresh stream of draws for the actor called ``name``."""
        return FaultStream(self.rate, self.seed, name)

    def as_args(self) -> dict[str, object]:
        """The plan as a bundle config table (``faults = { rate = ..., seed = ... }``)."""
        return {"rate": self.rate, "seed": self.seed}
