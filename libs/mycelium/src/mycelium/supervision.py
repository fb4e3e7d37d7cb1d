"""``Supervision`` and ``Backoff``: what happens to an actor whose handler raised.

``spawn(..., supervision=...)`` picks one of three answers, decided again at every failure:

* ``Supervision.stop()`` (the default): the actor stops for good. The rest of its mailbox
  becomes dead letters, ``on_stop`` runs, its watchers get ``Terminated(ref, reason=exc)``.
* ``Supervision.resume()``: the same instance keeps its state and goes on with the next
  message. For stateful services (a market-data cache) where one bad message must not cost
  the state.
* ``Supervision.restart(max_restarts=3, within=5.0, backoff=None)``: a fresh instance from the
  actor's factory replaces the failed one behind the same ref, mailbox and name; nothing queued
  is lost. More than ``max_restarts`` failures within ``within`` seconds (a failure of
  ``on_start`` during a restart counts too) and the actor stops for good, with its failure
  escalated to its parent.

Under each of them the message whose handler raised is recorded in ``system.dead_letters`` with
a reason naming the exception, and an ``ask`` for it gets the exception. Only ``Exception``
subclasses are supervised: a ``CancelledError`` or a ``KeyboardInterrupt`` stops the actor.

``RestartHistory`` is the restart decision itself, a pure function of the failure times (the
runtime passes ``loop.time()``; tests pass their own clock).
"""

from __future__ import annotations

import math
import random
from collections import deque
from collections.abc import Callable
from typing import Final, Literal, final

__all__ = ["Backoff", "RestartHistory", "Supervision"]

SupervisionKind = Literal["stop", "resume", "restart"]

DEFAULT_MAX_RESTARTS: Final = 3
DEFAULT_WITHIN: Final = 5.0


def _check_seconds(name: str, value: float, *, positive: bool) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):  # pyright: ignore[reportUnnecessaryIsInstance]
        raise TypeError(f"{name} must be a number of seconds, got {type(value).__name__}")
    if math.isnan(value) or math.isinf(value) or value < 0 or (positive and value == 0):
        bound = "> 0" if positive else ">= 0"
        raise ValueError(f"{name} must be a finite number {bound}, got {value!r}")
    return float(value)


@final
class Backoff:
    """Exponential delay between the restarts of one actor.

    The n-th restart in a row waits ``min * 2**(n-1)`` seconds, capped at ``max``, times a
    random factor in ``[1 - jitter, 1 + jitter]`` (so the first restart waits ``min``, give or
    take the jitter). The count starts again after ``(min + max) / 2`` seconds without a
    failure (``reset_after``). During the wait the mailbox keeps accepting messages up to its
    capacity: senders feel backpressure as usual, and nothing queued is lost.
    """

    __slots__ = ("jitter", "max", "min")

    def __init__(self, min: float = 0.1, max: float = 10.0, jitter: float = 0.2) -> None:  # noqa: A002 - the contract's names
        low = _check_seconds("Backoff min", min, positive=False)
        high = _check_seconds("Backoff max", max, positive=False)
        if high < low:
            raise ValueError(f"Backoff max must be >= min, got min={min!r}, max={max!r}")
        if isinstance(jitter, bool) or not isinstance(jitter, int | float):  # pyright: ignore[reportUnnecessaryIsInstance]
            raise TypeError(f"Backoff jitter must be a number, got {type(jitter).__name__}")
        if not 0 <= jitter <= 1:
            raise ValueError(f"Backoff jitter must be between 0 and 1, got {jitter!r}")
        self.min: float = low
        self.max: float = high
        self.jitter: float = float(jitter)

    @property
    def reset_after(self) -> float:
        """Seconds without a failure after which the next restart waits ``min`` again."""
        return (self.min + self.max) / 2

    def delay(self, n: int, uniform: Callable[[float, float], float] = random.uniform) -> float:
        """The wait before the ``n``-th restart in a row (``n >= 1``), in seconds."""
        if n < 1:
            raise ValueError(f"n must be >= 1, got {n}")
        base = self.max if n > 64 else min(self.min * 2 ** (n - 1), self.max)
        if not self.jitter:
            return base
        return base * uniform(1 - self.jitter, 1 + self.jitter)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Backoff):
            return NotImplemented
        return (self.min, self.max, self.jitter) == (other.min, other.max, other.jitter)

    def __hash__(self) -> int:
        return hash((self.min, self.max, self.jitter))

    def __repr__(self) -> str:
        return f"Backoff(min={self.min!r}, max={self.max!r}, jitter={self.jitter!r})"


@final
class Supervision:
    """What happens to an actor whose handler raised: build one with ``stop()``, ``resume()``
    or ``restart(...)``. Immutable; one value may be shared by any number of actors."""

    __slots__ = ("backoff", "kind", "max_restarts", "within")

    def __init__(
        self,
        kind: SupervisionKind,
        *,
        max_restarts: int = DEFAULT_MAX_RESTARTS,
        within: float = DEFAULT_WITHIN,
        backoff: Backoff | None = None,
    ) -> None:
        if kind not in ("stop", "resume", "restart"):
            raise ValueError(f"supervision must be 'stop', 'resume' or 'restart', got {kind!r}")
        if isinstance(max_restarts, bool) or not isinstance(max_restarts, int):  # pyright: ignore[reportUnnecessaryIsInstance]
            raise TypeError(f"max_restarts must be an int, got {type(max_restarts).__name__}")
        if max_restarts < 0:
            raise ValueError(f"max_restarts must be >= 0, got {max_restarts}")
        within = _check_seconds("within", within, positive=True)
        if backoff is not None and not isinstance(backoff, Backoff):  # pyright: ignore[reportUnnecessaryIsInstance]
            raise TypeError(f"backoff must be a Backoff or None, got {type(backoff).__name__}")
        self.kind: SupervisionKind = kind
        self.max_restarts: int = max_restarts
        self.within: float = within
        self.backoff: Backoff | None = backoff

    @staticmethod
    def stop() -> Supervision:
        """A failure stops the actor for good (the default)."""
        return _STOP

    @staticmethod
    def resume() -> Supervision:
        """A failure skips the failing message; the same instance goes on, state intact."""
        return _RESUME

    @staticmethod
    def restart(
        *,
        max_restarts: int = DEFAULT_MAX_RESTARTS,
        within: float = DEFAULT_WITHIN,
        backoff: Backoff | None = None,
    ) -> Supervision:
        """A failure replaces the instance with a fresh one from the factory.

        More than ``max_restarts`` failures within ``within`` seconds stop the actor for good
        and escalate the last failure to its parent. ``backoff`` spaces the restarts out
        (``None``: restart at once).
        """
        return Supervision("restart", max_restarts=max_restarts, within=within, backoff=backoff)

    def history(self) -> RestartHistory:
        """A fresh restart history for one actor under this policy."""
        return RestartHistory(self.max_restarts, self.within, self.backoff)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Supervision):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def _key(self) -> tuple[object, ...]:
        if self.kind != "restart":
            return (self.kind,)
        return (self.kind, self.max_restarts, self.within, self.backoff)

    def __repr__(self) -> str:
        if self.kind != "restart":
            return f"Supervision.{self.kind}()"
        return (
            f"Supervision.restart(max_restarts={self.max_restarts}, within={self.within!r}, "
            f"backoff={self.backoff!r})"
        )


_STOP: Final = Supervision("stop")
_RESUME: Final = Supervision("resume")


@final
class RestartHistory:
    """The failures of one actor (or of a supervisor's children) and the restart decision.

    Invariant: ``_failures`` holds the times of the last ``max_restarts + 1`` failures at most;
    ``streak`` counts the restarts in a row since the last quiet period of ``reset_after``.
    """

    __slots__ = ("_failures", "_last", "backoff", "max_restarts", "streak", "within")

    def __init__(self, max_restarts: int, within: float, backoff: Backoff | None = None) -> None:
        self.max_restarts = max_restarts
        self.within = within
        self.backoff = backoff
        self._failures: deque[float] = deque(maxlen=max_restarts + 1)
        self._last: float | None = None
        self.streak = 0

    def failure(
        self, now: float, uniform: Callable[[float, float], float] = random.uniform
    ) -> float | None:
        """Record a failure at time ``now``: the delay before the restart, or ``None`` when
        this failure is one too many (more than ``max_restarts`` within ``within`` seconds)."""
        failures = self._failures
        failures.append(now)
        if len(failures) > self.max_restarts and now - failures[0] <= self.within:
            return None
        backoff = self.backoff
        if backoff is None:
            self._last = now
            return 0.0
        if self._last is not None and now - self._last >= backoff.reset_after:
            self.streak = 0
        self._last = now
        self.streak += 1
        return backoff.delay(self.streak, uniform)
