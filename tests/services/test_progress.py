"""The progress bar (services_v2.bundle.progress)."""

from __future__ import annotations

import io

from services_v2.bundle.progress import ProgressBar


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
