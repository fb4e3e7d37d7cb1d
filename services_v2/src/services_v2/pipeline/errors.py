"""What a deployment raises when a run cannot complete."""

from __future__ import annotations

__all__ = ["PipelineFailed"]


class PipelineFailed(Exception):
    """A run could not complete (e.g. the relay's other process died); the message is one line
    that says what happened and what was not handled."""
