"""Building and spawning one actor of a layout, the same way in the parent and in a child.

Shared by :mod:`mycelium.bundle.loader` and :mod:`mycelium.bundle.child` so that an actor is
built identically wherever it is placed: the factory is called with the spec's arguments and
the refs of its wires, the result must be an instance of the class the factory declares, and
it is spawned under its name with its mailbox settings.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol, runtime_checkable

import msgspec

from mycelium.actor import Actor
from mycelium.actor_ref import ActorRef
from mycelium.system import ActorSystem

from .layout import ResolvedActor
from .spec import BundleSpec

__all__ = ["ReportingActor", "build_actor", "encode_report", "spawn_actor"]


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
    system: ActorSystem, actor: ResolvedActor, instance: Actor[Any]
) -> ActorRef[Any]:
    """Spawn ``instance`` under ``actor``'s name and mailbox capacity.

    Raises:
        Exception: whatever ``spawn`` raises (``on_start`` failed, name taken...).
    """
    # TODO(issue 12): pass supervision=... to spawn once the runtime's spawn takes it (it is
    # being built on another branch). Until then layout.resolve refuses any value but "stop".
    return await system.spawn(
        instance, name=actor.name, capacity=actor.spec.capacity, overflow=actor.spec.overflow
    )


def encode_report(instance: Actor[Any]) -> tuple[bytes | None, str | None]:
    """``instance.report()`` as msgpack, or ``(None, why)`` when it cannot be had."""
    if not isinstance(instance, ReportingActor):
        return None, None
    try:
        return msgspec.msgpack.encode(instance.report()), None
    except Exception as exc:
        return None, f"{type(instance).__qualname__}.report() failed: {type(exc).__name__}: {exc}"
