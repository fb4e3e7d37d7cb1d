"""`mycelium-bundle --faults RATE`: injected faults on the bundle path, restarts and resumes,
the oracle."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from mycelium.bundle import resolve
from services_v2.bundle.cli import main
from services_v2.bundle.configs import find_config
from services_v2.bundle.faults import check_faults, with_faults
from services_v2.domain.faults import FaultPlan
from services_v2.layouts.bundle import run_bundle, with_plans_file
from services_v2.layouts.config import PipelineConfig
from services_v2.layouts.sequential import faulted_reference, run_reference
from services_v2.plans_file import encode_plans
from services_v2.sim import simulate


def _monolith_with_faults(plan: FaultPlan) -> Any:
    layout, config = with_faults(resolve(find_config("bundles/monolith.toml")), plan)
    assert config == PipelineConfig()
    return layout


def test_the_faults_are_drawn_from_the_seed_per_actor() -> None:
    def draws(seed: int, name: str) -> list[bool]:
        stream = FaultPlan(0.2, seed).stream(name)
        return [stream.fails() for _ in range(200)]

    assert draws(1, "a") == draws(1, "a")
    assert draws(1, "a") != draws(2, "a")
    assert draws(1, "a") != draws(1, "b")
    assert 10 < sum(draws(1, "a")) < 80
    never = FaultPlan(0.0, 1).stream("a")
    assert not any(never.fails() for _ in range(100))
    assert (never.seen, never.injected) == (100, 0)


@pytest.mark.parametrize(
    ("rate", "error"),
    [(-0.1, ValueError), (1.5, ValueError), (float("nan"), ValueError), ("x", TypeError)],
)
def test_a_bad_rate_is_refused(rate: Any, error: type[Exception]) -> None:
    with pytest.raises(error, match=r"fault rate must be"):
        FaultPlan(rate, 0)


def test_the_same_seed_injects_the_same_faults_in_the_bundle() -> None:
    events = simulate(3000, seed=3)
    plan = FaultPlan(0.02, 3)
    first = run_bundle(_monolith_with_faults(plan), events)
    second = run_bundle(_monolith_with_faults(plan), events)
    assert first.injected_signals > 0
    assert first.outcome() == second.outcome()
    assert (first.dead_letters, first.restarts) == (second.dead_letters, second.restarts)
    other = run_bundle(_monolith_with_faults(FaultPlan(0.02, 4)), events)
    assert other.outcome() != first.outcome()


def test_a_faulty_bundle_restarts_and_resumes_and_matches_its_oracle() -> None:
    events = simulate(4000, seed=3)
    plan = FaultPlan(0.02, 3)
    result = run_bundle(_monolith_with_faults(plan), events)
    oracle = faulted_reference(events, PipelineConfig(), plan)
    summary = check_faults(result, oracle, plan)
    assert summary.injected_market > 0
    assert summary.injected_signals > 0
    assert summary.restarts == summary.injected_signals  # one restart per signal fault
    assert summary.dead_letters == summary.injected  # each faulted message, nothing else
    assert summary.matches_oracle
    assert result.outcome() == oracle.result.outcome()
    # The oracle is the reference minus the faulted messages: not the unfaulted run itself.
    assert result.market.events == len(events) - summary.injected_market
    assert oracle.result.outcome() != run_reference(events, PipelineConfig()).outcome()


def test_a_zero_rate_is_the_plain_pipeline() -> None:
    events = simulate(2000, seed=4)
    result = run_bundle(_monolith_with_faults(FaultPlan(0.0, 4)), events)
    assert (result.dead_letters, result.restarts, result.injected_signals) == (0, 0, 0)
    assert result.outcome() == run_reference(events, PipelineConfig()).outcome()


def test_the_bundle_prints_a_faults_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--events", "3000", "--seed", "2", "--faults", "0.01"]) == 0
    out = capsys.readouterr().out
    [line] = [line for line in out.splitlines() if line.startswith("  faults")]
    assert "injected at 0.01" in line
    assert "restarts" in line
    assert "dead-lettered" in line
    assert line.endswith("every other signal as the oracle, to the cent")


def test_the_bundle_json_has_the_faults(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--events", "3000", "--seed", "2", "--faults", "0.01", "--json"]) == 0
    summary: dict[str, Any] = json.loads(capsys.readouterr().out)
    faults = summary["faults"]
    assert faults["injected"] == faults["injected_market"] + faults["injected_signals"] > 0
    assert faults["dead_letters"] == faults["injected"]
    assert faults["restarts"] == faults["injected_signals"] > 0
    assert faults["matches_oracle"] is True
    assert main(["--events", "3000", "--seed", "2", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["faults"] is None


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--faults", "2"], "--faults: must be between 0 and 1, got 2"),
        (["--faults", "nan"], "--faults: must be between 0 and 1, got nan"),
        (["--faults", "often"], "--faults: expected a fraction such as 0.001, got 'often'"),
        (
            ["--faults", "0.1", "--mode", "relay"],
            "--faults runs with the trading actors in this process; actor 'signal' runs in a "
            "process of its own",
        ),
    ],
)
def test_bad_fault_options_give_one_line(
    capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    try:
        status = main(["--events", "100", *args])
    except SystemExit as exit_:  # argparse's own usage errors
        status = exit_.code
    assert status == 2
    err = capsys.readouterr().err
    assert message in err
    [line] = [line for line in err.splitlines() if "error" in line]  # argparse adds usage
    assert line.startswith("mycelium-bundle: error: ")
    assert "Traceback" not in err


def test_the_plans_file_holds_every_plan_across_the_restarts(tmp_path: Path) -> None:
    events = simulate(3000, seed=3)
    plan = FaultPlan(0.02, 3)
    path = tmp_path / "plans.jsonl"
    layout = with_plans_file(resolve(find_config("bundles/monolith.toml")), str(path))
    layout, _ = with_faults(layout, plan)
    result = run_bundle(layout, events)
    assert result.restarts > 0
    assert path.read_bytes() == encode_plans(result.plans)
