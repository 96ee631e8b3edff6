"""engine.nb.first_at: the first event at or after a time, by galloping search."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from tickforge.engine import nb


@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(0, 50), max_size=80), st.integers(-5, 3000), st.data())
def test_first_at_equals_searchsorted(gaps: list[int], when: int, data: st.DataObject) -> None:
    ts = np.cumsum(np.array(gaps, np.int64))  # sorted, with ties (gaps of 0)
    t = data.draw(st.integers(0, len(ts)))
    i1 = data.draw(st.integers(t, len(ts)))
    expected = t + int(np.searchsorted(ts[t:i1], when, side="left"))
    assert nb.first_at(ts, t, i1, when) == expected


def test_first_at_far_and_near() -> None:
    ts = np.arange(0, 10_000_000, 100, dtype=np.int64)
    assert nb.first_at(ts, 0, len(ts), 60_000) == 600
    assert nb.first_at(ts, 600, len(ts), 60_000) == 600  # already there
    assert nb.first_at(ts, 0, len(ts), 10**12) == len(ts)
    assert nb.first_at(ts, 5, 5, 0) == 5  # empty range
