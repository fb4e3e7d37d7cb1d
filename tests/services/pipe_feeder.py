"""A FIFO whose writer keeps it open: shows whether a reader stops before the end of its input.

``fed_fifo(path, data)`` creates a FIFO at ``path`` and a thread that writes ``data`` into it as
fast as the reader takes it, then keeps the FIFO open (no end of file) until the ``with`` block
ends, or :data:`HOLD_S` seconds have passed (so a reader that waits for the end fails its test
instead of hanging it). ``closed`` tells whether the writer had given up, ``written`` how many
bytes the reader let it write.
"""

from __future__ import annotations

import contextlib
import os
import select
import threading
from collections.abc import Generator
from pathlib import Path

__all__ = ["HOLD_S", "PipeFeeder", "fed_fifo"]

HOLD_S = 20.0


class PipeFeeder(threading.Thread):
    def __init__(self, path: Path, data: bytes) -> None:
        super().__init__(name=f"feeder {path.name}", daemon=True)
        self.path = path
        self.data = data
        self.written = 0
        self.closed = threading.Event()
        self.release = threading.Event()

    def run(self) -> None:
        fd = os.open(self.path, os.O_WRONLY)  # waits for the reader to open the FIFO
        try:
            os.set_blocking(fd, False)
            view = memoryview(self.data)
            while self.written < len(view) and not self.release.is_set():
                try:
                    self.written += os.write(fd, view[self.written : self.written + 65536])
                except BlockingIOError:
                    select.select([], [fd], [], 0.05)  # until the reader makes room
                except BrokenPipeError:
                    break
            self.release.wait(HOLD_S)
        finally:
            os.close(fd)
            self.closed.set()

    def finish(self) -> None:
        self.release.set()
        if self.is_alive():
            # Still waiting in open() if the reader never came: open the other end.
            with contextlib.suppress(OSError):
                reader = os.open(self.path, os.O_RDONLY | os.O_NONBLOCK)
                self.join()
                os.close(reader)
        self.join()


@contextlib.contextmanager
def fed_fifo(path: Path, data: bytes) -> Generator[PipeFeeder, None, None]:
    os.mkfifo(path)
    feeder = PipeFeeder(path, data)
    feeder.start()
    try:
        yield feeder
    finally:
        feeder.finish()
