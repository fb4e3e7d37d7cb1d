"""Signal validation and execution preparation: which signals we act on, and how.

:class:`SignalValidator` is the domain half of the signal-generator service. Every signal it
receives is either accepted (an arbitrage signal becomes an :class:`ExecutionPlan`; a
momentum signal is counted) or rejected and counted under one :class:`RejectReason`. Nothing
is dropped without a count: ``received == accepted + sum(rejected)`` for each kind.

Supersession. A plan is meant for the block it was found in (its ``timestamp_ns``). A later
opportunity between the same two pools in the same block (the same ``opportunity_id``, from a
later market event) is fresher: it is accepted and *supersedes* the earlier plan, which is
counted in ``superseded`` and no longer counts in ``expected_profit_usd``; the new plan names
it in ``supersedes`` (its 0-based number among the accepted plans).

Clock. Staleness is judged against the validator's own clock: the newest ``timestamp_ns`` of
any signal it has received (both kinds), or a later time given to :meth:`advance_clock`. It
needs no wall clock and no side channel, so every deployment that delivers the same signals in
the same order (a sequential loop, actors in one process, services in two processes) makes the
same decisions.
"""

from __future__ import annotations

import enum
import math
from collections import deque
from dataclasses import dataclass, field
from typing import final

import msgspec

from mycelium_types.messages import ArbitrageSignal, MomentumSignal, SignalMessage

__all__ = [
    "DEFAULT_MIN_PROFIT_USD",
    "ExecutionPlan",
    "RejectReason",
    "SignalValidator",
    "ValidationCounters",
    "ValidatorConfig",
]


class RejectReason(enum.Enum):
    """Why a signal was rejected; the value is the key of the rejection counter."""

    MALFORMED = "malformed"
    """Not actionable as given: an arbitrage signal without exactly two distinct pools, without
    a size (``amount_in <= 0``) or with a non-finite profit; a momentum signal whose strength
    is outside [-1, 1]."""
    STALE = "stale"
    """Older than ``max_age_ns`` relative to the validator's clock."""
    BELOW_MIN_PROFIT = "below_min_profit"
    """Expected profit below ``min_profit_usd``."""
    DUPLICATE = "duplicate"
    """The same momentum signal id was already accepted, or the same opportunity id was
    accepted from the same or a later market event (a repeat, not a fresher opportunity)."""
    WEAK_MOMENTUM = "weak_momentum"
    """A momentum signal with ``|strength|`` below ``min_momentum_strength``."""


_MALFORMED = RejectReason.MALFORMED
_STALE = RejectReason.STALE
_BELOW_MIN_PROFIT = RejectReason.BELOW_MIN_PROFIT
_DUPLICATE = RejectReason.DUPLICATE
_WEAK_MOMENTUM = RejectReason.WEAK_MOMENTUM

DEFAULT_MIN_PROFIT_USD = 5.0
"""The default smallest expected profit worth a trade, USD."""


@final
@dataclass(frozen=True, slots=True)
class ValidatorConfig:
    """What the validator accepts.

    Attributes:
        min_profit_usd: the smallest expected profit worth a trade, USD; finite, >= 0. A
            pipeline's market side signals only trades worth it (``PipelineConfig``), so
            that the validator keeps all of one swap's trades or none.
        max_age_ns: how far behind the clock a signal may be and still be acted on, ns; >= 0.
        min_momentum_strength: the smallest ``|strength|`` of an accepted momentum signal,
            in [0, 1].
    """

    min_profit_usd: float = DEFAULT_MIN_PROFIT_USD
    max_age_ns: int = 4_000_000_000
    min_momentum_strength: float = 0.5

    def __post_init__(self) -> None:
        if not 0.0 <= self.min_profit_usd < math.inf:
            raise ValueError(f"min_profit_usd must be finite and >= 0, got {self.min_profit_usd}")
        if self.max_age_ns < 0:
            raise ValueError(f"max_age_ns must be >= 0, got {self.max_age_ns}")
        if not 0.0 <= self.min_momentum_strength <= 1.0:
            raise ValueError(
                f"min_momentum_strength must be in [0, 1], got {self.min_momentum_strength}"
            )


class ExecutionPlan(msgspec.Struct, frozen=True, gc=False):
    """A prepared two-leg arbitrage: pay ``amount_in`` of ``token_in`` into ``buy_pool``, sell
    the ``amount_mid`` of the other token received into ``sell_pool`` for ``amount_out``.

    The amounts hold exactly on the pool states right after market event ``event``, once the
    earlier plans of the same event have been executed in order.

    Attributes:
        opportunity_id: the accepted signal's id.
        buy_pool: where ``token_in`` goes in and the other token comes out (20-byte address).
        sell_pool: where that token goes in and ``token_in`` comes out (20-byte address).
        amount_in: ``token_in`` paid into ``buy_pool``, smallest units; > 0.
        expected_profit_usd: the signal's expected profit, USD.
        timestamp_ns: the signal's timestamp, ns since the Unix epoch.
        event: the 0-based index of the market event that revealed it.
        token_in: the symbol of the token paid in and received back.
        amount_mid: the other token, out of ``buy_pool`` and into ``sell_pool``.
        amount_out: ``token_in`` out of ``sell_pool``.
        supersedes: the number (0-based, among accepted plans) of the plan this one replaces,
            or ``None``.
    """

    opportunity_id: int
    buy_pool: bytes
    sell_pool: bytes
    amount_in: int
    expected_profit_usd: float
    timestamp_ns: int
    event: int = 0
    token_in: str = ""
    amount_mid: int = 0
    amount_out: int = 0
    supersedes: int | None = None

    @property
    def profit_units(self) -> int:
        """``amount_out - amount_in``: the profit in ``token_in`` units."""
        return self.amount_out - self.amount_in


@final
@dataclass(frozen=True, slots=True)
class ValidationCounters:
    """A snapshot of a validator's counters; every field is a pure function of its inputs.

    Invariants: ``arbitrage_received + momentum_received == arbitrage_accepted +
    momentum_accepted + sum(rejected.values())``; ``superseded <= arbitrage_accepted``;
    ``expected_profit_usd`` is the sum, in acceptance order, of the profits of the accepted
    plans that were not superseded.
    """

    arbitrage_received: int
    arbitrage_accepted: int
    momentum_received: int
    momentum_accepted: int
    rejected: dict[str, int] = field(default_factory=dict[str, int])
    expected_profit_usd: float = 0.0
    superseded: int = 0


@final
class _RecentIds:
    """Ids accepted within the last ``max_age_ns``; older ones are forgotten, which is safe
    because a repeat of a forgotten id carries the same old timestamp and is rejected as stale.
    """

    __slots__ = ("_ids", "_order")

    def __init__(self) -> None:
        self._ids: set[int] = set()
        self._order: deque[tuple[int, int]] = deque()

    def __contains__(self, item: int) -> bool:
        return item in self._ids

    def __len__(self) -> int:
        return len(self._ids)

    def add(self, item: int, timestamp_ns: int, horizon_ns: int) -> None:
        self._ids.add(item)
        order = self._order
        order.append((timestamp_ns, item))
        while order[0][0] < horizon_ns:
            self._ids.discard(order.popleft()[1])


_FOLD_AT = 4096
"""Profits kept before the validator folds those that can no longer be superseded."""


@final
class _LivePlans:
    """Accepted plans by opportunity id, kept while a repeat could still be fresh: ``(number,
    event)`` of the latest accepted plan of each id accepted within the last ``max_age_ns``
    (older ones are forgotten, safe for the reason :class:`_RecentIds` gives)."""

    __slots__ = ("_order", "_plans")

    def __init__(self) -> None:
        self._plans: dict[int, tuple[int, int]] = {}
        self._order: deque[tuple[int, int]] = deque()

    def get(self, item: int) -> tuple[int, int] | None:
        return self._plans.get(item)

    def oldest_number(self) -> int | None:
        """The smallest plan number still kept (the oldest plan that can be superseded)."""
        return min((number for number, _ in self._plans.values()), default=None)

    def __len__(self) -> int:
        return len(self._plans)

    def put(self, item: int, plan: tuple[int, int], timestamp_ns: int, horizon_ns: int) -> None:
        plans = self._plans
        plans[item] = plan
        order = self._order
        order.append((timestamp_ns, item))
        while order[0][0] < horizon_ns:
            plans.pop(order.popleft()[1], None)


@final
class SignalValidator:
    """Validates signals in arrival order and turns accepted arbitrage into execution plans.

    Rules, checked in this order (the first that fails names the rejection):

    - arbitrage: malformed → stale → below_min_profit → duplicate (id already accepted from
      this or a later event; from an earlier event, the new plan supersedes the old one);
    - momentum: malformed → stale → weak_momentum → duplicate.

    A signal is stale when ``clock_ns - timestamp_ns > max_age_ns``; the clock first moves up
    to the signal's own timestamp, so the newest signal is never stale.

    Not thread-safe: one owner validates signals one at a time.
    """

    __slots__ = (
        "_first",
        "_folded",
        "_live",
        "_min_profit",
        "_profits",
        "_taken_momentum",
        "arbitrage_accepted",
        "arbitrage_received",
        "clock_ns",
        "config",
        "momentum_accepted",
        "momentum_received",
        "rejected",
        "superseded",
    )

    def __init__(self, config: ValidatorConfig | None = None) -> None:
        self.config = config if config is not None else ValidatorConfig()
        self._min_profit = self.config.min_profit_usd
        # Invariant: never decreases.
        self.clock_ns = 0
        self.arbitrage_received = 0
        self.arbitrage_accepted = 0
        self.momentum_received = 0
        self.momentum_accepted = 0
        # Invariant: one key per RejectReason, in declaration order.
        self.rejected: dict[str, int] = {reason.value: 0 for reason in RejectReason}
        # Invariant: _profits[n - _first] is the profit of accepted plan n, or 0.0 once
        # superseded, for every plan from _first on; the plans before _first can no longer be
        # superseded, and _folded is their profits summed in order (so memory stays flat and
        # sum(_profits, _folded) is the very sum of all of them, float for float).
        self._profits: list[float] = []
        self._first = 0
        self._folded = 0.0
        self.superseded = 0
        self._live = _LivePlans()
        self._taken_momentum = _RecentIds()

    @property
    def expected_profit_usd(self) -> float:
        """The profits of the accepted plans not superseded, summed in acceptance order."""
        return sum(self._profits, self._folded)

    def advance_clock(self, now_ns: int) -> None:
        """Move the clock up to ``now_ns`` (ns since the epoch); an earlier time is ignored."""
        self.clock_ns = max(self.clock_ns, now_ns)

    def validate(self, signal: SignalMessage) -> ExecutionPlan | None:
        """Validate either kind; returns the plan of an accepted arbitrage signal, else None.

        Raises:
            TypeError: ``signal`` is neither an ArbitrageSignal nor a MomentumSignal.
        """
        if type(signal) is ArbitrageSignal:
            decision = self.validate_arbitrage(signal)
            return decision if isinstance(decision, ExecutionPlan) else None
        if type(signal) is MomentumSignal:
            self.validate_momentum(signal)
            return None
        raise TypeError(
            f"expected ArbitrageSignal or MomentumSignal, got {type(signal).__name__}; "
            "send only SignalMessage members to the validator"
        )

    def validate_arbitrage(self, signal: ArbitrageSignal) -> ExecutionPlan | RejectReason:
        """Accept ``signal`` as an :class:`ExecutionPlan`, or return why it was rejected."""
        self.arbitrage_received += 1
        pools = signal.pools
        profit = signal.profit_usd
        if (
            len(pools) != 2
            or pools[0] == pools[1]
            or signal.amount_in <= 0
            or not -math.inf < profit < math.inf
        ):
            return self._reject(_MALFORMED)
        timestamp_ns = signal.timestamp_ns
        clock_ns = self.clock_ns
        if timestamp_ns > clock_ns:
            self.clock_ns = clock_ns = timestamp_ns
        max_age = self.config.max_age_ns
        if clock_ns - timestamp_ns > max_age:
            return self._reject(_STALE)
        if profit < self._min_profit:
            return self._reject(_BELOW_MIN_PROFIT)
        opportunity_id = signal.opportunity_id
        event = signal.event
        live = self._live
        earlier = live.get(opportunity_id)
        supersedes = None
        if earlier is not None:
            supersedes, earlier_event = earlier
            if event <= earlier_event:
                return self._reject(_DUPLICATE)
            self._profits[supersedes - self._first] = 0.0
            self.superseded += 1
        number = self.arbitrage_accepted
        live.put(opportunity_id, (number, event), timestamp_ns, clock_ns - max_age)
        self.arbitrage_accepted = number + 1
        profits = self._profits
        profits.append(profit)
        if len(profits) >= _FOLD_AT and len(profits) >= 2 * len(live):
            self._fold()
        return ExecutionPlan(
            opportunity_id,
            pools[0],
            pools[1],
            signal.amount_in,
            profit,
            timestamp_ns,
            event,
            signal.token_in,
            signal.amount_mid,
            signal.amount_out,
            supersedes,
        )

    def validate_momentum(self, signal: MomentumSignal) -> MomentumSignal | RejectReason:
        """Accept ``signal`` (returned as is) or return why it was rejected."""
        self.momentum_received += 1
        strength = signal.strength
        if not -1.0 <= strength <= 1.0:
            return self._reject(_MALFORMED)
        timestamp_ns = signal.timestamp_ns
        self.advance_clock(timestamp_ns)
        max_age = self.config.max_age_ns
        if self.clock_ns - timestamp_ns > max_age:
            return self._reject(_STALE)
        if abs(strength) < self.config.min_momentum_strength:
            return self._reject(_WEAK_MOMENTUM)
        taken = self._taken_momentum
        if signal.signal_id in taken:
            return self._reject(_DUPLICATE)
        taken.add(signal.signal_id, timestamp_ns, self.clock_ns - max_age)
        self.momentum_accepted += 1
        return signal

    def _fold(self) -> None:
        """Sum the profits of the plans that can no longer be superseded into ``_folded``."""
        oldest = self._live.oldest_number()
        cut = (self.arbitrage_accepted if oldest is None else oldest) - self._first
        if cut > 0:
            self._folded = sum(self._profits[:cut], self._folded)
            del self._profits[:cut]
            self._first += cut

    def _reject(self, reason: RejectReason) -> RejectReason:
        self.rejected[reason.value] += 1
        return reason

    def counters(self) -> ValidationCounters:
        """A snapshot of the counters (the rejection dict is copied)."""
        return ValidationCounters(
            arbitrage_received=self.arbitrage_received,
            arbitrage_accepted=self.arbitrage_accepted,
            momentum_received=self.momentum_received,
            momentum_accepted=self.momentum_accepted,
            rejected=dict(self.rejected),
            expected_profit_usd=self.expected_profit_usd,
            superseded=self.superseded,
        )

    def __repr__(self) -> str:
        return (
            f"SignalValidator(clock_ns={self.clock_ns}, "
            f"arbitrage={self.arbitrage_accepted}/{self.arbitrage_received}, "
            f"momentum={self.momentum_accepted}/{self.momentum_received}, "
            f"superseded={self.superseded}, rejected={self.rejected})"
        )
