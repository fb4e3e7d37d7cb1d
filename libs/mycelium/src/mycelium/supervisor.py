"""``Supervisor`` and ``Child``: a supervision tree in the manner of Erlang/OTP.

::

    pipeline = await system.spawn(
        Supervisor(
            [Child("market", MarketData), Child("signals", SignalGenerator)],
            strategy="rest_for_one",
        ),
        name="pipeline",
    )
    market = system.lookup("pipeline/market")

A ``Supervisor`` is a ready-made actor (it handles no messages of its own) that starts its
children in order when it is spawned: ``spawn`` returns once every child has started; if a
child's first ``on_start`` raises, the children already started are stopped, newest first,
and ``spawn`` raises. Children are named ``"<supervisor>/<child>"``.

When a child fails (its handler raised) or a ``permanent`` child stops itself, the supervisor
decides, in its own turn (one decision at a time):

* restart types: ``"permanent"`` children are restarted after a failure and after stopping
  themselves; ``"transient"`` ones only after a failure; ``"temporary"`` ones never (they
  stop for good). A child stopped by anyone else (``system.stop``, shutdown) is never
  restarted: stopping is final.
* strategies: ``"one_for_one"`` restarts the child alone; ``"one_for_all"`` restarts every
  child; ``"rest_for_one"`` restarts the child and those started after it. The siblings
  concerned are first brought to a message boundary (a handler in progress finishes) and
  stopped newest first (``on_stop``), then started again in start order (``on_start``);
  temporary siblings are stopped for good instead.
* a restart keeps the child's ref, id, name and mailbox: nothing queued is lost, messages
  keep arriving meanwhile (up to the capacity), and the new instance handles them. The
  failing message is dead-lettered with its reason.
* limit: more than ``max_restarts`` restarts (across all children) within ``within`` seconds,
  a failing restart's ``on_start`` included, and the supervisor stops its children newest
  first and fails with the last exception, as if its own handler had raised it: its own
  supervision (or its supervisor) decides, and if it stops, its parent fails too.
"""

# pyright: reportPrivateUsage=false
# (a friend of the Dispatcher and of Node: settles a held child, installs instances)

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any, Final, Literal, NoReturn, final

from ._fault_tolerance import HOLLOW, start_instance, stop_children, teardown
from ._node import Hold
from ._signals import Control
from .actor import Actor
from .local_ref import RUNNING
from .mailbox import Overflow, check_overflow
from .supervision import DEFAULT_MAX_RESTARTS, DEFAULT_WITHIN, RestartHistory, Supervision

if TYPE_CHECKING:
    from .local_ref import LocalActorRef

__all__ = ["Child", "NoMessages", "Supervisor", "SupervisorLink"]

log = logging.getLogger("mycelium")

RestartType = Literal["permanent", "transient", "temporary"]
Strategy = Literal["one_for_one", "one_for_all", "rest_for_one"]

_RESTART_TYPES: Final = ("permanent", "transient", "temporary")
_STRATEGIES: Final = ("one_for_one", "one_for_all", "rest_for_one")


@final
class Child:
    """How a ``Supervisor`` starts one child: its name (``"<supervisor>/<name>"`` in
    ``lookup``), a factory (any zero-argument callable returning a new ``Actor``), its
    restart type, its mailbox capacity and overflow policy (as ``spawn``'s ``overflow``)."""

    __slots__ = ("capacity", "factory", "name", "overflow", "restart")

    def __init__(
        self,
        name: str,
        factory: Callable[[], Actor[Any]],
        *,
        restart: RestartType = "permanent",
        capacity: int = 1000,
        overflow: Overflow = "block",
    ) -> None:
        if not isinstance(name, str) or not name:  # pyright: ignore[reportUnnecessaryIsInstance]
            raise ValueError(f"a child's name must be a non-empty string, got {name!r}")
        given: object = factory
        kind = type(given).__name__
        if isinstance(given, Actor) or not callable(given):
            raise TypeError(
                f"Child {name!r} needs a factory (a zero-argument callable returning a new "
                f"Actor, such as the class itself), got {kind}"
            )
        if restart not in _RESTART_TYPES:
            raise ValueError(
                f"Child {name!r}: restart must be 'permanent', 'transient' or 'temporary', "
                f"got {restart!r}"
            )
        if isinstance(capacity, bool) or not isinstance(capacity, int):  # pyright: ignore[reportUnnecessaryIsInstance]
            raise TypeError(f"capacity must be an int, got {type(capacity).__name__}")
        if capacity < 1:
            raise ValueError(f"capacity must be >= 1, got {capacity}")
        self.name = name
        self.factory = factory
        self.restart: RestartType = restart
        self.capacity = capacity
        self.overflow: Overflow = check_overflow(overflow)

    def __repr__(self) -> str:
        return f"Child({self.name!r}, {self.factory!r}, restart={self.restart!r})"


@final
class NoMessages:
    """The message type of a ``Supervisor``: there are none (sending it anything raises
    ``MessageTypeError``)."""

    __slots__ = ()

    def __new__(cls) -> NoReturn:
        raise TypeError("a Supervisor handles no messages")


async def _held_turn(cell: LocalActorRef[Any], hold: Hold) -> None:
    """The control turn of a held child (see ``Hold``)."""
    if not hold.held.done():
        hold.held.set_result(None)
    await hold.released
    node = cell.ensure_node()
    if node.hold is hold:
        node.hold = None
    if cell.state == RUNNING:
        return
    if cell.actor is HOLLOW:
        cell.abandon_queue("the actor was stopped while restarting")
    elif hold.failure is not None:
        raise hold.failure  # its instance had failed: it stops for good with that reason


def _hold(cell: LocalActorRef[Any], failure: Exception | None) -> Hold:
    """Hold ``cell`` at its next message boundary, ahead of its queue (or return the hold on
    its way)."""
    node = cell.ensure_node()
    hold = node.hold
    if hold is not None:
        if failure is not None and hold.failure is None:
            hold.failure = failure
        return hold
    hold = node.hold = Hold(cell.runtime.loop, failure)
    cell.post_signal(Control(cell, partial(_held_turn, cell, hold), dropped=hold.gone), front=True)
    return hold


@final
class SupervisorLink:
    """What a child of a ``Supervisor`` knows of it: its node asks it to decide failures."""

    __slots__ = ("owner", "spec", "supervisor")

    def __init__(self, supervisor: LocalActorRef[Any], owner: Supervisor, spec: Child) -> None:
        self.supervisor = supervisor
        self.owner = owner
        self.spec = spec

    def child_failed(self, cell: LocalActorRef[Any], exc: Exception) -> bool:
        """The handler of child ``cell`` raised: hold it for the supervisor, who decides in
        its turn. False (stop it for good now) for a temporary child or a stopping
        supervisor."""
        if self.spec.restart == "temporary" or self.supervisor.state != RUNNING:
            return False
        node = cell.ensure_node()
        already = node.hold is not None  # a restart of its siblings is on its way to it
        hold = _hold(cell, exc)
        cell.dispatcher.settle(cell)
        if not already:
            log.error(
                "actor %s failed handling a message; its supervisor %s decides",
                cell.label,
                self.supervisor.label,
                exc_info=(type(exc), exc, exc.__traceback__),
            )
            self._tell_supervisor(cell, exc, hold)
        return True

    def exit(self, cell: LocalActorRef[Any]) -> bool:
        """Child ``cell`` stops itself: True if, being permanent, it is to be restarted."""
        if (
            self.spec.restart != "permanent"
            or self.supervisor.state != RUNNING
            or cell.state != RUNNING
        ):
            return False
        already = cell.ensure_node().hold is not None
        hold = _hold(cell, None)
        if not already:
            self._tell_supervisor(cell, None, hold)
        return True

    def child_stopping(self, cell: LocalActorRef[Any]) -> None:
        """A stop of child ``cell`` began: stopping is final, so a hold lets go of it."""
        node = cell.node
        if node is not None and node.hold is not None:
            node.hold.release()

    def _tell_supervisor(self, cell: LocalActorRef[Any], exc: Exception | None, hold: Hold) -> None:
        decide = partial(self.owner._child_exited, cell, exc, hold)
        self.supervisor.post_signal(Control(self.supervisor, decide, supervised=True))


@final
class Supervisor(Actor[NoMessages]):
    """Starts ``children`` in order and restarts them by ``strategy`` (see the module)."""

    def __init__(
        self,
        children: Sequence[Child],
        *,
        strategy: Strategy = "one_for_one",
        max_restarts: int = DEFAULT_MAX_RESTARTS,
        within: float = DEFAULT_WITHIN,
    ) -> None:
        specs = list(children)
        for spec in specs:
            if not isinstance(spec, Child):  # pyright: ignore[reportUnnecessaryIsInstance]
                raise TypeError(f"a Supervisor's children are Child specs, got {spec!r}")
        names = [spec.name for spec in specs]
        if len(set(names)) != len(names):
            raise ValueError(f"a Supervisor's children need distinct names, got {names}")
        if strategy not in _STRATEGIES:
            raise ValueError(
                f"strategy must be 'one_for_one', 'one_for_all' or 'rest_for_one', got {strategy!r}"
            )
        limits = Supervision.restart(max_restarts=max_restarts, within=within)  # checks them
        self.specs: tuple[Child, ...] = tuple(specs)
        self.strategy: Strategy = strategy
        self.max_restarts = limits.max_restarts
        self.within = limits.within
        self._history = RestartHistory(limits.max_restarts, limits.within)
        # Invariant: the cell of each child started by this instance, by spec name.
        self._cells: dict[str, LocalActorRef[Any]] = {}

    async def on_start(self) -> None:
        """Start the children in order; if one fails to start, the caller's spawn raises
        (and the children already started are stopped, newest first)."""
        me = self._spawned()
        for spec in self.specs:
            ref = await self.spawn(
                spec.factory, name=spec.name, capacity=spec.capacity, overflow=spec.overflow
            )
            cell: Any = ref
            node = cell.ensure_node()
            node.factory = spec.factory
            node.link = SupervisorLink(me, self, spec)
            self._cells[spec.name] = cell

    async def handle(self, msg: NoMessages, /) -> None:
        raise TypeError("a Supervisor handles no messages")  # pragma: no cover - unreachable

    # ----------------------------------------------------------------------- decisions

    async def _child_exited(
        self, cell: LocalActorRef[Any], exc: Exception | None, hold: Hold
    ) -> None:
        """The supervisor's turn after child ``cell`` failed (``exc``) or exited (None)."""
        me = self._spawned()
        await hold.held
        node = cell.ensure_node()
        if node.hold is not hold or cell.state != RUNNING:
            return  # restarted along with a sibling meanwhile, or stopped: nothing to do
        if me.state != RUNNING or me.actor is not self:
            await cell.system.stop(cell)  # this supervisor is stopping: so are its children
            return
        if self._history.failure(me.runtime.loop.time()) is None:
            await self._give_up(exc or RuntimeError(f"child {cell.label} exited"))
        group = self._group(cell)
        log.info(
            "supervisor %s restarts %s (%s)",
            me.label,
            ", ".join(child.label for child in group),
            self.strategy,
        )
        holds = {child: hold if child is cell else _hold(child, None) for child in group}
        for child in group:
            await holds[child].held
        for child in reversed(group):  # stop them newest first
            if child.state != RUNNING or child.ensure_node().hold is not holds[child]:
                continue
            spec = self._spec_of(child)
            if spec.restart == "temporary" and child is not cell:
                await child.system.stop(child)  # a temporary sibling is not restarted
                continue
            old = child.actor
            child.actor = HOLLOW
            await teardown(child, old)
        for child in group:  # then start them in start order
            if child.state != RUNNING or child.ensure_node().hold is not holds[child]:
                continue
            await self._start_again(child)
            holds[child].release()

    async def _start_again(self, child: LocalActorRef[Any]) -> None:
        """A new instance of ``child``; a failing ``on_start`` counts as a restart."""
        me = self._spawned()
        while True:
            try:
                await start_instance(child)
            except Exception as exc:
                log.error(
                    "on_start of actor %s raised during a restart",
                    child.label,
                    exc_info=(type(exc), exc, exc.__traceback__),
                )
                if self._history.failure(me.runtime.loop.time()) is None:
                    await self._give_up(exc)
            else:
                return

    async def _give_up(self, exc: Exception) -> NoReturn:
        """Over the restart limit: stop every child newest first, then fail with ``exc``."""
        me = self._spawned()
        log.error(
            "supervisor %s restarted its children more than %d times within %g s; it stops "
            "them and fails",
            me.label,
            self.max_restarts,
            self.within,
        )
        node = me.ensure_node()
        await stop_children(me)
        node.over_limit = exc
        raise exc

    def _group(self, cell: LocalActorRef[Any]) -> list[LocalActorRef[Any]]:
        """The children the strategy restarts when ``cell`` failed, in start order."""
        live = [
            child
            for spec in self.specs
            if (child := self._cells.get(spec.name)) is not None and child.state == RUNNING
        ]
        if self.strategy == "one_for_one":
            return [cell]
        if self.strategy == "one_for_all":
            return live
        return live[live.index(cell) :] if cell in live else [cell]

    def _spec_of(self, cell: LocalActorRef[Any]) -> Child:
        link = cell.ensure_node().link
        assert isinstance(link, SupervisorLink)  # every child of a Supervisor has its link
        return link.spec

    def __repr__(self) -> str:
        names = ", ".join(spec.name for spec in self.specs)
        return f"<Supervisor {self.strategy} [{names}]>"
