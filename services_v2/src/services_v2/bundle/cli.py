"""``mycelium-bundle``: run the trading pipeline on built-in or recorded data, then summarise.

Exit status: 0 on success; 2 for a usage error, an unreadable or malformed input file, or an
unavailable mode (one line on stderr, no traceback); 130 when interrupted.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from itertools import islice
from typing import TextIO

from mycelium_types.messages import MarketMessage
from services_v2.pipeline import PipelineConfig
from services_v2.pipeline.errors import PipelineFailed
from services_v2.sim import DEFAULT_EVENTS, MarketSimulator

from .event_file import EventFileError, read_events, write_events
from .plans_file import PlansFileError, check_writable, write_plans
from .progress import ProgressBar
from .runners import MODES, ModeUnavailable, resolve_runner
from .summary import build_summary, format_text, summary_json

__all__ = ["main"]

_PROG = "mycelium-bundle"
_EXIT_USER_ERROR = 2
_EXIT_RUN_FAILED = 1
_EXIT_INTERRUPTED = 130


class _Options(argparse.Namespace):
    events: int | None
    seed: int
    input: str | None
    json: bool
    quiet: bool
    mode: str
    dump: str | None
    plans: str | None


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=_PROG,
        description=(
            "Run the Mycelium trading pipeline (market data -> arbitrage and momentum "
            "signals -> validation and execution plans) and print a summary."
        ),
    )
    parser.add_argument(
        "--events",
        type=_positive_int,
        metavar="N",
        help=f"events to simulate (default {DEFAULT_EVENTS:,}); with --input, read at most N",
    )
    parser.add_argument(
        "--seed", type=int, default=0, metavar="S", help="simulator seed (default 0)"
    )
    parser.add_argument(
        "--input",
        metavar="FILE",
        help="replay FILE (msgpack stream or JSON lines of MarketMessage) instead of simulating",
    )
    parser.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    parser.add_argument(
        "--quiet", action="store_true", help="no progress bar or notes; a one-line summary"
    )
    parser.add_argument(
        "--mode",
        choices=MODES,
        default=MODES[0],
        help="actors: both services in one ActorSystem (default); relay: two processes",
    )
    parser.add_argument(
        "--dump",
        metavar="FILE",
        help="write the events to FILE (format by extension: .jsonl or .msgpack) and exit",
    )
    parser.add_argument(
        "--plans",
        metavar="FILE",
        help="write every accepted execution plan to FILE, one JSON object per line",
    )
    return parser


def _simulate(count: int, seed: int, bar: ProgressBar) -> list[MarketMessage]:
    stream = MarketSimulator(seed).events(count)
    events: list[MarketMessage] = []
    step = max(1, count // 100)
    while chunk := list(islice(stream, step)):
        events.extend(chunk)
        bar(len(events))
    bar.close()
    return events


def _run(options: _Options, stderr: TextIO) -> int:
    resolved = resolve_runner(options.mode)
    show_progress = not options.quiet and stderr.isatty()
    if options.input is not None:
        events = read_events(options.input, limit=options.events)
        source = f"file {options.input}"
    else:
        count = options.events if options.events is not None else DEFAULT_EVENTS
        bar = ProgressBar(count, stderr, label="simulating", enabled=show_progress)
        events = _simulate(count, options.seed, bar)
        source = f"simulator (seed {options.seed})"
    if options.dump is not None:
        written = write_events(options.dump, events)
        if not options.quiet:
            print(f"{_PROG}: wrote {written:,} events to {options.dump}", file=stderr)
        return 0
    if options.plans is not None:
        check_writable(options.plans)
    if resolved.note is not None and not options.quiet:
        print(f"{_PROG}: note: {resolved.note}", file=stderr)
    bar = ProgressBar(len(events), stderr, label="running   ", enabled=show_progress)
    result = resolved.run(events, PipelineConfig(), progress=bar if show_progress else None)
    bar.close()
    if options.plans is not None:
        write_plans(options.plans, result.plans)
    summary = build_summary(result, source=source)
    if options.json:
        print(summary_json(summary))
    else:
        print(format_text(summary, brief=options.quiet))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the bundle with ``argv`` (default: the command line); returns the exit status."""
    options = _parser().parse_args(argv, namespace=_Options())
    stderr = sys.stderr
    try:
        return _run(options, stderr)
    except (EventFileError, PlansFileError, ModeUnavailable) as exc:
        print(f"{_PROG}: error: {exc}", file=stderr)
        return _EXIT_USER_ERROR
    except PipelineFailed as exc:
        print(f"{_PROG}: error: {exc}", file=stderr)
        return _EXIT_RUN_FAILED
    except KeyboardInterrupt:
        print(f"{_PROG}: interrupted", file=stderr)
        return _EXIT_INTERRUPTED
