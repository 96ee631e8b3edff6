"""Numba kernels of the Result frames (:mod:`tickforge.engine.broker`): one pass over the
book's row-major tables instead of a column copy and a NumPy ufunc per derived column.
Every value is the one the NumPy formula gives, bit for bit (tests/engine/test_frames.py)."""

from __future__ import annotations

import numpy as np
from numba import njit

from tickforge.engine.nb import E_CASH, E_EQ, E_POSVAL


@njit(cache=True, inline="always")
def running_peak(peak: float, x: float) -> float:
    """``np.maximum(peak, x)`` up to the sign of a zero: NaN if either is NaN, else the
    larger (a zero peak is never divided by, so its sign does not matter)."""
    if peak != peak:
        return peak
    return x if x > peak or x != x else peak


@njit(cache=True, error_model="numpy")
def equity_block(eq: np.ndarray, out: np.ndarray) -> None:
    """The float block ``out`` (5, n) of the equity frame from the first n rows of the
    equity table ``eq``: equity, cash, position value, drawdown ``equity / peak - 1`` where
    the running peak (``np.maximum.accumulate``, NaN sticks) is > 0 else 0, and exposure
    ``position value / equity`` where equity > 0 else 0. ``out`` comes from NumPy, whose
    large arrays get huge pages (numba's do not: a page fault per 4 KiB)."""
    n = out.shape[1]
    peak = eq[0, E_EQ] if n else 0.0
    for i in range(n):
        e, pv = eq[i, E_EQ], eq[i, E_POSVAL]
        peak = running_peak(peak, e)
        out[0, i] = e
        out[1, i] = eq[i, E_CASH]
        out[2, i] = pv
        out[3, i] = e / peak - 1.0 if peak > 0.0 else 0.0
        out[4, i] = pv / e if e > 0.0 else 0.0


@njit(cache=True)
def fill_offsets(offsets: np.ndarray, size: int) -> None:
    """``offsets[i] = i * size``: the offsets of a string array of equal-size values."""
    for i in range(offsets.shape[0]):
        offsets[i] = i * size

