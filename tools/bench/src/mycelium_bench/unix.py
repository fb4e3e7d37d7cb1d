"""Phase 2 figures (issue 6): the Unix-socket transport's throughput and round trip.

THIS IS THE PLACE for ``unix_throughput_msgs_per_s`` and ``unix_rtt_ns``. The report asks
:func:`load_unix` for the transport's figures; until ``mycelium.transport.unix`` exists it gets
a one-line note instead, writes both keys as ``null`` and prints the note. When the transport
lands, :func:`load_unix` returns a :class:`UnixFigures` whose two coroutines each take one
sample (same protocol as ``figures.throughput_msgs_per_s`` and ``figures.ask_rtt_ns``, over the
socket), and the report fills the keys with no other change.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from typing import Any, final

from .workload import Tick

__all__ = ["UnixFigures", "load_unix"]

_MODULE = "mycelium.transport.unix"


@final
@dataclass(frozen=True, slots=True)
class UnixFigures:
    """One sample of each transport figure: msgs/s one way, and ns per request/reply."""

    throughput_msgs_per_s: Callable[[Sequence[Tick]], Coroutine[Any, Any, float]]
    rtt_ns: Callable[[Sequence[Tick]], Coroutine[Any, Any, float]]


def load_unix() -> UnixFigures | str:
    """The transport's figures, or a note saying why they are not measured."""
    try:
        importlib.import_module(_MODULE)
    except ModuleNotFoundError as exc:
        name = exc.name or ""
        if name and _MODULE.startswith(name):
            return f"unix_throughput_msgs_per_s, unix_rtt_ns: {_MODULE} is not there yet"
        raise
    return f"unix_throughput_msgs_per_s, unix_rtt_ns: {_MODULE} exists but is not wired here yet"
