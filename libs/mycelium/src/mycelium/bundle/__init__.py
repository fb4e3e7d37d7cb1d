"""Bundles: which actors run together, where, with what mailbox, from a TOML spec.

A bundle is data: a spec (:mod:`.spec`) names each actor's factory, its arguments, the wiring
between actors by name, and each actor's placement (this process, or a child process on this
host over a Unix socket). :func:`resolve` checks it all without starting anything; the loader
starts a whole bundle on an ``ActorSystem`` and stops it cleanly. The runtime knows nothing of
what the actors do: they are reached through their factories' import paths only.

::

    from mycelium.bundle import load_spec, resolve, start_bundle

    layout = resolve(load_spec("bundles/relay.toml"))
    print(layout.describe())
    async with ActorSystem() as system, await start_bundle(layout, system) as bundle:
        ref = await bundle.connect("market")
        await ref.send(message)
        outcome = await bundle.stop()
"""

from ._build import ReportingActor as ReportingActor
from .errors import BundleConfigError as BundleConfigError
from .errors import BundleError as BundleError
from .errors import BundleStartError as BundleStartError
from .layout import MAIN_PROCESS as MAIN_PROCESS
from .layout import Layout as Layout
from .layout import ResolvedActor as ResolvedActor
from .layout import Wire as Wire
from .layout import resolve as resolve
from .loader import BundleOutcome as BundleOutcome
from .loader import RunningBundle as RunningBundle
from .loader import start_bundle as start_bundle
from .spec import ActorSpec as ActorSpec
from .spec import BackoffSpec as BackoffSpec
from .spec import BundleSpec as BundleSpec
from .spec import LocalPlacement as LocalPlacement
from .spec import NatsPlacement as NatsPlacement
from .spec import Overflow as Overflow
from .spec import Placement as Placement
from .spec import SupervisionSpec as SupervisionSpec
from .spec import UnixPlacement as UnixPlacement
from .spec import load_spec as load_spec
from .spec import parse_spec as parse_spec
from .spec import spec_from_data as spec_from_data

__all__ = [
    "MAIN_PROCESS",
    "ActorSpec",
    "BackoffSpec",
    "BundleConfigError",
    "BundleError",
    "BundleOutcome",
    "BundleSpec",
    "BundleStartError",
    "Layout",
    "LocalPlacement",
    "NatsPlacement",
    "Overflow",
    "Placement",
    "ReportingActor",
    "ResolvedActor",
    "RunningBundle",
    "SupervisionSpec",
    "UnixPlacement",
    "Wire",
    "load_spec",
    "parse_spec",
    "resolve",
    "spec_from_data",
    "start_bundle",
]
