"""The performance report's shape: every key, sane values, a table that renders.

Nothing here asserts a timing: sizes are tiny and only the structure and the sanity of the
values (positive, p50 <= p99, ratios consistent with the values) are checked.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from mycelium_bench.cli import main
from mycelium_bench.hot_path import load_hot_path
from mycelium_bench.report import DESIGNS, FIGURE_INFO, FIGURE_KEYS, TINY, run_report
from mycelium_bench.table import render
from mycelium_bench.targets import RATIO_TARGETS, TARGETS

TARGET_KEYS = {"send_ns", "send_await_ns", "throughput_msgs_per_s", "memory_bytes_per_actor"}


@pytest.fixture(scope="module")
def report() -> dict[str, Any]:
    """One tiny run of every figure (a fraction of a second)."""
    return run_report(TINY, warmup=0)


def _is_latency(key: str) -> bool:
    return FIGURE_INFO[key][2]


def _check_value(key: str, value: Any) -> None:
    if _is_latency(key):
        assert set(value) == {"p50", "p99"}, key
        assert 0 < value["p50"] <= value["p99"], (key, value)
    else:
        assert isinstance(value, float), (key, value)
        assert value > 0, (key, value)
        assert math.isfinite(value), (key, value)


def test_report_is_valid_json_with_every_figure_key(report: dict[str, Any]) -> None:
    text = json.dumps(report, allow_nan=False)
    again = json.loads(text)
    assert set(FIGURE_KEYS) <= set(again)
    for key in ("baseline", "ratios", "targets", "machine", "method", "notes", "definitions"):
        assert key in again
    assert set(again["baseline"]) == {"naive", "floor", "relay", "floor_async", "supervised"}
    for design in ("naive", "floor"):
        assert set(again["baseline"][design]) == set(FIGURE_KEYS)
        assert set(again["ratios"][design]) == set(FIGURE_KEYS)
    assert set(again["baseline"]["relay"]) == {"hot_path_ns"}
    assert set(again["baseline"]["floor_async"]) == {"throughput_msgs_per_s"}
    assert set(again["baseline"]["supervised"]) == {"send_ns", "throughput_msgs_per_s"}


def test_every_measured_figure_is_sane_for_every_design(report: dict[str, Any]) -> None:
    local = [key for key in FIGURE_KEYS if not key.startswith(("unix_", "hot_path"))]
    for key in local:
        _check_value(key, report[key])
        for design in DESIGNS[1:]:
            _check_value(key, report["baseline"][design][key])
    _check_value(
        "throughput_msgs_per_s", report["baseline"]["floor_async"]["throughput_msgs_per_s"]
    )
    for key in ("send_ns", "throughput_msgs_per_s"):  # supervised, in the same run
        _check_value(key, report["baseline"]["supervised"][key])


def test_ratios_are_ours_over_each_baseline(report: dict[str, Any]) -> None:
    for design in ("naive", "floor"):
        ratio = report["ratios"][design]["send_ns"]
        assert ratio == pytest.approx(report["send_ns"] / report["baseline"][design]["send_ns"])
        chain = report["ratios"][design]["chain_latency_ns"]
        base = report["baseline"][design]["chain_latency_ns"]
        assert chain["p99"] == pytest.approx(report["chain_latency_ns"]["p99"] / base["p99"])


def test_hot_path_is_measured_when_the_services_pipeline_exists(report: dict[str, Any]) -> None:
    if isinstance(load_hot_path(), str):
        assert report["hot_path_ns"] is None
        assert any("hot_path_ns" in note for note in report["notes"])
        return
    _check_value("hot_path_ns", report["hot_path_ns"])
    for design in DESIGNS[1:]:
        _check_value("hot_path_ns", report["baseline"][design]["hot_path_ns"])


def test_transport_figures_are_positive_when_measured(report: dict[str, Any]) -> None:
    for key in ("unix_throughput_msgs_per_s", "unix_rtt_ns"):
        if report[key] is not None:
            _check_value(key, report[key])
        assert report["baseline"]["naive"][key] is None  # no transport in the baselines
    relay = report["baseline"]["relay"]["hot_path_ns"]
    if relay is not None:
        _check_value("hot_path_ns", relay)


def test_a_figure_left_null_is_explained_in_the_notes(report: dict[str, Any]) -> None:
    for key in FIGURE_KEYS:
        if report[key] is None:
            assert any(key in note for note in report["notes"]), key


def test_targets_hold_the_bar_and_the_stretch_goal(report: dict[str, Any]) -> None:
    targets = report["targets"]
    assert set(targets) == TARGET_KEYS == set(TARGETS)
    assert targets["send_ns"]["op"] == "<"
    assert targets["send_ns"]["value"] == 100
    assert targets["send_ns"]["stretch_value"] == 60
    assert targets["throughput_msgs_per_s"]["value"] == 1_000_000
    assert targets["throughput_msgs_per_s"]["stretch_value"] == 4_000_000
    assert targets["memory_bytes_per_actor"]["value"] == 1024
    assert targets["memory_bytes_per_actor"]["stretch_value"] == 256
    for key, verdict in targets.items():
        assert verdict["met"] == (TARGETS[key].verdict(report[key])["met"])
        assert isinstance(verdict["met"], bool)
        assert isinstance(verdict["stretch_met"], bool)


def test_machine_and_method_say_what_was_measured_how(report: dict[str, Any]) -> None:
    machine = report["machine"]
    assert machine["cores"] >= 1
    assert machine["python"].count(".") == 2
    assert machine["uvloop"]
    method = report["method"]
    assert method["repeats"] == TINY.repeats
    assert "await send" in method["backpressure"]
    assert "gc" in method["gc"]


def test_table_renders_every_row_and_the_targets(report: dict[str, Any]) -> None:
    text = render(report)
    header = "metric | target | measured | naive | floor | ratio vs naive | ratio vs floor"
    assert " ".join(header.split()) in " ".join(text.split())
    for key in FIGURE_KEYS:
        assert FIGURE_INFO[key][0] in text
    assert "chain_latency_ns (A -> B) p99" in text
    assert "targets:" in text
    assert "what each figure measures:" in text
    assert "cores" in text


def test_cli_quick_json_writes_every_key(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    out = tmp_path / "report.json"
    argv = ["--quick", "--json", "--quiet", "--repeats", "1", "--warmup", "0"]
    code = main([*argv, "--only", "send_ns,chain_latency_ns", "--output", str(out)])
    assert code == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed == json.loads(out.read_text())
    assert set(FIGURE_KEYS) <= set(printed)
    _check_value("send_ns", printed["send_ns"])
    _check_value("chain_latency_ns", printed["chain_latency_ns"])
    assert printed["throughput_msgs_per_s"] is None
    assert any("--only" in note and "throughput_msgs_per_s" in note for note in printed["notes"])


def test_cli_prints_the_table_by_default(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["--quick", "--repeats", "1", "--warmup", "0", "--only", "ask_rtt_ns"]
    assert main(argv) == 0
    captured = capsys.readouterr()
    assert "ask_rtt_ns" in captured.out
    assert "[mycelium-bench] ask_rtt_ns" in captured.err  # progress on stderr


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--only", "send_ns,nope"], "unknown figure(s) nope"),
        (["--repeats", "0"], "--repeats must be >= 1, got 0"),
        (["--warmup", "-1"], "--warmup must be >= 0, got -1"),
    ],
)
def test_cli_rejects_bad_options(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 2
    assert message in capsys.readouterr().err


def test_run_report_rejects_an_unknown_figure() -> None:
    with pytest.raises(ValueError, match=r"^unknown figure\(s\) \['nope'\]"):
        run_report(TINY, only=["nope"])


def test_every_figure_says_what_it_measures(report: dict[str, Any]) -> None:
    assert set(report["definitions"]) == set(FIGURE_KEYS)
    assert all(text.strip() for text in report["definitions"].values())


def test_ratio_targets_judge_ours_over_the_baseline(report: dict[str, Any]) -> None:
    verdicts = report["ratio_targets"]
    assert set(verdicts) == set(RATIO_TARGETS) == {"spawn_us"}
    spawn = verdicts["spawn_us"]
    assert (spawn["op"], spawn["value"], spawn["baseline"]) == ("<=", 0.5, "naive")
    ratio = report["spawn_us"] / report["baseline"]["naive"]["spawn_us"]
    assert spawn["ratio"] == pytest.approx(ratio)
    assert spawn["met"] == (ratio <= 0.5)
    text = render(report)
    assert "spawn_us <= 0.5x naive: " in text
    assert RATIO_TARGETS["spawn_us"].verdict(None)["met"] is None


def test_spawn_us_is_per_spawn_and_below_a_second(report: dict[str, Any]) -> None:
    for value in (report["spawn_us"], *(report["baseline"][d]["spawn_us"] for d in DESIGNS[1:])):
        assert 0 < value < 1e6  # µs: a unit mistake (ns, or a whole sample) would show
