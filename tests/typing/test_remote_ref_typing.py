"""Runs pyright strict on ``remote_ref_types.py``: the types of ``RemoteActorRef`` and
``serve`` are part of the API, and pyright is the checker the project promises."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

CHECKED = Path(__file__).with_name("remote_ref_types.py")
ROOT = Path(__file__).resolve().parents[2]


def test_pyright_checks_sends_through_a_remote_ref_of_a_union() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "pyright", "--outputjson", str(CHECKED)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert '"errorCount": 0' in done.stdout
    assert '"filesAnalyzed": 1' in done.stdout
