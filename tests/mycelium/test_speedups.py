"""The C send path and the pure-Python one behave the same: the runtime suite runs on both."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mycelium import _core  # pyright: ignore[reportPrivateUsage]
from mycelium.local_ref import LocalActorRef

ROOT = Path(__file__).resolve().parents[2]
PURE = bool(os.environ.get("MYCELIUM_PURE_PYTHON"))


def test_the_core_in_use_matches_what_was_built() -> None:
    built = importlib.util.find_spec("mycelium._speedups") is not None
    assert _core.SPEEDUPS is (built and not PURE)
    expected = "mycelium._speedups" if _core.SPEEDUPS else "mycelium._core"
    assert _core.MailboxCore.__module__ == expected


def test_local_refs_send_through_the_core() -> None:
    ref_class: type = LocalActorRef
    assert getattr(ref_class, "try_send") is _core.MailboxCore.try_send  # noqa: B009
    assert getattr(ref_class, "send") is _core.MailboxCore.send  # noqa: B009


@pytest.mark.skipif(PURE, reason="this is the pure-Python run itself")
@pytest.mark.timeout(300)  # the inner run has its own per-test timeouts; this bounds the whole
def test_runtime_suite_passes_on_the_pure_python_core() -> None:
    env = dict(os.environ, MYCELIUM_PURE_PYTHON="1")
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "tests/mycelium", "-q", "-x", "-p", "no:cacheprovider"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert " passed" in done.stdout
