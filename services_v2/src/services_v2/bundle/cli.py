"""``mycelium-bundle``: run the trading pipeline on built-in or recorded data, then summarise.

The layout (which actors run in which process) is a bundle config (``--config FILE``; the
shipped ``bundles/monolith.toml`` by default, ``--mode relay`` for ``bundles/relay.toml``); the
events stream from the simulator or the input file into the bundle as they are produced, so
memory stays flat whatever ``--events`` is.

Exit status: 0 on success; 2 for a usage error, an unreadable or malformed input file, an
unwritable or unknown ``--dump`` file, or a bad bundle config (one line on stderr, no
traceback, nothing left running); 1 when a run cannot complete; 130 when interrupted (Ctrl-C:
one line saying how far it got, in every layout).

``--dump FILE`` writes the events and exits; with ``--json`` it prints what it wrote as one
JSON object on stdout (``events``, ``file``, ``format``, ``source``) instead of a note on stderr.
``--check FILE`` validates a bundle config and prints its layout; nothing is started.

``--faults RATE`` makes the market-data actor and the signal generator fail that fraction of
their messages, drawn from the seed (``services_v2.domain.faults``): the signal generator is
restarted by its supervision, the market actor resumed. The events are then produced a second
time (simulated again, or read again) for the oracle, the sequential reference minus exactly
the faulted messages; the summary's ``faults`` line says what was injected and whether every
other signal matched it to the cent. Only with both actors in this process (exit 2 otherwise).
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import sys
from collections.abc import Iterator, Sequence
from itertools import chain
from pathlib import Path
from typing import TextIO, final

from mycelium.bundle import BundleConfigError, BundleError, Layout, resolve
from mycelium_types.messages import MarketMessage
from services_v2.domain.faults import FaultPlan, InjectedFault
from services_v2.latency.histogram import LatencyHistogram
from services_v2.layouts.bundle import (
    TradingLayoutError,
    run_bundle,
    trading_roles,
    with_plans_file,
)
from services_v2.layouts.config import PipelineConfig
from services_v2.layouts.result import PipelineFailed
from services_v2.layouts.sequential import faulted_reference
from services_v2.plans_file import PlansFileError, check_writable
from services_v2.sim import DEFAULT_EVENTS, MarketSimulator

from .configs import DEFAULT_CONFIG, MODE_CONFIGS, find_config
from .event_file import (
    EventFileError,
    EventFormat,
    format_for_extension,
    iter_events,
    write_events,
)
from .faults import check_faults, with_faults
from .progress import ProgressBar, RunMeter
from .summary import FaultSummary, build_summary, format_text, summary_json
from .writable import unwritable

__all__ = ["main"]

_PROG = "mycelium-bundle"
_EXIT_USER_ERROR = 2
_EXIT_RUN_FAILED = 1
_EXIT_INTERRUPTED = 130


class _UsageError(Exception):
    """A request that cannot be carried out; the message is one line."""


@final
class _Stage:
    """How far the command got, for the line an interruption prints."""

    __slots__ = ("bundle", "done", "source", "total", "what")

    def __init__(self) -> None:
        self.what = "starting"
        self.done = 0
        self.total: int | None = None
        self.source = ""
        self.bundle = ""

    def interrupted(self) -> str:
        of = f" of {self.total:,}" if self.total is not None else ""
        if self.what == "writing":
            return (
                f"interrupted while writing {self.source} ({self.done:,}{of} events); the file "
                "is incomplete"
            )
        if self.what == "running":
            return f"interrupted after {self.done:,}{of} events (bundle {self.bundle}); no summary"
        return "interrupted before any event was read"


class _Options(argparse.Namespace):
    events: int | None
    seed: int
    input: str | None
    json: bool
    quiet: bool
    mode: str | None
    config: str | None
    check: str | None
    dump: str | None
    plans: str | None
    faults: float | None


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
    if math.isnan(value) or not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, got {text}")
    return value


class _QuietInjected(logging.Filter):
    """Keeps the injected faults out of the log (the summary counts them instead)."""

    def filter(self, record: logging.LogRecord) -> bool:
        info = record.exc_info
        return not (info and isinstance(info[1], InjectedFault))


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
        "--config",
        metavar="FILE",
        help=f"the bundle config: which actors run where (default {DEFAULT_CONFIG}; "
        "shipped: bundles/monolith.toml, bundles/relay.toml)",
    )
    parser.add_argument(
        "--mode",
        choices=tuple(MODE_CONFIGS),
        help="shorthand for --config: actors = bundles/monolith.toml (both services in one "
        "process), relay = bundles/relay.toml (the signal generator in a child process)",
    )
    parser.add_argument(
        "--check",
        metavar="FILE",
        help="validate the bundle config FILE, print its layout and exit (nothing is started)",
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
    parser.add_argument(
        "--faults",
        type=_rate,
        metavar="RATE",
        help=(
            "make the handlers raise on this fraction of messages (chosen from the seed): the "
            "signal generator is restarted by its supervisor, the market-data actor resumed; "
            "the summary checks every other signal against the oracle"
        ),
    )
    return parser


def _check_dump(path: str) -> EventFormat:
    """The layout ``--dump path`` asks for; refuses an unknown extension or an unwritable path
    before anything is simulated or read."""
    layout = format_for_extension(path)
    if layout is None:
        suffix = Path(path).suffix
        named = f"unknown extension {suffix!r}" if suffix else "no extension"
        raise _UsageError(f"--dump {path}: {named}; name the file .jsonl (JSON lines) or .msgpack")
    problem = unwritable(Path(path))
    if problem is not None:
        raise _UsageError(f"--dump {path}: cannot write the file: {problem}")
    return layout


def _layout(config: str) -> Layout:
    """The resolved layout of ``config``, checked to be a trading bundle."""
    layout = resolve(find_config(config))
    trading_roles(layout)
    return layout


def _check(config: str) -> int:
    layout = _layout(config)
    roles = trading_roles(layout)
    print(layout.describe())
    print(f"  trading: events go to {roles.market!r}; the config is valid")
    return 0


def _events(options: _Options) -> tuple[Iterator[MarketMessage], int | None, str]:
    """The events to run, lazily, how many (if known), and where they come from.

    A file is opened and its first record read here, so that a missing or malformed file is
    reported before anything is started.
    """
    if options.input is not None:
        stream = iter_events(options.input, limit=options.events)
        first = next(stream, None)
        events = stream if first is None else chain((first,), stream)
        return events, options.events, f"file {options.input}"
    count = options.events if options.events is not None else DEFAULT_EVENTS
    return MarketSimulator(options.seed).events(count), count, f"simulator (seed {options.seed})"


def _counted(events: Iterator[MarketMessage], stage: _Stage) -> Iterator[MarketMessage]:
    for event in events:
        stage.done += 1
        yield event


def _run(options: _Options, stderr: TextIO, stage: _Stage) -> int:
    if options.check is not None:
        return _check(options.check)
    if options.mode is not None and options.config is not None:
        raise BundleConfigError(
            options.config, "", "--mode is a shorthand for --config; give one of them"
        )
    dump_layout = _check_dump(options.dump) if options.dump is not None else None
    config = options.config or MODE_CONFIGS.get(options.mode or "", DEFAULT_CONFIG)
    layout = None if options.dump is not None else _layout(config)
    if layout is not None and options.plans is not None:
        check_writable(options.plans)  # before any work, like --dump
        layout = with_plans_file(layout, os.path.abspath(options.plans))
    plan = None
    domain = PipelineConfig()
    if layout is not None and options.faults is not None:
        plan = FaultPlan(options.faults, options.seed)
        layout, domain = with_faults(layout, plan)
    events, total, source = _events(options)
    stage.total = total
    if dump_layout is not None:
        assert options.dump is not None
        stage.what, stage.source = "writing", options.dump
        written = write_events(options.dump, _counted(events, stage), fmt=dump_layout)
        if options.json:
            dumped = {"events": written, "file": options.dump, "format": dump_layout}
            print(json.dumps({**dumped, "source": source}))
        elif not options.quiet:
            print(f"{_PROG}: wrote {written:,} events to {options.dump}", file=stderr)
        return 0
    assert layout is not None
    stage.what, stage.bundle = "running", layout.name
    show_progress = not options.quiet and stderr.isatty()
    meter = RunMeter(ProgressBar(total, stderr, label="running", enabled=show_progress))

    def progress(done: int, latency: LatencyHistogram | None) -> None:
        stage.done = done
        meter(done, latency)

    quiet = _QuietInjected()
    logger = logging.getLogger("mycelium")
    if plan is not None:
        logger.addFilter(quiet)
    try:
        result = run_bundle(layout, events, total=total, progress=progress)
    finally:
        meter.close()
        logger.removeFilter(quiet)
    faults: FaultSummary | None = None
    if plan is not None:
        stage.what = "checking"
        oracle = faulted_reference(_events(options)[0], domain, plan)
        faults = check_faults(result, oracle, plan)
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
    except (
        EventFileError,
        PlansFileError,
        BundleConfigError,
        TradingLayoutError,
        _UsageError,
    ) as exc:
        print(f"{_PROG}: error: {exc}", file=stderr)
        return _EXIT_USER_ERROR
    except (PipelineFailed, BundleError) as exc:
        print(f"{_PROG}: error: {exc}", file=stderr)
        return _EXIT_RUN_FAILED
    except KeyboardInterrupt:
        if stderr.isatty():
            stderr.write("\r\x1b[K")  # erase a progress bar the interruption left drawn
        print(f"{_PROG}: {stage.interrupted()}", file=stderr)
        return _EXIT_INTERRUPTED
