"""The bundle's own figures, for each shipped config: ``mycelium-bench --bundles``.

Each figure is taken from the real command, ``python -m services_v2.bundle --config
bundles/NAME.toml``, run as a subprocess (a fresh interpreter each time, as a user runs it):

- **events/s and hot path p50/p99**: the ``--json`` summary of a run of ``events`` simulated
  events (``throughput_events_per_s``, which excludes the time spent simulating, and
  ``hot_path_latency_ns``); the median of ``repeats`` runs, the configs taking turns.
- **peak RSS**: ``ru_maxrss`` of the command (``os.wait4``: the largest of the process and
  its reaped children, so the relay's child counts too) for runs of each of ``rss_events``.
- **one-event run**: the wall time of ``--events 1 --quiet``, from the command's start to its
  exit: interpreter start, imports, the bundle started (its child processes included), the
  first event handled, stopped and summarised; the median of ``repeats`` runs. The relay's
  figure minus the monolith's is what splitting the bundle costs at start-up.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass
from time import perf_counter
from typing import Any, Final, final

__all__ = ["BUNDLE_FULL", "BUNDLE_QUICK", "BundleSizes", "measure_bundles", "render_bundles"]

CONFIGS: Final = ("monolith", "relay")


@final
@dataclass(frozen=True, slots=True)
class BundleSizes:
    """How much each bundle figure runs."""

    events: int
    """Simulated events per run of the events/s and latency figures."""
    rss_events: tuple[int, ...]
    """Event counts whose peak RSS is measured."""
    repeats: int
    """Runs per figure (medians); the RSS runs are made once."""


BUNDLE_FULL: Final = BundleSizes(events=200_000, rss_events=(1_000_000, 10_000_000), repeats=3)
BUNDLE_QUICK: Final = BundleSizes(events=20_000, rss_events=(100_000,), repeats=1)


def _command(config: str, *args: str) -> list[str]:
    return [sys.executable, "-m", "services_v2.bundle", "--config", f"bundles/{config}.toml", *args]


def _run(command: list[str]) -> tuple[str, int, float]:
    """stdout, peak RSS (bytes) and wall time of ``command``, reaped with ``os.wait4``."""
    started = perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert process.stdout is not None
    out = process.stdout.read()
    process.stdout.close()
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} exited with {process.returncode}")
    return out.decode(), usage.ru_maxrss * 1024, elapsed  # Linux: ru_maxrss is in KiB


def measure_bundles(
    sizes: BundleSizes = BUNDLE_FULL, *, progress: Callable[[str], None] | None = None
) -> dict[str, Any]:
    """Every bundle figure for every shipped config (see the module docstring)."""
    say: Callable[[str], None] = progress or _silent
    runs: dict[str, list[dict[str, Any]]] = {config: [] for config in CONFIGS}
    starts: dict[str, list[float]] = {config: [] for config in CONFIGS}
    peaks: dict[str, int] = {}
    for index in range(sizes.repeats):
        for config in CONFIGS:
            say(f"bundles: {config} {sizes.events:,} events ({index + 1}/{sizes.repeats})")
            out, peak, _ = _run(
                _command(config, "--events", str(sizes.events), "--json", "--quiet")
            )
            runs[config].append(json.loads(out))
            peaks[config] = max(peaks.get(config, 0), peak)
            _, _, wall = _run(_command(config, "--events", "1", "--quiet"))
            starts[config].append(wall)
    figures: dict[str, Any] = {}
    for config in CONFIGS:
        summaries = runs[config]
        latency = [summary["hot_path_latency_ns"] for summary in summaries]
        rss: dict[str, int] = {}
        for count in sizes.rss_events:
            if count == sizes.events:  # measured already
                rss[str(count)] = peaks[config]
                continue
            say(f"bundles: {config} peak RSS of {count:,} events")
            _, peak, _ = _run(_command(config, "--events", str(count), "--quiet"))
            rss[str(count)] = peak
        figures[config] = {
            "events_per_s": statistics.median(s["throughput_events_per_s"] for s in summaries),
            "hot_path_ns": {
                "p50": statistics.median(run["p50"] for run in latency),
                "p99": statistics.median(run["p99"] for run in latency),
            },
            "peak_rss_bytes": rss,
            "one_event_run_s": statistics.median(starts[config]),
        }
    figures["method"] = {
        "command": "python -m services_v2.bundle --config bundles/NAME.toml",
        "sizes": asdict(sizes),
        "statistic": "median of repeats; RSS once per count (ru_maxrss via os.wait4)",
    }
    return figures


def _silent(line: str) -> None:
    pass


def render_bundles(figures: dict[str, Any]) -> str:
    """The bundle figures as a small table."""
    counts = figures["method"]["sizes"]["rss_events"]
    header = (
        ["config", "events/s", "hot path p50", "hot path p99"]
        + [f"peak RSS {count:,} ev" for count in counts]
        + ["one-event run"]
    )
    rows = [header]
    for config in CONFIGS:
        row = figures[config]
        rows.append(
            [
                config,
                f"{row['events_per_s']:,.0f}",
                _ns(row["hot_path_ns"]["p50"]),
                _ns(row["hot_path_ns"]["p99"]),
                *(f"{row['peak_rss_bytes'][str(count)] / 2**20:,.0f} MiB" for count in counts),
                f"{row['one_event_run_s']:.2f} s",
            ]
        )
    widths = [max(len(row[column]) for row in rows) for column in range(len(header))]
    lines = [
        " | ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        for row in rows
    ]
    lines.insert(1, "-+-".join("-" * width for width in widths))
    return "\n".join(line.rstrip() for line in lines)


def _ns(value: float | None) -> str:
    if value is None:
        return "-"
    if value < 1_000:
        return f"{value:.0f} ns"
    if value < 1_000_000:
        return f"{value / 1_000:.1f} us"
    return f"{value / 1_000_000:.2f} ms"
