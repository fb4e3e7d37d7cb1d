"""The targets of issue 7: the seed's bar, and the stretch goals measured on this machine;
and the targets of issue 11 that are ratios to the naive design (``RATIO_TARGETS``)."""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final, Literal, TypedDict, final

__all__ = ["RATIO_TARGETS", "TARGETS", "RatioTarget", "RatioVerdict", "Target", "TargetVerdict"]

Op = Literal["<", "<=", ">", ">="]

_OPS: Final[dict[Op, Callable[[float, float], bool]]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


class TargetVerdict(TypedDict):
    """How the report writes one target: the bar, the stretch goal and whether each holds."""

    target: str
    op: Op
    value: float
    met: bool | None
    stretch: str
    stretch_op: Op
    stretch_value: float
    stretch_met: bool | None


@final
@dataclass(frozen=True, slots=True)
class Target:
    """``measured <op> value`` is the seed's target; ``stretch`` is issue 7's ambition."""

    op: Op
    value: float
    stretch_op: Op
    stretch_value: float
    unit: str

    def describe(self) -> str:
        """E.g. ``< 100 ns (stretch <= 60)``."""
        return (
            f"{self.op} {_num(self.value)} {self.unit} "
            f"(stretch {self.stretch_op} {_num(self.stretch_value)})"
        )

    def verdict(self, measured: float | None) -> TargetVerdict:
        """The target and the stretch goal, judged against ``measured`` (None: not measured)."""
        return {
            "target": f"{self.op} {_num(self.value)} {self.unit}",
            "op": self.op,
            "value": self.value,
            "met": None if measured is None else _OPS[self.op](measured, self.value),
            "stretch": f"{self.stretch_op} {_num(self.stretch_value)} {self.unit}",
            "stretch_op": self.stretch_op,
            "stretch_value": self.stretch_value,
            "stretch_met": (
                None if measured is None else _OPS[self.stretch_op](measured, self.stretch_value)
            ),
        }


def _num(value: float) -> str:
    if value >= 1e6:
        return f"{value / 1e6:g}M"
    return f"{value:g}"


TARGETS: Final[dict[str, Target]] = {
    "send_ns": Target("<", 100, "<=", 60, "ns"),
    "send_await_ns": Target("<", 100, "<=", 60, "ns"),
    "throughput_msgs_per_s": Target(">", 1_000_000, ">=", 4_000_000, "msg/s"),
    "memory_bytes_per_actor": Target("<", 1024, "<=", 256, "B"),
}
"""Figures with a target. The seed's bar first (send < 100 ns, > 1M msg/s, < 1 KB per idle
actor), then issue 7's stretch goals (send <= 60 ns, >= 4M msg/s, <= 256 B per actor)."""


class RatioVerdict(TypedDict):
    """How the report writes one ratio target: the bar, the ratio measured and whether it holds."""

    target: str
    op: Op
    value: float
    baseline: str
    ratio: float | None
    met: bool | None


@final
@dataclass(frozen=True, slots=True)
class RatioTarget:
    """``ours / baseline <op> value``: a target set against a baseline of the same run."""

    op: Op
    value: float
    baseline: str

    def describe(self) -> str:
        """E.g. ``<= 0.5x naive``."""
        return f"{self.op} {_num(self.value)}x {self.baseline}"

    def verdict(self, ratio: float | None) -> RatioVerdict:
        """The target, judged against ``ratio`` (ours / baseline; None: not measured)."""
        return {
            "target": self.describe(),
            "op": self.op,
            "value": self.value,
            "baseline": self.baseline,
            "ratio": ratio,
            "met": None if ratio is None else _OPS[self.op](ratio, self.value),
        }


RATIO_TARGETS: Final[dict[str, RatioTarget]] = {
    "spawn_us": RatioTarget("<=", 0.5, "naive"),
}
"""Figures with a target relative to a baseline of the same run (issue 11: spawning, on_start
and the first message handled in at most half the naive design's time)."""
