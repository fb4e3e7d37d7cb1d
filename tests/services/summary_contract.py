"""The keys every ``mycelium-bundle --json`` summary starts with, in order (the seed's contract)."""

from __future__ import annotations

__all__ = ["SUMMARY_CONTRACT"]

SUMMARY_CONTRACT = (
    "events",
    "signals_detected",
    "signals_validated",
    "signals_rejected",
    "expected_profit_usd",
    "throughput_events_per_s",
    "hot_path_latency_ns",
    "elapsed_s",
    "mode",
)
