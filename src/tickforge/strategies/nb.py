"""Streaming indicator + signal kernels of the built-in strategies.

Each kernel walks one symbol's prices and returns a signal per event: +1 / -1 / 0 (go long,
short, flat) on the events where the strategy decides, NaN where it holds. Everything the
kernel remembers lives in ``st`` (scalars) and ``ring`` (the last prices), so a run fed chunk
by chunk gives exactly the same signals as one fed all at once. ``st[0]`` counts prices seen,
``st[1]`` is the ring position, ``st[2]`` the last signal.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

N, POS, LAST = 0, 1, 2


@njit(cache=True, _nrt=False, inline="always")
def push(ring: np.ndarray, st: np.ndarray, x: float, base: int = 0) -> float:
    """Store ``x`` (count in st[base], position in st[base + 1]); return the value that fell
    out of the window (NaN while filling)."""
    n = ring.shape[0]
    k = int(st[base + 1])
    old = ring[k] if st[base] >= n else math.nan
    ring[k] = x
    k += 1
    st[base + 1] = 0.0 if k == n else k
    st[base] += 1.0
    return old


@njit(cache=True, _nrt=False, inline="always")
def kahan_add(st: np.ndarray, i_sum: int, x: float) -> None:
    """Compensated running sum in st[i_sum], st[i_sum + 1]."""
    y = x - st[i_sum + 1]
    t = st[i_sum] + y
    st[i_sum + 1] = (t - st[i_sum]) - y
    st[i_sum] = t


@njit(cache=True, _nrt=False, inline="always")
def emit(out: np.ndarray, i: int, st: np.ndarray, sig: float) -> None:
    """Decide ``sig`` at event i only when it differs from the last decision."""
    if sig != st[LAST]:
        out[i] = sig
        st[LAST] = sig


@njit(cache=True, _nrt=False, inline="always")
def mean_add(st: np.ndarray, b: int, val: float) -> None:
    """pandas' rolling-mean add (Kahan sum, run of equal values), bit for bit.
    st[b:b+7] = sum, comp_add, comp_remove, nobs, same_run, prev_value, neg_count."""
    st[b + 3] += 1.0
    y = val - st[b + 1]
    t = st[b] + y
    st[b + 1] = t - st[b] - y
    st[b] = t
    if val < 0.0:
        st[b + 6] += 1.0
    if val == st[b + 5]:
        st[b + 4] += 1.0
    else:
        st[b + 4] = 1.0
    st[b + 5] = val


@njit(cache=True, _nrt=False, inline="always")
def mean_remove(st: np.ndarray, b: int, val: float) -> None:
    st[b + 3] -= 1.0
    y = -val - st[b + 2]
    t = st[b] + y
    st[b + 2] = t - st[b] - y
    st[b] = t
    if val < 0.0:
        st[b + 6] -= 1.0


@njit(cache=True, _nrt=False, inline="always")
def mean_value(st: np.ndarray, b: int, n: int) -> float:
    nobs = st[b + 3]
    if nobs < n:
        return math.nan
    result = st[b] / nobs
    if st[b + 4] >= nobs:
        return st[b + 5]
    if st[b + 6] == 0.0 and result < 0.0:
        return 0.0
    return result


@njit(cache=True, _nrt=False, inline="always")
def mean_step(st: np.ndarray, b: int, rb: int, ring: np.ndarray, v: float, n: int) -> float:
    """One step of pandas' ``rolling(n).mean()``: mean state in st[b:b+7], ring count and
    position in st[rb], st[rb + 1]. Shared by :func:`sma_cross` and :func:`rolling_mean`."""
    old = push(ring, st, v, rb)
    if not math.isnan(old):
        mean_remove(st, b, old)
    mean_add(st, b, v)
    return mean_value(st, b, n)


@njit(cache=True, _nrt=False, inline="always")
def cross_step(st: np.ndarray, b: int, f: float, s: float, short: bool) -> float:
    """Crossing signal of ``f`` over ``s`` given the previous pair in st[b], st[b + 1]
    (strict, as backtesting.py's ``crossover``); NaN when nothing crosses."""
    pf = st[b]
    ps = st[b + 1]
    st[b] = f
    st[b + 1] = s
    if pf < ps and f > s:
        return 1.0
    if pf > ps and f < s:
        return -1.0 if short else 0.0
    return math.nan


def sma_state(fast: int, slow: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Fresh (st, fast ring, slow ring) of :func:`sma_cross`."""
    st = np.zeros(24)
    st[LAST] = np.nan
    st[8] = st[15] = st[17] = st[18] = np.nan
    return st, np.zeros(fast), np.zeros(slow)


@njit(cache=True)
def sma_cross(x: np.ndarray, fast: int, slow: int, short: bool, st: np.ndarray,
              rf: np.ndarray, rs: np.ndarray) -> np.ndarray:
    """Fast SMA crossing above slow -> long; below -> short (or flat). A cross is
    ``f[t-1] < s[t-1] and f[t] > s[t]`` (strict, as backtesting.py's ``crossover``); the means
    are computed exactly as pandas' ``rolling(n).mean()`` so near-ties resolve the same way.
    st: 0/1 slow ring, 3..9 fast mean, 10..16 slow mean, 17 prev fast, 18 prev slow,
    19/20 fast ring."""
    out = np.empty(x.shape[0])
    for i in range(x.shape[0]):
        v = x[i]
        f = mean_step(st, 3, 19, rf, v, fast)
        s = mean_step(st, 10, 0, rs, v, slow)
        out[i] = cross_step(st, 17, f, s, short)
    return out


@njit(cache=True)
def rolling_mean_into(x: np.ndarray, n: int, out: np.ndarray) -> None:
    """pandas' ``rolling(n).mean()`` of a whole series into ``out``, bit for bit the means
    :func:`sma_cross` computes (same :func:`mean_step`, same fresh state)."""
    st = np.zeros(24)
    st[8] = np.nan
    ring = np.zeros(n)
    for i in range(x.shape[0]):
        out[i] = mean_step(st, 3, 0, ring, x[i], n)


@njit(cache=True)
def rolling_mean(x: np.ndarray, n: int) -> np.ndarray:
    out = np.empty(x.shape[0])
    rolling_mean_into(x, n, out)
    return out


@njit(cache=True)
def ema_cross(x: np.ndarray, fast: int, slow: int, short: bool, st: np.ndarray) -> np.ndarray:
    """EMAs (alpha = 2 / (n + 1), seeded with the first price, valid after n prices) crossing.
    st: 3 ema_f, 4 ema_s, 5 prev_diff."""
    out = np.full(x.shape[0], np.nan)
    af = 2.0 / (fast + 1.0)
    a_s = 2.0 / (slow + 1.0)
    for i in range(x.shape[0]):
        v = x[i]
        if st[N] == 0:
            st[3] = v
            st[4] = v
            st[5] = math.nan
        else:
            st[3] += af * (v - st[3])
            st[4] += a_s * (v - st[4])
        st[N] += 1.0
        if st[N] < slow:
            continue
        d = st[3] - st[4]
        if st[5] < 0.0 < d:
            out[i] = 1.0
        elif st[5] > 0.0 > d:
            out[i] = -1.0 if short else 0.0
        st[5] = d
    return out


@njit(cache=True)
def donchian(x: np.ndarray, short: bool, st: np.ndarray, ring: np.ndarray) -> np.ndarray:
    """Price above the highest of the previous n prices -> long; below the lowest -> short
    (or flat)."""
    out = np.full(x.shape[0], np.nan)
    n = ring.shape[0]
    for i in range(x.shape[0]):
        v = x[i]
        if st[N] >= n:
            hi = ring.max()
            lo = ring.min()
            if v > hi:
                emit(out, i, st, 1.0)
            elif v < lo:
                emit(out, i, st, -1.0 if short else 0.0)
        push(ring, st, v)
    return out


@njit(cache=True)
def bollinger(x: np.ndarray, k: float, short: bool, st: np.ndarray,
              ring: np.ndarray) -> np.ndarray:
    """Below mean - k sd -> long, above mean + k sd -> short (or flat); back to flat when the
    price crosses the mean. Mean and sample sd of the last n prices, current included."""
    out = np.full(x.shape[0], np.nan)
    n = ring.shape[0]
    for i in range(x.shape[0]):
        v = x[i]
        push(ring, st, v)
        if st[N] < n:
            continue
        mean = ring.mean()
        sd = math.sqrt(((ring - mean) ** 2).sum() / (n - 1)) if n > 1 else 0.0
        if v < mean - k * sd:
            emit(out, i, st, 1.0)
        elif v > mean + k * sd:
            emit(out, i, st, -1.0 if short else 0.0)
        elif (st[LAST] > 0 and v >= mean) or (st[LAST] < 0 and v <= mean):
            emit(out, i, st, 0.0)
    return out


@njit(cache=True)
def rsi_reversion(x: np.ndarray, n: int, low: float, high: float, short: bool,
                  st: np.ndarray) -> np.ndarray:
    """Wilder RSI(n): below ``low`` -> long, above ``high`` -> short (or flat); flat again when
    it crosses 50. st: 3 prev price, 4 avg gain, 5 avg loss."""
    out = np.full(x.shape[0], np.nan)
    for i in range(x.shape[0]):
        v = x[i]
        if st[N] > 0:
            ch = v - st[3]
            gain = max(ch, 0.0)
            loss = max(-ch, 0.0)
            if st[N] <= n:
                st[4] += gain / n
                st[5] += loss / n
            else:
                st[4] = (st[4] * (n - 1) + gain) / n
                st[5] = (st[5] * (n - 1) + loss) / n
        st[3] = v
        st[N] += 1.0
        if st[N] <= n:
            continue
        rsi = 100.0 if st[5] == 0.0 else 100.0 - 100.0 / (1.0 + st[4] / st[5])
        if rsi < low:
            emit(out, i, st, 1.0)
        elif rsi > high:
            emit(out, i, st, -1.0 if short else 0.0)
        elif (st[LAST] > 0 and rsi >= 50.0) or (st[LAST] < 0 and rsi <= 50.0):
            emit(out, i, st, 0.0)
    return out


@njit(cache=True)
def momentum(x: np.ndarray, threshold: float, short: bool, st: np.ndarray,
             ring: np.ndarray) -> np.ndarray:
    """Return over the last n prices above ``threshold`` -> long, below ``-threshold`` ->
    short (or flat)."""
    out = np.full(x.shape[0], np.nan)
    for i in range(x.shape[0]):
        v = x[i]
        old = push(ring, st, v)
        if math.isnan(old) or old == 0.0:
            continue
        r = v / old - 1.0
        if r > threshold:
            emit(out, i, st, 1.0)
        elif r < -threshold:
            emit(out, i, st, -1.0 if short else 0.0)
    return out


@njit(cache=True)
def buy_and_hold(x: np.ndarray, st: np.ndarray) -> np.ndarray:
    out = np.full(x.shape[0], np.nan)
    if x.shape[0] and st[N] == 0:
        out[0] = 1.0
    st[N] += x.shape[0]
    return out
