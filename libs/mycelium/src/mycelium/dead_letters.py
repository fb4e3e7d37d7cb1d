"""``DeadLetters``: the system's record of messages accepted but never handled.

A message becomes a dead letter when its handler fails or its actor stops before handling it:
the message whose handler raised (its reason names the exception, ``error`` holds it), the rest
of that actor's mailbox, and, at a forced stop (an actor still busy at its deadline), the
message in progress and everything queued. Each one is counted once; the last few are kept for
inspection. Invariant, per actor: ``mailbox.handled`` plus its dead letters is exactly the
number of messages accepted (nothing that a call accepted disappears uncounted, nothing is
counted twice); once an actor has stopped, no more of its dead letters appear.
"""

from __future__ import annotations

from collections import deque
from typing import NamedTuple, final

__all__ = ["DeadLetter", "DeadLetters"]


class DeadLetter(NamedTuple):
    """One message that was accepted but never handled."""

    actor: str
    """Label (``name#id``) of the actor it was sent to."""
    message: object
    """The message itself."""
    reason: str
    """Why it was not handled, e.g. ``"handler raised ValueError: boom"`` or ``"actor crashed"``."""
    error: BaseException | None = None
    """The exception its handler raised (or the cancellation), when that is why; else None."""


@final
class DeadLetters:
    """Counts dead letters and keeps the most recent ones.

    Invariant: ``count`` is the number of dead letters ever recorded; ``recent`` holds the last
    ``min(count, history)`` of them, oldest first.
    """

    __slots__ = ("_recent", "count")

    def __init__(self, history: int = 16) -> None:
        if history < 0:
            raise ValueError(f"history must be >= 0, got {history}")
        self.count: int = 0
        self._recent: deque[DeadLetter] = deque(maxlen=history)

    @property
    def recent(self) -> tuple[DeadLetter, ...]:
        """The most recent dead letters, oldest first."""
        return tuple(self._recent)

    def record(
        self, actor: str, message: object, reason: str, error: BaseException | None = None
    ) -> None:
        """Count one dead letter and remember it."""
        self.count += 1
        self._recent.append(DeadLetter(actor, message, reason, error))

    def __len__(self) -> int:
        return self.count

    def __repr__(self) -> str:
        return f"<DeadLetters count={self.count}>"
