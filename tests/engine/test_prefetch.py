"""``engine.nb.prefetch``: a hint only. It must reach the machine code as a prefetch, change
nothing, and never fault, even past the end of an array (the sweep's decision on the last
event points one past it)."""

import re

import numpy as np
from numba import njit

from tickforge.engine import nb


@njit  # not cached: its assembly is inspected
def touch_all(ev: tuple, idx: np.ndarray) -> None:
    for i in idx:
        nb.prefetch_step(ev, i)
        nb.prefetch(ev[5], i)


def events(n: int) -> tuple:
    return (np.arange(n, dtype=np.int64), np.zeros(n, np.int64), np.ones(n), np.ones(n),
            np.ones(n), np.ones(n), np.zeros(n), np.zeros(n))


def test_prefetch_changes_nothing_and_never_faults() -> None:
    n = 1000
    ev = events(n)
    before = [a.copy() for a in ev]
    touch_all(ev, np.array([0, 1, n - 1, n, n + 7, 10 * n], np.int64))
    for a, b in zip(ev, before, strict=True):
        np.testing.assert_array_equal(a, b)


def test_prefetch_is_a_prefetch_instruction() -> None:
    touch_all(events(4), np.array([0], np.int64))
    asm = next(iter(touch_all.inspect_asm().values()))
    # instructions, not names (the function's own symbol says "test_prefetch"): x86
    # prefetcht0, aarch64 prfm; one per array of prefetch_step plus the close prices
    ops = re.findall(r"^\s*(prefetch\w*|prfm)\s", asm, re.MULTILINE)
    assert len(ops) >= 4, ops
