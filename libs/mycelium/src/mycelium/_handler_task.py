"""``HandlerTask``: the task a handler runs in, made before the handler needs it (private).

A handler runs on the dispatcher, with no task of its own, until it first suspends. Yet
``asyncio.current_task()`` must name, from the handler's first line, the task that the handler
will continue in: ``asyncio.timeout`` and ``asyncio.TaskGroup`` keep that task and cancel it
later, and libraries key their state by it. So the dispatcher keeps one *standby* task: pending,
idle, and made the current task (``asyncio.tasks._enter_task``, as a ``Task`` does around each of
its steps) while the dispatcher runs handlers. A handler that suspends is *adopted* by the
standby: that very task resumes it (``adopt``), and a new standby is made when the next run
starts (so one adopted in the turn it was made in never even waits idle). A handler that
finishes without suspending leaves the standby as it found it, and the next handler reuses it,
so handlers that never suspend still cost no task each.

A handler that *keeps* or *changes* the standby (holds a reference to it after returning, or
calls ``cancel``, ``uncancel``, ``add_done_callback``, ``remove_done_callback``, ``set_name``)
would leak that into the next handler: such a standby is *tainted* (its reference count moves,
which the dispatcher checks after every handler; the methods above also set ``held``) and is
retired after that handler: it finishes at the next loop turn, as the task of a handler that
returned would, and no other handler runs in it.

Cancellation: a ``cancel()`` that reaches the standby while a handler runs synchronously is
delivered as a task would deliver it: to the future the handler awaits next (so
``asyncio.timeout`` and ``TaskGroup`` cancel the right code, and ``uncancel`` accounting is the
task's own); if the handler returns first, the task ends cancelled after it.

Contexts: a standby is made with the context the handlers it serves run in; an adopted handler's
steps run in the context it started in (with a ``context.run`` around each step if that is not
the task's own, which happens once a handler has set a variable since the standby was made).

Loop-affine, like the dispatcher that owns the standby.
"""

# pyright: reportPrivateUsage=false
# (_log_destroy_pending and _asyncio_future_blocking are asyncio's documented-in-source hooks)

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Callable, Coroutine, Generator
from typing import Any, final

__all__ = ["CURRENT_TASKS", "HandlerTask"]


def _current_tasks() -> dict[object, object] | None:
    """asyncio's own map of loops to their current task, if ``current_task()`` reads it (3.11
    to 3.13, C or Python tasks): making a task current is then one dict store, which costs a
    tenth of a call of ``_enter_task``. None where it does not (3.14 keeps it per thread)."""
    current: object = getattr(asyncio.tasks, "_current_tasks", None)
    if not isinstance(current, dict):
        return None
    tasks: dict[object, object] = current  # pyright: ignore[reportUnknownVariableType]
    probe, marker = object(), object()
    tasks[probe] = marker
    try:
        seen: object = asyncio.current_task(probe)  # type: ignore[arg-type]  # any key will do
    except Exception:  # whatever it is, the dict is not what current_task() reads
        seen = None
    finally:
        del tasks[probe]
    return tasks if seen is marker else None


CURRENT_TASKS = _current_tasks()
"""asyncio's dict of current tasks when stores to it are seen by ``current_task()``; else None
(then ``asyncio.tasks._enter_task``/``_leave_task`` are called)."""


@final
class _Steps(Coroutine[Any, Any, Any]):
    """The coroutine of a ``HandlerTask``: idle until adopted, then drives the adopted one.

    Invariant: ``_coro`` is None until ``adopt``; ``_started`` says whether ``_coro`` has taken
    its first step; ``_context`` is None when ``_coro`` runs in the task's own context;
    ``_wake`` is the future the idle task waits on (made at its first step, if still idle).
    """

    __slots__ = ("_context", "_coro", "_loop", "_retired", "_started", "_wake")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._coro: Coroutine[Any, Any, Any] | None = None
        self._context: contextvars.Context | None = None
        self._started = False
        self._retired = False
        self._wake: asyncio.Future[None] | None = None

    def send(self, value: Any, /) -> Any:
        coro = self._coro
        if coro is None:
            if self._retired:
                raise StopIteration(None)
            wake = self._wake
            if wake is None:
                wake = self._wake = self._loop.create_future()
            wake._asyncio_future_blocking = True  # what Future.__await__ sets before yielding
            return wake
        if not self._started:
            self._started = True
            value = None
        context = self._context
        if context is None:
            return coro.send(value)
        return context.run(coro.send, value)

    def throw(self, typ: Any, val: Any = None, tb: Any = None, /) -> Any:
        exc: BaseException = typ if val is None else val
        coro = self._coro
        if coro is None:  # idle (or retired) and cancelled: the task ends with it
            raise exc
        context = self._context
        if self._started:
            return coro.throw(exc) if context is None else context.run(coro.throw, exc)
        # Cancelled while the adopted handler still ran synchronously (or right after it
        # suspended): as a task would, cancel the future it awaits, or throw into it at once.
        self._started = True
        first = coro.send(None) if context is None else context.run(coro.send, None)
        if isinstance(exc, asyncio.CancelledError) and isinstance(first, asyncio.Future):
            message = exc.args[0] if exc.args else None
            if first.cancel(msg=message):  # pyright: ignore[reportUnknownMemberType]
                return first  # pyright: ignore[reportUnknownVariableType]
        return coro.throw(exc) if context is None else context.run(coro.throw, exc)

    def close(self) -> None:
        coro = self._coro
        if coro is not None:
            coro.close()

    def __await__(self) -> Generator[Any, None, Any]:
        raise TypeError("a handler task's coroutine is driven by its task, not awaited")

    # What asyncio's reprs and Task.get_stack() read: the adopted coroutine's, once there is one.

    @property
    def __name__(self) -> str:  # pyright: ignore[reportIncompatibleVariableOverride]
        coro = self._coro
        return "mycelium standby" if coro is None else getattr(coro, "__qualname__", "handler")

    @property
    def cr_code(self) -> Any:
        return getattr(self._coro, "cr_code", None)

    @property
    def cr_frame(self) -> Any:
        return getattr(self._coro, "cr_frame", None)


class HandlerTask(asyncio.Task[Any]):
    """A task made idle, ahead of need, for the next handler that suspends (see the module).

    ``held`` is None while the task is a clean standby; it is set (to the task itself, which
    also moves the reference count the dispatcher watches) once something changed it.
    """

    __slots__ = ("_own_context", "_steps", "held")

    def __init__(self, loop: asyncio.AbstractEventLoop, context: contextvars.Context) -> None:
        steps = _Steps(loop)
        super().__init__(steps, loop=loop, name="mycelium handler", context=context)
        self._steps = steps
        self._own_context = context
        self.held: HandlerTask | None = None
        # A standby that is never adopted is dropped with its system, silently.
        self._log_destroy_pending = False

    def adopt(
        self,
        coro: Coroutine[Any, Any, Any],
        context: contextvars.Context,
        done: Callable[[asyncio.Task[Any]], object],
    ) -> None:
        """Run ``coro`` (a suspended handler's continuation) in this task, in ``context``;
        ``done`` is called with the task when it has finished."""
        steps = self._steps
        steps._coro = coro
        steps._context = None if context is self._own_context else context
        self.held = None
        self._log_destroy_pending = True  # a handler destroyed while suspended is worth a word
        super().add_done_callback(done)
        wake = steps._wake
        if wake is not None and not wake.done():
            wake.set_result(None)

    def retire(self) -> None:
        """No handler will run in this task: it finishes at its next step."""
        steps = self._steps
        steps._retired = True
        self.held = None
        wake = steps._wake
        if wake is not None and not wake.done():
            wake.set_result(None)

    def _taint(self) -> None:
        steps = self._steps
        if steps._coro is None and not steps._retired:
            self.held = self

    # Every method that changes a task taints a standby; reading one (cancelling(), done(),
    # get_name(), ...) does not.

    def cancel(self, msg: Any | None = None) -> bool:
        self._taint()
        return super().cancel(msg)

    def uncancel(self) -> int:
        self._taint()
        return super().uncancel()

    def add_done_callback(self, fn: Any, /, *, context: contextvars.Context | None = None) -> None:
        self._taint()
        super().add_done_callback(fn, context=context)

    def remove_done_callback(self, fn: Any, /) -> int:
        self._taint()
        return super().remove_done_callback(fn)

    def set_name(self, value: object, /) -> None:
        self._taint()
        super().set_name(value)
