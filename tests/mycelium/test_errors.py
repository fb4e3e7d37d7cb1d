"""``errors.py``: one hierarchy rooted in MyceliumError; every message names what failed."""

from __future__ import annotations

import asyncio

import pytest

import mycelium.errors
from mycelium import (
    ActorStopped,
    AskTimeout,
    FrameTooLarge,
    MailboxEmpty,
    MailboxFull,
    MessageDropped,
    MessageTypeError,
    MyceliumError,
    NameTaken,
    RemoteError,
    SocketPathError,
    SocketPathInUse,
    SystemStopped,
    TransportClosed,
)
from mycelium.errors import TransportFull

ERRORS: list[type[MyceliumError]] = [
    ActorStopped,
    AskTimeout,
    FrameTooLarge,
    MailboxEmpty,
    MailboxFull,
    MessageDropped,
    MessageTypeError,
    NameTaken,
    RemoteError,
    SocketPathError,
    SocketPathInUse,
    SystemStopped,
    TransportClosed,
    TransportFull,
]


@pytest.mark.parametrize("error", ERRORS)
def test_every_error_is_a_mycelium_error(error: type[MyceliumError]) -> None:
    assert issubclass(error, MyceliumError)
    assert issubclass(error, Exception)


def test_ask_timeout_is_also_a_timeout_error() -> None:
    assert issubclass(AskTimeout, TimeoutError)
    with pytest.raises(TimeoutError):
        raise AskTimeout("echo#1", 0.5, "hello")


def test_transport_errors_are_also_the_matching_builtin_errors() -> None:
    assert issubclass(FrameTooLarge, ValueError)
    assert issubclass(SocketPathError, OSError)
    assert issubclass(SocketPathInUse, SocketPathError)
    assert issubclass(SocketPathInUse, FileExistsError)


def test_transport_full_is_also_a_queue_full_but_no_mailbox_full() -> None:
    assert issubclass(TransportFull, asyncio.QueueFull)
    assert not issubclass(TransportFull, MailboxFull)
    assert "TransportFull" in mycelium.errors.__all__


def test_transport_full_names_the_transport_and_what_is_full() -> None:
    err = TransportFull("UnixSocketTransport('a')", 4, "4 frames, 80 bytes wait")
    assert (err.transport, err.capacity, err.detail) == (
        "UnixSocketTransport('a')",
        4,
        "4 frames, 80 bytes wait",
    )
    assert str(err) == (
        "transport UnixSocketTransport('a') is full (4 frames, 80 bytes wait); nothing was "
        "sent. Use `await send` to wait for room, or retry later."
    )
    assert str(TransportFull("t", 2)).startswith("transport t is full (2 frames); nothing")
    assert str(TransportFull("t", 0)).startswith("transport t is full; nothing was sent")


def test_message_type_error_is_also_a_type_error() -> None:
    assert issubclass(MessageTypeError, TypeError)
    with pytest.raises(TypeError):
        raise MessageTypeError("echo#1", "int", "hello")


def test_actor_stopped_names_the_actor_and_the_undelivered_message() -> None:
    err = ActorStopped("echo#1", 42, reason="actor crashed")
    assert (err.actor, err.message) == ("echo#1", 42)
    assert str(err) == (
        "actor 'echo#1' has stopped (actor crashed); int was not delivered. "
        "Stopping is final: spawn a new actor."
    )


def test_actor_stopped_without_a_message() -> None:
    err = ActorStopped("echo#1")
    assert err.message is None
    assert str(err) == "actor 'echo#1' has stopped. Stopping is final: spawn a new actor."


def test_message_dropped_names_the_actor_the_policy_and_the_message() -> None:
    err = MessageDropped("feed#3", "drop_oldest", "q")
    assert (err.actor, err.policy, err.message) == ("feed#3", "drop_oldest", "q")
    assert str(err) == (
        "mailbox of 'feed#3' was full and its overflow policy 'drop_oldest' dropped str "
        "unhandled to make room for a newer message; it will not be answered."
    )


def test_mailbox_full_names_actor_capacity_and_message_type() -> None:
    err = MailboxFull("echo#1", 8, "hello")
    assert (err.actor, err.capacity, err.message) == ("echo#1", 8, "hello")
    with pytest.raises(MailboxFull, match=r"^mailbox of 'echo#1' is full \(8 messages\); str "):
        raise err


def test_mailbox_empty_names_the_mailbox() -> None:
    with pytest.raises(MailboxEmpty, match=r"^mailbox of 'echo#1' is empty$"):
        raise MailboxEmpty("echo#1")


def test_ask_timeout_names_actor_message_and_timeout() -> None:
    err = AskTimeout("echo#1", 0.25, b"ping")
    assert (err.actor, err.timeout, err.message) == ("echo#1", 0.25, b"ping")
    with pytest.raises(AskTimeout, match=r"^actor 'echo#1' did not answer bytes within 0\.25 s; "):
        raise err


def test_message_type_error_names_actor_expected_and_actual_type() -> None:
    err = MessageTypeError("echo#1", "int | str", 1.5)
    assert (err.actor, err.expected, err.message) == ("echo#1", "int | str", 1.5)
    with pytest.raises(
        MessageTypeError,
        match=r"^actor 'echo#1' handles int \| str, not float; the message was not delivered\.$",
    ):
        raise err


def test_name_taken_names_the_name() -> None:
    err = NameTaken("echo")
    assert err.name == "echo"
    with pytest.raises(NameTaken, match=r"^an actor named 'echo' is already running"):
        raise err


def test_transport_closed_names_the_transport_and_why() -> None:
    err = TransportClosed("LocalTransport('a')", "closed by this side")
    assert (err.transport, err.detail) == ("LocalTransport('a')", "closed by this side")
    assert str(err) == "transport LocalTransport('a') is closed: closed by this side"
    assert str(TransportClosed("t")) == "transport t is closed"


def test_system_stopped_names_the_system() -> None:
    err = SystemStopped("main")
    assert err.system == "main"
    with pytest.raises(SystemStopped, match=r"^actor system 'main' is shut down; "):
        raise err


def test_errors_can_be_caught_by_their_root() -> None:
    with pytest.raises(MyceliumError):
        raise MailboxFull("echo#1", 1, 0)
