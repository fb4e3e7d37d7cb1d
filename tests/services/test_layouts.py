"""How services_v2 is laid out (services_v2.layouts): one module per layout, over shared lower
modules; packages that import only the layers below them; one mailbox capacity; the one feeding
loop; no table of import strings."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from shipped import SHIPPED, shipped_layout

from mycelium_types.messages import MarketMessage
from services_v2.layouts.bundle import trading_roles
from services_v2.layouts.config import MAILBOX_CAPACITY
from services_v2.layouts.feed import FEED_CHUNK, feed
from services_v2.sim import MarketSimulator

SOURCE = Path(__file__).resolve().parents[2] / "services_v2" / "src" / "services_v2"

LAYERS: tuple[frozenset[str], ...] = (
    frozenset({"domain", "latency"}),  # plain classes: no actors, no event loop
    frozenset({"sim", "plans_file"}),
    frozenset({"actors"}),  # thin adapters over the domain
    frozenset({"layouts"}),  # one module per deployment layout
    frozenset({"bundle"}),  # the mycelium-bundle command
)
"""services_v2's parts, bottom-up: each imports only from its own part or a lower layer."""

LAYOUT_MODULES = frozenset({"sequential", "bundle"})
"""The modules of ``services_v2.layouts`` that are a layout each (the rest is what they share)."""


def _modules() -> Iterator[tuple[str, ast.Module]]:
    for path in sorted(SOURCE.rglob("*.py")):
        parts = ("services_v2", *path.relative_to(SOURCE).with_suffix("").parts)
        yield ".".join(parts), ast.parse(path.read_text(encoding="utf-8"))


def _imports(name: str, tree: ast.Module) -> Iterator[str]:
    """What module ``name`` imports (relative imports resolved; ``name`` of a package ends
    in ``.__init__``)."""
    package = name.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                yield ".".join([*base, node.module] if node.module else base)
            elif node.module:
                yield node.module


def _part(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if parts[0] == "services_v2" and len(parts) > 1 else None


def _layer(part: str) -> int:
    for index, layer in enumerate(LAYERS):
        if part in layer:
            return index
    raise AssertionError(f"services_v2.{part} is in no layer of LAYERS")


def test_every_part_imports_only_from_itself_or_the_layers_below() -> None:
    upward: list[str] = []
    for name, tree in _modules():
        part = _part(name)
        if part is None:
            continue
        for target in _imports(name, tree):
            other = _part(target)
            if other is not None and other != part and _layer(other) >= _layer(part):
                upward.append(f"{name} imports {target}")
    assert upward == []


def test_a_layout_module_imports_no_other_layout() -> None:
    crossing = [
        f"{name} imports {target}"
        for name, tree in _modules()
        if name.startswith("services_v2.layouts.") and name.rpartition(".")[2] in LAYOUT_MODULES
        for target in _imports(name, tree)
        if target.startswith("services_v2.layouts.") and target.rpartition(".")[2] in LAYOUT_MODULES
    ]
    assert crossing == []
    assert {name for name, _ in _modules() if name.startswith("services_v2.layouts.")} >= {
        f"services_v2.layouts.{module}" for module in LAYOUT_MODULES
    }


IMPORT_STRING = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")


def _resolves_a_string(node: ast.AST) -> bool:
    """``node`` is an import string (``"module:attr"``) or a call that imports by name."""
    if isinstance(node, ast.Constant):
        return isinstance(node.value, str) and IMPORT_STRING.match(node.value) is not None
    if isinstance(node, ast.Call):
        func = node.func
        called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        return called in {"import_module", "__import__"}
    return False


def test_no_import_is_resolved_from_a_string_in_code() -> None:
    """Code refers to code directly (no table of module names resolved at run time);
    ``"module:attr"`` strings live in the bundle configs only."""
    found = [
        f"{name}:{getattr(node, 'lineno', '?')}: {ast.unparse(node)}"
        for name, tree in _modules()
        for node in ast.walk(tree)
        if _resolves_a_string(node)
    ]
    assert found == []


@pytest.mark.parametrize("name", SHIPPED)
def test_the_shipped_configs_give_the_trading_actors_the_one_capacity(name: str) -> None:
    layout = shipped_layout(name, record=False)
    roles = trading_roles(layout)
    capacities = {layout.actors[actor].spec.capacity for actor in (roles.market, roles.signal)}
    assert capacities == {MAILBOX_CAPACITY}


async def test_feed_sends_every_event_in_order_producing_a_chunk_at_a_time() -> None:
    total = 2 * FEED_CHUNK + 100
    sent: list[MarketMessage] = []
    ahead: list[int] = []
    done: list[int] = []
    produced = 0

    def produce() -> Iterator[MarketMessage]:
        nonlocal produced
        for event in MarketSimulator(1).events(total):
            produced += 1
            yield event

    async def send(event: MarketMessage) -> None:
        ahead.append(produced - len(sent))
        sent.append(event)

    producing = await feed(send, produce(), progress=done.append)
    assert sent == list(MarketSimulator(1).events(total))
    assert done == [0, FEED_CHUNK, 2 * FEED_CHUNK, total]
    assert max(ahead) == FEED_CHUNK  # never more than a chunk held outside the mailbox
    assert producing >= 0.0


async def test_feed_lets_the_actors_drain_before_it_produces_the_next_chunk() -> None:
    queue: list[MarketMessage] = []
    seen_by_producer: list[int] = []

    def produce() -> Iterator[MarketMessage]:
        for event in MarketSimulator(2).events(3 * FEED_CHUNK):
            seen_by_producer.append(len(queue))
            yield event

    async def send(event: MarketMessage) -> None:
        queue.append(event)

    def queued() -> int:
        if queue:
            queue.pop()  # one message handled downstream per loop turn
        return len(queue)

    await feed(send, produce(), queued=queued)
    # The first event of each chunk was produced with nothing left downstream.
    assert [seen_by_producer[i] for i in range(0, 3 * FEED_CHUNK, FEED_CHUNK)] == [0, 0, 0]
