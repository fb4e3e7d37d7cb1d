"""Ctrl-C in ``mycelium-bundle``: one line saying how far the run got, exit status 130.

Each test runs the real command with its stderr on a pseudo-terminal (so it draws its progress
bar, as at a real terminal), waits until the bar shows the pipeline running, and sends SIGINT
to the command's process group, as a terminal's Ctrl-C does. To be sure the run cannot finish
before the signal lands, the terminal's output is first suspended with XOFF (Ctrl-S): the
command then blocks at its next progress redraw, and is released with XON once the signal is
sent. No sleeps: every step waits on output or on the process.
"""

from __future__ import annotations

import contextlib
import os
import pty
import re
import select
import signal
import subprocess
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

EVENTS = 200_000
XOFF, XON = b"\x13", b"\x11"
ERASE = b"\r\x1b[K"
RUNNING = re.compile(rb"running\s+\[[#.]+\]\s+(\d+)%\s+([\d,]+)/")


def _bundle() -> list[str]:
    script = Path(sys.executable).parent / "mycelium-bundle"
    return [str(script)] if script.exists() else [sys.executable, "-m", "services_v2.bundle"]


def _processes_marked(marker: str) -> list[int]:
    """Live processes whose environment holds ``marker`` (the command and its children)."""
    found: list[int] = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes()
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if marker.encode() in environ and state != "Z":
            found.append(int(entry.name))
    return found


@dataclass
class Interrupted:
    status: int
    terminal: bytes
    """Everything the command wrote to the terminal (its stderr)."""
    stdout: bytes
    last_drawn: int
    """The last event count the progress bar showed before the interruption."""


def _read(master: int, limit_s: float = 60.0) -> bytes:
    ready, _, _ = select.select([master], [], [], limit_s)
    if not ready:
        raise AssertionError("the command wrote nothing for a minute")
    try:
        return os.read(master, 65536)
    except OSError:  # EIO: every holder of the terminal's other end has closed it
        return b""


def _interrupt_a_run(mode: str) -> tuple[Interrupted, str]:
    marker = f"MYCELIUM_TEST_RUN={uuid.uuid4().hex}"
    name, value = marker.split("=")
    master, slave = pty.openpty()
    command = subprocess.Popen(
        [*_bundle(), "--events", str(EVENTS), "--mode", mode],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=slave,
        start_new_session=True,  # its own process group, which the "terminal" signals
        env={**os.environ, name: value},
    )
    os.close(slave)
    terminal = b""
    try:
        while not (seen := RUNNING.findall(terminal)):
            data = _read(master)
            assert data, f"the command ended before running: {terminal[-2000:]!r}"
            terminal += data
        percent = int(seen[-1][0])
        assert percent < 50, "the run went too far before it could be suspended"
        os.write(master, XOFF)
        os.killpg(command.pid, signal.SIGINT)
        os.write(master, XON)
        while data := _read(master):
            terminal += data
        stdout = command.stdout.read() if command.stdout is not None else b""
        status = command.wait(timeout=60)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(command.pid, signal.SIGKILL)
        command.wait()
        os.close(master)
        if command.stdout is not None:
            command.stdout.close()
    last_drawn = int(RUNNING.findall(terminal)[-1][1].replace(b",", b""))
    return Interrupted(status, terminal, stdout, last_drawn), value


@pytest.mark.parametrize("mode", ["actors", "relay"])
def test_ctrl_c_prints_one_line_of_how_far_it_got_and_exits_130(mode: str) -> None:
    run, marker = _interrupt_a_run(mode)
    assert run.status == 130, run.terminal[-3000:]
    assert b"Traceback" not in run.terminal
    assert run.stdout == b""  # no summary
    # After the bar is erased, one line and nothing else.
    tail = run.terminal.rsplit(ERASE, 1)[1].decode()
    assert tail.endswith("\r\n")
    assert tail.count("\n") == 1, tail
    line = tail.strip()
    found = re.fullmatch(
        rf"mycelium-bundle: interrupted after ([\d,]+) of {EVENTS:,} events "
        rf"\(mode {mode}\); no summary",
        line,
    )
    assert found is not None, line
    handled = int(found[1].replace(",", ""))
    assert run.last_drawn <= handled < EVENTS
    assert _processes_marked(marker) == []  # the relay's child process is gone too
