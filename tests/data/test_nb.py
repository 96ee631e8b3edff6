"""The data kernels' fast paths against their reference forms, bit for bit: bucket starts
found by edges against a division per row, and the quote roll-up (mid derived as it reads)
against the general roll-up over the stacked mid, bid and ask series."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from tickforge.data import nb

STEPS = [10**9, 60 * 10**9, 3600 * 10**9, 86_400 * 10**9]


def reference_starts(ts: np.ndarray, step: int, offset: int) -> np.ndarray:
    labels = (ts - offset) // step
    return np.flatnonzero(np.r_[True, labels[1:] != labels[:-1]]) if ts.size else labels


SECOND = 10**9
# gaps of whole seconds land on bucket edges exactly; odd nanoseconds land in between
gaps = st.one_of(st.just(0), st.integers(1, SECOND), st.integers(1, 5000).map(lambda s: s * SECOND))


@settings(max_examples=80, deadline=None)
@given(st.lists(gaps, max_size=300), st.sampled_from(STEPS),
       st.integers(-86_400, 86_400).map(lambda s: s * SECOND),
       st.integers(-(10**9), 10**9).map(lambda s: s * SECOND))
def test_time_starts_equal_a_division_per_row(gaps: list[int], step: int, offset: int,
                                              t0: int) -> None:
    ts = t0 + np.cumsum(np.array(gaps, np.int64))
    assert np.array_equal(nb.time_starts(ts, step, offset), reference_starts(ts, step, offset))


quote_rows = st.lists(st.tuples(st.floats(0.5, 2.0), st.integers(0, 40),
                                st.one_of(st.just(float("nan")), st.floats(0, 1e6))),
                      min_size=1, max_size=200)


@settings(max_examples=80, deadline=None)
@given(quote_rows, st.lists(st.integers(1, 199), max_size=20), st.booleans())
def test_quote_rollup_equals_rollup_of_stacked_series(rows: list, cuts: list[int],
                                                      carried: bool) -> None:
    bid = np.array([r[0] for r in rows])
    ask = bid + np.array([r[1] for r in rows]) * 1e-5
    volume = np.array([r[2] for r in rows])
    starts = np.unique(np.array([0] + [c for c in cuts if c < len(rows)], np.int64))
    carry = (np.array([1.1, 2.5, 0.4, 1.2, 1.0, 2.4, 0.3, 1.1, 1.2, 2.6, 0.5, 1.3, 7.0])
             if carried else np.zeros(13))
    count = 5 if carried else 0
    series = np.stack([(bid + ask) / 2, bid, ask])
    want = nb.rollup(starts, series, series, series, series, volume[None, :],
                     np.empty(0, np.int64), carry, count)
    got = nb.quote_rollup(starts, bid, ask, volume, carry, count)
    assert np.array_equal(got[0], want[0]) and np.array_equal(got[1], want[1])
