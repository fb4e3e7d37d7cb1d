"""Every error the runtime raises, rooted in :class:`MyceliumError`.

Each error says what happened, names the actor (or transport) concerned and suggests the next
step. Errors about bad arguments (a capacity of 0, a negative timeout) are plain ``ValueError``
or ``TypeError``, as in the standard library.

Which error means what:

* :class:`ActorStopped`: the target actor has stopped (or is stopping) and accepts nothing more.
  The message was *not* delivered. Stopping is final: spawn a new actor.
* :class:`MailboxFull`: the target's mailbox is at capacity and the call does not wait
  (``try_send``; any call under the ``"fail"`` overflow policy; an ``ask`` under
  ``"drop_new"``). The message was *not* delivered and the mailbox counts it in ``dropped``.
* :class:`MessageDropped`: a question was accepted into a mailbox with the ``"drop_oldest"``
  overflow policy, then dropped unhandled to make room for a newer message (it is also a dead
  letter). It will never be answered.
* :class:`AskTimeout`: no answer arrived in time. The question may still be handled later; its
  answer is then discarded. Also a :class:`TimeoutError`.
* :class:`MessageTypeError`: the message is not of the type the actor declared. Raised at the
  sender, before anything is enqueued. Also a :class:`TypeError`.
* :class:`NameTaken`: another live actor of the system already has that name.
* :class:`TransportClosed`: the transport was closed, by this side (``close()``) or by the peer
  (a dead process, a broken socket). Nothing more can be sent through it.
* :class:`MailboxEmpty`: ``get_nowait`` on an empty mailbox.
* :class:`SystemStopped`: the actor system was shut down; it spawns nothing more.
* :class:`WouldDeadlock`: an actor's handler asked its own actor, or waited for room in its
  own full mailbox: only that handler's return could let it go on. Also a :class:`RuntimeError`.
* :class:`WrongThread`: a ref was used from a thread other than its event loop's. Nothing
  was enqueued; hand the call to the loop with ``loop.call_soon_threadsafe``. Also a
  :class:`RuntimeError`.
* :class:`TransportFull`: a transport has no room for a frame and the call does not wait
  (``send_nowait``, ``send_bytes_nowait``). Nothing was accepted; the transport stays open. Also
  an :class:`asyncio.QueueFull`. A ``RemoteActorRef``'s ``try_send`` raises :class:`MailboxFull`
  instead, as any ref does when the way to its actor is full.
* :class:`FrameTooLarge`: ``send`` was given a message larger than the transport's maximum
  frame size. Nothing was written and the transport stays open. (A peer that *announces* such a
  frame breaks the connection instead: ``recv`` raises :class:`TransportClosed`, caused by this.)
* :class:`RemoteError`: an actor in another process raised while handling an ``ask``; carries
  the remote exception's type name, message and traceback text.
* :class:`SocketPathError`: a Unix socket cannot be created at a path (directory missing, not
  writable, path too long). Also an :class:`OSError`. :class:`SocketPathInUse` (also a
  :class:`FileExistsError`): something already exists at the path.
"""

from __future__ import annotations

import asyncio

__all__ = [
    "ActorStopped",
    "AskTimeout",
    "FrameTooLarge",
    "MailboxEmpty",
    "MailboxFull",
    "MessageDropped",
    "MessageTypeError",
    "MyceliumError",
    "NameTaken",
    "RemoteError",
    "SocketPathError",
    "SocketPathInUse",
    "SystemStopped",
    "TransportClosed",
    "TransportFull",
    "WouldDeadlock",
    "WrongThread",
]


class MyceliumError(Exception):
    """Root of every error raised by the Mycelium runtime."""


class ActorStopped(MyceliumError):
    """The actor has stopped or is stopping; the message was not delivered.

    Attributes:
        actor: the actor's label (``name#id``).
        message: the message that was not delivered, or ``None`` when there was none.
    """

    def __init__(self, actor: str, message: object = None, *, reason: str = "") -> None:
        self.actor = actor
        self.message = message
        what = "" if message is None else f"; {type(message).__name__} was not delivered"
        why = f" ({reason})" if reason else ""
        super().__init__(
            f"actor {actor!r} has stopped{why}{what}. Stopping is final: spawn a new actor."
        )


class MailboxFull(MyceliumError):
    """The target's mailbox is at capacity; back off or raise the capacity.

    Attributes:
        actor: the actor's label.
        capacity: the mailbox's capacity.
        message: the message that was not delivered.
    """

    def __init__(self, actor: str, capacity: int, message: object) -> None:
        self.actor, self.capacity, self.message = actor, capacity, message
        super().__init__(
            f"mailbox of {actor!r} is full ({capacity} messages); "
            f"{type(message).__name__} was not delivered. Retry later, use `await send` to "
            "wait for room, or spawn with a larger capacity."
        )


class MessageDropped(MyceliumError):
    """A queued question was dropped unhandled by the mailbox's overflow policy.

    Attributes:
        actor: the actor's label.
        policy: the overflow policy that dropped it (``"drop_oldest"``).
        message: the question that was dropped.
    """

    def __init__(self, actor: str, policy: str, message: object) -> None:
        self.actor, self.policy, self.message = actor, policy, message
        super().__init__(
            f"mailbox of {actor!r} was full and its overflow policy {policy!r} dropped "
            f"{type(message).__name__} unhandled to make room for a newer message; it will "
            "not be answered."
        )


class MailboxEmpty(MyceliumError):
    """``get_nowait`` found no message."""

    def __init__(self, actor: str) -> None:
        self.actor = actor
        super().__init__(f"mailbox of {actor!r} is empty")


class AskTimeout(MyceliumError, TimeoutError):
    """No answer to an ``ask`` within its timeout.

    The question stays in the mailbox and may still be handled; its answer is then discarded.

    Attributes:
        actor: the actor's label.
        timeout: the timeout that elapsed, in seconds.
        message: the question.
    """

    def __init__(self, actor: str, timeout: float, message: object) -> None:
        self.actor, self.timeout, self.message = actor, timeout, message
        super().__init__(
            f"actor {actor!r} did not answer {type(message).__name__} within {timeout:g} s; "
            "raise the timeout or check that the actor is not stuck."
        )


class MessageTypeError(MyceliumError, TypeError):
    """The message is not an instance of the actor's declared message type.

    Attributes:
        actor: the actor's label.
        expected: a readable form of the declared type.
        message: the rejected message.
    """

    def __init__(
        self, actor: str, expected: str, message: object, *, got: str | None = None
    ) -> None:
        self.actor, self.expected, self.message = actor, expected, message
        # got: how to name the message's class (qualified when it shares a declared name).
        got = type(message).__qualname__ if got is None else got
        super().__init__(
            f"actor {actor!r} handles {expected}, not {got}; the message was not delivered."
        )


class NameTaken(MyceliumError):
    """Another live actor of the system already has this name.

    Attributes:
        name: the name asked for.
    """

    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(
            f"an actor named {name!r} is already running in this system; "
            "pick another name or stop the existing actor first."
        )


class TransportClosed(MyceliumError):
    """The transport is closed, by this side or by its peer; nothing more can be sent.

    Attributes:
        transport: a description of the transport (its kind and address).
        detail: what closed it, when known.
    """

    def __init__(self, transport: str, detail: str = "") -> None:
        self.transport, self.detail = transport, detail
        why = f": {detail}" if detail else ""
        super().__init__(f"transport {transport} is closed{why}")


class TransportFull(MyceliumError, asyncio.QueueFull):
    """The transport has no room for another frame, and the call does not wait.

    Raised by ``send_nowait``/``send_bytes_nowait``: nothing was accepted and the transport
    stays open. Wait for room with ``send``/``send_bytes``, or retry later. Also an
    ``asyncio.QueueFull`` (what transports raised before, so ``except asyncio.QueueFull`` still
    works). Not a :class:`MailboxFull`: no actor's mailbox is concerned, and nothing is counted
    as dropped; ``RemoteActorRef.try_send`` turns it into the ``MailboxFull`` every ref raises.

    Attributes:
        transport: a description of the transport.
        capacity: the frames it holds before it is full (``0`` when it cannot tell).
        detail: what is full, when the transport knows more (frames and bytes waiting).
    """

    def __init__(self, transport: str, capacity: int, detail: str = "") -> None:
        self.transport, self.capacity, self.detail = transport, capacity, detail
        what = f" ({detail})" if detail else f" ({capacity} frames)" if capacity else ""
        super().__init__(
            f"transport {transport} is full{what}; nothing was sent. Use `await send` to wait "
            "for room, or retry later."
        )


class FrameTooLarge(MyceliumError, ValueError):
    """A frame is larger than the transport's ``max_frame_size``.

    Raised by ``send`` (nothing was written; the transport stays open: send something smaller
    or raise ``max_frame_size`` on both sides), and set as the cause of the
    :class:`TransportClosed` that ``recv`` raises when the peer announces such a frame (the
    connection is then closed: a peer that ignores the limit cannot be resynchronised).

    Attributes:
        transport: a description of the transport.
        size: the frame's payload size in bytes.
        limit: the maximum frame size in bytes.
    """

    def __init__(self, transport: str, size: int, limit: int) -> None:
        self.transport, self.size, self.limit = transport, size, limit
        super().__init__(
            f"frame of {size} bytes exceeds max_frame_size={limit} on transport {transport}; "
            "send smaller messages or raise max_frame_size on both sides."
        )


class RemoteError(MyceliumError):
    """An actor in another process raised while handling an ``ask``.

    The remote exception cannot travel as an object; its type name, message and traceback text
    do. The remote actor has stopped (a handler that raises stops its actor).

    Attributes:
        actor: the label of the remote ref.
        type_name: the qualified name of the remote exception's type, e.g. ``"ValueError"``.
        remote_message: ``str()`` of the remote exception.
        remote_traceback: the remote traceback as text (possibly shortened), or ``""``.
    """

    def __init__(
        self, actor: str, type_name: str, remote_message: str, remote_traceback: str = ""
    ) -> None:
        self.actor, self.type_name = actor, type_name
        self.remote_message, self.remote_traceback = remote_message, remote_traceback
        super().__init__(f"remote actor {actor!r} raised {type_name}: {remote_message}")


class SocketPathError(MyceliumError, OSError):
    """A Unix socket cannot be created at ``path``. Also an ``OSError``.

    Attributes:
        path: the socket path.
        reason: what is wrong and what to do about it.
    """

    def __init__(self, path: str, reason: str) -> None:
        self.path, self.reason = path, reason
        super().__init__(f"cannot listen on Unix socket {path!r}: {reason}")


class SocketPathInUse(SocketPathError, FileExistsError):
    """Something already exists at the socket path: another listener, or a stale socket file
    left by a process that died. Also a ``FileExistsError``.

    Remove the file if no process uses it, or listen with ``replace=True``.
    """

    def __init__(self, path: str) -> None:
        super().__init__(
            path,
            "the path already exists (another listener, or a stale socket left by a dead "
            "process). Remove it if it is stale, pick another path, or pass replace=True.",
        )


class SystemStopped(MyceliumError):
    """The actor system has been shut down; it spawns nothing more.

    Attributes:
        system: the system's name.
    """

    def __init__(self, system: str) -> None:
        self.system = system
        super().__init__(f"actor system {system!r} is shut down; create a new ActorSystem")


class WouldDeadlock(MyceliumError, RuntimeError):
    """A handler waited for its own actor: the wait could only end when that handler returns.

    Raised instead of hanging (``await send`` to its own full mailbox) or timing out (``ask`` to
    itself). Nothing was enqueued.

    Attributes:
        actor: the actor's label.
        message: the message that was not sent.
    """

    def __init__(self, actor: str, message: object, what: str) -> None:
        self.actor, self.message = actor, message
        super().__init__(
            f"actor {actor!r} {what} from its own handler: it would wait for itself forever; "
            f"{type(message).__name__} was not sent. Use try_send (or tell) to queue a message "
            "for yourself, and keep the answer in the handler instead of asking yourself."
        )


class WrongThread(MyceliumError, RuntimeError):
    """A ref was used from a thread other than the one running its system's event loop.

    Refs and systems are loop-affine: ``try_send``, ``tell``, ``send`` and ``ask`` must be
    called on the loop's thread. Nothing was enqueued. From another thread, hand the call to
    the loop: ``loop.call_soon_threadsafe(ref.try_send, msg)``, or
    ``asyncio.run_coroutine_threadsafe(coro, loop)`` for a coroutine that sends or asks.

    Attributes:
        actor: the actor's label.
        message: the message that was not delivered.
        thread: ``threading.get_ident()`` of the calling thread.
        owner: ``threading.get_ident()`` of the loop's thread.
    """

    def __init__(self, actor: str, message: object, thread: int, owner: int) -> None:
        self.actor, self.message, self.thread, self.owner = actor, message, thread, owner
        super().__init__(
            f"actor {actor!r} belongs to the event loop of thread {owner}, but was called from "
            f"thread {thread}; {type(message).__name__} was not delivered. Hand the call to "
            "the loop's thread: loop.call_soon_threadsafe(ref.try_send, msg)."
        )
