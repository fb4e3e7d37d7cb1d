"""The plans file (``mycelium-bundle --plans FILE``): every accepted execution plan, for audit.

One JSON object per line, one line per accepted plan, in acceptance order (line ``n``, counted
from 0, is plan ``n``). Keys, in this order:

- ``event``: 0-based index, in the input stream, of the market event that revealed the plan.
  The plan is computed on the pool states right after that event; the plans of one event are
  meant to be executed in file order, each on the reserves the earlier ones leave.
- ``buy_pool``, ``sell_pool``: pool addresses, ``0x`` and 40 lowercase hex digits.
- ``token_in``: the token paid into ``buy_pool`` and received back from ``sell_pool``, as the
  pools' snapshots name it (the schema identifies tokens by symbol, e.g. ``"USDC"``).
- ``amount_in``: ``token_in`` into ``buy_pool``; ``amount_mid``: the other token, out of
  ``buy_pool`` and into ``sell_pool``; ``amount_out``: ``token_in`` out of ``sell_pool``
  (smallest units, Uniswap v2 ``getAmountOut`` on each leg).
- ``profit_units``: ``amount_out - amount_in``; ``profit_usd``: its USD value (unrounded).
- ``supersedes``: only on a plan that replaces an earlier one: that plan's line number.

The bytes depend only on the plans, so every layout (``bundles/monolith.toml``,
``bundles/relay.toml``, where the signal generator writes it from its own process) writes the
same file for the same input. The signal actor writes it as the plans come (:class:`PlansWriter`).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import final

import msgspec

from services_v2.domain.validator import ExecutionPlan

__all__ = [
    "PlansFileError",
    "PlansWriter",
    "check_writable",
    "encode_plan",
    "encode_plans",
    "write_plans",
]


@final
class PlansFileError(ValueError):
    """The plans file cannot be written; the message is one line naming the file."""

    def __init__(self, path: str | Path, detail: str) -> None:
        self.path = str(path)
        self.detail = " ".join(detail.split())
        super().__init__(f"{self.path}: cannot write the plans file: {self.detail}")


@final
class _PlanLine(msgspec.Struct, frozen=True, omit_defaults=True):
    event: int
    buy_pool: str
    sell_pool: str
    token_in: str
    amount_in: int
    amount_mid: int
    amount_out: int
    profit_units: int
    profit_usd: float
    supersedes: int | None = None


_ENCODER = msgspec.json.Encoder()


def encode_plan(plan: ExecutionPlan) -> bytes:
    """One line of the plans file (see the module docstring), newline included."""
    line = _PlanLine(
        event=plan.event,
        buy_pool="0x" + plan.buy_pool.hex(),
        sell_pool="0x" + plan.sell_pool.hex(),
        token_in=plan.token_in,
        amount_in=plan.amount_in,
        amount_mid=plan.amount_mid,
        amount_out=plan.amount_out,
        profit_units=plan.amount_out - plan.amount_in,
        profit_usd=plan.expected_profit_usd,
        supersedes=plan.supersedes,
    )
    return _ENCODER.encode(line) + b"\n"


def encode_plans(plans: Iterable[ExecutionPlan]) -> bytes:
    """The plans file's bytes for ``plans`` (see the module docstring)."""
    return b"".join(encode_plan(plan) for plan in plans)


@final
class PlansWriter:
    """Writes the plans file as the plans come (what a signal actor does with ``plans=``).

    Buffered; :meth:`close` writes what is left. The bytes are those of :func:`encode_plans`
    for the plans written, in order, wherever the writer runs.

    Raises:
        PlansFileError: the file cannot be opened or written.
    """

    __slots__ = ("_file", "path", "written")

    def __init__(self, path: str | Path, *, append: bool = False) -> None:
        self.path = str(path)
        self.written = 0
        try:
            self._file = Path(path).open("ab" if append else "wb")  # noqa: SIM115 - closed by close()
        except OSError as exc:
            raise PlansFileError(path, exc.strerror or str(exc)) from exc

    def write(self, plan: ExecutionPlan) -> None:
        """Append ``plan``'s line."""
        try:
            self._file.write(encode_plan(plan))
        except OSError as exc:
            raise PlansFileError(self.path, exc.strerror or str(exc)) from exc
        self.written += 1

    def close(self) -> None:
        """Write what is buffered and close the file. Idempotent."""
        try:
            self._file.close()
        except OSError as exc:
            raise PlansFileError(self.path, exc.strerror or str(exc)) from exc


def check_writable(path: str | Path) -> None:
    """Create (or empty) ``path`` now, so that a bad path fails before a long run.

    Raises:
        PlansFileError: the file cannot be opened for writing.
    """
    try:
        Path(path).write_bytes(b"")
    except OSError as exc:
        raise PlansFileError(path, exc.strerror or str(exc)) from exc


def write_plans(path: str | Path, plans: Iterable[ExecutionPlan]) -> int:
    """Write ``plans`` to ``path`` (replacing it); returns the number of lines written.

    Raises:
        PlansFileError: the file cannot be written.
    """
    data = encode_plans(plans)
    try:
        Path(path).write_bytes(data)
    except OSError as exc:
        raise PlansFileError(path, exc.strerror or str(exc)) from exc
    return data.count(b"\n")
