"""Numba kernels of validation (:mod:`tickforge.data.validate`). NumPy in, NumPy out.

Kept apart from ``data/nb.py`` (bars and synthetic ticks) so the two can change independently.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def spike_flags(
    price: np.ndarray, state: np.ndarray, k: float, alpha: float, warmup: int, floor: float
) -> np.ndarray:
    """Flag one-tick excursions judged on log returns; the last price stays undecided.

    ``state`` (float64[3], updated in place): reference price (last confirmed price, NaN
    when none yet), robust scale (EWMA of clipped absolute log returns), returns seen.
    Price ``i`` is a spike when, with ``thr = k * max(scale, floor)``, both its return from
    the reference and the return to the next price exceed ``thr``, have opposite signs and
    cancel to within half of the first. A spike leaves the reference and scale untouched.
    Returns flags for ``price[:-1]``; ``price[-1]`` needs the next price to be judged.
    """
    n = price.size
    flags = np.zeros(max(n - 1, 0), np.bool_)
    ref, scale, seen = state[0], state[1], state[2]
    for i in range(n - 1):
        p = price[i]
        if np.isnan(ref):
            ref = p
            continue
        r1 = np.log(p / ref)
        thr = k * max(scale, floor)
        if seen >= warmup and abs(r1) > thr:
            r2 = np.log(price[i + 1] / p)
            if abs(r2) > thr and r1 * r2 < 0.0 and abs(r1 + r2) < 0.5 * abs(r1):
                flags[i] = True
                continue
        a = abs(r1)
        if seen >= warmup:
            scale += alpha * (min(a, thr) - scale)
        else:
            scale += (a - scale) / (seen + 1.0)
        seen += 1.0
        ref = p
    state[0], state[1], state[2] = ref, scale, seen
    return flags
