"""Numba kernels of validation (:mod:`tickforge.data.validate`). NumPy in, NumPy out.

:func:`check_rows` applies every rule to a chunk in ONE pass over its column arrays and
writes a reason code per row (``uint8``): ``GOOD``, a field-rule number (``1 ..``, mapped to
its text by the validator), ``DUP``, ``OUT_OF_ORDER``, ``SPIKE`` or ``HELD`` (the last
candidate, whose spike verdict needs the next row). State that crosses chunk boundaries
(last valid row, latest kept timestamp, spike scale, held-back price) lives in small arrays
owned by the caller. Kept apart from ``data/nb.py`` (bars and synthetic ticks).

Columns are passed as separate arrays, up to four prices (``p0..p3``) and two sizes
(``s0, s1``); a dataset with fewer passes one of its own columns again in the unused
slots (``n_prices`` / ``n_sizes`` say how many are real). Separate arrays rather than a
tuple indexed at run time: that costs an array reference count per access, 10x slower.
"""

from __future__ import annotations

import numpy as np
from numba import njit

GOOD = 0
DUP = 250
OUT_OF_ORDER = 251
SPIKE = 252
HELD = 253

RULE_NONE = 0  # trades
RULE_CROSSED = 1  # quotes: bid > ask
RULE_BARS = 2  # bars: high < low, high < max(open, close), low > min(open, close)

# istate (int64[4]): a valid row seen, its ts, latest kept ts, a held-back row exists
I_HAS_LAST, I_LAST_TS, I_MAX_TS, I_PENDING = 0, 1, 2, 3
# fstate (float64[4]): spike reference price, scale, returns seen, held-back row's price
F_REF, F_SCALE, F_SEEN, F_PENDING = 0, 1, 2, 3
# last (float64[6]): the last valid row's p0, p1, p2, p3, s0, s1
# out (int64[8]): counts and positions of one chunk
O_GOOD, O_BAD, O_DUP, O_HELD, O_VERDICT, O_FIRST, O_LAST, O_LAST_VALID = range(8)
NO_VERDICT = -1  # O_VERDICT: the previous chunk's held row is still undecided


@njit(cache=True, inline="always")
def price_code(x: float, code: int) -> int:
    if not np.isfinite(x):
        return code
    if x <= 0.0:
        return code + 1
    return GOOD


Prices = tuple[float, float, float, float]
Sizes = tuple[float, float]


@njit(cache=True)
def field_code(v: Prices, n_prices: int, w: Sizes, n_sizes: int, rule: int, base: int) -> int:
    """First failing field rule of a row with prices ``v`` and sizes ``w`` (``base`` = number
    of the first price rule)."""
    o, h, lo, c = v
    for j, x in enumerate((o, h, lo, c)):
        if j < n_prices:
            code = price_code(x, base + 2 * j)
            if code != GOOD:
                return code
    code = base + 2 * n_prices
    if w[0] < 0.0:
        return code
    if n_sizes > 1 and w[1] < 0.0:
        return code + 1
    code += n_sizes
    if rule == RULE_CROSSED and o > h:
        return code
    if rule == RULE_BARS:
        if h < lo:
            return code
        if h < max(o, c):
            return code + 1
        if lo > min(o, c):
            return code + 2
    return GOOD


@njit(cache=True, inline="always")
def same_float(a: float, b: float) -> bool:
    return a == b or (a != a and b != b)


@njit(cache=True, inline="always")
def same_row(ts: int, v: Prices, w: Sizes, last_ts: int, lv: Prices, lw: Sizes) -> bool:
    """A row equal to the last valid row in ts, every price and size (NaN equals NaN)."""
    return (ts == last_ts and same_float(v[0], lv[0]) and same_float(v[1], lv[1])
            and same_float(v[2], lv[2]) and same_float(v[3], lv[3])
            and same_float(w[0], lw[0]) and same_float(w[1], lw[1]))


@njit(cache=True, inline="always")
def same_keys(keys: np.ndarray, i: int, last_keys: np.ndarray) -> bool:
    for c in range(keys.shape[0]):  # noqa: SIM110 (numba-friendly)
        if keys[c, i] != last_keys[c]:
            return False
    return True


@njit(cache=True, inline="always")
def judge(p: float, q: float, ref: float, scale: float, seen: float,
          params: np.ndarray) -> tuple[bool, float, float, float]:
    """Spike verdict on price ``p`` given the next price ``q``: (spike, ref, scale, seen).

    ``params`` = (k, alpha, warmup, floor). With ``thr = k * max(scale, floor)``, ``p`` is a
    spike when its log return from the reference and the return to ``q`` both exceed
    ``thr``, have opposite signs and cancel to within half of the first. A spike leaves the
    reference and the scale (EWMA of clipped absolute returns) untouched; otherwise ``p``
    becomes the reference.
    """
    if np.isnan(ref):
        return False, p, scale, seen
    k, alpha, warmup, floor = params[0], params[1], params[2], params[3]
    r1 = 0.0 if p == ref else np.log(p / ref)
    thr = k * max(scale, floor)
    if seen >= warmup and abs(r1) > thr:
        r2 = np.log(q / p)
        if abs(r2) > thr and r1 * r2 < 0.0 and abs(r1 + r2) < 0.5 * abs(r1):
            return True, ref, scale, seen
    a = abs(r1)
    if seen >= warmup:
        scale += alpha * (min(a, thr) - scale)
    else:
        scale += (a - scale) / (seen + 1.0)
    return False, p, scale, seen + 1.0


@njit(cache=True, nogil=True)
def check_rows(ts: np.ndarray, p0: np.ndarray, p1: np.ndarray, p2: np.ndarray,
               p3: np.ndarray, n_prices: int, s0: np.ndarray, s1: np.ndarray, n_sizes: int,
               keys: np.ndarray, last_keys: np.ndarray, codes: np.ndarray, rule: int,
               base: int, spike_mode: int, params: np.ndarray, istate: np.ndarray,
               fstate: np.ndarray, last: np.ndarray, out: np.ndarray) -> None:
    """Validate one chunk in one pass; see the module docstring.

    ``codes`` comes in with the ``missing <field>`` codes set (0 elsewhere) and leaves with
    every row's code. ``spike_mode``: 0 no spike rule, 1 price = ``p0``, 2 price = mid of
    ``p0`` and ``p1``. ``keys`` (int64, one row per extra column) holds equality keys of
    non-float columns; ``last_keys`` those of the last valid row (-1: none in this key
    space; updated). ``out`` receives counts and positions. State is kept in locals
    inside the loop and written back at the end. Runs without the GIL, so the encoder
    threads' Python parts are not held up by it.
    """
    n_good = n_bad = n_dup = 0
    first = last_good = last_valid = -1
    verdict = NO_VERDICT
    has_last = istate[I_HAS_LAST] != 0
    last_ts, max_ts = istate[I_LAST_TS], istate[I_MAX_TS]
    lv = (last[0], last[1], last[2], last[3])
    lw = (last[4], last[5])
    pending = -1 if istate[I_PENDING] != 0 else -2  # -1: held from the previous chunk
    pending_price = fstate[F_PENDING]
    ref, scale, seen = fstate[F_REF], fstate[F_SCALE], fstate[F_SEEN]
    for i in range(ts.size):
        v = (p0[i], p1[i], p2[i], p3[i])
        w = (s0[i], s1[i])
        c = codes[i]
        if c == GOOD:
            c = field_code(v, n_prices, w, n_sizes, rule, base)
        if c != GOOD:
            codes[i] = c
            n_bad += 1
            continue
        last_valid = i
        if has_last and same_row(ts[i], v, w, last_ts, lv, lw) and same_keys(keys, i, last_keys):
            codes[i] = DUP
            n_dup += 1
            continue
        has_last, last_ts, lv, lw = True, ts[i], v, w
        for k in range(keys.shape[0]):
            last_keys[k] = keys[k, i]
        if ts[i] < max_ts:
            codes[i] = OUT_OF_ORDER
            n_bad += 1
            continue
        max_ts = ts[i]
        if spike_mode == 0:
            codes[i] = GOOD
            n_good += 1
            first = i if first < 0 else first
            last_good = i
            continue
        p = v[0] if spike_mode == 1 else (v[0] + v[1]) * 0.5
        if pending != -2:
            spike, ref, scale, seen = judge(pending_price, p, ref, scale, seen, params)
            if pending == -1:
                verdict = 1 if spike else 0
            elif spike:
                codes[pending] = SPIKE
                n_bad += 1
            else:
                codes[pending] = GOOD
                n_good += 1
                first = pending if first < 0 else first
                last_good = pending
        pending, pending_price = i, p
        codes[i] = HELD
    istate[I_HAS_LAST], istate[I_LAST_TS], istate[I_MAX_TS] = has_last, last_ts, max_ts
    fstate[F_REF], fstate[F_SCALE], fstate[F_SEEN] = ref, scale, seen
    last[0], last[1], last[2], last[3], last[4], last[5] = *lv, *lw
    out[O_GOOD], out[O_BAD], out[O_DUP] = n_good, n_bad, n_dup
    out[O_VERDICT], out[O_FIRST], out[O_LAST], out[O_LAST_VALID] = (verdict, first, last_good,
                                                                      last_valid)
    out[O_HELD] = -1
    save_pending(pending, pending_price, istate, fstate, out)


@njit(cache=True)
def save_pending(pending: int, price: float, istate: np.ndarray, fstate: np.ndarray,
                 out: np.ndarray) -> None:
    """Carry the held-back row (if this chunk set one) to the next chunk."""
    if pending >= 0:
        out[O_HELD] = pending
        istate[I_PENDING] = 1
        fstate[F_PENDING] = price
    elif pending == -2:
        istate[I_PENDING] = 0
