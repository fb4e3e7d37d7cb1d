"""Momentum: a fast/slow EMA crossover on each instrument's mid price, with a dead band.

The rule, per instrument, on every new mid price ``m`` (from a quote or a book snapshot):

1. ``fast += a_f (m - fast)`` and ``slow += a_s (m - slow)``, with ``a = 2 / (span + 1)``
   (the usual span convention); both start at the first mid.
2. After ``slow_span`` samples (warm-up), the spread is ``s = (fast - slow) / slow`` in bps.
   The regime becomes *up* when ``s > entry_bps``, *down* when ``s < -entry_bps``, and
   otherwise stays what it was (hysteresis: a crossover must clear the band to count).
3. Each change of regime emits one :class:`MomentumSignal` with
   ``strength = clamp(s / full_strength_bps, -1, 1)`` (sign: the new regime),
   ``reference_price = m`` and the update's timestamp.

Deterministic: the same mids in the same order give the same signals; ids are BLAKE2b hashes.
"""

from __future__ import annotations

from dataclasses import dataclass
from hashlib import blake2b
from typing import final

from mycelium_types.messages import MomentumSignal

__all__ = ["MomentumConfig", "MomentumDetector", "momentum_signal_id"]


@final
@dataclass(frozen=True, slots=True)
class MomentumConfig:
    """Parameters of the EMA crossover rule (see the module docstring).

    Attributes:
        fast_span, slow_span: EMA spans in samples; ``1 <= fast_span < slow_span``.
        entry_bps: the dead band, bps of the slow EMA; ``>= 0``.
        full_strength_bps: the spread at which ``|strength|`` reaches 1; ``> 0``.
        horizon_ns: the horizon put on every signal, ns.
    """

    fast_span: int = 8
    slow_span: int = 32
    entry_bps: float = 4.0
    full_strength_bps: float = 10.0
    horizon_ns: int = 30_000_000_000

    def __post_init__(self) -> None:
        if not 1 <= self.fast_span < self.slow_span:
            raise ValueError(
                f"need 1 <= fast_span < slow_span, got {self.fast_span} and {self.slow_span}"
            )
        if not self.entry_bps >= 0.0:
            raise ValueError(f"entry_bps must be >= 0, got {self.entry_bps}")
        if not self.full_strength_bps > 0.0:
            raise ValueError(f"full_strength_bps must be > 0, got {self.full_strength_bps}")
        if self.horizon_ns < 0:
            raise ValueError(f"horizon_ns must be >= 0, got {self.horizon_ns}")


def momentum_signal_id(instrument: str, timestamp_ns: int, direction: int) -> int:
    """A stable 64-bit id for a regime change of ``instrument`` to ``direction`` (+1 or -1)."""
    payload = b"momentum\x00" + instrument.encode() + b"\x00" + timestamp_ns.to_bytes(8, "big")
    digest = blake2b(payload + (b"+" if direction > 0 else b"-"), digest_size=8)
    return int.from_bytes(digest.digest(), "big")


@final
class _Track:
    __slots__ = ("fast", "regime", "samples", "slow")

    def __init__(self, mid: float) -> None:
        self.fast = mid
        self.slow = mid
        self.samples = 1
        # Invariant: -1 (down), 0 (none yet) or +1 (up).
        self.regime = 0


@final
class MomentumDetector:
    """Applies the EMA crossover rule to each instrument's mids; see the module docstring.

    Counters: :attr:`updates` (mids seen) and :attr:`signals` (signals returned).
    """

    __slots__ = ("_alpha_fast", "_alpha_slow", "_tracks", "config", "signals", "updates")

    def __init__(self, config: MomentumConfig | None = None) -> None:
        self.config = config if config is not None else MomentumConfig()
        self._alpha_fast = 2.0 / (self.config.fast_span + 1)
        self._alpha_slow = 2.0 / (self.config.slow_span + 1)
        self._tracks: dict[str, _Track] = {}
        self.updates = 0
        self.signals = 0

    def update(self, instrument: str, mid: float, timestamp_ns: int) -> MomentumSignal | None:
        """Feed one mid price (quote currency per unit); returns a signal on a regime change."""
        self.updates += 1
        track = self._tracks.get(instrument)
        if track is None:
            self._tracks[instrument] = _Track(mid)
            return None
        track.fast += self._alpha_fast * (mid - track.fast)
        track.slow += self._alpha_slow * (mid - track.slow)
        track.samples += 1
        config = self.config
        if track.samples < config.slow_span:
            return None
        spread_bps = (track.fast - track.slow) / track.slow * 10_000.0
        if spread_bps > config.entry_bps:
            regime = 1
        elif spread_bps < -config.entry_bps:
            regime = -1
        else:
            return None
        if regime == track.regime:
            return None
        track.regime = regime
        self.signals += 1
        strength = max(-1.0, min(1.0, spread_bps / config.full_strength_bps))
        return MomentumSignal(
            signal_id=momentum_signal_id(instrument, timestamp_ns, regime),
            instrument=instrument,
            strength=strength,
            horizon_ns=config.horizon_ns,
            reference_price=mid,
            timestamp_ns=timestamp_ns,
        )

    def regime(self, instrument: str) -> int:
        """The instrument's current regime: +1 up, -1 down, 0 none yet."""
        track = self._tracks.get(instrument)
        return 0 if track is None else track.regime

    def __repr__(self) -> str:
        return (
            f"MomentumDetector(instruments={len(self._tracks)}, updates={self.updates}, "
            f"signals={self.signals})"
        )
