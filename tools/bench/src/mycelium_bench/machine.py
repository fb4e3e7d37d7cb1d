"""What the figures were measured on: cores, CPU, Python build, uvloop, the runtime's build."""

from __future__ import annotations

import importlib
import os
import platform
import sys
from pathlib import Path

import msgspec
import uvloop

__all__ = ["machine_info"]


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _speedups() -> bool | None:
    """Whether Mycelium's C send path is in use (None if this build does not say)."""
    try:
        core = importlib.import_module("mycelium._core")
    except ImportError:
        return None
    flag = getattr(core, "SPEEDUPS", None)
    return flag if isinstance(flag, bool) else None


def machine_info() -> dict[str, object]:
    """The machine and the software versions, for the report's header and its JSON."""
    build_number, build_date = platform.python_build()
    return {
        "cores": os.cpu_count() or 1,
        "usable_cores": _usable_cores(),
        "cpu": _cpu_model(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "python_implementation": platform.python_implementation(),
        "python_build": f"{build_number}, {build_date}",
        "python_compiler": platform.python_compiler(),
        "python_debug_build": hasattr(sys, "gettotalrefcount"),
        "uvloop": uvloop.__version__,
        "msgspec": msgspec.__version__,
        "mycelium_speedups": _speedups(),
    }
