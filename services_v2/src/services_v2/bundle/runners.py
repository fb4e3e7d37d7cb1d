"""Which pipeline runs for a ``--mode``: the deployment plugs in, the bundle stays the same.

A deployment is a :class:`PipelineRunner` exported by a module of this package:

- ``--mode actors``: ``services_v2.actors.pipeline.run_actor_pipeline`` (both services as
  actors in one ActorSystem). Until that module exists, the bundle runs the sequential
  reference (:func:`~services_v2.pipeline.run_reference`) and says so (``mode: sequential``).
- ``--mode relay``: ``services_v2.relay.pipeline.run_relay_pipeline`` (the services in two
  processes). Until it exists, asking for it is an error.

Only a missing *module* counts as "not there yet": an error raised while importing an existing
module (a bug, a missing dependency) propagates.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import Protocol, cast, final

from mycelium_types.messages import MarketMessage
from services_v2.pipeline import PipelineConfig, PipelineResult, ProgressCallback, run_reference

__all__ = ["MODES", "ModeUnavailable", "PipelineRunner", "ResolvedRunner", "resolve_runner"]


class PipelineRunner(Protocol):
    """Runs ``events`` through both services and returns when all of them are handled.

    Contract: synchronous (a runner that needs an event loop owns it, e.g.
    ``asyncio.Runner(loop_factory=uvloop.new_event_loop)``); builds its domain objects with
    ``config.new_processor()`` and ``config.new_validator()``; delivers signals to the
    validator in the order the processor returned them; calls ``progress(done)`` now and then
    if given; returns a :class:`PipelineResult` whose ``outcome()`` equals
    ``run_reference(events, config).outcome()`` and whose ``mode`` names the deployment.
    """

    def __call__(
        self,
        events: Sequence[MarketMessage],
        config: PipelineConfig,
        *,
        progress: ProgressCallback | None = None,
    ) -> PipelineResult: ...


class ModeUnavailable(Exception):
    """The requested ``--mode`` cannot run in this build; the message is one line."""


@final
@dataclass(frozen=True, slots=True)
class ResolvedRunner:
    """The runner chosen for a mode, and a note for the user when it is a fallback."""

    run: PipelineRunner
    requested: str
    note: str | None = None


# mode -> (module, function) of the deployment that implements it.
_DEPLOYMENTS: dict[str, tuple[str, str]] = {
    "actors": ("services_v2.actors.pipeline", "run_actor_pipeline"),
    "relay": ("services_v2.relay.pipeline", "run_relay_pipeline"),
}

MODES: tuple[str, ...] = tuple(_DEPLOYMENTS)
"""The values ``--mode`` accepts; the first is the default."""


def _import_if_present(name: str) -> ModuleType | None:
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        missing = exc.name or ""
        if missing and (name == missing or name.startswith(missing + ".")):
            return None
        raise


def resolve_runner(
    mode: str, *, deployments: Mapping[str, tuple[str, str]] | None = None
) -> ResolvedRunner:
    """The runner for ``mode`` (one of :data:`MODES`); see the module docstring.

    ``deployments`` replaces the table of ``mode -> (module, function)`` (for tests).

    Raises:
        ModeUnavailable: ``mode`` is unknown, or its deployment does not exist yet and has no
            fallback, or its module lacks the runner function.
    """
    table = _DEPLOYMENTS if deployments is None else deployments
    if mode not in table:
        raise ModeUnavailable(f"unknown mode {mode!r}; choose one of {', '.join(table)}")
    module_name, function_name = table[mode]
    module = _import_if_present(module_name)
    if module is None:
        if mode == "actors":
            return ResolvedRunner(
                run=run_reference,
                requested=mode,
                note=(
                    f"the actor pipeline ({module_name}) is not available in this build; "
                    "ran the sequential reference pipeline instead (mode: sequential)"
                ),
            )
        raise ModeUnavailable(
            f"mode {mode!r} is not implemented yet ({module_name} does not exist); "
            "use --mode actors"
        )
    runner: object = getattr(module, function_name, None)
    if not callable(runner):
        raise ModeUnavailable(
            f"mode {mode!r}: {module_name} has no function {function_name}(); "
            "the deployment is incomplete"
        )
    return ResolvedRunner(run=cast(PipelineRunner, runner), requested=mode)
