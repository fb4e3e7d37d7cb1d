"""A bundle's resolved layout: every factory imported, the wiring checked, each actor placed.

:func:`resolve` turns a :class:`~mycelium.bundle.spec.BundleSpec` into a :class:`Layout`
without starting anything: it imports each factory, checks that it is callable and returns an
``Actor`` (an ``Actor`` subclass, or a callable whose return annotation is one), that the
arguments bind to its signature, that every wire names an actor and that the wiring has no
cycle, that each placement can be had, and that the messages of an actor reached from another
process can cross a process boundary (msgspec can decode them). What it finds is in one place:
the start order (an actor after the actors it is wired to), which process runs which actor,
and how each wire is reached; :meth:`Layout.describe` prints it.

Processes: ``"main"`` is the process that starts the bundle; an actor placed ``"unix"`` runs
in a child process of its own, named after the actor, that listens on a Unix socket.
"""

from __future__ import annotations

import importlib
import inspect
import os
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final, final

import msgspec

from mycelium._message_type import declared_message_type, message_check_for
from mycelium.actor import Actor
from mycelium.transport._socket_path import MAX_PATH_BYTES

from .spec import ActorSpec, BundleSpec, LocalPlacement, NatsPlacement, UnixPlacement

__all__ = ["MAIN_PROCESS", "Layout", "ResolvedActor", "Wire", "resolve"]

MAIN_PROCESS: Final = "main"
"""The name of the process that starts the bundle."""

RUN_DIR: Final = "<run dir>"
"""How :meth:`Layout.describe` shows the private directory made at start for socket files."""

ActorFactory = Callable[..., Actor[Any]]


@final
@dataclass(frozen=True, slots=True)
class Wire:
    """One argument of an actor that is another actor's ref.

    Attributes:
        source: the actor that gets the ref.
        argument: the factory's keyword argument.
        target: the actor the ref reaches.
        remote: True when the two run in different processes (a ``RemoteActorRef`` over the
            target's Unix socket); False for a local ref.
    """

    source: str
    argument: str
    target: str
    remote: bool


@final
@dataclass(frozen=True, slots=True)
class ResolvedActor:
    """One actor of a layout.

    Attributes:
        spec: its validated spec.
        factory: the imported callable.
        actor_class: the ``Actor`` class the factory returns.
        message_type: the messages it handles (``M`` of ``Actor[M]``).
        process: ``"main"`` or the name of its child process.
        socket: where it is served, for an actor reached from another process (a path, or
            ``None`` for one in the run directory, made at start); ``None`` otherwise.
        served: True when some actor in another process is wired to it, or it runs in a child.
    """

    spec: ActorSpec
    factory: ActorFactory
    actor_class: type[Actor[Any]]
    message_type: Any
    process: str
    socket: str | None
    served: bool

    @property
    def name(self) -> str:
        """The actor's name."""
        return self.spec.name


@final
@dataclass(frozen=True, slots=True)
class Layout:
    """A resolved bundle; see the module docstring.

    Attributes:
        spec: the spec it was resolved from.
        actors: every actor by name, in start order.
        wires: every wire, in start order of their source.

    Invariant: an actor comes after every actor it is wired to, in ``actors`` as in
    :attr:`start_order`; stopping goes the other way.
    """

    spec: BundleSpec
    actors: dict[str, ResolvedActor]
    wires: tuple[Wire, ...]

    @property
    def name(self) -> str:
        """The bundle's name."""
        return self.spec.name

    @property
    def start_order(self) -> tuple[str, ...]:
        """Names in the order they are started (dependencies first)."""
        return tuple(self.actors)

    def wires_from(self, name: str) -> tuple[Wire, ...]:
        """The wires of actor ``name``'s arguments."""
        return tuple(wire for wire in self.wires if wire.source == name)

    def processes(self) -> dict[str, list[str]]:
        """Process name -> the actors it runs, ``"main"`` first."""
        found: dict[str, list[str]] = {MAIN_PROCESS: []}
        for actor in self.actors.values():
            found.setdefault(actor.process, []).append(actor.name)
        return found

    def describe(self) -> str:
        """The layout for people: which actor runs in which process, reached how."""
        processes = self.processes()
        count = len(self.actors)
        running = sum(1 for names in processes.values() if names)
        lines = [
            f"bundle {self.name!r} ({self.spec.source}): {count} actor{'s' * (count != 1)} "
            f"in {running} process{'es' * (running != 1)}"
        ]
        for process, names in processes.items():
            if not names:
                continue
            if process == MAIN_PROCESS:
                lines.append("  this process:")
            else:
                lines.append(
                    f"  child process {process!r} (python -m mycelium.bundle.child), "
                    f"Unix socket {self._socket_text(self.actors[names[0]])}:"
                )
            for name in names:
                lines.extend(self._describe_actor(self.actors[name]))
        order = ", ".join(self.start_order)
        lines.append(f"  start order: {order}; stopped in reverse")
        return "\n".join(lines)

    def _describe_actor(self, actor: ResolvedActor) -> list[str]:
        spec = actor.spec
        supervision = spec.supervision.strategy
        lines = [
            f"    {actor.name}: {spec.factory} -> {actor.actor_class.__qualname__} "
            f"(capacity {spec.capacity}, overflow {spec.overflow}, supervision {supervision})"
        ]
        if actor.served and actor.process == MAIN_PROCESS:
            lines.append(f"      served to other processes at {self._socket_text(actor)}")
        for key, value in spec.args.items():
            lines.append(f"      {key} = {value!r}")
        for wire in self.wires_from(actor.name):
            target = self.actors[wire.target]
            how = (
                f"RemoteActorRef over the Unix socket {self._socket_text(target)}"
                if wire.remote
                else "local ref"
            )
            lines.append(f"      {wire.argument} -> {wire.target} ({how})")
        return lines

    @staticmethod
    def _socket_text(actor: ResolvedActor) -> str:
        return actor.socket or f"{RUN_DIR}/{actor.name}.sock"


def resolve(spec: BundleSpec) -> Layout:
    """Check everything about ``spec`` that can be checked without starting it.

    Raises:
        BundleConfigError: a factory does not import, is not callable or does not return an
            ``Actor``; arguments do not bind; a wire names no actor; the wiring has a cycle; a
            placement is not available or its socket path cannot be had; messages that must
            cross a process boundary cannot be decoded by msgspec.
    """
    names = list(spec.actors)
    for actor in spec.actors.values():
        for argument, target in actor.wires.items():
            if target not in spec.actors:
                known = ", ".join(names)
                raise spec.error(
                    f"actors.{actor.name}.args.{argument}",
                    f"wired to {target!r}, which is not an actor of this bundle (actors: {known})",
                )
    order = _start_order(spec)
    processes = {name: _process_of(spec, spec.actors[name]) for name in order}
    served = {
        target
        for actor in spec.actors.values()
        for target in actor.wires.values()
        if processes[target] != processes[actor.name]
    } | {name for name, process in processes.items() if process != MAIN_PROCESS}
    sockets = _sockets(spec, served)
    actors: dict[str, ResolvedActor] = {}
    for name in order:
        actor_spec = spec.actors[name]
        _check_supported(spec, actor_spec)
        factory, actor_class = _import_factory(spec, actor_spec)
        _check_arguments(spec, actor_spec, factory)
        actors[name] = ResolvedActor(
            spec=actor_spec,
            factory=factory,
            actor_class=actor_class,
            message_type=declared_message_type(actor_class),
            process=processes[name],
            socket=sockets.get(name),
            served=name in served,
        )
    wires = tuple(
        Wire(name, argument, target, remote=processes[target] != processes[name])
        for name in order
        for argument, target in spec.actors[name].wires.items()
    )
    for wire in wires:
        if wire.remote:
            _check_crossing(spec, wire, actors[wire.target])
    for name in served:
        _check_crossing(spec, None, actors[name])
    return Layout(spec=spec, actors=actors, wires=wires)


def _check_supported(spec: BundleSpec, actor: ActorSpec) -> None:
    """Refuse what the schema accepts but this runtime cannot do yet (never ignore it)."""
    # TODO(issue 13): mailbox overflow policies are being built on another branch; once spawn
    # takes overflow=, _build.spawn_actor passes it on and this check goes.
    if actor.overflow != "block":
        raise spec.error(
            f"actors.{actor.name}.overflow",
            f'{actor.overflow!r} is not available in this runtime yet (only "block")',
        )


def _start_order(spec: BundleSpec) -> list[str]:
    """Dependencies first, otherwise in file order. Raises on a cycle, naming it."""
    order: list[str] = []
    state: dict[str, int] = {}  # 1: being visited, 2: done
    path: list[str] = []

    def visit(name: str) -> None:
        if state.get(name) == 2:
            return
        if state.get(name) == 1:
            cycle = [*path[path.index(name) :], name]
            raise spec.error(
                f"actors.{path[-1]}.args",
                "the wiring has a cycle: " + " -> ".join(cycle) + " (each arrow is a wire "
                "from an actor to one it sends to; actors are started after those they send "
                "to, so a cycle cannot be started)",
            )
        state[name] = 1
        path.append(name)
        for target in spec.actors[name].wires.values():
            visit(target)
        path.pop()
        state[name] = 2
        order.append(name)

    for name in spec.actors:
        visit(name)
    return order


def _process_of(spec: BundleSpec, actor: ActorSpec) -> str:
    placement = actor.placement
    if isinstance(placement, LocalPlacement):
        return MAIN_PROCESS
    if isinstance(placement, NatsPlacement):
        raise spec.error(
            f"actors.{actor.name}.placement",
            'NATS placement is not available yet (it comes with the NATS transport); use "local" '
            'or "unix"',
        )
    if actor.name == MAIN_PROCESS:
        raise spec.error(
            f"actors.{actor.name}.placement",
            f"an actor in a child process cannot be called {MAIN_PROCESS!r} (the name of the "
            "starting process); rename it",
        )
    return actor.name


def _sockets(spec: BundleSpec, served: set[str]) -> dict[str, str]:
    """Given socket paths of served actors, checked: free, short enough, directory exists."""
    found: dict[str, str] = {}
    owners: dict[str, str] = {}
    for name in served:
        placement = spec.actors[name].placement
        if not isinstance(placement, UnixPlacement) or placement.socket is None:
            continue
        where = f"actors.{name}.placement.socket"
        path = os.path.abspath(placement.socket)
        if path in owners:
            raise spec.error(where, f"{path} is also the socket of actor {owners[path]!r}")
        size = len(os.fsencode(path))
        if size > MAX_PATH_BYTES:
            raise spec.error(
                where,
                f"no free socket path: {path} is {size} bytes long and Unix socket paths are "
                f"limited to {MAX_PATH_BYTES}; use a shorter path",
            )
        directory = os.path.dirname(path)
        if not os.path.isdir(directory):
            raise spec.error(
                where, f"no free socket path: the directory {directory} does not exist"
            )
        if os.path.lexists(path):
            raise spec.error(
                where,
                f"no free socket path: {path} already exists (another bundle running, or a "
                "stale file: remove it, or leave socket out for a fresh path)",
            )
        owners[path] = name
        found[name] = path
    return found


def _import_factory(spec: BundleSpec, actor: ActorSpec) -> tuple[ActorFactory, type[Actor[Any]]]:
    where = f"actors.{actor.name}.factory"
    module_name, _, attribute = actor.factory.partition(":")
    try:
        found: object = importlib.import_module(module_name)
    except Exception as exc:
        raise spec.error(
            where, f"cannot import {module_name!r} ({type(exc).__name__}: {exc})"
        ) from exc
    for part in attribute.split("."):
        try:
            found = getattr(found, part)
        except AttributeError as exc:
            raise spec.error(
                where, f"{actor.factory!r} does not exist ({module_name} has no {attribute!r})"
            ) from exc
    if not callable(found):
        raise spec.error(where, f"{actor.factory!r} is not callable (it is {type(found).__name__})")
    factory = typing.cast(ActorFactory, found)
    actor_class = _returned_class(spec, where, actor.factory, factory)
    try:
        message_check_for(actor_class)
    except TypeError as exc:
        raise spec.error(where, str(exc)) from exc
    return factory, actor_class


def _returned_class(
    spec: BundleSpec, where: str, path: str, factory: ActorFactory
) -> type[Actor[Any]]:
    if isinstance(factory, type):
        if issubclass(factory, Actor):
            return typing.cast(type[Actor[Any]], factory)
        raise spec.error(where, f"{path!r} is a class but not an Actor subclass")
    try:
        hints = typing.get_type_hints(factory)
    except Exception as exc:
        raise spec.error(
            where, f"cannot read the return annotation of {path!r} ({type(exc).__name__}: {exc})"
        ) from exc
    returned: object = hints.get("return")
    if returned is None:
        raise spec.error(
            where,
            f"{path!r} has no return annotation; annotate it with the Actor class it returns "
            "(the bundle needs the actor's message type before building it)",
        )
    if isinstance(returned, type) and issubclass(returned, Actor):
        return typing.cast(type[Actor[Any]], returned)
    shown = returned.__qualname__ if isinstance(returned, type) else repr(returned)
    raise spec.error(where, f"{path!r} does not return an Actor (its return annotation is {shown})")


def _check_arguments(spec: BundleSpec, actor: ActorSpec, factory: ActorFactory) -> None:
    try:
        signature = inspect.signature(factory)
    except (TypeError, ValueError):  # some builtins have no signature: checked when called
        return
    try:
        signature.bind(**actor.args, **dict.fromkeys(actor.wires))
    except TypeError as exc:
        raise spec.error(f"actors.{actor.name}.args", f"{actor.factory}: {exc}") from exc


def _check_crossing(spec: BundleSpec, wire: Wire | None, target: ResolvedActor) -> None:
    try:
        msgspec.msgpack.Decoder(target.message_type)
    except TypeError as exc:
        where = (
            f"actors.{wire.source}.args.{wire.argument}"
            if wire is not None
            else f"actors.{target.name}.placement"
        )
        raise spec.error(
            where,
            f"the messages of {target.name!r} cannot cross a process boundary: msgspec cannot "
            f"decode its message type ({exc}); keep it local or use msgspec Structs",
        ) from exc
