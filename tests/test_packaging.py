"""Every workspace member installs alone with plain pip, under a distribution name of our own.

The public index has an unrelated project called ``mycelium``; a member that depended on that
name would, installed alone, pull a stranger's code. So the distributions are named
``mycelium-actors*`` (the import names stay ``mycelium``, ``mycelium_types``, ``services_v2``,
``mycelium_bench``), and this test proves it end to end with the tools a user has:

1. ``pip wheel`` (the machine's pip) builds every member from its directory into a wheelhouse
   (the third-party dependencies, msgspec, typing-extensions and uvloop, come from the package
   index or pip's cache), and leaves nothing behind in the source tree (no ``build/``, no
   ``*.egg-info``);
2. for each member, a fresh ``python -m venv`` gets ``pip install --no-index --find-links
   WHEELHOUSE <member>``: with no index, a dependency on a name that is not one of our wheels
   cannot be satisfied, so nothing under our names can come from elsewhere;
3. the member's import name is imported (and its command run) in that venv, and the venv holds
   exactly the member, the siblings it needs, and their third-party dependencies.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Member:
    path: str
    dist: str
    module: str
    needs: frozenset[str]
    """Every distribution the member's install must hold, itself included."""
    smoke: str
    """Python run in the fresh venv after the install."""
    command: tuple[str, ...] = ()
    """A console script the install provides, run with these arguments."""


_TYPES = "mycelium-actors-types"
_RUNTIME = "mycelium-actors"
_SERVICES = "mycelium-actors-services"
_BENCH = "mycelium-actors-bench"

MEMBERS = [
    Member(
        "libs/types",
        _TYPES,
        "mycelium_types",
        frozenset({_TYPES, "msgspec"}),
        "from mycelium_types import PoolSwapEvent, decode, encode\n"
        "event = PoolSwapEvent(bytes(20), 1, 2, 3)\n"
        "assert decode(encode(event), PoolSwapEvent) == event\n",
    ),
    Member(
        "libs/mycelium",
        _RUNTIME,
        "mycelium",
        frozenset({_RUNTIME, "msgspec", "typing-extensions"}),
        "import asyncio, mycelium\n"
        "class Echo(mycelium.Actor[int]):\n"
        "    async def handle(self, msg: int) -> int:\n"
        "        return msg\n"
        "async def main() -> int:\n"
        "    async with mycelium.ActorSystem() as system:\n"
        "        return await (await system.spawn(Echo())).ask(7)\n"
        "assert asyncio.run(main()) == 7\n"
        "print('SPEEDUPS', mycelium.SPEEDUPS)\n",
    ),
    Member(
        "services_v2",
        _SERVICES,
        "services_v2",
        frozenset({_SERVICES, _RUNTIME, _TYPES, "msgspec", "typing-extensions", "uvloop"}),
        "import services_v2.bundle.cli\n",
        ("mycelium-bundle", "--events", "300", "--quiet"),
    ),
    Member(
        "tools/bench",
        _BENCH,
        "mycelium_bench",
        frozenset({_BENCH, _SERVICES, _RUNTIME, _TYPES, "msgspec", "typing-extensions", "uvloop"}),
        "import mycelium_bench.cli\n",
        ("mycelium-bench", "--help"),
    ),
]


def _normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _pyproject(path: Path) -> dict[str, Any]:
    return tomllib.loads(path.read_text(encoding="utf-8"))


def _requirement_names(project: dict[str, Any]) -> set[str]:
    requirements: list[str] = project.get("dependencies", [])
    return {
        _normalized(re.split(r"[\s<>=!~;\[]", requirement, maxsplit=1)[0])
        for requirement in requirements
    }


OURS = {member.dist for member in MEMBERS}


@pytest.mark.parametrize("member", MEMBERS, ids=[member.dist for member in MEMBERS])
def test_each_member_has_its_own_distribution_name(member: Member) -> None:
    project = _pyproject(ROOT / member.path / "pyproject.toml")["project"]
    assert project["name"] == member.dist
    needed = _requirement_names(project)
    # Sibling dependencies use our names (never the public index's unrelated `mycelium`).
    assert "mycelium" not in needed
    assert needed & OURS == member.needs & OURS - {member.dist}


def test_the_workspace_root_names_every_member_by_its_distribution() -> None:
    root = _pyproject(ROOT / "pyproject.toml")
    assert _requirement_names(root["project"]) == OURS
    assert set(root["tool"]["uv"]["sources"]) == OURS


def _tree_files() -> set[Path]:
    """Every file and directory under the members' directories, but caches (``__pycache__``,
    dot-directories of other tools) and the editable install's extension module."""
    found: set[Path] = set()
    for member in MEMBERS:
        top = ROOT / member.path
        for path in top.rglob("*"):
            parts = path.relative_to(top).parts
            if "__pycache__" in parts or any(part.startswith(".") for part in parts):
                continue
            if path.suffix != ".so":
                found.add(path)
    return found


def _run(*command: str | Path, cwd: Path) -> str:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"PYTHONPATH", "MYCELIUM_PURE_PYTHON", "VIRTUAL_ENV"}
    }
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    done = subprocess.run(
        [str(part) for part in command],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=150,
        check=False,
    )
    assert done.returncode == 0, f"{command}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout


@dataclass(frozen=True)
class Wheelhouse:
    pip: list[str]
    """The command that runs pip; it installs into the member venvs with ``--python``."""
    path: Path


def _pip(base: Path) -> list[str]:
    """Pip as the machine has it: the base interpreter's own when it has one (only run, never
    installed into: it builds wheels and installs into other venvs), else a fresh venv's."""
    interpreter = getattr(sys, "_base_executable", sys.executable)
    probe = subprocess.run(
        [interpreter, "-m", "pip", "--version"], capture_output=True, timeout=60, check=False
    )
    if probe.returncode == 0:
        return [interpreter, "-m", "pip"]
    tool = base / "tool"
    _run(sys.executable, "-m", "venv", tool, cwd=base)
    return [str(tool / "bin" / "python"), "-m", "pip"]


@pytest.fixture(scope="module")
def wheelhouse(tmp_path_factory: pytest.TempPathFactory) -> Wheelhouse:
    """Every member built once by ``pip wheel`` from its directory, with its third-party
    dependencies (msgspec, typing-extensions, uvloop)."""
    base = tmp_path_factory.mktemp("packaging")
    pip = _pip(base)
    house = base / "wheels"
    before = _tree_files()
    _run(*pip, "wheel", "--quiet", "--wheel-dir", house,
         *(ROOT / member.path for member in MEMBERS), cwd=base)  # fmt: skip
    left = sorted(str(path.relative_to(ROOT)) for path in _tree_files() - before)
    assert left == [], f"the build left files in the source tree: {left}"
    built = {_normalized(wheel.name.split("-", 1)[0]) for wheel in house.glob("*.whl")}
    assert built == OURS | {"msgspec", "typing-extensions", "uvloop"}
    return Wheelhouse(pip, house)


@pytest.mark.timeout(180)  # builds four wheels (one with a C extension) and four venvs
@pytest.mark.parametrize("member", MEMBERS, ids=[member.dist for member in MEMBERS])
def test_each_member_installs_alone_with_pip_and_imports(
    wheelhouse: Wheelhouse, tmp_path: Path, member: Member
) -> None:
    venv = tmp_path / "venv"
    _run(sys.executable, "-m", "venv", "--without-pip", venv, cwd=tmp_path)
    python = venv / "bin" / "python"
    _run(*wheelhouse.pip, "--python", python, "install", "--quiet", "--no-index",
         "--find-links", wheelhouse.path, member.dist, cwd=tmp_path)  # fmt: skip
    listing = _run(
        python,
        "-c",
        "import importlib.metadata as m, json\n"
        "print(json.dumps(sorted(d.metadata['Name'] for d in m.distributions())))",
        cwd=tmp_path,
    )
    installed = {_normalized(name) for name in json.loads(listing)}
    assert installed == member.needs
    out = _run(python, "-c", f"import {member.module}\n{member.smoke}", cwd=tmp_path)
    if member.dist == _RUNTIME:
        wheel = next(wheelhouse.path.glob("mycelium_actors-*.whl"))
        has_extension = "cp3" in wheel.name.split("-")[-3]  # a platform wheel holds the .so
        assert out.strip() == f"SPEEDUPS {has_extension}"
    if member.command:
        script, *args = member.command
        _run(venv / "bin" / script, *args, cwd=tmp_path)
