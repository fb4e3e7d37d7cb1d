"""Transports: how envelopes cross from one endpoint to another."""

from .base import Transport as Transport
from .local import LocalTransport as LocalTransport
from .unix import UnixSocketListener as UnixSocketListener
from .unix import UnixSocketTransport as UnixSocketTransport

__all__ = ["LocalTransport", "Transport", "UnixSocketListener", "UnixSocketTransport"]
