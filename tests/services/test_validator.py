"""Signal validation and execution plans (services_v2.domain.validator)."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mycelium_types.messages import ArbitrageSignal, MomentumSignal
from services_v2.domain.validator import (
    ExecutionPlan,
    RejectReason,
    SignalValidator,
    ValidatorConfig,
)

POOL_A = bytes([0xA] * 20)
POOL_B = bytes([0xB] * 20)
SECOND = 1_000_000_000
CONFIG = ValidatorConfig(min_profit_usd=10.0, max_age_ns=4 * SECOND, min_momentum_strength=0.5)


def _arb(
    opportunity_id: int = 1,
    profit_usd: float = 50.0,
    timestamp_ns: int = 100 * SECOND,
    *,
    pools: tuple[bytes, ...] = (POOL_A, POOL_B),
    amount_in: int = 10**9,
    event: int = 0,
) -> ArbitrageSignal:
    return ArbitrageSignal(opportunity_id, profit_usd, pools, timestamp_ns, amount_in, event=event)


def _momentum(
    signal_id: int = 1, strength: float = 0.8, timestamp_ns: int = 100 * SECOND
) -> MomentumSignal:
    return MomentumSignal(signal_id, "WETH/USDC", strength, SECOND, 3_000.0, timestamp_ns)


def test_an_accepted_signal_becomes_an_execution_plan() -> None:
    validator = SignalValidator(CONFIG)
    plan = validator.validate_arbitrage(_arb(opportunity_id=42, profit_usd=50.0))
    assert plan == ExecutionPlan(
        opportunity_id=42,
        buy_pool=POOL_A,
        sell_pool=POOL_B,
        amount_in=10**9,
        expected_profit_usd=50.0,
        timestamp_ns=100 * SECOND,
    )
    assert (validator.arbitrage_received, validator.arbitrage_accepted) == (1, 1)
    assert validator.expected_profit_usd == 50.0


def test_below_the_minimum_profit_is_rejected() -> None:
    validator = SignalValidator(CONFIG)
    assert validator.validate_arbitrage(_arb(profit_usd=9.99)) is RejectReason.BELOW_MIN_PROFIT
    assert isinstance(validator.validate_arbitrage(_arb(2, profit_usd=10.0)), ExecutionPlan)
    assert validator.rejected["below_min_profit"] == 1


def test_a_signal_older_than_max_age_behind_the_clock_is_stale() -> None:
    validator = SignalValidator(CONFIG)
    assert isinstance(
        validator.validate_arbitrage(_arb(1, timestamp_ns=100 * SECOND)), ExecutionPlan
    )
    # Exactly max_age behind is still fresh; one ns more is stale.
    assert isinstance(
        validator.validate_arbitrage(_arb(2, timestamp_ns=96 * SECOND)), ExecutionPlan
    )
    assert validator.validate_arbitrage(_arb(3, timestamp_ns=96 * SECOND - 1)) is RejectReason.STALE
    assert validator.clock_ns == 100 * SECOND
    assert validator.rejected["stale"] == 1


def test_the_clock_only_moves_forward_and_can_be_advanced_by_market_time() -> None:
    validator = SignalValidator(CONFIG)
    validator.advance_clock(200 * SECOND)
    validator.advance_clock(150 * SECOND)
    assert validator.clock_ns == 200 * SECOND
    assert validator.validate_arbitrage(_arb(timestamp_ns=100 * SECOND)) is RejectReason.STALE
    assert validator.validate_momentum(_momentum(timestamp_ns=195 * SECOND)) is not None
    assert validator.clock_ns == 200 * SECOND


def test_an_opportunity_already_taken_is_a_duplicate() -> None:
    validator = SignalValidator(CONFIG)
    assert isinstance(validator.validate_arbitrage(_arb(7)), ExecutionPlan)
    assert validator.validate_arbitrage(_arb(7, profit_usd=99.0)) is RejectReason.DUPLICATE
    assert isinstance(validator.validate_arbitrage(_arb(8)), ExecutionPlan)
    assert validator.rejected["duplicate"] == 1
    assert validator.expected_profit_usd == 100.0


def test_a_fresher_opportunity_from_a_later_event_supersedes_the_plan() -> None:
    validator = SignalValidator(CONFIG)
    first = validator.validate_arbitrage(_arb(7, profit_usd=50.0, event=10))
    assert isinstance(first, ExecutionPlan)
    assert first.supersedes is None
    fresher = validator.validate_arbitrage(_arb(7, profit_usd=30.0, event=12))
    assert isinstance(fresher, ExecutionPlan)
    assert (fresher.supersedes, fresher.event) == (0, 12)
    # The same event again, or an older one, is a repeat, not news.
    assert validator.validate_arbitrage(_arb(7, event=12)) is RejectReason.DUPLICATE
    assert validator.validate_arbitrage(_arb(7, event=11)) is RejectReason.DUPLICATE
    latest = validator.validate_arbitrage(_arb(7, profit_usd=20.0, event=20))
    assert isinstance(latest, ExecutionPlan)
    assert latest.supersedes == 1  # the chain goes through the latest plan
    counters = validator.counters()
    assert (counters.arbitrage_accepted, counters.superseded) == (3, 2)
    assert counters.rejected["duplicate"] == 2
    assert counters.expected_profit_usd == 20.0


def test_a_rejected_signal_supersedes_nothing() -> None:
    validator = SignalValidator(CONFIG)
    assert isinstance(validator.validate_arbitrage(_arb(7, event=1)), ExecutionPlan)
    assert validator.validate_arbitrage(_arb(7, profit_usd=1.0, event=2)) is (
        RejectReason.BELOW_MIN_PROFIT
    )
    validator.advance_clock(200 * SECOND)
    assert validator.validate_arbitrage(_arb(7, event=3)) is RejectReason.STALE
    assert (validator.superseded, validator.expected_profit_usd) == (0, 50.0)


def test_a_rejected_opportunity_is_not_taken() -> None:
    validator = SignalValidator(CONFIG)
    assert validator.validate_arbitrage(_arb(7, profit_usd=1.0)) is RejectReason.BELOW_MIN_PROFIT
    assert isinstance(validator.validate_arbitrage(_arb(7, profit_usd=20.0)), ExecutionPlan)


def test_taken_ids_are_forgotten_only_once_a_repeat_would_be_stale() -> None:
    validator = SignalValidator(CONFIG)
    assert isinstance(
        validator.validate_arbitrage(_arb(7, timestamp_ns=100 * SECOND)), ExecutionPlan
    )
    validator.validate_arbitrage(_arb(8, timestamp_ns=110 * SECOND))
    assert validator.validate_arbitrage(_arb(7, timestamp_ns=100 * SECOND)) is RejectReason.STALE


@pytest.mark.parametrize(
    "signal",
    [
        _arb(pools=(POOL_A,)),
        _arb(pools=(POOL_A, POOL_B, POOL_A)),
        _arb(pools=(POOL_A, POOL_A)),
        _arb(amount_in=0),
        _arb(profit_usd=math.nan),
        _arb(profit_usd=math.inf),
    ],
)
def test_signals_that_cannot_be_executed_are_malformed(signal: ArbitrageSignal) -> None:
    validator = SignalValidator(CONFIG)
    assert validator.validate_arbitrage(signal) is RejectReason.MALFORMED
    assert validator.clock_ns == 0


def test_momentum_needs_strength_freshness_and_a_new_id() -> None:
    validator = SignalValidator(CONFIG)
    strong = _momentum(1, strength=-0.7)
    assert validator.validate_momentum(strong) is strong
    assert validator.validate_momentum(_momentum(2, strength=0.49)) is RejectReason.WEAK_MOMENTUM
    assert validator.validate_momentum(_momentum(1, strength=0.9)) is RejectReason.DUPLICATE
    old = _momentum(3, timestamp_ns=90 * SECOND)
    assert validator.validate_momentum(old) is RejectReason.STALE
    assert validator.validate_momentum(_momentum(4, strength=1.5)) is RejectReason.MALFORMED
    assert (validator.momentum_received, validator.momentum_accepted) == (5, 1)


def test_validate_dispatches_by_kind_and_refuses_other_types() -> None:
    validator = SignalValidator(CONFIG)
    assert isinstance(validator.validate(_arb()), ExecutionPlan)
    assert validator.validate(_momentum()) is None
    assert validator.momentum_accepted == 1
    with pytest.raises(TypeError, match=r"^expected ArbitrageSignal or MomentumSignal, got str"):
        validator.validate("swap")  # type: ignore[arg-type]  # the point of the test


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"min_profit_usd": -1.0}, r"^min_profit_usd must be finite and >= 0, got -1.0$"),
        ({"min_profit_usd": math.inf}, r"^min_profit_usd must be finite and >= 0, got inf$"),
        ({"max_age_ns": -1}, r"^max_age_ns must be >= 0, got -1$"),
        ({"min_momentum_strength": 1.5}, r"^min_momentum_strength must be in \[0, 1\], got 1.5$"),
    ],
)
def test_config_rejects_nonsense(kwargs: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ValidatorConfig(**kwargs)  # type: ignore[arg-type]


signals = st.lists(
    st.one_of(
        st.builds(
            _arb,
            st.integers(min_value=0, max_value=20),
            st.floats(min_value=0.0, max_value=100.0),
            st.integers(min_value=0, max_value=30 * SECOND),
        ),
        st.builds(
            _momentum,
            st.integers(min_value=0, max_value=20),
            st.floats(min_value=-1.0, max_value=1.0),
            st.integers(min_value=0, max_value=30 * SECOND),
        ),
    ),
    max_size=80,
)


@given(
    st.lists(
        st.tuples(
            st.integers(min_value=0, max_value=5),
            st.floats(min_value=0.0, max_value=100.0),
            st.integers(min_value=0, max_value=8),
        ),
        max_size=60,
    )
)
def test_supersession_keeps_one_live_plan_per_opportunity(
    draws: list[tuple[int, float, int]],
) -> None:
    validator = SignalValidator(CONFIG)
    plans: list[ExecutionPlan] = []
    for event, (opportunity, profit, step) in enumerate(draws):
        signal = _arb(opportunity, profit, 100 * SECOND + step, event=event)
        if isinstance(decision := validator.validate_arbitrage(signal), ExecutionPlan):
            plans.append(decision)
    superseded = [plan.supersedes for plan in plans if plan.supersedes is not None]
    assert len(superseded) == len(set(superseded)) == validator.superseded
    for number, plan in enumerate(plans):
        if plan.supersedes is not None:
            older = plans[plan.supersedes]
            assert plan.supersedes < number
            assert older.opportunity_id == plan.opportunity_id
            assert older.event < plan.event
    live = [plan for n, plan in enumerate(plans) if n not in set(superseded)]
    assert len({plan.opportunity_id for plan in live}) == len(live)
    assert validator.expected_profit_usd == sum((plan.expected_profit_usd for plan in live), 0.0)


@given(signals)
def test_every_signal_is_accepted_or_counted_once_as_rejected(
    stream: list[ArbitrageSignal | MomentumSignal],
) -> None:
    validator = SignalValidator(CONFIG)
    plans = [plan for signal in stream if (plan := validator.validate(signal)) is not None]
    counters = validator.counters()
    accepted = counters.arbitrage_accepted + counters.momentum_accepted
    assert accepted + sum(counters.rejected.values()) == len(stream)
    assert counters.arbitrage_accepted == len(plans)
    # An id names one block's opportunity, so it comes with one timestamp; this stream reuses
    # ids across timestamps, and an id is forgotten once its block is stale (safe for real ids).
    assert len({(plan.opportunity_id, plan.timestamp_ns) for plan in plans}) == len(plans)
    assert counters.expected_profit_usd == sum(plan.expected_profit_usd for plan in plans)
    assert validator.clock_ns == max((s.timestamp_ns for s in stream), default=0)


def test_the_expected_profit_is_the_same_float_when_old_plans_are_folded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Plans that can no longer be superseded are summed into one float as the run goes, so
    the validator's memory stays flat; the sum is the same, bit for bit."""
    import services_v2.domain.validator as validator_module
    from services_v2.bundle.summary import realised_profit_usd
    from services_v2.layouts.sequential import run_reference
    from services_v2.sim import simulate

    events = simulate(30_000, seed=4)
    unfolded = run_reference(events)
    monkeypatch.setattr(validator_module, "_FOLD_AT", 16)
    folded = run_reference(events)
    assert folded.validation.superseded > 0
    assert folded.validation.expected_profit_usd == unfolded.validation.expected_profit_usd
    assert folded.validation.expected_profit_usd == realised_profit_usd(folded.plans)
    validator = SignalValidator()
    for signal in folded.signals:
        validator.validate(signal)
    kept = len(validator._profits)  # pyright: ignore[reportPrivateUsage]
    live = len(validator._live)  # pyright: ignore[reportPrivateUsage]
    assert validator.arbitrage_accepted > 1_000
    assert kept <= max(16, 2 * live + 1)  # not one per plan accepted
