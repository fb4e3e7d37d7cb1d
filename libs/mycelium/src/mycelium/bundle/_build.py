"""Building and spawning one actor of a layout, the same way in the parent and in a child.

Shared by :mod:`mycelium.bundle.loader` and :mod:`mycelium.bundle.child` so that an actor is
built identically wherever it is placed: the factory is called with the spec's arguments and
the refs of its wires, the result must be an instance of the class the factory declares, and
it is spawned under its name with its mailbox settings and its supervision.

Supervision (``supervision = "stop" | "resume" | { strategy = "restart", ... }`` in the spec)
maps to ``Supervision.stop()`` / ``.resume()`` / ``.restart(max_restarts, within, backoff)``.
A restarted actor is spawned from an :class:`Incarnations`: its first instance is the one built
at start; each restart asks the failed instance for its ``successor()`` if it has one (a
:class:`RestartableActor`: the service decides what outlives an instance), else calls the
factory again with the same arguments and refs. The report is the newest instance's.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any, Protocol, final, runtime_checkable

import msgspec

from mycelium.actor import Actor
from mycelium.actor_ref import ActorRef
from mycelium.local_ref import LocalActorRef
from mycelium.remote import RemoteActorRef
from mycelium.supervision import Backoff, Supervision
from mycelium.system import ActorSystem
from mycelium.transport.unix import UnixSocketTransport

from ._control import RefStats
from .layout import ResolvedActor
from .spec import BundleSpec, SupervisionSpec

__all__ = [
    "Incarnations",
    "ReportingActor",
    "RestartableActor",
    "build_actor",
    "close_ref",
    "encode_report",
    "settle",
    "spawn_actor",
    "supervision_of",
]


@runtime_checkable
class ReportingActor(Protocol):
    """An actor that says what it did: ``report()`` is called once it has stopped.

    The value must be msgpack-encodable by msgspec (a Struct, a dataclass, builtins); the
    bundle hands it back encoded (:meth:`~mycelium.bundle.BundleOutcome.report` decodes it), in
    every placement alike.
    """

    def report(self) -> object:
        """What the actor did (called after it stopped)."""
        ...


@runtime_checkable
class RestartableActor(Protocol):
    """An actor that builds its own replacement when its supervision restarts it."""

    def successor(self) -> Actor[Any]:
        """A fresh instance to take over after this one failed (it may share durable state,
        such as a book of what was decided, that must outlive an instance)."""
        ...


def supervision_of(spec: SupervisionSpec) -> Supervision:
    """The runtime ``Supervision`` a spec's ``supervision`` field asks for (the runtime's
    defaults for the fields left out)."""
    if spec.strategy == "stop":
        return Supervision.stop()
    if spec.strategy == "resume":
        return Supervision.resume()
    backoff = (
        None
        if spec.backoff is None
        else Backoff(min=spec.backoff.min, max=spec.backoff.max, jitter=spec.backoff.jitter)
    )
    if spec.max_restarts is not None and spec.within is not None:
        return Supervision.restart(
            max_restarts=spec.max_restarts, within=spec.within, backoff=backoff
        )
    if spec.max_restarts is not None:
        return Supervision.restart(max_restarts=spec.max_restarts, backoff=backoff)
    if spec.within is not None:
        return Supervision.restart(within=spec.within, backoff=backoff)
    return Supervision.restart(backoff=backoff)


@final
class Incarnations:
    """The instances of one restartable actor: ``spawn``'s factory (see the module docstring).

    ``current`` is the newest instance (the one whose report counts); ``count`` how many were
    built, the first included (so ``count - 1`` restarts).
    """

    __slots__ = ("_build", "count", "current")

    def __init__(self, first: Actor[Any], build: Any) -> None:
        self.current: Actor[Any] = first
        self.count = 0
        self._build = build

    def __call__(self) -> Actor[Any]:
        if self.count:
            previous = self.current
            fresh: Actor[Any] = (
                previous.successor() if isinstance(previous, RestartableActor) else self._build()
            )
            self.current = fresh
        self.count += 1
        return self.current


def build_actor(
    spec: BundleSpec, actor: ResolvedActor, refs: Mapping[str, ActorRef[Any]]
) -> Actor[Any]:
    """Call ``actor``'s factory with its arguments and the refs of its wires (by target name).

    Raises:
        BundleConfigError: the factory raised, or returned something else than an instance of
            the Actor class it declares.
    """
    kwargs: dict[str, Any] = dict(actor.spec.args)
    for argument, target in actor.spec.wires.items():
        kwargs[argument] = refs[target]
    where = f"actors.{actor.name}.factory"
    try:
        built: object = actor.factory(**kwargs)
    except Exception as exc:
        raise spec.error(where, f"{actor.spec.factory} raised {type(exc).__name__}: {exc}") from exc
    if not isinstance(built, actor.actor_class):
        kind = "an Actor" if isinstance(built, Actor) else "not an Actor"
        raise spec.error(
            where,
            f"{actor.spec.factory} returned {type(built).__qualname__} ({kind}), not the "
            f"{actor.actor_class.__qualname__} it declares",
        )
    return built


async def spawn_actor(
    system: ActorSystem,
    spec: BundleSpec,
    actor: ResolvedActor,
    refs: Mapping[str, ActorRef[Any]],
    instance: Actor[Any],
) -> tuple[ActorRef[Any], Incarnations | None]:
    """Spawn ``instance`` under ``actor``'s name, mailbox capacity and supervision; returns
    its ref and, for a restartable actor, its :class:`Incarnations` (else ``None``).

    Raises:
        Exception: whatever ``spawn`` raises (``on_start`` failed, name taken...).
    """
    supervision = supervision_of(actor.spec.supervision)
    overflow = actor.spec.overflow
    incarnations: Incarnations | None = None
    spawned: Actor[Any] | Incarnations = instance
    if supervision.kind == "restart":
        spawned = incarnations = Incarnations(instance, lambda: build_actor(spec, actor, refs))
    ref = await system.spawn(
        spawned,
        name=actor.name,
        capacity=actor.spec.capacity,
        supervision=supervision,
        overflow=overflow,
    )
    return ref, incarnations


async def settle(ref: ActorRef[Any], incarnations: Incarnations | None, timeout: float) -> None:
    """Before a restartable actor is stopped, let its process go quiet (at most ``timeout``
    seconds): a stop abandons a restart in progress with the messages queued behind it
    (stopping is final), so a restart still pending is let finish and the queue be handled."""
    if incarnations is not None and isinstance(ref, LocalActorRef):
        await ref.dispatcher.quiesce(timeout)


def encode_report(instance: Actor[Any] | None) -> tuple[bytes | None, str | None]:
    """``instance.report()`` as msgpack, or ``(None, why)`` when it cannot be had."""
    if not isinstance(instance, ReportingActor):
        return None, None
    try:
        return msgspec.msgpack.encode(instance.report()), None
    except Exception as exc:
        return None, f"{type(instance).__qualname__}.report() failed: {type(exc).__name__}: {exc}"


async def close_ref(
    source: str,
    target: str,
    ref: RemoteActorRef[Any],
    transport: UnixSocketTransport,
    timeout: float,
) -> RefStats:
    """Close ``ref`` gracefully (everything sent is written first) and account for it."""
    try:
        await asyncio.wait_for(ref.aclose(), timeout)
    except TimeoutError:
        transport.abort()
    return RefStats(
        source=source,
        target=target,
        sent=transport.sent,
        undelivered=transport.undelivered,
        rejected=ref.rejected,
        dropped=ref.dropped,
    )
