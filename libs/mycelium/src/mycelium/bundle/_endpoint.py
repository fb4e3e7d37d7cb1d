"""``Endpoint``: one local actor served at a Unix socket path, to any number of connections.

Each accepted connection gets an :class:`~mycelium.server.ActorServer` delivering to the actor
(with ``await send``: a full mailbox stops reading, which makes the remote senders wait).

Closing, in the order a bundle's stop needs (:meth:`drain`): first wait until the connections
the owner expects have all been accepted (a connection a peer made is only in the kernel's
backlog until then: closing the listener would lose it, and what was written to it), then stop
accepting, then wait until every peer has closed its connection and everything read from it was
delivered. Both waits are bounded by a timeout: expected connections never accepted are counted
as ``missing``, connections still open at the end are cut and counted as ``cut``. The socket
file is removed when the listener closes.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any, final

from mycelium.actor_ref import ActorRef
from mycelium.errors import TransportClosed
from mycelium.server import ActorServer
from mycelium.transport.unix import UnixSocketListener, UnixSocketTransport

from ._control import EndpointStats

__all__ = ["Endpoint"]


@final
class Endpoint:
    """Serves ``ref`` at ``path``; build it with :meth:`open` (the socket exists then)."""

    __slots__ = (
        "_accepted",
        "_accepting",
        "_cut",
        "_listener",
        "_message_type",
        "_missing",
        "_ref",
        "_servers",
        "actor",
    )

    def __init__(
        self, listener: UnixSocketListener, actor: str, ref: ActorRef[Any], message_type: Any
    ) -> None:
        """Made by :meth:`open`."""
        self.actor = actor
        self._listener = listener
        self._ref = ref
        self._message_type = message_type
        # Invariant: one server per accepted connection, in order of acceptance.
        self._servers: list[ActorServer[Any]] = []
        self._cut = 0
        self._missing = 0
        self._accepted = asyncio.Event()  # set at each connection accepted
        self._accepting = asyncio.get_running_loop().create_task(
            self._accept(), name=f"bundle endpoint {actor}"
        )

    @classmethod
    async def open(cls, path: str, actor: str, ref: ActorRef[Any], message_type: Any) -> Endpoint:
        """Listen at ``path`` and serve ``ref`` to every connection.

        Raises:
            SocketPathInUse, SocketPathError: the socket cannot be created at ``path``.
        """
        listener = await UnixSocketTransport.listen(path)
        return cls(listener, actor, ref, message_type)

    @property
    def path(self) -> str:
        """The socket's path."""
        return self._listener.path

    async def _accept(self) -> None:
        listener = self._listener
        while True:
            try:
                transport = await listener.accept()
            except TransportClosed:
                return
            name = f"{self.actor}#{len(self._servers) + 1}"
            self._servers.append(ActorServer(transport, self._ref, self._message_type, name=name))
            self._accepted.set()

    async def drain(self, expected: int, timeout: float) -> None:
        """Close in order (see the module docstring): ``expected`` connections are waited for."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while len(self._servers) < expected and loop.time() < deadline:
            self._accepted.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._accepted.wait(), deadline - loop.time())
        self._missing = max(0, expected - len(self._servers))
        self._listener.close()
        self._accepting.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._accepting
        await self._listener.wait_closed()
        waiting = [asyncio.ensure_future(server.wait_closed()) for server in self._servers]
        if waiting:
            _, pending = await asyncio.wait(waiting, timeout=max(0.0, deadline - loop.time()))
            for server, waiter in zip(self._servers, waiting, strict=True):
                if waiter in pending:
                    self._cut += 1
                    server.close()
            if pending:
                await asyncio.wait(pending, timeout=1.0)

    def abort(self) -> None:
        """Close the listener and every connection at once (after a failed start)."""
        self._listener.close()
        self._accepting.cancel()
        for server in self._servers:
            server.close()

    def stats(self) -> EndpointStats:
        """What the endpoint's connections delivered and refused."""
        servers = self._servers
        return EndpointStats(
            actor=self.actor,
            connections=len(servers),
            delivered=sum(server.delivered for server in servers),
            rejected=sum(server.rejected for server in servers),
            undelivered=sum(server.undelivered for server in servers),
            unanswered=sum(server.unanswered for server in servers),
            cut=self._cut,
            missing=self._missing,
        )
