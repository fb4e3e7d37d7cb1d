"""Transports: how envelopes and frames cross from one endpoint to another.

``base`` states the contracts (``Transport``; ``FrameTransport``, what ``RemoteActorRef`` and
``ActorServer`` need), ``local`` and ``unix`` implement both, ``adapter`` makes a
``FrameTransport`` of any ``Transport``; a full transport raises ``errors.TransportFull``.
"""

from .base import FrameTransport as FrameTransport
from .base import Transport as Transport
from .local import LocalTransport as LocalTransport
from .unix import UnixSocketListener as UnixSocketListener
from .unix import UnixSocketTransport as UnixSocketTransport

__all__ = [
    "FrameTransport",
    "LocalTransport",
    "Transport",
    "UnixSocketListener",
    "UnixSocketTransport",
]
