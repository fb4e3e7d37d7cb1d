"""``mycelium-bundle``: run the trading pipeline on built-in or recorded data, then summarise.

The layout (which actors run in which process) is a bundle config (``--config FILE``; the
shipped ``bundles/monolith.toml`` by default, ``--mode relay`` for ``bundles/relay.toml``); the
events stream from the simulator or the input file into the bundle as they are produced.

Exit status: 0 on success; 2 for a usage error, an unreadable or malformed input file, or a bad
bundle config (one line on stderr, no traceback, nothing left running); 1 when the run failed;
130 when interrupted.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Generator, Sequence
from typing import TextIO

from mycelium.bundle import BundleConfigError, BundleError, Layout, resolve
from mycelium_types.messages import MarketMessage
from services_v2.pipeline.errors import PipelineFailed
from services_v2.sim import DEFAULT_EVENTS, MarketSimulator

from .configs import DEFAULT_CONFIG, MODE_CONFIGS, find_config
from .event_file import EventFileError, iter_events, write_events
from .progress import ProgressBar, RunMeter
from .run import TradingLayoutError, run_bundle, trading_roles
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
    mode: str | None
    config: str | None
    check: str | None
    dump: str | None


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
        help="write the events to FILE (format by extension: .jsonl or .msgpack) and exit",
    )
    return parser


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


def _events(options: _Options) -> tuple[Generator[MarketMessage, None, None], int | None, str]:
    """The events to run, lazily, how many (if known), and where they come from."""
    if options.input is not None:
        return (
            iter_events(options.input, limit=options.events),
            options.events,
            f"file {options.input}",
        )
    count = options.events if options.events is not None else DEFAULT_EVENTS
    return MarketSimulator(options.seed).events(count), count, f"simulator (seed {options.seed})"


def _run(options: _Options, stderr: TextIO) -> int:
    if options.check is not None:
        return _check(options.check)
    if options.mode is not None and options.config is not None:
        raise BundleConfigError(
            options.config, "", "--mode is a shorthand for --config; give one of them"
        )
    config = options.config or MODE_CONFIGS.get(options.mode or "", DEFAULT_CONFIG)
    layout = None if options.dump is not None else _layout(config)
    events, total, source = _events(options)
    with contextlib.closing(events):
        if options.dump is not None:
            written = write_events(options.dump, events)
            if not options.quiet:
                print(f"{_PROG}: wrote {written:,} events to {options.dump}", file=stderr)
            return 0
        assert layout is not None
        show_progress = not options.quiet and stderr.isatty()
        meter = RunMeter(ProgressBar(total, stderr, label="running", enabled=show_progress))
        try:
            result = run_bundle(
                layout, events, total=total, progress=meter if show_progress else None
            )
        finally:
            meter.close()
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
    except (EventFileError, BundleConfigError, TradingLayoutError) as exc:
        print(f"{_PROG}: error: {exc}", file=stderr)
        return _EXIT_USER_ERROR
    except (PipelineFailed, BundleError) as exc:
        print(f"{_PROG}: error: {exc}", file=stderr)
        return _EXIT_RUN_FAILED
    except KeyboardInterrupt:
        print(f"{_PROG}: interrupted", file=stderr)
        return _EXIT_INTERRUPTED
