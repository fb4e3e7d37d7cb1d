"""The child process of a bundle: one actor of a spec, served at a Unix socket.

::

    python -m mycelium.bundle.child --spec FILE --actor NAME --socket PATH [--connect T=PATH]...

Started by :mod:`mycelium.bundle.loader`, never by hand (but it can be, to debug a factory). It
reads and resolves the spec (so it imports only what the spec names, through its factory
paths), connects one ``RemoteActorRef`` to each ``--connect`` socket (the actors it is wired
to), builds its actor with the factory, spawns it, listens at ``--socket`` and serves the actor
to every connection, then tells its parent it is ready (see :mod:`._control`: frames on the
original standard output; the child's own prints go to stderr).

It stops when its standard input ends (the parent closes it, or dies): once it has accepted
the connections the parent says to expect, the socket stops accepting, every connection is let
end, the actor stops gracefully, its refs are closed
(everything sent is written), and a report goes to the parent. Exit status 0 after a report,
2 when it could not start (after a ``Failed`` frame).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import Sequence
from typing import Any

from mycelium.actor_ref import ActorRef
from mycelium.remote import RemoteActorRef
from mycelium.system import ActorSystem
from mycelium.transport.unix import UnixSocketTransport

from ._build import build_actor, close_ref, encode_report, settle, spawn_actor
from ._control import Failed, Ready, RefStats, Report, write_event
from ._endpoint import Endpoint
from .errors import BundleConfigError
from .layout import resolve
from .loader import STOP_TIMEOUT
from .spec import load_spec

__all__ = ["main"]


class _CannotStart(Exception):
    def __init__(self, failed: Failed) -> None:
        self.failed = failed
        super().__init__(failed.detail)


async def _stop_asked() -> int:
    """Wait until the parent closes our standard input (or dies); the connections to expect."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    transport, _ = await loop.connect_read_pipe(
        lambda: asyncio.StreamReaderProtocol(reader), sys.stdin
    )
    try:
        text = await reader.read()
    finally:
        transport.close()
    try:
        return int(text.decode("ascii", "replace").strip() or 0)
    except ValueError:
        return 0


async def _run(options: argparse.Namespace, control: int) -> None:
    spec_path: str = options.spec
    name: str = options.actor
    socket_path: str = options.socket
    connects: dict[str, str] = {}
    for item in options.connect or ():
        target, sep, path = str(item).partition("=")
        if not sep:
            raise _CannotStart(Failed("start", "", f"bad --connect {item!r}: expected NAME=PATH"))
        connects[target] = path
    try:
        layout = resolve(load_spec(spec_path))
    except BundleConfigError as exc:
        raise _CannotStart(Failed("config", exc.where, exc.detail)) from exc
    if name not in layout.actors:
        raise _CannotStart(Failed("start", "", f"the spec has no actor {name!r}"))
    actor = layout.actors[name]
    async with ActorSystem(f"bundle-child-{name}") as system:
        refs: dict[str, ActorRef[Any]] = {}
        outgoing: list[tuple[str, RemoteActorRef[Any], UnixSocketTransport]] = []
        try:
            for target in actor.spec.wires.values():
                if target in refs:
                    continue
                if target not in connects:
                    raise _CannotStart(Failed("start", "", f"no --connect for {target!r}"))
                try:
                    transport = await UnixSocketTransport.connect(
                        connects[target], name=f"{name}->{target}"
                    )
                except OSError as exc:
                    raise _CannotStart(
                        Failed("start", "", f"cannot connect to actor {target!r}: {exc}")
                    ) from exc
                ref: RemoteActorRef[Any] = RemoteActorRef(
                    transport, layout.actors[target].message_type, name=target
                )
                outgoing.append((target, ref, transport))
                refs[target] = ref
            try:
                instance = build_actor(layout.spec, actor, refs)
            except BundleConfigError as exc:
                raise _CannotStart(Failed("config", exc.where, exc.detail)) from exc
            try:
                served, incarnations = await spawn_actor(system, layout.spec, actor, refs, instance)
            except Exception as exc:
                raise _CannotStart(Failed("start", "", f"{type(exc).__name__}: {exc}")) from exc
            try:
                endpoint = await Endpoint.open(socket_path, name, served, actor.message_type)
            except OSError as exc:
                raise _CannotStart(
                    Failed("config", f"actors.{name}.placement", f"no free socket path: {exc}")
                ) from exc
        except BaseException:
            for _, ref, _ in outgoing:
                ref.close()
            raise
        write_event(control, Ready(pid=os.getpid()))
        expected = await _stop_asked()
        await endpoint.drain(expected, STOP_TIMEOUT)
        await settle(served, incarnations, STOP_TIMEOUT)
        await system.stop(served, timeout=STOP_TIMEOUT)
        stats: list[RefStats] = []
        for target, ref, transport in outgoing:
            stats.append(await close_ref(name, target, ref, transport, STOP_TIMEOUT))
        if incarnations is not None:
            instance = incarnations.current
        report, report_error = encode_report(instance)
        dead_letters = system.dead_letters.count
    write_event(
        control,
        Report(
            report=report,
            report_error=report_error,
            refs=stats,
            endpoint=endpoint.stats(),
            dead_letters=dead_letters,
        ),
    )


def _event_loop_runner() -> asyncio.Runner:
    try:
        import uvloop  # noqa: PLC0415 - the faster loop when it is installed
    except ModuleNotFoundError:
        return asyncio.Runner()
    return asyncio.Runner(loop_factory=uvloop.new_event_loop)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the child; see the module docstring."""
    parser = argparse.ArgumentParser(prog="python -m mycelium.bundle.child")
    parser.add_argument("--spec", required=True, help="the bundle spec (TOML, or JSON)")
    parser.add_argument("--actor", required=True, help="the actor of the spec to run")
    parser.add_argument("--socket", required=True, help="where to serve it")
    parser.add_argument(
        "--connect", action="append", metavar="NAME=PATH", help="socket of a wired actor"
    )
    options = parser.parse_args(argv)
    # Ctrl-C on a terminal reaches the whole process group: the parent decides when we stop
    # (it closes our stdin), so we do not die half-way on our own.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    control = os.dup(1)
    os.dup2(2, 1)  # our prints (and the factory's) go to stderr, never into the control frames
    try:
        with _event_loop_runner() as runner:
            runner.run(_run(options, control))
    except _CannotStart as exc:
        write_event(control, exc.failed)
        return 2
    finally:
        with contextlib.suppress(OSError):
            os.close(control)
    return 0


if __name__ == "__main__":
    sys.exit(main())
