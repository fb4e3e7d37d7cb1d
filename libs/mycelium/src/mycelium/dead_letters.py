"""``DeadLetters``: the system's record of messages accepted but never handled.

A message becomes a dead letter when its actor stops before handling it: a handler crash leaves
the rest of the mailbox undelivered, and a forced shutdown (an actor stuck past the deadline)
abandons what is queued. Each one is counted; the last few are kept for inspection. Nothing that
a send accepted disappears without being handled or counted here.
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
    """Why it was not handled, e.g. ``"actor crashed"``."""


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

    def record(self, actor: str, message: object, reason: str) -> None:
        """Count one dead letter and remember it."""
        self.count += 1
        self._recent.append(DeadLetter(actor, message, reason))

    def __len__(self) -> int:
        return self.count

    def __repr__(self) -> str:
        return f"<DeadLetters count={self.count}>"
