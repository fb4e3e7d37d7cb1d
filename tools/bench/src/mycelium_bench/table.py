"""The report as text: the machine, the table of figures, the targets, the method and notes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .report import FIGURE_INFO, FIGURE_KEYS
from .targets import RATIO_TARGETS, TARGETS

__all__ = ["render"]

_HEADER = (
    "metric",
    "target",
    "measured",
    "naive",
    "floor",
    "ratio vs naive",
    "ratio vs floor",
)
_DASH = "-"


def _format(value: float | None, unit: str) -> str:
    if value is None:
        return _DASH
    if unit == "msg/s":
        return f"{value / 1e6:,.2f}M msg/s" if value >= 1e5 else f"{value:,.0f} msg/s"
    if unit == "B":
        return f"{value:,.0f} B"
    if unit == "us":
        return f"{value:,.1f} us" if value < 10_000 else f"{value / 1e3:,.2f} ms"
    if value >= 1e6:
        return f"{value / 1e6:,.2f} ms"
    if value >= 1e4:
        return f"{value / 1e3:,.1f} us"
    return f"{value:,.1f} ns" if value < 1000 else f"{value:,.0f} ns"


def _format_ratio(value: float | None) -> str:
    if value is None:
        return _DASH
    if value >= 100:
        return f"{value:,.0f}x"
    return f"{value:.3g}x" if value < 0.1 else f"{value:.2f}x"


def _pick(value: Any, part: str | None) -> float | None:
    if value is None:
        return None
    if part is not None:
        return float(value[part])
    return float(value)


def _rows(report: Mapping[str, Any]) -> list[tuple[str, ...]]:
    baseline = report["baseline"]
    ratios = report["ratios"]
    rows: list[tuple[str, ...]] = []
    for key in FIGURE_KEYS:
        label, unit, latency, _ = FIGURE_INFO[key]
        target = (
            TARGETS[key].describe()
            if key in TARGETS
            else RATIO_TARGETS[key].describe()
            if key in RATIO_TARGETS
            else ""
        )
        rows.extend(
            (
                f"{label} {part}" if part else label,
                target,
                _format(_pick(report[key], part), unit),
                _format(_pick(baseline["naive"][key], part), unit),
                _format(_pick(baseline["floor"][key], part), unit),
                _format_ratio(_pick(ratios["naive"][key], part)),
                _format_ratio(_pick(ratios["floor"][key], part)),
            )
            for part in (("p50", "p99") if latency else (None,))
        )
    return rows


def _grid(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> list[str]:
    widths = [max(len(row[i]) for row in (header, *rows)) for i in range(len(header))]

    def line(cells: tuple[str, ...]) -> str:
        first, *rest = cells
        return " | ".join(
            [first.ljust(widths[0]), *(c.rjust(w) for c, w in zip(rest, widths[1:], strict=True))]
        )

    return [line(header), "-+-".join("-" * width for width in widths), *(line(r) for r in rows)]


def _verdict(met: bool | None) -> str:
    return {True: "met", False: "NOT met", None: "not measured"}[met]


def render(report: Mapping[str, Any]) -> str:
    """The whole report as a plain-text block."""
    machine = report["machine"]
    method = report["method"]
    out = [
        "Mycelium performance report",
        (
            f"machine: {machine['cores']} cores ({machine['usable_cores']} usable), "
            f"{machine['cpu']}; {machine['platform']}"
        ),
        (
            f"python: {machine['python_implementation']} {machine['python']} "
            f"({machine['python_build']}; {machine['python_compiler']}); "
            f"uvloop {machine['uvloop']}; msgspec {machine['msgspec']}; "
            f"mycelium C send path: {machine['mycelium_speedups']}"
        ),
        "",
        *_grid(_HEADER, _rows(report)),
        "",
        f"ratio = {method['ratio']}",
    ]
    relay = report["baseline"]["relay"]["hot_path_ns"]
    if relay is not None:
        ratio = report["ratios"]["relay"]["hot_path_ns"]
        out.append(
            f"relay baseline (two processes, Unix socket): hot_path_ns p50 "
            f"{_format(relay['p50'], 'ns')}, p99 {_format(relay['p99'], 'ns')}; "
            f"ours / relay: p50 {_format_ratio(ratio['p50'])}, p99 {_format_ratio(ratio['p99'])}"
        )
    floor_async = report["baseline"]["floor_async"]["throughput_msgs_per_s"]
    if floor_async is not None:
        ratio = report["ratios"]["floor_async"]["throughput_msgs_per_s"]
        out.append(
            f"floor with the async def handler (coroutine driven by hand, no loop): "
            f"throughput {_format(floor_async, 'msg/s')}; ours / that: {_format_ratio(ratio)}"
        )
    supervised = report["baseline"]["supervised"]
    parts = [
        f"{key} {_format(supervised[key], FIGURE_INFO[key][1])} "
        f"({_format_ratio(supervised[key] / report[key])} of unsupervised)"
        for key in ("send_ns", "throughput_msgs_per_s")
        if supervised[key] is not None and report[key]
    ]
    if parts:
        out.append(
            "supervised actor (Supervision.restart(), spawned from a factory), same run: "
            + "; ".join(parts)
        )
    out.append("")
    out.append("targets:")
    for key, verdict in report["targets"].items():
        out.append(
            f"  {key} {verdict['target']}: {_verdict(verdict['met'])}; "
            f"stretch {verdict['stretch']}: {_verdict(verdict['stretch_met'])}"
        )
    for key, ratio_verdict in report.get("ratio_targets", {}).items():
        measured = ratio_verdict["ratio"]
        shown = "" if measured is None else f" ({_format_ratio(measured)})"
        out.append(f"  {key} {ratio_verdict['target']}: {_verdict(ratio_verdict['met'])}{shown}")
    out += [
        "",
        (
            f"method: {method['statistic']}; {method['repeats']} repeats after "
            f"{method['warmup']} warm-up (discarded); designs take turns in each repeat; "
            f"{method['timer']}; {method['loop']}"
        ),
        f"gc: {method['gc']}",
        f"backpressure: {method['backpressure']}",
        f"time: {method['seconds']['total']:.1f} s",
    ]
    out += [f"note: {note}" for note in report["notes"]]
    out += ["", "what each figure measures:"]
    out += [f"  {key}: {text}" for key, text in report["definitions"].items()]
    return "\n".join(out)
