"""Pairing the two halves of the hot-path latency (services_v2.latency.hot_path)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from services_v2.latency.histogram import LatencyHistogram
from services_v2.latency.hot_path import HotPathPairing


@given(
    st.lists(st.integers(min_value=1, max_value=4), max_size=60),
    st.lists(st.integers(min_value=1, max_value=7), min_size=1, max_size=10),
    st.lists(st.integers(min_value=1, max_value=7), min_size=1, max_size=10),
    st.lists(st.booleans(), max_size=40),
)
def test_any_batching_and_interleaving_pairs_each_swap_with_its_last_validation(
    counts: list[int], swap_cuts: list[int], validation_cuts: list[int], order: list[bool]
) -> None:
    entered = [1_000 * index for index in range(len(counts))]
    validated: list[int] = []
    expected = LatencyHistogram()
    for start, count in zip(entered, counts, strict=True):
        times = [start + 10 * step + 3 for step in range(1, count + 1)]
        validated += times
        expected.record(times[-1] - start)

    def batches(values: list[int], cuts: list[int]) -> list[list[int]]:
        out: list[list[int]] = []
        position = 0
        for index in range(len(values) + 1):
            size = cuts[index % len(cuts)]
            if position >= len(values):
                break
            out.append(values[position : position + size])
            position += size
        return out

    events = [3 * index + 1 for index in range(len(counts))]  # the swaps' event numbers
    signal_events = [
        event for event, count in zip(events, counts, strict=True) for _ in range(count)
    ]
    swap_batches = list(
        zip(
            batches(entered, swap_cuts),
            batches(counts, swap_cuts),
            batches(events, swap_cuts),
            strict=True,
        )
    )
    validation_batches = list(
        zip(
            batches(validated, validation_cuts),
            batches(signal_events, validation_cuts),
            strict=True,
        )
    )
    pairing = HotPathPairing()
    flips = iter(order)
    while swap_batches or validation_batches:
        if swap_batches and (not validation_batches or next(flips, True)):
            pairing.add_swaps(*swap_batches.pop(0))
        else:
            pairing.add_validations(*validation_batches.pop(0))
    assert pairing.histogram.counts() == expected.counts()
    report = pairing.report()
    assert (report.swaps_unpaired, report.validations_unpaired) == (0, 0)


def test_what_cannot_be_paired_is_reported() -> None:
    pairing = HotPathPairing()
    pairing.add_swaps([0, 100], [2, 1], [0, 1])
    pairing.add_validations([5], [0])
    report = pairing.report()
    assert (report.swaps_unpaired, report.validations_unpaired) == (2, 0)
    pairing.add_validations([6, 107, 200, 300], [0, 1, 1, 1])
    report = pairing.report()
    assert (report.swaps_unpaired, report.validations_unpaired) == (0, 2)
    assert pairing.histogram.count == 2


def test_a_lost_signal_costs_its_swap_its_sample_and_shifts_no_other() -> None:
    # Swap 7's second signal failed in its handler (an injected fault, a dead letter): it is
    # never validated. The swaps after it keep their own latencies (10 ns each), whichever
    # half comes first.
    for swaps_first in (True, False):
        pairing = HotPathPairing()
        swaps = ([0, 1_000, 2_000, 3_000], [1, 2, 1, 1], [3, 7, 9, 12])
        validations = ([10, 1_005, 2_010, 3_010], [3, 7, 9, 12])
        if swaps_first:
            pairing.add_swaps(*swaps)
            pairing.add_validations(*validations)
        else:
            pairing.add_validations(*validations)
            pairing.add_swaps(*swaps)
        expected = LatencyHistogram()
        for latency in (10, 10, 10):
            expected.record(latency)
        assert pairing.histogram.counts() == expected.counts()
        report = pairing.report()
        assert (report.swaps_unpaired, report.validations_unpaired) == (1, 0)
