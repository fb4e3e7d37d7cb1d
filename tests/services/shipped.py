"""The shipped bundle configs, resolved for tests (optionally with the signal actor recording)."""

from __future__ import annotations

import tomllib
from typing import Any

from mycelium.bundle import Layout, resolve, spec_from_data
from services_v2.bundle.configs import SHIPPED, shipped_text

__all__ = ["SHIPPED", "shipped_layout"]


def shipped_layout(name: str, *, record: bool = True) -> Layout:
    """Shipped config ``name``; with ``record`` its signal actor keeps every signal and plan
    (only that argument is added: the layout is the shipped one)."""
    data: dict[str, Any] = tomllib.loads(shipped_text(name))
    if record:
        data["actors"]["signal"].setdefault("args", {})["record"] = True
    return resolve(spec_from_data(data, source=f"bundles/{name}.toml", stem=name))
