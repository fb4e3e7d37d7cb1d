"""Transports: how envelopes cross from one endpoint to another."""

from .base import Transport as Transport
from .local import LocalTransport as LocalTransport

__all__ = ["LocalTransport", "Transport"]
