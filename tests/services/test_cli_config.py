"""``mycelium-bundle --config`` and ``--check``: shipped configs found from anywhere, layouts
printed, and every kind of bad config refused in one line with exit status 2, nothing started."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest

from services_v2.bundle.cli import main
from services_v2.bundle.configs import shipped_text

MONOLITH = shipped_text("monolith")


def _children() -> list[int]:
    found: list[int] = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == os.getpid():
                found.append(int(entry.name))
    return found


def test_the_shipped_configs_are_found_from_any_directory(tmp_path: Path) -> None:
    done = subprocess.run(
        [
            *(sys.executable, "-m", "services_v2.bundle", "--config", "bundles/relay.toml"),
            *("--events", "2000", "--json", "--quiet"),
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert (summary["mode"], summary["events"]) == ("relay", 2000)
    assert summary["delivery"]["delivered"] == summary["delivery"]["frames_sent"] > 0


def test_check_prints_the_layout_and_starts_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--check", "bundles/relay.toml"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("bundle 'relay' (bundles/relay.toml): 3 actors in 2 processes\n")
    assert "child process 'signal' (python -m mycelium.bundle.child)" in out
    assert "signals -> signal (RemoteActorRef over the Unix socket <run dir>/signal.sock)" in out
    assert "probe -> probe (RemoteActorRef over the Unix socket <run dir>/probe.sock)" in out
    assert "trading: events go to 'market'; the config is valid" in out
    assert not _children()
    assert main(["--check", "monolith"]) == 0
    assert "3 actors in 1 process\n" in capsys.readouterr().out


def test_mode_is_a_shorthand_for_config(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--mode", "relay", "--events", "500", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["mode"] == "relay"
    assert main(["--mode", "actors", "--config", "bundles/relay.toml"]) == 2
    err = capsys.readouterr().err
    assert err == (
        "mycelium-bundle: error: bundles/relay.toml: --mode is a shorthand for --config; "
        "give one of them\n"
    )


FACTORIES = """
from services_v2.actors import MarketDataActor

def lies(signals: object, probe: object = None) -> MarketDataActor:
    return 3  # not what it says: only starting it can tell
"""


def _replace(old: str, new: str) -> str:
    assert old in MONOLITH
    return MONOLITH.replace(old, new, 1)


def _bad_socket(tmp_path: Path) -> str:
    taken = tmp_path / "taken.sock"
    taken.write_text("")
    return _replace(
        "capacity = 4096\nargs = { probe",
        f'capacity = 4096\nplacement = {{ kind = "unix", socket = "{taken}" }}\nargs = {{ probe',
    )


BAD_CONFIGS: dict[str, tuple[Callable[[Path], str], str]] = {
    "toml_syntax": (
        lambda _: MONOLITH.replace("capacity = 1024", "capacity = = 1024"),
        r"bad\.toml: line 12, column 12: invalid TOML: invalid value",
    ),
    "schema": (
        lambda _: _replace("capacity = 4096", "capacity = 0"),
        r"bad\.toml: actors\.signal\.capacity: expected int >= 1",
    ),
    "unknown_field": (
        lambda _: _replace("capacity = 4096", "capacity = 4096\nmailbox = 3"),
        r"bad\.toml: actors\.signal\.mailbox: unknown field",
    ),
    "import_fails": (
        lambda _: _replace(
            "services_v2.bundle.factories:signal_generator", "services_v2.no_such:signal_generator"
        ),
        r"bad\.toml: actors\.signal\.factory: cannot import 'services_v2\.no_such' "
        r"\(ModuleNotFoundError",
    ),
    "not_callable": (
        lambda _: _replace(
            "services_v2.bundle.factories:signal_generator", "services_v2.bundle.factories:__all__"
        ),
        r"bad\.toml: actors\.signal\.factory: 'services_v2\.bundle\.factories:__all__' is not "
        r"callable \(it is list\)",
    ),
    "not_an_actor": (
        lambda _: _replace(
            "services_v2.bundle.factories:signal_generator",
            "services_v2.bundle.configs:find_config",
        ),
        r"bad\.toml: actors\.signal\.factory: 'services_v2\.bundle\.configs:find_config' does not "
        r"return an Actor \(its return annotation is BundleSpec\)",
    ),
    "returns_something_else": (
        lambda _: _replace("services_v2.bundle.factories:market_data", "bad_factories:lies"),
        r"bad\.toml: actors\.market\.factory: bad_factories:lies returned int \(not an Actor\), "
        r"not the MarketDataActor it declares",
    ),
    "missing_wire": (
        lambda _: _replace('signals = { ref = "signal" }', 'signals = { ref = "signals" }'),
        r"bad\.toml: actors\.market\.args\.signals: wired to 'signals', which is not an actor",
    ),
    "cycle": (
        lambda _: _replace(
            '[actors.probe]\nfactory = "services_v2.bundle.factories:hot_path_probe"',
            '[actors.probe]\nfactory = "services_v2.bundle.factories:market_data"\n'
            'args = { signals = { ref = "market" } }',
        ),
        r"bad\.toml: actors\.\w+\.args: the wiring has a cycle: ",
    ),
    "two_actors_one_name": (
        lambda _: MONOLITH + '\n[actors.signal]\nfactory = "x:y"\n',
        r"bad\.toml: line \d+, column \d+: two actors named 'signal'",
    ),
    "no_free_socket_path": (
        _bad_socket,
        r"bad\.toml: actors\.signal\.placement\.socket: no free socket path: .*taken\.sock "
        r"already exists",
    ),
    "nats": (
        lambda _: _replace(
            "capacity = 4096\nargs = { probe", 'capacity = 4096\nplacement = "nats"\nargs = { probe'
        ),
        r"bad\.toml: actors\.signal\.placement: NATS placement is not available yet",
    ),
    "not_trading": (
        lambda _: '[actors.probe]\nfactory = "services_v2.bundle.factories:hot_path_probe"\n',
        r"bad\.toml: a trading bundle needs exactly one MarketDataActor actor, found 0",
    ),
}


ONLY_AT_START = {"returns_something_else"}  # --check does not call factories


@pytest.mark.parametrize(
    ("flag", "case"),
    [
        (flag, case)
        for flag in ("--config", "--check")
        for case in BAD_CONFIGS
        if flag == "--config" or case not in ONLY_AT_START
    ],
)
def test_a_bad_config_is_one_line_exit_2_and_nothing_is_started(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    case: str,
    flag: str,
) -> None:
    make, message = BAD_CONFIGS[case]
    (tmp_path / "bad_factories.py").write_text(FACTORIES)
    monkeypatch.syspath_prepend(str(tmp_path))  # pyright: ignore[reportUnknownMemberType]
    runs = tmp_path / "runs"
    runs.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(runs))
    path = tmp_path / "bad.toml"
    path.write_text(make(tmp_path))
    assert main([flag, str(path), "--events", "100"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1, captured.err
    assert captured.err.startswith(f"mycelium-bundle: error: {tmp_path}/"), captured.err
    assert re.search(message, captured.err), captured.err
    assert not _children()
    assert list(runs.iterdir()) == []
