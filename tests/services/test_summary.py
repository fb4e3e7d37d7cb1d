"""The end-of-run summary (services_v2.bundle.summary)."""

from __future__ import annotations

import json

from summary_contract import SUMMARY_CONTRACT

from services_v2.bundle.summary import (
    TIMING_KEYS,
    LatencySummary,
    build_summary,
    format_text,
    latency_summary,
    summary_json,
)
from services_v2.layouts.sequential import run_reference
from services_v2.sim import simulate

CONTRACT_KEYS = list(SUMMARY_CONTRACT)


def test_percentiles_are_nearest_rank() -> None:
    samples = list(range(100, 0, -1))  # 1..100, unsorted
    assert latency_summary(samples) == LatencySummary(p50=50, p99=99, max=100)
    assert latency_summary([7]) == LatencySummary(p50=7, p99=7, max=7)
    assert latency_summary([1, 2, 3]) == LatencySummary(p50=2, p99=3, max=3)


def test_no_samples_means_no_percentiles() -> None:
    assert latency_summary([]) == LatencySummary(p50=None, p99=None, max=None)


def test_the_summary_totals_the_result() -> None:
    result = run_reference(simulate(6_000, seed=21))
    summary = build_summary(result, source="test")
    validation = result.validation
    assert summary.events == 6_000
    assert summary.signals_detected == len(result.signals)
    assert summary.signals_validated == len(result.plans) + validation.momentum_accepted
    assert summary.signals_detected == summary.signals_validated + sum(
        summary.signals_rejected.values()
    )
    superseded = {plan.supersedes for plan in result.plans if plan.supersedes is not None}
    assert summary.plans_superseded == len(superseded) > 0
    live = [plan for n, plan in enumerate(result.plans) if n not in superseded]
    assert summary.realised_profit_usd == sum((plan.expected_profit_usd for plan in live), 0.0)
    assert summary.expected_profit_usd == summary.realised_profit_usd
    assert summary.hot_path_samples == result.latency.count
    assert summary.throughput_events_per_s == 6_000 / result.elapsed_s
    assert summary.mode == "sequential"


def test_the_json_starts_with_the_contract_keys_and_is_one_line() -> None:
    summary = build_summary(run_reference(simulate(1_000, seed=22)), source="test")
    text = summary_json(summary)
    assert "\n" not in text
    decoded = json.loads(text)
    assert list(decoded)[: len(CONTRACT_KEYS) + 2] == [
        *CONTRACT_KEYS,
        "realised_profit_usd",
        "plans_superseded",
    ]
    assert set(decoded["hot_path_latency_ns"]) == {"p50", "p99", "max"}
    assert set(decoded["signals_rejected"]) == {
        "malformed",
        "stale",
        "below_min_profit",
        "duplicate",
        "weak_momentum",
    }
    assert set(decoded) >= TIMING_KEYS


def test_the_text_shows_the_figures() -> None:
    summary = build_summary(run_reference(simulate(3_000, seed=23)), source="simulator (seed 23)")
    text = format_text(summary)
    assert text.startswith("mycelium-bundle: 3,000 events from simulator (seed 23)")
    assert f"${summary.expected_profit_usd:,.2f} expected" in text
    assert f"${summary.realised_profit_usd:,.2f} realised (the " in text
    assert "plans not superseded, executed in order" in text
    assert "p50 " in text
    assert "p99 " in text
    brief = format_text(summary, brief=True)
    assert "\n" not in brief
    assert brief.startswith("3,000 events")


def test_an_empty_run_shows_no_latency() -> None:
    summary = build_summary(run_reference([]), source="nothing")
    assert summary.hot_path_latency_ns == LatencySummary(None, None, None)
    assert "p50 n/a" in format_text(summary)
    assert json.loads(summary_json(summary))["hot_path_latency_ns"]["p50"] is None
