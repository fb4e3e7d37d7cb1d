"""Resolving a spec (mycelium.bundle.layout): imports, wiring, placement; nothing is started."""

from __future__ import annotations

import os
import re
import socket
from pathlib import Path

import pytest

from mycelium.bundle import MAIN_PROCESS, BundleConfigError, Layout, Wire, parse_spec, resolve


def _layout(text: str) -> Layout:
    return resolve(parse_spec(text, source="b.toml"))


def test_actors_start_after_those_they_are_wired_to_and_are_placed() -> None:
    layout = _layout(
        """
        [actors.front]
        factory = "bundle_actors:Tee"
        args = { left = { ref = "left" }, right = { ref = "right" } }
        [actors.left]
        factory = "bundle_actors:make_relay"
        placement = "unix"
        args = { target = { ref = "right" } }
        [actors.right]
        factory = "bundle_actors:make_sink"
        """
    )
    assert layout.start_order == ("right", "left", "front")
    assert layout.processes() == {MAIN_PROCESS: ["right", "front"], "left": ["left"]}
    assert layout.wires == (
        Wire("left", "target", "right", remote=True),
        Wire("front", "left", "left", remote=True),
        Wire("front", "right", "right", remote=False),
    )
    assert [a.actor_class.__name__ for a in layout.actors.values()] == ["Sink", "Relay", "Tee"]
    assert layout.actors["right"].served
    assert layout.actors["left"].served
    assert not layout.actors["front"].served
    assert layout.actors["right"].message_type is int
    text = layout.describe()
    assert "3 actors in 2 processes" in text
    assert "right: bundle_actors:make_sink -> Sink" in text
    assert "served to other processes at <run dir>/right.sock" in text
    assert (
        "child process 'left' (python -m mycelium.bundle.child), Unix socket <run dir>/left.sock"
        in text
    )
    assert "target -> right (RemoteActorRef over the Unix socket <run dir>/right.sock)" in text
    assert "right -> right (local ref)" in text
    assert "start order: right, left, front" in text


def _actor(factory: str, extra: str = "") -> str:
    return f'[actors.a]\nfactory = "{factory}"\n{extra}\n'


BAD: list[tuple[str, str, str]] = [
    (
        "module_does_not_import",
        _actor("no_such_module_here:f"),
        r"^b\.toml: actors\.a\.factory: cannot import 'no_such_module_here' "
        r"\(ModuleNotFoundError: No module named 'no_such_module_here'\)$",
    ),
    (
        "attribute_missing",
        _actor("bundle_actors:Nope"),
        r"^b\.toml: actors\.a\.factory: 'bundle_actors:Nope' does not exist "
        r"\(bundle_actors has no 'Nope'\)$",
    ),
    (
        "not_callable",
        _actor("bundle_actors:NOT_CALLABLE"),
        r"^b\.toml: actors\.a\.factory: 'bundle_actors:NOT_CALLABLE' is not callable "
        r"\(it is int\)$",
    ),
    (
        "class_not_an_actor",
        _actor("bundle_actors:Tally"),
        r"^b\.toml: actors\.a\.factory: 'bundle_actors:Tally' is a class but not an Actor "
        r"subclass$",
    ),
    (
        "function_not_returning_an_actor",
        _actor("bundle_actors:not_an_actor"),
        r"^b\.toml: actors\.a\.factory: 'bundle_actors:not_an_actor' does not return an Actor "
        r"\(its return annotation is int\)$",
    ),
    (
        "function_without_annotation",
        _actor("bundle_actors:unannotated"),
        r"^b\.toml: actors\.a\.factory: 'bundle_actors:unannotated' has no return annotation; "
        r"annotate it with the Actor class it returns",
    ),
    (
        "arguments_do_not_bind",
        _actor("bundle_actors:Sink", "args = { scale = 2, colour = 'red' }"),
        r"^b\.toml: actors\.a\.args: bundle_actors:Sink: got an unexpected keyword argument "
        r"'colour'$",
    ),
    (
        "missing_argument",
        _actor("bundle_actors:Relay"),
        r"^b\.toml: actors\.a\.args: bundle_actors:Relay: missing a required argument: 'target'$",
    ),
    (
        "wire_to_a_missing_actor",
        _actor("bundle_actors:Relay", "args = { target = { ref = 'sinc' } }"),
        r"^b\.toml: actors\.a\.args\.target: wired to 'sinc', which is not an actor of this "
        r"bundle \(actors: a\)$",
    ),
    (
        "cycle",
        '[actors.a]\nfactory = "bundle_actors:Relay"\nargs = { target = { ref = "b" } }\n'
        '[actors.b]\nfactory = "bundle_actors:Relay"\nargs = { target = { ref = "c" } }\n'
        '[actors.c]\nfactory = "bundle_actors:Relay"\nargs = { target = { ref = "a" } }\n',
        r"^b\.toml: actors\.c\.args: the wiring has a cycle: a -> b -> c -> a \(",
    ),
    (
        "self_cycle",
        _actor("bundle_actors:Relay", "args = { target = { ref = 'a' } }"),
        r"^b\.toml: actors\.a\.args: the wiring has a cycle: a -> a \(",
    ),
    (
        "nats_not_available",
        _actor("bundle_actors:Sink", 'placement = "nats"'),
        r"^b\.toml: actors\.a\.placement: NATS placement is not available yet",
    ),
    (
        "overflow_not_available",
        _actor("bundle_actors:Sink", 'overflow = "drop_oldest"'),
        r"^b\.toml: actors\.a\.overflow: 'drop_oldest' is not available in this runtime yet",
    ),
    (
        "messages_cannot_cross",
        _actor("bundle_actors:UntaggedSink", 'placement = "unix"'),
        r"^b\.toml: actors\.a\.placement: the messages of 'a' cannot cross a process boundary: "
        r"msgspec cannot decode",
    ),
    (
        "child_named_main",
        '[actors.main]\nfactory = "bundle_actors:Sink"\nplacement = "unix"\n',
        r"^b\.toml: actors\.main\.placement: an actor in a child process cannot be called 'main'",
    ),
]


@pytest.mark.parametrize(
    ("text", "message"), [(t, m) for _, t, m in BAD], ids=[i for i, _, _ in BAD]
)
def test_a_spec_that_cannot_be_had_is_one_line(text: str, message: str) -> None:
    with pytest.raises(BundleConfigError) as caught:
        _layout(text)
    assert re.search(message, str(caught.value)), str(caught.value)


def _unix(socket_path: str) -> str:
    return _actor(
        "bundle_actors:Sink", f'placement = {{ kind = "unix", socket = "{socket_path}" }}'
    )


def test_a_socket_path_in_use_is_no_free_socket_path(tmp_path: Path) -> None:
    taken = tmp_path / "taken.sock"
    with socket.socket(socket.AF_UNIX) as listening:
        listening.bind(str(taken))
        with pytest.raises(
            BundleConfigError,
            match=rf"^b\.toml: actors\.a\.placement\.socket: no free socket path: "
            rf"{re.escape(str(taken))} already exists",
        ):
            _layout(_unix(str(taken)))


def test_a_socket_path_too_long_or_in_a_missing_directory_is_refused(tmp_path: Path) -> None:
    long_path = str(tmp_path / ("x" * 120))
    with pytest.raises(BundleConfigError, match=r"no free socket path: .* bytes long"):
        _layout(_unix(long_path))
    with pytest.raises(BundleConfigError, match=r"no free socket path: the directory .* does not"):
        _layout(_unix(str(tmp_path / "missing" / "a.sock")))


def test_two_actors_cannot_share_a_socket_path(tmp_path: Path) -> None:
    path = tmp_path / "one.sock"
    text = (
        f'[actors.a]\nfactory = "bundle_actors:Sink"\n'
        f'placement = {{ kind = "unix", socket = "{path}" }}\n'
        f'[actors.b]\nfactory = "bundle_actors:Sink"\n'
        f'placement = {{ kind = "unix", socket = "{path}" }}\n'
    )
    with pytest.raises(BundleConfigError, match=r"is also the socket of actor"):
        _layout(text)
    assert not os.path.exists(path)
