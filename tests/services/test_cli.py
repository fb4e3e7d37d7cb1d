"""The ``mycelium-bundle`` command (services_v2.bundle.cli), in-process and as a subprocess."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec
import pytest
from summary_contract import SUMMARY_CONTRACT

from mycelium_types.messages import PoolSwapEvent
from services_v2.bundle.cli import main
from services_v2.bundle.event_file import read_events, write_events
from services_v2.bundle.summary import TIMING_KEYS
from services_v2.sim import simulate

CONTRACT_KEYS = set(SUMMARY_CONTRACT)
NOT_PURE = TIMING_KEYS | {"mode"}


def _json_run(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, Any]:
    assert main([*args, "--json"]) == 0
    out = capsys.readouterr().out
    assert out.count("\n") == 1
    decoded: dict[str, Any] = json.loads(out)
    return decoded


def _pure(summary: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in summary.items() if key not in NOT_PURE}


def _bundle_command() -> list[str]:
    script = Path(sys.executable).parent / "mycelium-bundle"
    if script.exists():
        return [str(script)]
    found = shutil.which("mycelium-bundle")
    return [found] if found else [sys.executable, "-m", "services_v2.bundle"]


def test_json_has_the_contract_keys_and_is_deterministic(
    capsys: pytest.CaptureFixture[str],
) -> None:
    first = _json_run(capsys, "--events", "3000", "--seed", "5")
    second = _json_run(capsys, "--events", "3000", "--seed", "5")
    assert set(first) >= CONTRACT_KEYS
    assert first["events"] == 3_000
    assert first["mode"] == "monolith"
    assert first["signals_validated"] > 0
    assert _pure(first) == _pure(second)
    other = _json_run(capsys, "--events", "3000", "--seed", "6")
    assert _pure(other) != _pure(first)


def test_the_text_summary_and_the_quiet_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--events", "2000"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("mycelium-bundle: 2,000 events from simulator (seed 0)")
    assert "hot path  p50" in out
    assert main(["--events", "2000", "--quiet"]) == 0
    captured = capsys.readouterr()
    assert captured.out.count("\n") == 1
    assert captured.out.startswith("2,000 events")
    assert captured.err == ""


@pytest.mark.parametrize("name", ["events.jsonl", "events.msgpack"])
def test_a_dumped_stream_replays_to_the_same_summary(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, name: str
) -> None:
    path = tmp_path / name
    assert main(["--events", "2500", "--seed", "9", "--dump", str(path)]) == 0
    assert f"wrote 2,500 events to {path}" in capsys.readouterr().err
    simulated = _json_run(capsys, "--events", "2500", "--seed", "9")
    replayed = _json_run(capsys, "--input", str(path))
    assert replayed.pop("source") == f"file {path}"
    simulated.pop("source")
    assert _pure(replayed) == _pure(simulated)
    assert _json_run(capsys, "--input", str(path), "--events", "100")["events"] == 100


def _garbage(path: Path) -> None:
    path.write_bytes(bytes([0xC1, 0xFF, 0x00, 0x42]) * 4)


def _truncated(path: Path) -> None:
    write_events(path, simulate(30, seed=0))
    path.write_bytes(path.read_bytes()[:-3])


def _bad_third_line(path: Path) -> None:
    lines = [msgspec.json.encode(PoolSwapEvent(bytes(20), 1, 1, n)) for n in range(5)]
    lines[2] = b'{"type": "swap", oops}'
    path.write_bytes(b"\n".join(lines) + b"\n")


BAD_INPUTS = [
    ("garbage.msgpack", _garbage, r"garbage\.msgpack: record 1: invalid msgpack type byte 0xc1"),
    ("cut.msgpack", _truncated, r"cut\.msgpack: record 30: truncated msgpack object"),
    ("bad.jsonl", _bad_third_line, r"bad\.jsonl: record 3: JSON is malformed"),
    ("missing.jsonl", None, r"missing\.jsonl: cannot read the file: No such file or directory"),
]


@pytest.mark.parametrize(("name", "make", "message"), BAD_INPUTS)
def test_a_bad_input_file_is_one_line_and_exit_2(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    name: str,
    make: Callable[[Path], None] | None,
    message: str,
) -> None:
    path = tmp_path / name
    if make is not None:
        make(path)
    assert main(["--input", str(path)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1
    assert captured.err.startswith("mycelium-bundle: error: ")
    assert str(path) in captured.err
    assert re.search(message, captured.err), captured.err


def test_a_bad_input_file_as_a_subprocess_has_no_traceback(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    _bad_third_line(path)
    done = subprocess.run(
        [*_bundle_command(), "--input", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2
    assert done.stdout == ""
    assert "Traceback" not in done.stderr
    assert done.stderr.count("\n") == 1
    assert done.stderr.startswith(f"mycelium-bundle: error: {path}: record 3: JSON is malformed")


def test_plans_go_to_the_plans_file_one_json_object_per_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "plans.jsonl"
    summary = _json_run(capsys, "--events", "3000", "--seed", "5", "--plans", str(path))
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert len(lines) == summary["execution_plans"] > 0
    for line in lines:
        assert line["profit_units"] == line["amount_out"] - line["amount_in"] > 0
        assert re.fullmatch(r"0x[0-9a-f]{40}", line["buy_pool"])
        assert re.fullmatch(r"0x[0-9a-f]{40}", line["sell_pool"])
    superseded = {line["supersedes"] for line in lines if "supersedes" in line}
    assert summary["realised_profit_usd"] == sum(
        (line["profit_usd"] for n, line in enumerate(lines) if n not in superseded), 0.0
    )


def test_an_unwritable_plans_file_fails_before_the_run(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "no-such-directory" / "plans.jsonl"
    assert main(["--events", "2000", "--plans", str(path)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == (
        f"mycelium-bundle: error: {path}: cannot write the plans file: No such file or directory\n"
    )


@pytest.mark.parametrize("args", [["--events", "0"], ["--events", "ten"], ["--mode", "swarm"]])
def test_bad_arguments_are_usage_errors(
    capsys: pytest.CaptureFixture[str], args: list[str]
) -> None:
    with pytest.raises(SystemExit) as caught:
        main(args)
    assert caught.value.code == 2
    assert "usage: mycelium-bundle" in capsys.readouterr().err


def test_the_installed_command_prints_the_same_json_twice() -> None:
    runs = [
        subprocess.run(
            [*_bundle_command(), "--events", "2000", "--json"],
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        for _ in range(2)
    ]
    summaries: list[dict[str, Any]] = [json.loads(run.stdout) for run in runs]
    for summary in summaries:
        assert set(summary) >= CONTRACT_KEYS
        assert summary["events"] == 2_000
        assert set(summary["hot_path_latency_ns"]) == {"p50", "p99", "max"}
    assert _pure(summaries[0]) == _pure(summaries[1])
    assert all("Traceback" not in run.stderr for run in runs)


def test_an_input_file_is_checked_before_anything_starts(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    garbage = tmp_path / "garbage.msgpack"
    _garbage(garbage)
    assert main(["--input", str(garbage), "--mode", "relay"]) == 2
    captured = capsys.readouterr()
    assert captured.err.count("\n") == 1
    assert "record 1: invalid msgpack type byte" in captured.err
    # With --input, N is only an upper bound: any size is fine.
    path = tmp_path / "few.msgpack"
    write_events(path, simulate(50, seed=0))
    assert (
        _json_run(capsys, "--input", str(path), "--events", "100000000000000000000")["events"] == 50
    )


def _unwritable_dump(tmp_path: Path) -> list[tuple[str, str]]:
    (tmp_path / "a-directory.jsonl").mkdir()
    return [
        ("events.txt", r"--dump \S+events\.txt: unknown extension '\.txt'; name the file \.jsonl"),
        ("events", r"--dump \S+events: no extension; name the file \.jsonl"),
        ("no-dir/events.jsonl", r"cannot write the file: No such file or directory$"),
        ("a-directory.jsonl", r"cannot write the file: it is a directory$"),
    ]


def test_a_dump_file_that_cannot_be_written_is_refused_before_any_work(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    bad_input = tmp_path / "bad.jsonl"
    _bad_third_line(bad_input)  # reading it first would fail with another message
    for name, message in _unwritable_dump(tmp_path):
        target = tmp_path / name
        existed = target.exists()
        assert main(["--input", str(bad_input), "--dump", str(target)]) == 2
        captured = capsys.readouterr()
        assert captured.out == ""
        assert captured.err.count("\n") == 1, captured.err
        assert captured.err.startswith("mycelium-bundle: error: --dump ")
        assert re.search(message, captured.err.strip()), captured.err
        assert target.exists() is existed  # nothing created


def test_dump_with_json_prints_what_it_wrote_as_one_object(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "events.msgpack"
    assert main(["--events", "500", "--seed", "3", "--dump", str(path), "--json"]) == 0
    captured = capsys.readouterr()
    assert captured.err == ""
    assert captured.out.count("\n") == 1
    assert json.loads(captured.out) == {
        "events": 500,
        "file": str(path),
        "format": "msgpack",
        "source": "simulator (seed 3)",
    }
    assert len(read_events(path)) == 500
