"""The EMA-crossover momentum rule (services_v2.domain.momentum)."""

from __future__ import annotations

import pytest

from mycelium_types.messages import MomentumSignal
from services_v2.domain.momentum import MomentumConfig, MomentumDetector, momentum_signal_id

CONFIG = MomentumConfig(fast_span=2, slow_span=4, entry_bps=10.0, full_strength_bps=100.0)


def _feed(detector: MomentumDetector, mids: list[float], start: int = 0) -> list[MomentumSignal]:
    out: list[MomentumSignal] = []
    for offset, mid in enumerate(mids):
        signal = detector.update("WETH/USDC", mid, start + offset)
        if signal is not None:
            out.append(signal)
    return out


def test_flat_prices_give_no_signal() -> None:
    detector = MomentumDetector(CONFIG)
    assert _feed(detector, [100.0] * 50) == []
    assert detector.regime("WETH/USDC") == 0


def test_nothing_is_signalled_during_the_warm_up() -> None:
    detector = MomentumDetector(CONFIG)
    # A jump at the 2nd sample would clear the band, but slow_span (4) samples are needed.
    assert _feed(detector, [100.0, 110.0, 110.0]) == []


def test_a_rise_signals_up_once_then_a_fall_signals_down() -> None:
    detector = MomentumDetector(CONFIG)
    # Hand computation: a_fast = 2/3, a_slow = 2/5. Mids 100, 100, 100, 101:
    #   fast: 100, 100, 100, 100.6667   slow: 100, 100, 100, 100.4
    #   spread at the 4th sample = (100.6667 - 100.4) / 100.4 = 26.56 bps > 10 -> up,
    #   strength = 26.56 / 100 = 0.2656.
    up = _feed(detector, [100.0, 100.0, 100.0, 101.0])
    assert len(up) == 1
    assert up[0].strength == pytest.approx((100 + 2 / 3 - 100.4) / 100.4 * 10_000 / 100)
    assert (up[0].instrument, up[0].reference_price, up[0].timestamp_ns) == ("WETH/USDC", 101.0, 3)
    assert up[0].horizon_ns == CONFIG.horizon_ns
    assert up[0].signal_id == momentum_signal_id("WETH/USDC", 3, +1)
    # Still rising: the regime stays up, no repeat.
    assert _feed(detector, [102.0, 103.0, 104.0], start=4) == []
    assert detector.regime("WETH/USDC") == 1
    down = _feed(detector, [90.0, 80.0], start=7)
    assert len(down) == 1
    assert down[0].strength < 0
    assert detector.regime("WETH/USDC") == -1
    assert (detector.updates, detector.signals) == (9, 2)


def test_strength_saturates_at_one() -> None:
    detector = MomentumDetector(CONFIG)
    [signal] = _feed(detector, [100.0, 100.0, 100.0, 200.0])
    assert signal.strength == 1.0


def test_instruments_are_tracked_separately() -> None:
    detector = MomentumDetector(CONFIG)
    for mid in (100.0, 100.0, 100.0):
        assert detector.update("A", mid, 0) is None
    assert detector.update("B", 200.0, 0) is None
    assert detector.update("A", 101.0, 1) is not None
    assert detector.regime("B") == 0


def test_ids_are_stable_and_depend_on_the_direction() -> None:
    assert momentum_signal_id("WETH/USDC", 123, 1) == 18_373_867_663_545_506_926
    assert momentum_signal_id("WETH/USDC", 123, -1) != momentum_signal_id("WETH/USDC", 123, 1)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"fast_span": 4, "slow_span": 4}, r"^need 1 <= fast_span < slow_span, got 4 and 4$"),
        ({"fast_span": 0}, r"^need 1 <= fast_span < slow_span, got 0 and 32$"),
        ({"entry_bps": -1.0}, r"^entry_bps must be >= 0, got -1.0$"),
        ({"full_strength_bps": 0.0}, r"^full_strength_bps must be > 0, got 0.0$"),
        ({"horizon_ns": -1}, r"^horizon_ns must be >= 0, got -1$"),
    ],
)
def test_config_rejects_nonsense(kwargs: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        MomentumConfig(**kwargs)  # type: ignore[arg-type]
