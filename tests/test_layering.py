"""Dependencies run one way: mycelium_types -> nothing of ours, mycelium -> nothing of ours,
services_v2 -> both, mycelium_bench -> anything; and no module imports itself round a cycle.

Two kinds of check:

- at runtime, in a fresh interpreter: importing ``mycelium`` loads none of our other packages,
  and importing ``mycelium_types`` loads nothing beyond msgspec (and what msgspec loads) and
  the standard library;
- statically, over the import graph of every ``.py`` under ``libs/*/src``, ``services_v2/src``
  and ``tools/*/src``, whatever modules exist there today. Relative imports are resolved;
  imports under ``if TYPE_CHECKING:`` are ignored (they never run). Every other import,
  including one inside a function, counts for the direction rules; only imports that run at
  import time (module and class level) can form a cycle, so only those count for cycles.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
import textwrap
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SOURCE_GLOBS = ("libs/*/src", "services_v2/src", "tools/*/src")

ALLOWED: Mapping[str, frozenset[str]] = {
    "mycelium_types": frozenset(),
    "mycelium": frozenset(),
    "services_v2": frozenset({"mycelium", "mycelium_types"}),
    "mycelium_bench": frozenset({"mycelium", "mycelium_types", "services_v2"}),
}
"""For each of our packages, the other packages of ours it may import."""

THIRD_PARTY_ALLOWED: Mapping[str, frozenset[str]] = {"mycelium_types": frozenset({"msgspec"})}
"""Packages whose imports outside the standard library and our own packages are pinned."""


# --- runtime: what an import really loads --------------------------------------------------


def _modules_loaded_by(statement: str, *, preload: str = "") -> set[str]:
    """Names of the modules that ``statement`` adds to ``sys.modules`` in a fresh interpreter.

    ``preload`` runs first and is not counted (to discount a dependency's own imports).
    """
    script = textwrap.dedent(
        f"""
        import json, sys
        {preload}
        before = set(sys.modules)
        {statement}
        print(json.dumps(sorted(set(sys.modules) - before)))
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=False, cwd=REPO
    )
    assert done.returncode == 0, done.stderr
    loaded: list[str] = json.loads(done.stdout)
    return set(loaded)


def _top_level(modules: Iterable[str]) -> set[str]:
    return {name.partition(".")[0] for name in modules}


def test_importing_the_runtime_loads_none_of_our_other_packages() -> None:
    loaded = _modules_loaded_by("import mycelium")
    assert "mycelium" in loaded  # the probe works
    ours = {name for name in loaded if name.startswith(("mycelium_", "services_v2"))}
    assert not ours, f"`import mycelium` loaded {sorted(ours)}"


def test_importing_the_schema_loads_only_msgspec_and_the_standard_library() -> None:
    dependencies = _top_level(_modules_loaded_by("import msgspec"))
    assert "msgspec" in dependencies
    ours = _top_level(_modules_loaded_by("import mycelium_types", preload="import msgspec"))
    assert "mycelium_types" in ours  # the probe works
    extra = ours - {"mycelium_types"} - set(sys.stdlib_module_names)
    assert not extra, f"`import mycelium_types` loaded {sorted(extra)} beyond msgspec and stdlib"


# --- static: the import graph of our sources -----------------------------------------------


@dataclass(frozen=True)
class Import:
    """One imported name, relative imports resolved to absolute ones.

    ``import a.b`` gives target ``a.b`` and module ``a.b``; ``from a import b`` gives target
    ``a.b`` (``b`` may be a submodule) and module ``a``.
    """

    target: str
    module: str
    line: int
    at_import_time: bool
    """False inside a function body: it runs when the function is called, not on import."""


@dataclass
class Module:
    name: str
    path: str
    """Relative to its ``src`` directory, for messages."""
    is_package: bool
    imports: list[Import] = field(default_factory=list[Import])


def _is_type_checking(test: ast.expr) -> bool:
    if isinstance(test, ast.Name):
        return test.id == "TYPE_CHECKING"
    return isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"


def _base_of_relative(module: Module, level: int, name: str | None) -> str:
    """What ``from <level dots><name> import ...`` names inside ``module``."""
    parts = module.name.split(".")
    package = parts if module.is_package else parts[:-1]
    if level > len(package):
        raise ValueError(f"{module.path}: relative import beyond the top-level package")
    base = package[: len(package) - (level - 1)]
    return ".".join([*base, name] if name else base)


class _ImportCollector(ast.NodeVisitor):
    """Collect a module's imports, skipping `if TYPE_CHECKING:` bodies."""

    def __init__(self, module: Module) -> None:
        self.module = module
        self.depth_in_functions = 0

    def _add(self, target: str, module: str, node: ast.stmt) -> None:
        at_import_time = self.depth_in_functions == 0
        self.module.imports.append(Import(target, module, node.lineno, at_import_time))

    def visit_If(self, node: ast.If) -> None:
        if _is_type_checking(node.test):
            for stmt in node.orelse:  # the else branch does run
                self.visit(stmt)
        else:
            self.generic_visit(node)

    def _visit_function(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        self.depth_in_functions += 1
        self.generic_visit(node)
        self.depth_in_functions -= 1

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        self._visit_function(node)

    def visit_AsyncFunctionDef(self, node: ast.AsyncFunctionDef) -> None:
        self._visit_function(node)

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self._add(alias.name, alias.name, node)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.level:
            base = _base_of_relative(self.module, node.level, node.module)
        else:
            base = node.module or ""
        for alias in node.names:
            self._add(base if alias.name == "*" else f"{base}.{alias.name}", base, node)


def discover(source_roots: Iterable[Path]) -> dict[str, Module]:
    """Every module under the given ``src`` directories, with its imports collected."""
    modules: dict[str, Module] = {}
    for root in source_roots:
        for path in sorted(root.rglob("*.py")):
            parts = list(path.relative_to(root).with_suffix("").parts)
            is_package = parts[-1] == "__init__"
            if is_package:
                parts.pop()
            module = Module(".".join(parts), path.relative_to(root).as_posix(), is_package)
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
            _ImportCollector(module).visit(tree)
            modules[module.name] = module
    return modules


def resolve(imp: Import, modules: Mapping[str, Module]) -> str | None:
    """The module of ours whose source ``imp`` runs, or None if it is not one we can see.

    ``from pkg import sub`` is ``pkg.sub`` when that is a module, else ``pkg`` (``sub`` is a
    name defined there). An extension module (no ``.py``) or a third-party one resolves to
    None; so does a parent package, which Python imports first anyway.
    """
    if imp.target in modules:
        return imp.target
    if imp.module in modules:
        return imp.module
    return None


def package_of(module: str) -> str:
    return module.partition(".")[0]


def layering_violations(
    modules: Mapping[str, Module],
    allowed: Mapping[str, frozenset[str]],
    third_party_allowed: Mapping[str, frozenset[str]],
) -> list[str]:
    """One line per import that breaks the direction rules, plus unknown packages."""
    ours = {package_of(name) for name in modules}
    problems = [
        f"package {pkg!r} has no entry in ALLOWED: say which of our packages it may import"
        for pkg in sorted(ours - set(allowed))
    ]
    stdlib = set(sys.stdlib_module_names)
    for module in modules.values():
        source = package_of(module.name)
        for imp in module.imports:
            target = package_of(imp.target)
            here = f"{module.path}:{imp.line}: {source} imports"
            if target in ours:
                if target != source and target not in allowed.get(source, frozenset()):
                    problems.append(f"{here} {imp.target}")
            elif (
                source in third_party_allowed
                and target not in stdlib
                and target not in third_party_allowed[source]
            ):
                problems.append(f"{here} third-party {target}")
    return problems


def import_cycles(modules: Mapping[str, Module]) -> list[list[str]]:
    """Strongly connected groups of modules that import one another at import time."""
    graph: dict[str, set[str]] = {
        name: {
            target
            for imp in module.imports
            if imp.at_import_time and (target := resolve(imp, modules)) is not None
        }
        for name, module in modules.items()
    }
    return [scc for scc in _strongly_connected(graph) if len(scc) > 1 or scc[0] in graph[scc[0]]]


def _strongly_connected(graph: Mapping[str, set[str]]) -> Iterator[list[str]]:
    """Tarjan's algorithm, iterative; yields each component sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    for start in sorted(graph):
        if start in index:
            continue
        work: list[tuple[str, Iterator[str]]] = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component: list[str] = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                yield sorted(component)


def _our_source_roots() -> list[Path]:
    return sorted(root for pattern in SOURCE_GLOBS for root in REPO.glob(pattern))


@pytest.fixture(scope="module")
def our_modules() -> dict[str, Module]:
    modules = discover(_our_source_roots())
    found = {package_of(name) for name in modules}
    assert {"mycelium", "mycelium_types", "services_v2"} <= found  # the walk found the code
    services_use_the_schema = any(
        package_of(imp.target) == "mycelium_types"
        for module in modules.values()
        if package_of(module.name) == "services_v2"
        for imp in module.imports
    )
    assert services_use_the_schema  # the collector saw imports
    return modules


def test_packages_depend_only_in_the_allowed_direction(our_modules: dict[str, Module]) -> None:
    assert layering_violations(our_modules, ALLOWED, THIRD_PARTY_ALLOWED) == []


def test_no_module_imports_itself_through_a_cycle(our_modules: dict[str, Module]) -> None:
    assert import_cycles(our_modules) == []


# --- the checker itself, on small made-up trees ---------------------------------------------


def _tree(tmp_path: Path, files: Mapping[str, str]) -> dict[str, Module]:
    for relative, text in files.items():
        path = tmp_path / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
    return discover([tmp_path])


def test_checker_finds_a_two_module_cycle(tmp_path: Path) -> None:
    modules = _tree(
        tmp_path,
        {
            "mycelium/__init__.py": "",
            "mycelium/a.py": "from mycelium.b import B\n",
            "mycelium/b.py": "from . import a\n",
            "mycelium/c.py": "import mycelium.a\n",
        },
    )
    assert import_cycles(modules) == [["mycelium.a", "mycelium.b"]]


def test_checker_finds_a_cycle_through_the_package_init(tmp_path: Path) -> None:
    modules = _tree(
        tmp_path,
        {
            "mycelium/__init__.py": "from .actor import Actor as Actor\n",
            "mycelium/actor.py": "from . import ActorRef\n",  # a name of __init__, not a module
        },
    )
    assert import_cycles(modules) == [["mycelium", "mycelium.actor"]]


def test_checker_sees_no_edge_to_an_extension_module(tmp_path: Path) -> None:
    """`from ._speedups import X` (a C extension) must not become an edge to the package."""
    modules = _tree(
        tmp_path,
        {
            "mycelium/__init__.py": "from ._core import Core as Core\n",
            "mycelium/_core.py": """\
                try:
                    from ._speedups import Core
                except ImportError:
                    pass
                """,
        },
    )
    assert import_cycles(modules) == []
    (imp,) = modules["mycelium._core"].imports
    assert resolve(imp, modules) is None


def test_checker_ignores_type_checking_and_function_imports_for_cycles(tmp_path: Path) -> None:
    modules = _tree(
        tmp_path,
        {
            "mycelium/__init__.py": "",
            "mycelium/a.py": "import typing\nif typing.TYPE_CHECKING:\n    from .b import B\n",
            "mycelium/b.py": "def f():\n    from .a import A\n",
        },
    )
    assert import_cycles(modules) == []


def test_checker_counts_the_else_branch_of_type_checking(tmp_path: Path) -> None:
    modules = _tree(
        tmp_path,
        {
            "mycelium/__init__.py": "",
            "mycelium/a.py": """\
                from typing import TYPE_CHECKING
                if TYPE_CHECKING:
                    pass
                else:
                    from .b import B
                """,
            "mycelium/b.py": "from .a import A\n",
        },
    )
    assert import_cycles(modules) == [["mycelium.a", "mycelium.b"]]


def test_checker_resolves_relative_imports_from_nested_packages(tmp_path: Path) -> None:
    modules = _tree(
        tmp_path,
        {
            "services_v2/__init__.py": "",
            "services_v2/x.py": "",
            "services_v2/sub/__init__.py": "from . import inner\nfrom .. import x\n",
            "services_v2/sub/inner.py": "from ..x import thing\nfrom .. import y\n",
        },
    )
    targets = {
        name: sorted(str(resolve(imp, modules)) for imp in module.imports)
        for name, module in modules.items()
    }
    assert targets["services_v2.sub"] == ["services_v2.sub.inner", "services_v2.x"]
    assert targets["services_v2.sub.inner"] == ["services_v2", "services_v2.x"]


def test_checker_reports_the_runtime_importing_a_service_even_lazily(tmp_path: Path) -> None:
    modules = _tree(
        tmp_path,
        {
            "mycelium/__init__.py": "",
            "mycelium/system.py": "def run():\n    import services_v2.bundle\n",
            "mycelium_types/__init__.py": "from mycelium import system\n",
            "services_v2/__init__.py": "import mycelium, mycelium_types\n",
        },
    )
    assert layering_violations(modules, ALLOWED, THIRD_PARTY_ALLOWED) == [
        "mycelium/system.py:2: mycelium imports services_v2.bundle",
        "mycelium_types/__init__.py:1: mycelium_types imports mycelium.system",
    ]


def test_checker_reports_a_third_party_import_in_the_schema(tmp_path: Path) -> None:
    modules = _tree(
        tmp_path,
        {"mycelium_types/__init__.py": "import json\nimport msgspec\nimport numpy.linalg\n"},
    )
    assert layering_violations(modules, ALLOWED, THIRD_PARTY_ALLOWED) == [
        "mycelium_types/__init__.py:3: mycelium_types imports third-party numpy"
    ]


def test_checker_reports_a_package_with_no_rules(tmp_path: Path) -> None:
    modules = _tree(tmp_path, {"newpkg/__init__.py": ""})
    assert layering_violations(modules, ALLOWED, THIRD_PARTY_ALLOWED) == [
        "package 'newpkg' has no entry in ALLOWED: say which of our packages it may import"
    ]
