"""Mycelium: a fast, location-transparent actor runtime for asyncio.

The public API lives here; import from ``mycelium``, not from its submodules::

    from mycelium import Actor, ActorSystem

Semantics in one place:

* Ordering: messages from one sender to one actor are handled in the order sent; an actor
  handles one message at a time.
* Delivery: at most once. Every message a send accepted is handled, or counted in
  ``ActorSystem.dead_letters`` if its actor stops first; every message not accepted raises at
  the sender. Nothing is dropped silently.
* Threads: loop-affine. Use a system and its refs from the event loop that runs it; a ref used
  from another thread raises ``WrongThread``.

``SPEEDUPS`` is True when the C fast path (``mycelium._speedups``) is in use, False on the
pure-Python core (never built, or ``MYCELIUM_PURE_PYTHON`` set; an extension that is present but
fails to load also falls back, with a ``RuntimeWarning`` at import).
"""

from ._core import SPEEDUPS as SPEEDUPS
from .actor import Actor as Actor
from .actor_ref import ActorId as ActorId
from .actor_ref import ActorRef as ActorRef
from .dead_letters import DeadLetter as DeadLetter
from .dead_letters import DeadLetters as DeadLetters
from .errors import ActorStopped as ActorStopped
from .errors import AskTimeout as AskTimeout
from .errors import FrameTooLarge as FrameTooLarge
from .errors import MailboxEmpty as MailboxEmpty
from .errors import MailboxFull as MailboxFull
from .errors import MessageDropped as MessageDropped
from .errors import MessageTypeError as MessageTypeError
from .errors import MyceliumError as MyceliumError
from .errors import NameTaken as NameTaken
from .errors import RemoteError as RemoteError
from .errors import SocketPathError as SocketPathError
from .errors import SocketPathInUse as SocketPathInUse
from .errors import SystemStopped as SystemStopped
from .errors import TransportClosed as TransportClosed
from .errors import WouldDeadlock as WouldDeadlock
from .errors import WrongThread as WrongThread
from .mailbox import Mailbox as Mailbox
from .mailbox import MailboxView as MailboxView
from .message import ActorMessage as ActorMessage
from .remote import RemoteActorRef as RemoteActorRef
from .server import ActorServer as ActorServer
from .server import serve as serve
from .supervision import Backoff as Backoff
from .supervision import Supervision as Supervision
from .supervisor import Child as Child
from .supervisor import Supervisor as Supervisor
from .system import ActorSystem as ActorSystem
from .timers import Timers as Timers
from .transport import LocalTransport as LocalTransport
from .transport import Transport as Transport
from .transport import UnixSocketListener as UnixSocketListener
from .transport import UnixSocketTransport as UnixSocketTransport
from .watch import Terminated as Terminated

__all__ = [
    "SPEEDUPS",
    "Actor",
    "ActorId",
    "ActorMessage",
    "ActorRef",
    "ActorServer",
    "ActorStopped",
    "ActorSystem",
    "AskTimeout",
    "Backoff",
    "Child",
    "DeadLetter",
    "DeadLetters",
    "FrameTooLarge",
    "LocalTransport",
    "Mailbox",
    "MailboxEmpty",
    "MailboxFull",
    "MailboxView",
    "MessageDropped",
    "MessageTypeError",
    "MyceliumError",
    "NameTaken",
    "RemoteActorRef",
    "RemoteError",
    "SocketPathError",
    "SocketPathInUse",
    "Supervision",
    "Supervisor",
    "SystemStopped",
    "Terminated",
    "Timers",
    "Transport",
    "TransportClosed",
    "UnixSocketListener",
    "UnixSocketTransport",
    "WouldDeadlock",
    "WrongThread",
    "serve",
]
