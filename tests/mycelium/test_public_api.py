"""The public surface of ``mycelium``: pinned, importable; errors also in ``mycelium.errors``."""

from __future__ import annotations

import importlib

import pytest

import mycelium
import mycelium.errors

PUBLIC = [
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
    "SPEEDUPS",
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

# The names the runtime issue promises (other teams' code is written against them).
PROMISED = [
    "Actor",
    "ActorSystem",
    "ActorRef",
    "ActorId",
    "ActorMessage",
    "Mailbox",
    "Transport",
    "LocalTransport",
    "MyceliumError",
    "ActorStopped",
    "MailboxFull",
    "TransportClosed",
    "AskTimeout",
    "MessageTypeError",
    "NameTaken",
    # issue 13, mailbox overflow policies
    "MessageDropped",
    # issue 12, fault tolerance
    "Supervision",
    "Backoff",
    "Supervisor",
    "Child",
    "Terminated",
]


def test_all_is_pinned() -> None:
    assert sorted(mycelium.__all__) == PUBLIC


def test_all_has_no_duplicates() -> None:
    assert len(set(mycelium.__all__)) == len(mycelium.__all__)


@pytest.mark.parametrize("name", PUBLIC)
def test_every_public_name_is_importable(name: str) -> None:
    module = importlib.import_module("mycelium")
    assert hasattr(module, name)
    if name == "SPEEDUPS":  # a flag, not a class or function
        assert isinstance(module.SPEEDUPS, bool)
        return
    # Re-exported from a private module, not defined in the package namespace itself.
    assert getattr(module, name).__module__.startswith("mycelium.")


@pytest.mark.parametrize("name", PROMISED)
def test_the_promised_names_are_public(name: str) -> None:
    assert name in mycelium.__all__


def _public_errors() -> list[str]:
    return [
        name
        for name in PUBLIC
        if isinstance(getattr(mycelium, name), type)
        and issubclass(getattr(mycelium, name), BaseException)
    ]


def test_the_public_errors_are_the_expected_ones() -> None:
    assert _public_errors() == [
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
        "WouldDeadlock",
        "WrongThread",
    ]


@pytest.mark.parametrize("name", _public_errors())
def test_every_public_error_is_also_in_mycelium_errors(name: str) -> None:
    assert name in mycelium.errors.__all__
    assert getattr(mycelium.errors, name) is getattr(mycelium, name)


def test_errors_all_lists_only_errors() -> None:
    for name in mycelium.errors.__all__:
        error = getattr(mycelium.errors, name)
        assert isinstance(error, type)
        assert issubclass(error, mycelium.errors.MyceliumError)


def test_transport_namespace_exports_the_same_objects() -> None:
    import mycelium.transport

    assert sorted(mycelium.transport.__all__) == [
        "LocalTransport",
        "Transport",
        "UnixSocketListener",
        "UnixSocketTransport",
    ]
    for name in mycelium.transport.__all__:
        assert getattr(mycelium.transport, name) is getattr(mycelium, name)
