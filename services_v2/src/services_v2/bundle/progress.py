"""A hand-rolled progress bar on a terminal stream (stderr), drawn only when it is a TTY."""

from __future__ import annotations

from typing import TextIO, final

__all__ = ["ProgressBar"]

_WIDTH = 30


@final
class ProgressBar:
    """``bar(done)`` redraws ``label [#####.....]  42%  84,000/200,000`` in place.

    Draws nothing unless ``enabled``; redraws only when the whole percentage changes, so
    calling it often is cheap. :meth:`close` erases the line.
    """

    __slots__ = ("_enabled", "_label", "_last", "_stream", "_total")

    def __init__(self, total: int, stream: TextIO, *, label: str, enabled: bool) -> None:
        self._total = max(total, 1)
        self._stream = stream
        self._label = label
        self._enabled = enabled
        self._last = -1

    def __call__(self, done: int) -> None:
        if not self._enabled:
            return
        percent = min(100, done * 100 // self._total)
        if percent == self._last:
            return
        self._last = percent
        filled = percent * _WIDTH // 100
        bar = "#" * filled + "." * (_WIDTH - filled)
        self._stream.write(
            f"\r{self._label} [{bar}] {percent:3d}%  {min(done, self._total):,}/{self._total:,}"
        )
        self._stream.flush()

    def close(self) -> None:
        """Erase the bar's line (if anything was drawn)."""
        if self._enabled and self._last >= 0:
            self._stream.write("\r\x1b[K")
            self._stream.flush()
