"""Merging several symbols' partition streams: the same rows in the same order as one stable
sort of everything, one bounded chunk at a time."""

from __future__ import annotations

from collections.abc import Iterator
from itertools import pairwise

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from tickforge.engine.data import Events
from tickforge.engine.stream import merge_streams


def partitions(ts: np.ndarray, cuts: list[int], value: float) -> Iterator[Events]:
    bounds = [0, *sorted(set(cuts)), len(ts)]
    for a, b in pairwise(bounds):
        part = ts[a:b]
        px = np.full(len(part), value) + np.arange(a, b) * 1e-3
        yield Events("quotes", ["X"], part, np.zeros(len(part), np.int64), px, px, px, px,
                     np.zeros(len(part)), np.full(len(part), 0.1))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.lists(st.integers(0, 50), min_size=0, max_size=40),
                          st.lists(st.integers(0, 40), max_size=4)), min_size=1, max_size=3))
def test_merge_equals_stable_sort_of_everything(spec: list[tuple[list[int], list[int]]]) -> None:
    names = [f"S{k}" for k in range(len(spec))]
    codes = list(reversed(range(len(spec))))  # stream k is symbol len-1-k
    series = [np.sort(np.array(ts, np.int64)) for ts, _ in spec]
    streams = [partitions(ts, [c for c in cuts if c <= len(ts)], 100.0 * (k + 1))
               for k, (ts, (_, cuts)) in enumerate(zip(series, spec, strict=True))]
    chunks = list(merge_streams(streams, codes, names))
    got_ts = np.concatenate([c.ts for c in chunks]) if chunks else np.empty(0, np.int64)
    got_sym = np.concatenate([c.sym for c in chunks]) if chunks else np.empty(0, np.int64)
    got_px = np.concatenate([c.c for c in chunks]) if chunks else np.empty(0)
    all_ts = np.concatenate(series)
    all_sym = np.concatenate([np.full(len(s), codes[k]) for k, s in enumerate(series)])
    all_px = np.concatenate([100.0 * (k + 1) + np.arange(len(s)) * 1e-3
                             for k, s in enumerate(series)])
    order = np.argsort(all_ts, kind="stable")
    np.testing.assert_array_equal(got_ts, all_ts[order])
    np.testing.assert_array_equal(got_sym, all_sym[order])
    np.testing.assert_array_equal(got_px, all_px[order])
    assert all(c.symbols == names and len(c) > 0 for c in chunks)
