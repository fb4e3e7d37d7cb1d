"""``Timers``: messages an actor sends itself later, or every so often (``self.timers``).

::

    class Quoter(Actor[Tick | Quote]):
        async def on_start(self) -> None:
            self.timers.send_every(1.0, Tick(), key="tick")

Delivery: a timer's message is handled by ``handle``, in order with the actor's other
messages, one at a time. A timer never has more than one message pending: ``send_every`` skips
a tick while its previous one is still unhandled, and its deadlines stay on the grid of the
first one (``start + n * interval``), so it does not drift. Timer messages take no room in the
mailbox (they are not refused when it is full, and senders do not lose room to them), and they
are not counted in ``handled``.

Keys: starting a timer under a key in use replaces that timer; the replaced or cancelled
timer's message is never handled, even if it was already in the mailbox. A key stays in use
until its message is handled (a one-shot key is free again as its handler starts, so a handler
may re-arm it); ``key=None`` gets a fresh key, which the call returns.

Cancellation: ``cancel(key)``, ``cancel_all()``, and automatically when the actor stops (first
thing, at a graceful stop: a queued timer message is then dropped, not a dead letter, since no
one sent it) and when it restarts (the new instance starts with no timers). An upgrade keeps
them. Threads: loop-affine, like the actor.

This module is low in the runtime: it knows its actor's cell only as a ``TimerTarget``.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Coroutine, Hashable
from typing import Any, Protocol, final

from ._behaviour import Behaviour
from ._runtime import Runtime
from ._signals import Signal, SignalTarget, uncounted
from .errors import ActorStopped

__all__ = ["TimerTarget", "Timers"]


class TimerTarget(SignalTarget, Protocol):
    """What timers need of their actor's cell (a ``LocalActorRef``)."""

    @property
    def label(self) -> str: ...

    @property
    def is_alive(self) -> bool:
        """True while the actor is RUNNING (no stop has begun)."""
        ...

    @property
    def runtime(self) -> Runtime[Any]: ...

    @property
    def actor(self) -> Behaviour[Any]: ...

    @property
    def accepts(self) -> set[type]: ...

    def admit(self, msg: object) -> None:
        """Raise ``MessageTypeError`` unless ``msg`` is of the actor's declared type."""
        ...

    def post_signal(self, signal: Signal, *, front: bool = False) -> None:
        """Queue one of the runtime's own items in the actor's mailbox."""
        ...


@final
class TimerKey:
    """The key of a timer started with ``key=None``: unique, hashable, printable."""

    __slots__ = ("number",)

    _count = 0

    def __init__(self) -> None:
        TimerKey._count += 1
        self.number = TimerKey._count

    def __repr__(self) -> str:
        return f"TimerKey({self.number})"


def _seconds(name: str, value: float, *, zero_ok: bool) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):  # pyright: ignore[reportUnnecessaryIsInstance]
        raise TypeError(f"{name} must be a number of seconds, got {type(value).__name__}")
    if math.isnan(value) or math.isinf(value) or value < 0 or (value == 0 and not zero_ok):
        bound = ">= 0" if zero_ok else "> 0"
        raise ValueError(f"{name} must be a finite number of seconds {bound}, got {value!r}")
    return float(value)


@final
class Timers:
    """The timers of one actor; see the module docstring. Get it as ``self.timers``."""

    __slots__ = ("_cell", "_timers")

    def __init__(self, cell: TimerTarget) -> None:
        self._cell = cell
        # Invariant: the live timers by key; a timer leaves when cancelled, replaced, or (a
        # one-shot) when its message is taken for handling.
        self._timers: dict[Hashable, _Timer] = {}

    def send_after(self, delay: float, msg: object, *, key: Hashable | None = None) -> Hashable:
        """Have ``msg`` handled once, ``delay`` seconds from now; returns the key.

        Raises:
            MessageTypeError: ``msg`` is not of the actor's message type.
            ValueError: ``delay`` is negative or not finite.
            ActorStopped: the actor is stopping or stopped.
        """
        return self._start(_seconds("delay", delay, zero_ok=True), None, msg, key)

    def send_every(self, interval: float, msg: object, *, key: Hashable | None = None) -> Hashable:
        """Have ``msg`` handled every ``interval`` seconds, the first time ``interval`` from
        now, without drift, skipping a tick while the previous one is unhandled; returns
        the key.

        Raises:
            MessageTypeError: ``msg`` is not of the actor's message type.
            ValueError: ``interval`` is not a finite number > 0.
            ActorStopped: the actor is stopping or stopped.
        """
        seconds = _seconds("interval", interval, zero_ok=False)
        return self._start(seconds, seconds, msg, key)

    def cancel(self, key: Hashable) -> bool:
        """Cancel the timer under ``key``; its message is not handled, even if queued.
        False if no timer had that key."""
        timer = self._timers.pop(key, None)
        if timer is None:
            return False
        timer.cancel()
        return True

    def cancel_all(self) -> None:
        """Cancel every timer of this actor (see ``cancel``)."""
        timers, self._timers = self._timers, {}
        for timer in timers.values():
            timer.cancel()

    def next_deadline(self, key: Hashable) -> float | None:
        """When the timer under ``key`` is next due, on the loop's clock (``loop.time()``);
        ``None`` if no timer has that key (or a one-shot has fired)."""
        timer = self._timers.get(key)
        return None if timer is None or timer.handle is None else timer.deadline

    def __contains__(self, key: object) -> bool:
        return key in self._timers

    def __len__(self) -> int:
        return len(self._timers)

    def __repr__(self) -> str:
        return f"<Timers of {self._cell.label}: {list(self._timers)}>"

    def _start(
        self, delay: float, interval: float | None, msg: object, key: Hashable | None
    ) -> Hashable:
        cell = self._cell
        if not cell.is_alive:
            raise ActorStopped(cell.label, msg, reason="timers do not start once a stop has begun")
        if type(msg) not in cell.accepts:
            cell.admit(msg)
        if key is None:
            key = TimerKey()
        old = self._timers.pop(key, None)
        if old is not None:
            old.cancel()
        loop = cell.runtime.loop
        timer = _Timer(self, key, msg, interval, loop.time() + delay)
        self._timers[key] = timer
        timer.handle = loop.call_at(timer.deadline, timer.fire)
        return key

    def _taken(self, timer: _Timer) -> bool:
        """``timer``'s message reached the handler: True if it is still live (then a one-shot
        frees its key)."""
        if timer.cancelled:
            return False
        if timer.interval is None:
            del self._timers[timer.key]
            timer.cancelled = True
        return True


@final
class _Timer(Signal):
    """One timer; it is also its own mailbox item (it never has more than one pending).

    Invariant: ``pending`` is True iff this timer is in the mailbox; ``handle`` is the loop
    timer of its next deadline (None once cancelled or fired for good).
    """

    __slots__ = ("cancelled", "deadline", "handle", "interval", "key", "msg", "owner", "pending")

    def __init__(
        self,
        owner: Timers,
        key: Hashable,
        msg: object,
        interval: float | None,
        deadline: float,
    ) -> None:
        self.owner = owner
        self.key = key
        self.msg = msg
        self.interval = interval
        self.deadline = deadline
        self.handle: asyncio.TimerHandle | None = None
        self.pending = False
        self.cancelled = False

    @property
    def message(self) -> object:
        return self.msg

    def fire(self) -> None:
        self.handle = None
        if self.cancelled:
            return
        cell = self.owner._cell  # pyright: ignore[reportPrivateUsage]
        if not cell.is_alive:
            return
        if not self.pending:  # else: skip this tick, the last one is still unhandled
            self.pending = True
            cell.post_signal(self)
        interval = self.interval
        if interval is not None:
            loop = cell.runtime.loop
            deadline = self.deadline + interval
            now = loop.time()
            if deadline <= now:  # late by more than an interval: back on the grid
                deadline += (math.floor((now - deadline) / interval) + 1) * interval
            self.deadline = deadline
            self.handle = loop.call_at(deadline, self.fire)

    def cancel(self) -> None:
        self.cancelled = True
        if self.handle is not None:
            self.handle.cancel()
            self.handle = None

    def open(self) -> Coroutine[Any, Any, Any] | None:
        self.pending = False
        if not self.owner._taken(self):  # pyright: ignore[reportPrivateUsage]
            return None
        cell = self.owner._cell  # pyright: ignore[reportPrivateUsage]
        return uncounted(cell, cell.actor.handle(self.msg))

    def drop(self) -> None:
        self.pending = False
