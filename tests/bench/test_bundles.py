"""The bundle figures of mycelium-bench (mycelium_bench.bundles), on a tiny run."""

from __future__ import annotations

from mycelium_bench.bundles import BundleSizes, measure_bundles, render_bundles


def test_every_shipped_config_gets_every_figure() -> None:
    figures = measure_bundles(BundleSizes(events=3_000, rss_events=(3_000,), repeats=1))
    for config in ("monolith", "relay"):
        row = figures[config]
        assert row["events_per_s"] > 0
        assert 0 < row["hot_path_ns"]["p50"] <= row["hot_path_ns"]["p99"]
        assert row["peak_rss_bytes"]["3000"] > 10 * 2**20  # an interpreter, at least
        assert row["one_event_run_s"] > 0
    table = render_bundles(figures).splitlines()
    assert [cell.strip() for cell in table[0].split(" | ")][:2] == ["config", "events/s"]
    assert [line.split(" ")[0] for line in table[2:]] == ["monolith", "relay"]
