"""A hand-rolled progress line on a terminal stream (stderr), drawn only when it is a TTY.

:class:`ProgressBar` draws ``label [#####.....]  42%  84,000/200,000`` (or, when the total is
not known, ``label  84,000``) with an optional detail after it; :class:`RunMeter` is what a
bundle run reports to: it adds the events/s since the run started and the hot-path p50 so far,
at most every :data:`REFRESH_S` seconds.
"""

from __future__ import annotations

from collections.abc import Callable
from time import perf_counter
from typing import Final, TextIO, final

from services_v2.latency.histogram import LatencyHistogram

__all__ = ["FIRST_S", "REFRESH_S", "ProgressBar", "RunMeter", "format_duration"]

_WIDTH = 30

REFRESH_S: Final = 0.25
"""How often the live figures are redrawn, at most, s."""

FIRST_S: Final = 0.05
"""When the live figures first appear, s after the run's start."""


def format_duration(ns: int | None) -> str:
    """``8.4 µs``, ``2.07 ms``, ``640 ns``; ``n/a`` for ``None``."""
    if ns is None:
        return "n/a"
    if ns < 1_000:
        return f"{ns} ns"
    if ns < 1_000_000:
        return f"{ns / 1_000:.1f} µs"
    return f"{ns / 1_000_000:.2f} ms"


@final
class ProgressBar:
    """``bar(done)`` redraws the line in place (see the module docstring).

    Draws nothing unless ``enabled``; redraws only when the whole percentage (or, with no
    total, the count) or the detail changes, so calling it often is cheap. :meth:`close`
    erases the line.
    """

    __slots__ = ("_detail", "_enabled", "_label", "_last", "_stream", "_total")

    def __init__(self, total: int | None, stream: TextIO, *, label: str, enabled: bool) -> None:
        self._total = None if total is None else max(total, 1)
        self._stream = stream
        self._label = label
        self._enabled = enabled
        self._last = -1
        self._detail = ""

    def __call__(self, done: int, detail: str = "") -> None:
        if not self._enabled:
            return
        total = self._total
        mark = done if total is None else min(100, done * 100 // total)
        if mark == self._last and detail == self._detail:
            return
        self._last = mark
        self._detail = detail
        suffix = f"  {detail}" if detail else ""
        if total is None:
            line = f"\r{self._label} {done:,}{suffix}\x1b[K"
        else:
            filled = mark * _WIDTH // 100
            bar = "#" * filled + "." * (_WIDTH - filled)
            line = f"\r{self._label} [{bar}] {mark:3d}%  {min(done, total):,}/{total:,}{suffix}"
        self._stream.write(line)
        self._stream.flush()

    def close(self) -> None:
        """Erase the bar's line (if anything was drawn)."""
        if self._enabled and self._last >= 0:
            self._stream.write("\r\x1b[K")
            self._stream.flush()


@final
class RunMeter:
    """Reports a run on a :class:`ProgressBar`: ``meter(done, latency)``.

    The detail is ``312,450 events/s · p50 5.2 µs``: events sent per second of wall time since
    the first call (the run's start), and the p50 of the hot-path samples so far (``n/a`` when
    there are none yet, or the probe is not in this process). The figures appear
    :data:`FIRST_S` s after the start, then refresh at most every :data:`REFRESH_S` s (the
    percentage still moves in between). ``clock`` is for tests.
    """

    __slots__ = ("_bar", "_clock", "_detail", "_next", "_started")

    def __init__(self, bar: ProgressBar, *, clock: Callable[[], float] = perf_counter) -> None:
        self._bar = bar
        self._clock = clock
        self._started: float | None = None
        self._next = 0.0
        self._detail = ""

    def __call__(self, done: int, latency: LatencyHistogram | None) -> None:
        now = self._clock()
        if self._started is None:
            self._started = now
            self._next = now + FIRST_S
        if now < self._next:
            self._bar(done, self._detail)
            return
        self._next = now + REFRESH_S
        elapsed = now - self._started
        rate = f"{done / elapsed:,.0f} events/s"
        p50 = latency.percentile(50) if latency is not None and latency.count else None
        self._detail = f"{rate} · p50 {format_duration(p50)}"
        self._bar(done, self._detail)

    def close(self) -> None:
        """Erase the line."""
        self._bar.close()
