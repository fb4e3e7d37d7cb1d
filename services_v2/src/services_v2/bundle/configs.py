"""The bundle configs shipped with the services, and finding the one ``--config`` names.

The shipped files live in the package (``services_v2/bundles/*.toml``, package data, so an
installed ``mycelium-bundle`` has them too); the repository's ``bundles/`` points there. A
``--config`` argument is a path to a file; if no such file exists and it names a shipped config
(``bundles/relay.toml``, ``relay.toml`` or ``relay``), the shipped one is used, from any working
directory.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Final

from mycelium.bundle import BundleConfigError, BundleSpec, load_spec, parse_spec

__all__ = ["DEFAULT_CONFIG", "MODE_CONFIGS", "SHIPPED", "find_config", "shipped_text"]

SHIPPED: Final = ("monolith", "relay")
"""The configs shipped with the services; the first is the default."""

DEFAULT_CONFIG: Final = "bundles/monolith.toml"

MODE_CONFIGS: Final = {"actors": "bundles/monolith.toml", "relay": "bundles/relay.toml"}
"""``--mode`` values, shorthands for these ``--config`` values (``actors``, the seed's name for
the monolith: both services as actors in one process)."""


def shipped_text(name: str) -> str:
    """The TOML text of shipped config ``name`` (one of :data:`SHIPPED`)."""
    return resources.files("services_v2").joinpath("bundles", f"{name}.toml").read_text("utf-8")


def _shipped_name(argument: str) -> str | None:
    path = Path(argument)
    if argument in SHIPPED:
        return argument
    if path.suffix == ".toml" and path.stem in SHIPPED and str(path.parent) in (".", "bundles"):
        return path.stem
    return None


def find_config(argument: str) -> BundleSpec:
    """The spec ``argument`` names (see the module docstring).

    Raises:
        BundleConfigError: no such file and no such shipped config, or the file is invalid.
    """
    if Path(argument).is_file():
        return load_spec(argument)
    name = _shipped_name(argument)
    if name is None:
        shipped = ", ".join(f"bundles/{name}.toml" for name in SHIPPED)
        if Path(argument).exists():
            return load_spec(argument)  # not a file: load_spec says what it is
        raise BundleConfigError(
            argument, "", f"cannot read the file: No such file or directory (shipped: {shipped})"
        )
    return parse_spec(shipped_text(name), source=f"bundles/{name}.toml", stem=name)
