"""``mycelium.SPEEDUPS`` says which core runs; a broken C extension warns once at import.

The import cases run a real interpreter on a copy of the package in a temporary directory, with
the extension absent (a source install without a compiler: silent), present but unloadable
(a corrupt or stale ``.so``: one ``RuntimeWarning``), or unloadable with
``MYCELIUM_PURE_PYTHON`` set (the Python core was chosen on purpose: silent).
"""

from __future__ import annotations

import importlib.machinery
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import mycelium
from mycelium import _core  # pyright: ignore[reportPrivateUsage]

PROBE = (
    "import mycelium, mycelium._core as core\n"
    "assert mycelium.SPEEDUPS is core.SPEEDUPS\n"
    "print(mycelium.__file__)\n"
    "print(mycelium.SPEEDUPS)\n"
)


def test_speedups_is_public_and_is_the_cores_flag() -> None:
    assert "SPEEDUPS" in mycelium.__all__
    assert mycelium.SPEEDUPS is _core.SPEEDUPS
    assert isinstance(mycelium.SPEEDUPS, bool)


def _package_copy(tmp_path: Path, extension: bytes | None) -> Path:
    """A copy of the installed ``mycelium`` sources under ``tmp_path``; the extension, if any,
    is ``extension``'s bytes under the interpreter's own extension-module name."""
    source = Path(mycelium.__file__).parent
    target = tmp_path / "site" / "mycelium"
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("*.so", "__pycache__"))
    if extension is not None:
        suffix = importlib.machinery.EXTENSION_SUFFIXES[0]
        (target / f"_speedups{suffix}").write_bytes(extension)
    return target.parent


def _import(site: Path, *, pure: bool) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if key != "MYCELIUM_PURE_PYTHON"}
    env["PYTHONPATH"] = str(site)
    if pure:
        env["MYCELIUM_PURE_PYTHON"] = "1"
    return subprocess.run(
        # -W default: show every warning once per location, as a user's interpreter does.
        [sys.executable, "-W", "default", "-c", PROBE],
        cwd=site,
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def _speedups_flag(done: subprocess.CompletedProcess[str], site: Path) -> bool:
    assert done.returncode == 0, done.stderr
    location, flag = done.stdout.split()
    assert Path(location).is_relative_to(site)  # the copy was imported, not the install
    assert flag in {"True", "False"}
    return flag == "True"


def test_a_never_built_extension_falls_back_silently(tmp_path: Path) -> None:
    site = _package_copy(tmp_path, extension=None)
    done = _import(site, pure=False)
    assert _speedups_flag(done, site) is False
    assert done.stderr == ""


@pytest.mark.parametrize(
    "content",
    [b"not an ELF file", b"\x7fELF\x02\x01\x01" + bytes(57)],
    ids=["garbage", "truncated-elf"],
)
def test_a_present_but_broken_extension_warns_once(tmp_path: Path, content: bytes) -> None:
    site = _package_copy(tmp_path, extension=content)
    done = _import(site, pure=False)
    assert _speedups_flag(done, site) is False
    assert done.stderr.count("RuntimeWarning") == 1, done.stderr
    assert "mycelium: the C speedups failed to load" in done.stderr
    assert "MYCELIUM_PURE_PYTHON" in done.stderr  # says what to do


def test_a_broken_extension_is_silent_when_python_is_chosen(tmp_path: Path) -> None:
    site = _package_copy(tmp_path, extension=b"not an ELF file")
    done = _import(site, pure=True)
    assert _speedups_flag(done, site) is False
    assert done.stderr == ""


@pytest.mark.skipif(not _core.SPEEDUPS, reason="needs the built extension (C build only)")
def test_the_built_extension_loads_without_a_warning(tmp_path: Path) -> None:
    built = sys.modules["mycelium._speedups"].__file__
    assert built is not None
    site = _package_copy(tmp_path, extension=Path(built).read_bytes())
    done = _import(site, pure=False)
    assert _speedups_flag(done, site) is True
    assert done.stderr == ""
