"""The progress bar (services_v2.bundle.progress)."""

from __future__ import annotations

import io
import os
import pty
import re
import subprocess
import sys

import pytest

from services_v2.bundle.progress import FIRST_S, REFRESH_S, ProgressBar, RunMeter
from services_v2.latency.histogram import LatencyHistogram


def test_the_bar_redraws_once_per_percent_and_erases_itself() -> None:
    stream = io.StringIO()
    bar = ProgressBar(1_000, stream, label="running", enabled=True)
    for done in range(0, 1_001, 5):
        bar(done)
    text = stream.getvalue()
    assert text.count("\r") == 101
    assert text.endswith("\rrunning [##############################] 100%  1,000/1,000")
    bar.close()
    assert stream.getvalue().endswith("\r\x1b[K")


def test_a_disabled_bar_writes_nothing() -> None:
    stream = io.StringIO()
    bar = ProgressBar(10, stream, label="running", enabled=False)
    bar(5)
    bar.close()
    assert stream.getvalue() == ""


def test_an_unused_bar_erases_nothing() -> None:
    stream = io.StringIO()
    ProgressBar(0, stream, label="x", enabled=True).close()
    assert stream.getvalue() == ""


def test_a_bar_without_a_total_shows_the_count() -> None:
    stream = io.StringIO()
    bar = ProgressBar(None, stream, label="running", enabled=True)
    bar(1_500, "detail")
    assert stream.getvalue() == "\rrunning 1,500  detail\x1b[K"


def test_the_run_meter_shows_events_per_second_and_the_p50_at_most_every_refresh() -> None:
    stream = io.StringIO()
    now = [100.0]
    meter = RunMeter(
        ProgressBar(10_000, stream, label="running", enabled=True), clock=lambda: now[0]
    )
    latency = LatencyHistogram()
    meter(0, latency)  # the run starts: no figures yet
    assert stream.getvalue().endswith("   0%  0/10,000")
    now[0] += FIRST_S
    meter(100, latency)
    assert stream.getvalue().endswith("   1%  100/10,000  2,000 events/s · p50 n/a")
    latency.record_many([5_000, 5_100, 90_000])
    now[0] += REFRESH_S / 2
    meter(2_000, latency)  # too soon for new figures: the bar moves, the figures stay
    assert stream.getvalue().endswith(" 20%  2,000/10,000  2,000 events/s · p50 n/a")
    now[0] = 101.0
    meter(4_000, latency)
    assert stream.getvalue().endswith(" 40%  4,000/10,000  4,000 events/s · p50 5.1 µs")
    now[0] = 102.0
    meter(5_000, None)  # no probe in this process
    assert stream.getvalue().endswith(" 50%  5,000/10,000  2,500 events/s · p50 n/a")
    meter.close()
    assert stream.getvalue().endswith("\r\x1b[K")


@pytest.mark.parametrize("config", ["bundles/monolith.toml", "bundles/relay.toml"])
def test_a_run_on_a_terminal_shows_events_per_second_and_the_p50_for_every_layout(
    config: str,
) -> None:
    primary, secondary = pty.openpty()
    try:
        done = subprocess.run(
            [sys.executable, "-m", "services_v2.bundle", "--config", config, "--events", "60000"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=secondary,
            timeout=120,
            check=False,
        )
        os.close(secondary)
        secondary = -1
        drawn = b""
        while True:
            try:
                chunk = os.read(primary, 65536)
            except OSError:  # EIO: every writer is gone
                break
            if not chunk:
                break
            drawn += chunk
    finally:
        if secondary >= 0:
            os.close(secondary)
        os.close(primary)
    assert done.returncode == 0
    text = drawn.decode()
    assert re.search(r"running \[[#.]+\] +\d+%  [\d,]+/60,000  [\d,]+ events/s · p50 \d", text), (
        text
    )
    assert text.endswith("\r\x1b[K")  # the line is erased before the summary
