"""``engine.nb.prefetch``: a hint only, so calling it changes nothing and never faults,
even one past the end of an array (where the sweep's decision on the last event points)."""

import numpy as np
from numba import njit

from tickforge.engine import nb


@njit(cache=True)
def touch_all(ev: tuple, idx: np.ndarray) -> float:
    total = 0.0
    for i in idx:
        nb.prefetch_step(ev, i)
        nb.prefetch(ev[5], i)
        total += 1.0
    return total


def test_prefetch_changes_nothing_and_never_faults() -> None:
    n = 1000
    ev = (np.arange(n, dtype=np.int64), np.zeros(n, np.int64), np.ones(n), np.ones(n),
          np.ones(n), np.ones(n), np.zeros(n), np.zeros(n))
    before = [a.copy() for a in ev]
    idx = np.array([0, 1, n - 1, n, n + 7, 10 * n], np.int64)
    assert touch_all(ev, idx) == len(idx)
    for a, b in zip(ev, before, strict=True):
        np.testing.assert_array_equal(a, b)
