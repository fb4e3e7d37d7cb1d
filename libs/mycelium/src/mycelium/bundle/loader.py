"""Starting a whole bundle on a system, child processes included, and stopping it cleanly.

::

    layout = resolve(load_spec("bundles/relay.toml"))
    async with ActorSystem() as system:
        async with await start_bundle(layout, system) as bundle:
            entry = await bundle.connect("market")
            ...                                   # send to it
            outcome = await bundle.stop()         # every actor stopped, children reaped
        report = outcome.report("market", MarketCounters)

Starting: actors start in the layout's start order (an actor after those it is wired to). A
local actor is built by its factory and spawned on the given system; if an actor in another
process is wired to it, it is also served at a Unix socket. An actor placed ``"unix"`` runs in a
child process (``python -m mycelium.bundle.child``) that connects to the sockets of the actors
it is wired to, spawns its actor, serves it at its own socket and says it is ready; the child
gets this process's ``sys.path`` so its factory imports as it does here. If anything fails,
what had started is stopped again (children killed) before the error is raised: nothing is left
running.

Stopping (:meth:`RunningBundle.stop`): in reverse start order, so an actor stops only after
every actor that sends to it has stopped and closed its refs. For each actor: its socket stops
accepting and every connection to it is let end (everything read is delivered), the actor stops
gracefully (its mailbox is handled, then ``on_stop``), its own refs to other processes are
closed (everything sent is written first), and its ``report()`` is taken; a child does the same
when its standard input closes, sends its report and exits. Children are always reaped, the
private run directory (socket files, the spec handed to children) is removed, and the
:class:`BundleOutcome` accounts for every frame that crossed a process boundary.

Threads: loop-affine, like the system.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import stat
import sys
import tempfile
from collections.abc import Collection
from types import TracebackType
from typing import Any, Final, TypeVar, final

import msgspec

from mycelium.actor import Actor
from mycelium.actor_ref import ActorRef
from mycelium.remote import RemoteActorRef
from mycelium.system import ActorSystem
from mycelium.transport._socket_path import MAX_PATH_BYTES
from mycelium.transport.unix import UnixSocketTransport

from ._build import Incarnations, build_actor, close_ref, encode_report, settle, spawn_actor
from ._control import EndpointStats, Failed, Ready, RefStats, Report, read_event
from ._endpoint import Endpoint
from .errors import BundleConfigError, BundleError, BundleStartError
from .layout import MAIN_PROCESS, Layout, ResolvedActor

__all__ = ["BundleOutcome", "RunningBundle", "start_bundle"]

T = TypeVar("T")

READY_TIMEOUT: Final = 30.0
"""How long a child process may take to get ready, s."""

STOP_TIMEOUT: Final = 30.0
"""How long each step of a stop may take (a drain, a child's report), s."""

ABORT_STOP_TIMEOUT: Final = 1.0
"""How long each local actor may take to stop when the bundle is aborted, s."""

_BUNDLE_REF: Final = "<bundle>"


@final
class BundleOutcome:
    """What a stopped bundle did, and what crossed its process boundaries.

    Attributes:
        name: the bundle's name.
        reports: each actor's ``report()``, msgpack-encoded (``None``: it has none, or it could
            not be had; see ``report_errors``).
        report_errors: actor -> why its report is missing.
        refs: the sending side of every wire that crossed a process boundary.
        endpoints: the receiving side of every actor served at a socket.
        dead_letters: child process -> messages its system accepted but never handled.
        failures: one line for each thing that went wrong (a child that exited during the run
            or without reporting, a connection cut at stop); empty when all went well.
    """

    __slots__ = (
        "dead_letters",
        "endpoints",
        "failures",
        "name",
        "refs",
        "report_errors",
        "reports",
    )

    def __init__(
        self,
        name: str,
        *,
        reports: dict[str, bytes | None],
        report_errors: dict[str, str],
        refs: list[RefStats],
        endpoints: list[EndpointStats],
        dead_letters: dict[str, int],
        failures: list[str],
    ) -> None:
        self.name = name
        self.reports = reports
        self.report_errors = report_errors
        self.refs = refs
        self.endpoints = endpoints
        self.dead_letters = dead_letters
        self.failures = failures

    def report(self, actor: str, kind: type[T]) -> T:
        """Actor ``actor``'s report, decoded as ``kind``.

        Raises:
            BundleError: the actor has no report (the message says why).
        """
        data = self.reports.get(actor)
        if data is None:
            why = self.report_errors.get(actor, "it has no report() method")
            raise BundleError(f"bundle {self.name!r}: no report from actor {actor!r}: {why}")
        try:
            return msgspec.msgpack.decode(data, type=kind)
        except msgspec.DecodeError as exc:
            raise BundleError(
                f"bundle {self.name!r}: the report of actor {actor!r} is not a "
                f"{kind.__qualname__}: {exc}"
            ) from exc

    def delivery(self) -> dict[str, int]:
        """Frames across process boundaries: sent, delivered, and every way one was not.

        Empty when nothing crossed a process boundary. Every value but ``frames_sent`` and
        ``delivered`` counts a loss and is 0 on a clean run (see :attr:`lost`); ``frames_sent
        == delivered + undelivered_in_transport + refused_by_receiver + not_accepted_by_actor
        + unaccounted`` always holds (``rejections_seen_by_sender`` are the refusals that made
        it back to the sender).
        """
        if not self.refs and not self.endpoints:
            return {}
        refs, endpoints = self.refs, self.endpoints
        sent = sum(ref.sent for ref in refs)
        delivered = sum(point.delivered for point in endpoints)
        undelivered = sum(ref.undelivered for ref in refs)
        refused = sum(point.rejected for point in endpoints)
        not_accepted = sum(point.undelivered for point in endpoints)
        return {
            "frames_sent": sent,
            "delivered": delivered,
            "undelivered_in_transport": undelivered,
            "refused_by_receiver": refused,
            "rejections_seen_by_sender": sum(ref.rejected for ref in refs),
            "not_accepted_by_actor": not_accepted,
            # Sent, but neither delivered nor counted by the receiver: lost with a connection
            # (in the kernel's buffers, or never accepted).
            "unaccounted": max(0, sent - delivered - undelivered - refused - not_accepted),
            "connections_cut": sum(point.cut for point in endpoints),
            "connections_missing": sum(point.missing for point in endpoints),
            "dead_letters_in_children": sum(self.dead_letters.values()),
        }

    @property
    def lost(self) -> int:
        """Messages that crossed, or tried to cross, a process boundary and were not handled."""
        return sum(
            count
            for key, count in self.delivery().items()
            if key not in ("frames_sent", "delivered")
        )

    def __repr__(self) -> str:
        return (
            f"<BundleOutcome {self.name!r} actors={len(self.reports)} lost={self.lost} "
            f"failures={len(self.failures)}>"
        )


async def start_bundle(
    layout: Layout,
    system: ActorSystem,
    *,
    ready_timeout: float = READY_TIMEOUT,
    stop_timeout: float = STOP_TIMEOUT,
) -> RunningBundle:
    """Start every actor of ``layout`` (see the module docstring); use it with ``async with``.

    Raises:
        BundleConfigError: something only visible while starting is wrong (a factory returned
            something else than its Actor class, no socket path is short enough).
        BundleStartError: an actor could not be started (``on_start`` raised, a child process
            exited or did not get ready within ``ready_timeout`` s).
    """
    bundle = RunningBundle(layout, system, ready_timeout=ready_timeout, stop_timeout=stop_timeout)
    try:
        await bundle._start()  # pyright: ignore[reportPrivateUsage]
    except BaseException:
        await bundle._abort()  # pyright: ignore[reportPrivateUsage]
        raise
    return bundle


@final
class _Child:
    """One child process running one actor."""

    __slots__ = ("exited", "name", "process", "stopping")

    def __init__(self, name: str, process: asyncio.subprocess.Process) -> None:
        self.name = name
        self.process = process
        self.stopping = False
        self.exited: asyncio.Task[int] = asyncio.get_running_loop().create_task(
            process.wait(), name=f"bundle child {name}"
        )

    def describe_exit(self) -> str:
        code = self.process.returncode
        if code is not None and code < 0:
            try:
                how = f"was killed by {signal.Signals(-code).name}"
            except ValueError:
                how = f"was killed by signal {-code}"
        else:
            how = f"exited with status {code}"
        return f"actor {self.name!r} (child process {self.process.pid}) {how}"

    async def wait_ready(self, timeout: float) -> Ready | Failed | None:
        stdout = self.process.stdout
        assert stdout is not None
        reading = asyncio.ensure_future(read_event(stdout))
        done, _ = await asyncio.wait(
            (reading, self.exited), timeout=timeout, return_when="FIRST_COMPLETED"
        )
        if reading not in done and self.exited in done:
            # It exited; what it wrote before is still readable.
            done, _ = await asyncio.wait((reading,), timeout=1.0)
        if reading not in done:
            reading.cancel()
            return None
        event = reading.result()
        if isinstance(event, Report):
            raise ValueError("the child reported before it was ready")
        return event

    async def stop(self, expected: int, timeout: float) -> tuple[Report | None, str | None]:
        """Ask the child to stop once it has accepted ``expected`` connections, take its
        report, reap it."""
        self.stopping = True
        process = self.process
        if process.stdin is not None:
            # A dead child's pipe may be closed already (uvloop raises RuntimeError then).
            with contextlib.suppress(OSError, RuntimeError):
                process.stdin.write(b"%d\n" % expected)
            process.stdin.close()
        report: Report | None = None
        failure: str | None = None
        stdout = process.stdout
        assert stdout is not None
        try:
            event = await asyncio.wait_for(read_event(stdout), timeout)
        except TimeoutError:
            failure = (
                f"actor {self.name!r} (child process {process.pid}) did not report within "
                f"{timeout} s; killed"
            )
        except ValueError as exc:
            failure = f"actor {self.name!r}: {exc}"
        else:
            if isinstance(event, Report):
                report = event
            elif event is None:  # it exited without reporting
                await self._reap(timeout)
                return None, self.describe_exit()
        await self._reap(timeout)
        if failure is None and process.returncode != 0:
            failure = self.describe_exit()
        return report, failure

    async def _reap(self, timeout: float) -> None:
        done, _ = await asyncio.wait((self.exited,), timeout=timeout)
        if not done:
            self.kill()
            await self.exited

    def kill(self) -> None:
        if self.process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.kill()


@final
class RunningBundle:
    """A started bundle: refs to its actors while it runs, a :class:`BundleOutcome` once stopped.

    Made by :func:`start_bundle`. Leaving ``async with`` normally stops it like :meth:`stop`;
    leaving it with an exception (or a cancellation) kills the children and stops the local
    actors at once, without waiting for reports.
    """

    __slots__ = (
        "_children",
        "_endpoints",
        "_external",
        "_incarnations",
        "_instances",
        "_outgoing",
        "_ready_timeout",
        "_refs",
        "_run_dir",
        "_sockets",
        "_spec_file",
        "_started",
        "_stop_timeout",
        "_stopping",
        "layout",
        "system",
    )

    def __init__(
        self, layout: Layout, system: ActorSystem, *, ready_timeout: float, stop_timeout: float
    ) -> None:
        """Made by :func:`start_bundle`."""
        self.layout = layout
        self.system = system
        self._ready_timeout = ready_timeout
        self._stop_timeout = stop_timeout
        self._run_dir: str | None = None
        self._spec_file: str | None = None
        # Invariant: every actor in _started is running (or has stopped on its own); local ones
        # have a ref and an instance, child ones a _Child.
        self._started: list[str] = []
        self._refs: dict[str, ActorRef[Any]] = {}
        self._instances: dict[str, Actor[Any]] = {}
        self._incarnations: dict[str, Incarnations] = {}
        self._endpoints: dict[str, Endpoint] = {}
        self._children: dict[str, _Child] = {}
        self._sockets: dict[str, str] = {}
        # Refs to other processes, by the actor holding them: (target, ref, transport).
        self._outgoing: dict[str, list[tuple[str, RemoteActorRef[Any], UnixSocketTransport]]] = {}
        self._external: list[tuple[str, RemoteActorRef[Any], UnixSocketTransport]] = []
        self._stopping: asyncio.Task[BundleOutcome] | None = None

    # ------------------------------------------------------------------------------ access

    def ref(self, name: str) -> ActorRef[Any]:
        """The ref of local actor ``name``.

        Raises:
            KeyError: no actor ``name`` runs in this process (use :meth:`connect`).
        """
        if name not in self._refs:
            raise KeyError(f"no actor {name!r} runs in this process; use connect({name!r})")
        return self._refs[name]

    def local_actor(self, name: str) -> Actor[Any] | None:
        """The actor object of ``name`` if it runs in this process, else ``None``."""
        incarnations = self._incarnations.get(name)
        return incarnations.current if incarnations else self._instances.get(name)

    async def connect(self, name: str) -> ActorRef[Any]:
        """A ref to actor ``name`` wherever it runs (a new connection for one in a child).

        The bundle owns the connection: :meth:`stop` closes it first.

        Raises:
            KeyError: the bundle has no actor ``name``.
        """
        if name in self._refs:
            return self._refs[name]
        if name not in self._children:
            raise KeyError(f"bundle {self.layout.name!r} has no actor {name!r}")
        ref, transport = await self._dial(_BUNDLE_REF, name)
        self._external.append((name, ref, transport))
        return ref

    def queued(self, *, skip: Collection[str] = ()) -> int:
        """Messages waiting now in the mailboxes of the bundle's actors in this process (but
        those named in ``skip``)."""
        return sum(len(ref.mailbox) for name, ref in self._refs.items() if name not in skip)

    @property
    def failures(self) -> list[str]:
        """Children that have exited while the bundle runs (one line each)."""
        return [
            child.describe_exit()
            for child in self._children.values()
            if child.exited.done() and not child.stopping
        ]

    async def wait_failure(self) -> str:
        """Wait until a child process exits while the bundle runs; the line that says which.

        Returns at once if one already has; waits forever if the bundle has no child.
        """
        while True:
            failures = self.failures
            if failures:
                return failures[0]
            running = [child.exited for child in self._children.values() if not child.stopping]
            if not running:
                await asyncio.get_running_loop().create_future()  # forever: nothing can fail
            await asyncio.wait(running, return_when="FIRST_COMPLETED")

    # ---------------------------------------------------------------------------- starting

    async def _start(self) -> None:
        layout = self.layout
        self._make_run_dir()
        for name in layout.start_order:
            actor = layout.actors[name]
            if actor.process == MAIN_PROCESS:
                await self._start_local(actor)
            else:
                await self._start_child(actor)

    def _make_run_dir(self) -> None:
        layout = self.layout
        wanted = [a.name for a in layout.actors.values() if a.served and a.socket is None]
        children = any(a.process != MAIN_PROCESS for a in layout.actors.values())
        for actor in layout.actors.values():
            if actor.socket is not None:
                self._sockets[actor.name] = actor.socket
        if not wanted and not children:
            return
        longest = max((len(os.fsencode(name)) for name in wanted), default=0) + len("/.sock")
        for base in (None, "/tmp"):
            run_dir = tempfile.mkdtemp(prefix="mycelium-bundle-", dir=base)
            if len(os.fsencode(run_dir)) + longest <= MAX_PATH_BYTES:
                break
            os.rmdir(run_dir)
        else:
            name = max(wanted, key=len)
            raise layout.spec.error(
                f"actors.{name}.placement",
                f"no free socket path: the temporary directory's path is too long for a Unix "
                f"socket ({MAX_PATH_BYTES} bytes at most); set TMPDIR to a shorter directory "
                "or give the socket path",
            )
        self._run_dir = run_dir
        for name in wanted:
            self._sockets[name] = os.path.join(run_dir, f"{name}.sock")

    async def _wired_refs(self, actor: ResolvedActor) -> dict[str, ActorRef[Any]]:
        refs: dict[str, ActorRef[Any]] = {}
        outgoing = self._outgoing.setdefault(actor.name, [])
        for wire in self.layout.wires_from(actor.name):
            if wire.target in refs:
                continue
            if wire.remote:
                ref, transport = await self._dial(actor.name, wire.target)
                outgoing.append((wire.target, ref, transport))
                refs[wire.target] = ref
            else:
                refs[wire.target] = self._refs[wire.target]
        return refs

    async def _dial(
        self, source: str, target: str
    ) -> tuple[RemoteActorRef[Any], UnixSocketTransport]:
        path = self._sockets[target]
        try:
            transport = await UnixSocketTransport.connect(path, name=f"{source}->{target}")
        except OSError as exc:
            raise BundleStartError(
                source, f"cannot connect to actor {target!r} at {path}: {exc.strerror or exc}"
            ) from exc
        message_type: Any = self.layout.actors[target].message_type
        ref: RemoteActorRef[Any] = RemoteActorRef(transport, message_type, name=target)
        return ref, transport

    async def _start_local(self, actor: ResolvedActor) -> None:
        refs = await self._wired_refs(actor)
        instance = build_actor(self.layout.spec, actor, refs)
        try:
            ref, incarnations = await spawn_actor(
                self.system, self.layout.spec, actor, refs, instance
            )
        except Exception as exc:
            raise BundleStartError(actor.name, f"{type(exc).__name__}: {exc}") from exc
        self._started.append(actor.name)
        self._refs[actor.name] = ref
        self._instances[actor.name] = instance
        if incarnations is not None:
            self._incarnations[actor.name] = incarnations
        if actor.served:
            path = self._sockets[actor.name]
            try:
                endpoint = await Endpoint.open(path, actor.name, ref, actor.message_type)
            except OSError as exc:
                raise self.layout.spec.error(
                    f"actors.{actor.name}.placement", f"no free socket path: {exc}"
                ) from exc
            self._endpoints[actor.name] = endpoint

    async def _start_child(self, actor: ResolvedActor) -> None:
        assert self._run_dir is not None
        spec_path = os.path.join(self._run_dir, "spec.json")
        if self._spec_file is None:
            self._spec_file = spec_path
            _write_file(spec_path, msgspec.json.encode(self.layout.spec.data))
        command = [
            sys.executable,
            "-m",
            "mycelium.bundle.child",
            *("--spec", spec_path, "--actor", actor.name, "--socket", self._sockets[actor.name]),
        ]
        for wire in self.layout.wires_from(actor.name):
            command += ["--connect", f"{wire.target}={self._sockets[wire.target]}"]
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(entry for entry in sys.path if entry)
        process = await asyncio.create_subprocess_exec(
            *command,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            env=env,
            # A session (so a process group) of its own: a terminal's Ctrl-C reaches this
            # process only, which stops the bundle (and the child) in order.
            start_new_session=True,
        )
        child = _Child(actor.name, process)
        self._children[actor.name] = child
        self._started.append(actor.name)
        try:
            event = await child.wait_ready(self._ready_timeout)
        except ValueError as exc:
            raise BundleStartError(actor.name, str(exc)) from exc
        if isinstance(event, Ready):
            return
        if isinstance(event, Failed):
            if event.kind == "config":
                raise BundleConfigError(self.layout.spec.source, event.where, event.detail)
            raise BundleStartError(actor.name, event.detail)
        if child.exited.done():
            raise BundleStartError(
                actor.name, f"{child.describe_exit()} before it was ready (see its stderr)"
            )
        raise BundleStartError(
            actor.name,
            f"its child process ({process.pid}) did not get ready within {self._ready_timeout} s",
        )

    # ---------------------------------------------------------------------------- stopping

    async def stop(self) -> BundleOutcome:
        """Stop the whole bundle (see the module docstring) and account for it. Idempotent."""
        if self._stopping is None:
            self._stopping = asyncio.get_running_loop().create_task(self._stop())
        return await asyncio.shield(self._stopping)

    async def _stop(self) -> BundleOutcome:
        timeout = self._stop_timeout
        reports: dict[str, bytes | None] = {}
        errors: dict[str, str] = {}
        refs: list[RefStats] = []
        endpoints: list[EndpointStats] = []
        dead_letters: dict[str, int] = {}
        failures = self.failures
        try:
            for target, ref, transport in self._external:
                refs.append(await close_ref(_BUNDLE_REF, target, ref, transport, timeout))
            for name in reversed(self._started):
                child = self._children.get(name)
                if child is None:
                    endpoint = self._endpoints.get(name)
                    if endpoint is not None:
                        await endpoint.drain(self._expected_connections(name), timeout)
                        endpoints.append(endpoint.stats())
                    await settle(self._refs[name], self._incarnations.get(name), timeout)
                    await self.system.stop(self._refs[name], timeout=timeout)
                    for target, ref, transport in self._outgoing.get(name, ()):
                        refs.append(await close_ref(name, target, ref, transport, timeout))
                    reports[name], error = encode_report(self.local_actor(name))
                else:
                    already_gone = child.exited.done()
                    report, failure = await child.stop(self._expected_connections(name), timeout)
                    if failure is not None and not already_gone:
                        failures.append(failure)
                    reports[name], error = None, failure
                    if report is not None:
                        reports[name], error = report.report, report.report_error
                        refs.extend(report.refs)
                        if report.endpoint is not None:
                            endpoints.append(report.endpoint)
                        dead_letters[name] = report.dead_letters
                if error is not None:
                    errors[name] = error
            for point in endpoints:
                if point.cut:
                    failures.append(
                        f"actor {point.actor!r}: {point.cut} connection(s) still open at stop "
                        "were cut"
                    )
                if point.missing:
                    failures.append(
                        f"actor {point.actor!r}: {point.missing} expected connection(s) never "
                        "arrived"
                    )
        finally:
            self._remove_files()
        return BundleOutcome(
            self.layout.name,
            reports=reports,
            report_errors=errors,
            refs=refs,
            endpoints=endpoints,
            dead_letters=dead_letters,
            failures=failures,
        )

    def _expected_connections(self, name: str) -> int:
        """Connections made to actor ``name``'s socket: one per actor wired to it from another
        process, one per :meth:`connect`."""
        sources = {wire.source for wire in self.layout.wires if wire.remote and wire.target == name}
        return len(sources) + sum(1 for target, _, _ in self._external if target == name)

    async def _abort(self) -> None:
        """After a failed start, an exception or a cancellation: stop everything now.

        Local actors get a short graceful stop first (:data:`ABORT_STOP_TIMEOUT`), newest
        first, while the processes they send to still run (so a handler does not crash on a
        connection cut under it); then connections are cut, children killed and reaped, and
        the files removed. No report is taken.
        """
        for child in self._children.values():
            child.stopping = True
        for _, ref, transport in self._external:
            ref.close()
            transport.abort()
        for name in reversed(self._started):
            ref = self._refs.get(name)
            if ref is not None:
                with contextlib.suppress(Exception):
                    await self.system.stop(ref, timeout=ABORT_STOP_TIMEOUT)
        for endpoint in self._endpoints.values():
            endpoint.abort()
        for outgoing in self._outgoing.values():
            for _, ref, transport in outgoing:
                ref.close()
                transport.abort()
        for child in self._children.values():
            child.kill()
        for child in self._children.values():
            with contextlib.suppress(Exception):
                await child.exited
        self._remove_files()

    def _remove_files(self) -> None:
        for name, path in self._sockets.items():
            inside = self._run_dir is not None and path.startswith(self._run_dir + os.sep)
            if not inside and name in self._started:
                # A given path: its listener removed it, unless its process was killed.
                with contextlib.suppress(OSError):
                    if _is_socket(path):
                        os.unlink(path)
        if self._run_dir is not None:
            shutil.rmtree(self._run_dir, ignore_errors=True)
            self._run_dir = None

    # --------------------------------------------------------------------- context manager

    async def __aenter__(self) -> RunningBundle:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc is None:
            await self.stop()
        elif self._stopping is None:
            await self._abort()

    def __repr__(self) -> str:
        state = "stopping" if self._stopping is not None else "running"
        return f"<RunningBundle {self.layout.name!r} {state} actors={len(self._started)}>"


def _is_socket(path: str) -> bool:
    return stat.S_ISSOCK(os.lstat(path).st_mode)


def _write_file(path: str, data: bytes) -> None:
    with open(path, "wb") as file:
        file.write(data)
