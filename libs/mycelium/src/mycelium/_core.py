"""``MailboxCore``: the fields and the ``try_send`` fast path of a local actor ref.

The send fast path is the hottest code of the runtime, so it exists twice with one behaviour:
in C (``_speedups.c``, built when a compiler is available) and here in Python, the reference and
the fallback. ``MailboxCore`` is the C one when it is importable, unless the environment variable
``MYCELIUM_PURE_PYTHON`` is set to a non-empty value; ``SPEEDUPS`` tells which one is in use.

The fast path is taken only when the message's exact class is in ``accepts`` and
``len(_queue) < _limit``; everything else goes to the subclass's ``put_nowait``, which performs
the full checks and raises the right error.

Invariants (kept by the subclasses that assign the fields): ``_limit > 0`` implies ``_queue`` is a
``collections.deque``; ``scheduled`` is True whenever the queue is non-empty.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Awaitable, Generator
from typing import TYPE_CHECKING, Any, final

__all__ = ["READY", "SPEEDUPS", "MailboxCore", "PyMailboxCore"]


@final
class _Ready:
    """An awaitable that is already complete: ``await`` gives ``None`` at once. Shared."""

    __slots__ = ()

    def __await__(self) -> Generator[Any, None, None]:
        return iter(())  # pyright: ignore[reportReturnType]  # an exhausted iterator suffices

    def __repr__(self) -> str:
        return "<ready>"


PY_READY = _Ready()


class PyMailboxCore:
    """The pure-Python ``MailboxCore`` (the reference behaviour)."""

    __slots__ = ("_limit", "_queue", "accepts", "dispatcher", "scheduled")

    _queue: deque[Any] | tuple[()]
    _limit: int
    accepts: set[type]
    dispatcher: Any
    scheduled: bool

    def try_send(self, msg: Any, /) -> None:
        """Deliver ``msg`` without waiting (see ``LocalActorRef.try_send``)."""
        queue = self._queue
        if type(msg) in self.accepts and len(queue) < self._limit:
            queue.append(msg)  # type: ignore[union-attr]  # _limit > 0 implies a deque
            if not self.scheduled:
                self.dispatcher.schedule(self)
            return
        self.put_nowait(msg)

    tell = try_send

    def send(self, msg: Any, /) -> Awaitable[None]:
        """Deliver ``msg`` now if there is room (see ``LocalActorRef.send``)."""
        queue = self._queue
        if type(msg) in self.accepts and len(queue) < self._limit:
            queue.append(msg)  # type: ignore[union-attr]  # _limit > 0 implies a deque
            if not self.scheduled:
                self.dispatcher.schedule(self)
            # A completed future of the loop: awaiting it is cheaper than any Python __await__.
            completed: Awaitable[None] = self.dispatcher.completed
            return completed
        return self._send_slow(msg)

    def put_nowait(self, msg: Any, /) -> None:
        """The slow path of ``try_send``; implemented by the subclass."""
        raise NotImplementedError

    def _send_slow(self, msg: Any, /) -> Awaitable[None]:
        """The slow path of ``send``; implemented by the subclass."""
        raise NotImplementedError


if TYPE_CHECKING:
    MailboxCore = PyMailboxCore
    READY: Awaitable[None] = PY_READY
    SPEEDUPS: bool
elif os.environ.get("MYCELIUM_PURE_PYTHON"):
    MailboxCore, READY, SPEEDUPS = PyMailboxCore, PY_READY, False
else:
    try:
        from ._speedups import READY, MailboxCore
    except ImportError:  # no compiler when the package was built: the Python path is used
        MailboxCore, READY, SPEEDUPS = PyMailboxCore, PY_READY, False
    else:
        SPEEDUPS = True
