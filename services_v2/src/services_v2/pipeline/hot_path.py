"""The hot-path latency of a deployment: a swap entering the market side -> its signals validated.

Both sides record ``time.perf_counter_ns()``, which on Linux reads CLOCK_MONOTONIC, one clock for
every process of the machine, so the samples are comparable across the relay's two processes.
"""

from __future__ import annotations

from collections.abc import Sequence

from mycelium_types.messages import ArbitrageSignal, SignalMessage

__all__ = ["hot_path_latencies"]


def hot_path_latencies(
    entered_ns: Sequence[int],
    signal_counts: Sequence[int],
    signals: Sequence[SignalMessage],
    validated_ns: Sequence[int],
) -> list[int]:
    """For each swap that revealed signals: its last signal's validation time minus its entry.

    ``entered_ns[i]`` is when the i-th signal-revealing swap entered the market side and
    ``signal_counts[i]`` how many arbitrage signals it revealed; ``signals`` and
    ``validated_ns`` are what the signal side received, in order, and when it finished each.
    Signals arrive in the order they were found, so the i-th swap's signals are the next
    ``signal_counts[i]`` arbitrage signals; momentum signals (from quotes) are skipped.

    Raises:
        ValueError: the two sides disagree (fewer signals than the swaps announced).
    """
    if len(validated_ns) != len(signals):
        raise ValueError(f"{len(signals)} signals but {len(validated_ns)} validation times")
    latencies: list[int] = []
    index = 0
    total = len(signals)
    for entered, count in zip(entered_ns, signal_counts, strict=True):
        seen = 0
        while seen < count:
            if index >= total:
                raise ValueError("the signal side received fewer signals than the swaps revealed")
            if type(signals[index]) is ArbitrageSignal:
                seen += 1
            index += 1
        latencies.append(validated_ns[index - 1] - entered)
    return latencies
