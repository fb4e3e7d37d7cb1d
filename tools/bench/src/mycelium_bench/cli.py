"""``uv run mycelium-bench``: the performance report on this machine.

Usage::

    uv run mycelium-bench                 # full run (< 5 min): the table
    uv run mycelium-bench --quick         # smoke run, seconds
    uv run mycelium-bench --json          # the report as JSON on stdout (progress on stderr)
    uv run mycelium-bench --only send_ns,ask_rtt_ns --repeats 9

``--output FILE`` is checked before anything is measured: a file that cannot be written fails at
once, with one line on stderr and exit status 2.
"""

from __future__ import annotations

import argparse
import json
import os
import stat
import sys
from collections.abc import Sequence
from pathlib import Path

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
    return parser


def _unwritable(path: Path) -> str | None:
    """Why ``path`` cannot be written, or ``None``; tries it, leaving nothing behind."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        mode = None
    except OSError as exc:
        return exc.strerror or str(exc)
    if mode is not None and stat.S_ISDIR(mode):
        return "it is a directory"
    if mode is not None and not stat.S_ISREG(mode):  # a FIFO, a device: opening may block
        return None if os.access(path, os.W_OK) else "permission denied"
    try:
        with path.open("ab"):
            pass
    except OSError as exc:
        return exc.strerror or str(exc)
    if mode is None:
        path.unlink(missing_ok=True)
    return None


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
    problem = None if output is None else _unwritable(output)
    if problem is not None:
        message = f"--output {output}: cannot write the file: {problem}"
        print(f"mycelium-bench: error: {message}", file=sys.stderr)
        return 2
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
