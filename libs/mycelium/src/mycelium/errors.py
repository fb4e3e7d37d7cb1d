"""Every error the runtime raises, rooted in :class:`MyceliumError`.

Each error says what happened, names the actor (or transport) concerned and suggests the next
step. Errors about bad arguments (a capacity of 0, a negative timeout) are plain ``ValueError``
or ``TypeError``, as in the standard library.

Which error means what:

* :class:`ActorStopped`: the target actor has stopped (or is stopping) and accepts nothing more.
  The message was *not* delivered. Stopping is final: spawn a new actor.
* :class:`MailboxFull`: the target's mailbox is at capacity and the call does not wait
  (``try_send``). The message was *not* delivered and the mailbox counts it in ``dropped``.
* :class:`AskTimeout`: no answer arrived in time. The question may still be handled later; its
  answer is then discarded. Also a :class:`TimeoutError`.
* :class:`MessageTypeError`: the message is not of the type the actor declared. Raised at the
  sender, before anything is enqueued. Also a :class:`TypeError`.
* :class:`NameTaken`: another live actor of the system already has that name.
* :class:`TransportClosed`: the transport was closed, by this side (``close()``) or by the peer
  (a dead process, a broken socket). Nothing more can be sent through it.
* :class:`MailboxEmpty`: ``get_nowait`` on an empty mailbox.
"""

from __future__ import annotations

__all__ = [
    "ActorStopped",
    "AskTimeout",
    "MailboxEmpty",
    "MailboxFull",
    "MessageTypeError",
    "MyceliumError",
    "NameTaken",
    "TransportClosed",
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

    def __init__(self, actor: str, expected: str, message: object) -> None:
        self.actor, self.expected, self.message = actor, expected, message
        super().__init__(
            f"actor {actor!r} handles {expected}, not {type(message).__qualname__}; "
            "the message was not delivered."
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
