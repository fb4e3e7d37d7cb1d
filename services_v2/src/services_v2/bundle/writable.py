"""Whether a path the command is asked to write can be written, checked before any work."""

from __future__ import annotations

import os
import stat
from pathlib import Path

__all__ = ["unwritable"]


def unwritable(path: Path) -> str | None:
    """Why ``path`` cannot be written, or ``None``; tries it, leaving nothing behind."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        mode = None
    except OSError as exc:
        return exc.strerror or str(exc)
    if mode is not None and stat.S_ISDIR(mode):
        return "it is a directory"
    if mode is not None and not stat.S_ISREG(mode):  # a FIFO, a device: opening may block
        return None if os.access(path, os.W_OK) else "permission denied"
    try:
        with path.open("ab"):
            pass
    except OSError as exc:
        return exc.strerror or str(exc)
    if mode is None:
        path.unlink(missing_ok=True)
    return None
