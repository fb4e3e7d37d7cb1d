"""``uv run mycelium-bench``: the performance report on this machine.

Usage::

    uv run mycelium-bench                 # full run (< 5 min): the table
    uv run mycelium-bench --quick         # smoke run, seconds
    uv run mycelium-bench --json          # the report as JSON on stdout (progress on stderr)
    uv run mycelium-bench --only send_ns,ask_rtt_ns --repeats 9
    uv run mycelium-bench --bundles       # the bundle's own figures, per shipped config

``--output FILE`` is checked before anything is measured: a file that cannot be written fails at
once, with one line on stderr and exit status 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from services_v2.bundle.writable import unwritable

from .bundles import BUNDLE_FULL, BUNDLE_QUICK, measure_bundles, render_bundles
from .report import FIGURE_KEYS, FULL, QUICK, run_report
from .table import render

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mycelium-bench",
        description=(
            "Measure Mycelium beside the naive design (a task and an asyncio.Queue per actor) "
            "and the floor (deque.append + a method call), in one run, and print the table."
        ),
    )
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke run")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--output", type=Path, help="also write the JSON report to this file")
    parser.add_argument("--repeats", type=int, help="kept repeats per figure (full 7, quick 3)")
    parser.add_argument("--warmup", type=int, default=1, help="discarded repeats (default 1)")
    parser.add_argument(
        "--only",
        type=lambda text: [key.strip() for key in text.split(",") if key.strip()],
        help=f"comma-separated figure keys, among: {', '.join(FIGURE_KEYS)}",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    parser.add_argument(
        "--bundles",
        action="store_true",
        help="instead: the bundle's figures for each shipped config (events/s, hot path, peak "
        "RSS, a one-event run), from the mycelium-bundle command itself",
    )
    return parser


def _progress(line: str) -> None:
    print(f"[mycelium-bench] {line}", file=sys.stderr, flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the report; print the table (or the JSON with ``--json``). Returns the exit code."""
    parser = _parser()
    args = parser.parse_args(argv)
    only: list[str] | None = args.only
    if only:
        unknown = [key for key in only if key not in FIGURE_KEYS]
        if unknown:
            parser.error(f"unknown figure(s) {', '.join(unknown)}; see --help")
    repeats: int | None = args.repeats
    if repeats is not None and repeats < 1:
        parser.error(f"--repeats must be >= 1, got {repeats}")
    warmup: int = args.warmup
    if warmup < 0:
        parser.error(f"--warmup must be >= 0, got {warmup}")
    output: Path | None = args.output
    problem = None if output is None else unwritable(output)
    if problem is not None:
        message = f"--output {output}: cannot write the file: {problem}"
        print(f"mycelium-bench: error: {message}", file=sys.stderr)
        return 2
    if args.bundles:
        figures = measure_bundles(
            BUNDLE_QUICK if args.quick else BUNDLE_FULL,
            progress=None if args.quiet else _progress,
        )
        text = json.dumps({"bundles": figures}, indent=2)
        print(text if args.json else render_bundles(figures))
        if output is not None:
            output.write_text(text + "\n")
        return 0
    report = run_report(
        QUICK if args.quick else FULL,
        repeats=repeats,
        warmup=warmup,
        only=only,
        progress=None if args.quiet else _progress,
    )
    text = json.dumps(report, indent=2)
    print(text if args.json else render(report))
    if output is not None:
        try:
            output.write_text(text + "\n")
        except OSError as exc:  # it was writable when the run began
            message = f"--output {output}: cannot write the file: {exc.strerror or exc}"
            print(f"mycelium-bench: error: {message}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
