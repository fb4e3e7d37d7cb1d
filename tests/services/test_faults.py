"""`mycelium-bundle --faults RATE`: injected faults, restarts and resumes, the oracle."""

from __future__ import annotations

import json
from typing import Any

import pytest

from services_v2.actors.faults import (
    FaultPlan,
    faulted_reference,
    run_faulty_actor_pipeline,
)
from services_v2.bundle.cli import main
from services_v2.pipeline import PipelineConfig, run_reference
from services_v2.sim import simulate


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


def test_a_faulty_run_restarts_and_resumes_and_matches_its_oracle() -> None:
    events = simulate(4000, seed=3)
    config = PipelineConfig()
    plan = FaultPlan(0.02, 3)
    result, report = run_faulty_actor_pipeline(events, config, plan)
    assert report.injected_market > 0
    assert report.injected_signals > 0
    assert report.restarts == report.injected_signals  # one restart per signal fault
    assert report.dead_letters == report.injected  # each faulted message, nothing else
    assert report.matches_oracle
    oracle = faulted_reference(events, config, plan)
    assert result.outcome() == oracle.outcome()
    # The oracle is the reference minus the faulted messages: not the unfaulted run itself.
    assert result.market.events == len(events) - report.injected_market
    assert oracle.outcome() != run_reference(events, config).outcome()


def test_a_zero_rate_is_the_plain_pipeline() -> None:
    events = simulate(2000, seed=4)
    result, report = run_faulty_actor_pipeline(events, PipelineConfig(), FaultPlan(0.0, 4))
    assert (report.injected, report.restarts, report.dead_letters) == (0, 0, 0)
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
    assert faults["restarts"] == faults["injected_signals"]
    assert faults["matches_oracle"] is True
    assert main(["--events", "3000", "--seed", "2", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["faults"] is None


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--faults", "2"], "--faults: must be between 0 and 1, got 2"),
        (["--faults", "often"], "--faults: expected a fraction such as 0.001, got 'often'"),
        (["--faults", "0.1", "--mode", "relay"], "--faults runs with --mode actors"),
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
    assert "Traceback" not in err
