"""``mycelium-bundle``: run the trading pipeline on built-in or recorded data, then summarise.

Exit status: 0 on success; 2 for a usage error, an unreadable or malformed input file, an
unwritable or unknown ``--dump`` file, more simulated events than memory holds, or an
unavailable mode (one line on stderr, no traceback); 1 when a run cannot complete; 130 when
interrupted (Ctrl-C: one line saying how far it got, in every mode).

``--dump FILE`` writes the events and exits; with ``--json`` it prints what it wrote as one
JSON object on stdout (``events``, ``file``, ``format``, ``source``) instead of a note on stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import stat
import sys
from collections.abc import Iterator, Sequence
from itertools import islice
from pathlib import Path
from typing import TextIO, final

from mycelium_types.messages import MarketMessage
from services_v2.actors.faults import FaultPlan, run_faulty_actor_pipeline
from services_v2.pipeline import PipelineConfig
from services_v2.pipeline.errors import PipelineFailed
from services_v2.sim import DEFAULT_EVENTS, MarketSimulator

from .event_file import (
    EventFileError,
    EventFormat,
    format_for_extension,
    iter_events,
    write_events,
)
from .plans_file import PlansFileError, check_writable, write_plans
from .progress import ProgressBar
from .runners import MODES, ModeUnavailable, resolve_runner
from .summary import FaultSummary, build_summary, format_text, summary_json

__all__ = ["main"]

_PROG = "mycelium-bundle"
_EXIT_USER_ERROR = 2
_EXIT_RUN_FAILED = 1
_EXIT_INTERRUPTED = 130
_SIMULATED_EVENT_BYTES = 160
"""About what one simulated event costs in memory (all of them are held for the run)."""
_READ_STEP = 4096


class _UsageError(Exception):
    """A request that cannot be carried out; the message is one line."""


@final
class _Stage:
    """How far the command got, for the line an interruption prints."""

    __slots__ = ("done", "mode", "source", "total", "what")

    def __init__(self) -> None:
        self.what = "starting"
        self.done = 0
        self.total = 0
        self.source = ""
        self.mode = ""

    def progress(self, done: int) -> None:
        self.done = done

    def interrupted(self) -> str:
        if self.what == "simulating":
            return (
                f"interrupted while simulating ({self.done:,} of {self.total:,} events); "
                "nothing was run"
            )
        if self.what == "reading":
            return (
                f"interrupted while reading {self.source} ({self.done:,} events read); "
                "nothing was run"
            )
        if self.what == "writing":
            return f"interrupted while writing {self.source}; the file may be incomplete"
        if self.what == "running":
            return (
                f"interrupted after {self.done:,} of {self.total:,} events "
                f"(mode {self.mode}); no summary"
            )
        return "interrupted before any event was read"


class _Options(argparse.Namespace):
    events: int | None
    seed: int
    input: str | None
    json: bool
    quiet: bool
    mode: str
    dump: str | None
    faults: float | None
    plans: str | None


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def _rate(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a fraction such as 0.001, got {text!r}"
        ) from None
    if not 0 <= value <= 1:  # NaN fails too
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, got {text}")
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
        "--faults",
        type=_rate,
        metavar="RATE",
        help=(
            "make the handlers raise on this fraction of messages (chosen from the seed): the "
            "signal generator is restarted by its supervisor, the market-data actor resumed; "
            "the summary checks the other signals against the oracle (--mode actors)"
        ),
    )
    parser.add_argument(
        "--dump",
        metavar="FILE",
        help=(
            "write the events to FILE (format by extension: .jsonl or .msgpack) and exit; "
            "with --json, print what was written as one JSON object"
        ),
    )
    parser.add_argument(
        "--plans",
        metavar="FILE",
        help="write every accepted execution plan to FILE, one JSON object per line",
    )
    return parser


def _simulate(count: int, seed: int, bar: ProgressBar, stage: _Stage) -> list[MarketMessage]:
    stream = MarketSimulator(seed).events(count)
    events: list[MarketMessage] = []
    step = max(1, count // 100)
    while chunk := list(islice(stream, step)):
        events.extend(chunk)
        stage.progress(len(events))
        bar(len(events))
    bar.close()
    return events


def _read(stream: Iterator[MarketMessage], stage: _Stage) -> list[MarketMessage]:
    events: list[MarketMessage] = []
    while chunk := list(islice(stream, _READ_STEP)):
        events.extend(chunk)
        stage.progress(len(events))
    return events


def _check_memory(count: int) -> None:
    """Refuse a simulation whose events cannot fit in this machine's memory."""
    try:
        have = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):  # not a POSIX system that says
        return
    need = count * _SIMULATED_EVENT_BYTES
    if have > 0 and need > have:
        raise _UsageError(
            f"--events {count:,}: the simulated events are held in memory (about "
            f"{need / 1e9:,.1f} GB), more than this machine has ({have / 1e9:,.1f} GB); "
            "use fewer events"
        )


def _check_dump(path: str) -> EventFormat:
    """The layout ``--dump path`` asks for; refuses an unknown extension or an unwritable path
    before anything is simulated or read."""
    layout = format_for_extension(path)
    if layout is None:
        suffix = Path(path).suffix
        named = f"unknown extension {suffix!r}" if suffix else "no extension"
        raise _UsageError(f"--dump {path}: {named}; name the file .jsonl (JSON lines) or .msgpack")
    problem = _unwritable(Path(path))
    if problem is not None:
        raise _UsageError(f"--dump {path}: cannot write the file: {problem}")
    return layout


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


def _run(options: _Options, stderr: TextIO, stage: _Stage) -> int:
    dump_layout = _check_dump(options.dump) if options.dump is not None else None
    if options.faults is not None and options.mode != "actors":
        raise _UsageError(f"--faults runs with --mode actors, not --mode {options.mode}")
    if options.plans is not None:
        check_writable(options.plans)  # before any work, like --dump
    if options.input is None:
        _check_memory(options.events if options.events is not None else DEFAULT_EVENTS)
    resolved = resolve_runner(options.mode)
    show_progress = not options.quiet and stderr.isatty()
    if options.input is not None:
        stage.what, stage.source = "reading", options.input
        events = _read(iter_events(options.input, limit=options.events), stage)
        source = f"file {options.input}"
    else:
        count = options.events if options.events is not None else DEFAULT_EVENTS
        stage.what, stage.total = "simulating", count
        bar = ProgressBar(count, stderr, label="simulating", enabled=show_progress)
        events = _simulate(count, options.seed, bar, stage)
        source = f"simulator (seed {options.seed})"
    if options.dump is not None and dump_layout is not None:
        stage.what, stage.source = "writing", options.dump
        written = write_events(options.dump, events, fmt=dump_layout)
        if options.json:
            dumped = {"events": written, "file": options.dump, "format": dump_layout}
            print(json.dumps({**dumped, "source": source}))
        elif not options.quiet:
            print(f"{_PROG}: wrote {written:,} events to {options.dump}", file=stderr)
        return 0
    if resolved.note is not None and not options.quiet:
        print(f"{_PROG}: note: {resolved.note}", file=stderr)
    bar = ProgressBar(len(events), stderr, label="running   ", enabled=show_progress)
    stage.what, stage.done, stage.total, stage.mode = "running", 0, len(events), options.mode

    def progress(done: int) -> None:
        stage.progress(done)
        bar(done)

    faults: FaultSummary | None = None
    if options.faults is None:
        result = resolved.run(events, PipelineConfig(), progress=progress)
    else:
        result, report = run_faulty_actor_pipeline(
            events, PipelineConfig(), FaultPlan(options.faults, options.seed), progress=progress
        )
        faults = FaultSummary(
            rate=report.rate,
            injected=report.injected,
            injected_market=report.injected_market,
            injected_signals=report.injected_signals,
            restarts=report.restarts,
            dead_letters=report.dead_letters,
            matches_oracle=report.matches_oracle,
        )
    bar.close()
    stage.done = stage.total
    if options.plans is not None:
        write_plans(options.plans, result.plans)
    summary = build_summary(result, source=source, faults=faults)
    if options.json:
        print(summary_json(summary))
    else:
        print(format_text(summary, brief=options.quiet))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the bundle with ``argv`` (default: the command line); returns the exit status."""
    options = _parser().parse_args(argv, namespace=_Options())
    stderr = sys.stderr
    stage = _Stage()
    try:
        return _run(options, stderr, stage)
    except (EventFileError, PlansFileError, ModeUnavailable, _UsageError) as exc:
        print(f"{_PROG}: error: {exc}", file=stderr)
        return _EXIT_USER_ERROR
    except PipelineFailed as exc:
        print(f"{_PROG}: error: {exc}", file=stderr)
        return _EXIT_RUN_FAILED
    except KeyboardInterrupt:
        if stderr.isatty():
            stderr.write("\r\x1b[K")  # erase a progress bar the interruption left drawn
        print(f"{_PROG}: {stage.interrupted()}", file=stderr)
        return _EXIT_INTERRUPTED
