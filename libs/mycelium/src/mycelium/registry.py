"""``Registry``: the actors of one system, by id (in spawn order) and by name.

The ``ActorSystem`` owns one. A cell enters it at spawn, before its ``on_start`` runs (so a
named actor is reachable by ``lookup`` from then on), and leaves it once it has stopped for good
(``forget``, which the lifecycle calls through the cell's ``Runtime``), or when a forced stop
lets go of an actor that would not end. While its ``on_start`` runs, a cell is also *starting*,
with the serial that code runs under (``dispatcher.ON_BEHALF``): the dispatcher reads that to
tell an actor's own code from anyone else's.

Invariant: ``cells`` holds every cell not yet forgotten, in spawn order; ``names`` maps the name
of each named one to it (a name is held by one live actor at a time); ``starting`` holds only
ids of cells in ``cells``. Loop-affine, like its system.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, final

from .errors import NameTaken
from .local_ref import LocalActorRef

__all__ = ["Registry"]

Cell = LocalActorRef[Any]


@final
class Registry:
    """The live actors of one system (see the module docstring)."""

    __slots__ = ("_cells", "_names", "starting")

    def __init__(self) -> None:
        self._cells: dict[int, Cell] = {}
        self._names: dict[str, Cell] = {}
        # The ids of actors whose on_start is running, each with its code's ON_BEHALF serial
        # (never abandoned meanwhile: their stop, if one is asked for, runs once on_start has
        # returned).
        self.starting: dict[int, int] = {}

    def check_name(self, name: str | None) -> None:
        """Raise ``NameTaken`` if a live actor has ``name``."""
        if name is not None and name in self._names:
            raise NameTaken(name)

    def add(self, cell: Cell) -> None:
        """Register a new cell (its name must be free: see ``check_name``)."""
        self._cells[cell._id] = cell  # pyright: ignore[reportPrivateUsage]
        name = cell.name
        if name is not None:
            self._names[name] = cell

    def forget(self, cell: Cell) -> None:
        """``cell`` has stopped for good (or is let go): it leaves, and frees its name."""
        self._cells.pop(cell._id, None)  # pyright: ignore[reportPrivateUsage]
        self.starting.pop(cell._id, None)  # pyright: ignore[reportPrivateUsage]
        name = cell.name
        if name is not None and self._names.get(name) is cell:
            del self._names[name]

    def named(self, name: str) -> Cell | None:
        """The live actor called ``name``, if any."""
        return self._names.get(name)

    def __iter__(self) -> Iterator[Cell]:
        """The live cells, in spawn order."""
        return iter(self._cells.values())

    def newest_first(self) -> list[Cell]:
        """The live cells, newest first (the order a shutdown stops them in)."""
        return list(reversed(self._cells.values()))

    def __len__(self) -> int:
        return len(self._cells)

    def __repr__(self) -> str:
        return f"<Registry actors={len(self._cells)} named={len(self._names)}>"
