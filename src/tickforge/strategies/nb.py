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

from tickforge.engine import nb as core

N, POS, LAST = 0, 1, 2
MeanState = tuple[float, float, float, float, float, float, float, float, float]


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
    return cross_of(pf, ps, f, s, short)


@njit(cache=True, _nrt=False, inline="always")
def cross_of(pf: float, ps: float, f: float, s: float, short: bool) -> float:
    """:func:`cross_step` on scalars: the pair ``(pf, ps)`` before, ``(f, s)`` now."""
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


@njit(cache=True, _nrt=False, inline="always")
def mean_load(st: np.ndarray, b: int, rb: int) -> MeanState:
    """The state of one rolling mean as scalars (sum, comp_add, comp_remove, nobs, same_run,
    prev_value, neg_count, ring count, ring position): a loop keeps it in registers."""
    return (st[b], st[b + 1], st[b + 2], st[b + 3], st[b + 4], st[b + 5], st[b + 6], st[rb],
            st[rb + 1])


@njit(cache=True, _nrt=False, inline="always")
def mean_store(st: np.ndarray, b: int, rb: int, m: MeanState) -> None:
    st[b], st[b + 1], st[b + 2], st[b + 3], st[b + 4], st[b + 5], st[b + 6] = m[:7]
    st[rb], st[rb + 1] = m[7], m[8]


@njit(cache=True, _nrt=False, inline="always")
def mean_acc(m: MeanState, ring: np.ndarray, v: float) -> MeanState:
    """:func:`mean_step`'s state update on scalar state: the same operations in the same
    order (remove the value falling out, then add ``v``), so the same sums bit for bit.
    Counters are updated by selects, not branches."""
    total, c_add, c_rem, nobs, same, prev, neg, count, k = m
    n = ring.shape[0]
    j = int(k)
    old = ring[j] if count >= n else math.nan
    if not math.isnan(old):
        nobs -= 1.0
        y = -old - c_rem
        t = total + y
        c_rem = t - total - y
        total = t
        neg -= 1.0 if old < 0.0 else 0.0
    ring[j] = v
    j += 1
    k = 0.0 if j == n else float(j)
    count += 1.0
    nobs += 1.0
    y = v - c_add
    t = total + y
    c_add = t - total - y
    total = t
    neg += 1.0 if v < 0.0 else 0.0
    same = same + 1.0 if v == prev else 1.0
    return (total, c_add, c_rem, nobs, same, v, neg, count, k)


@njit(cache=True, _nrt=False, inline="always")
def mean_of(m: MeanState, n: int) -> float:
    """:func:`mean_value` of scalar state: pandas' rolling mean after the last update."""
    total, nobs, same, prev, neg = m[0], m[3], m[4], m[5], m[6]
    if nobs < n:
        return math.nan
    result = total / nobs
    if same >= nobs:
        return prev
    if neg == 0.0 and result < 0.0:
        return 0.0
    return result


@njit(cache=True, _nrt=False, inline="always")
def mean_next(m: MeanState, ring: np.ndarray, v: float) -> tuple[float, MeanState]:
    """One step of pandas' rolling mean on scalar state: (mean, new state)."""
    m = mean_acc(m, ring, v)
    return mean_of(m, ring.shape[0]), m


@njit(cache=True, _nrt=False, inline="always")
def order_of(f: float, s: float) -> int:
    """How ``f`` compares with ``s``: 1 above, -1 below, 0 equal, 2 unordered (NaN)."""
    if f > s:
        return 1
    if f < s:
        return -1
    return 0 if f == s else 2


@njit(cache=True, _nrt=False, inline="always")
def order_fast(mf: MeanState, ms: MeanState, inv_f: float, inv_s: float, nf: int,
               ns: int) -> int:
    """:func:`order_of` of the two exact means without dividing when the answer is clear:
    ``total * (1 / n)`` is within 3 ulp of ``total / n``, so a gap above 1e-15 relative
    decides the order of the exact means; near-ties, NaN, runs of equal values and
    non-positive means take the exact path."""
    a = mf[0] * inv_f
    b = ms[0] * inv_s
    clear = (mf[3] == nf and ms[3] == ns and mf[4] < nf and ms[4] < ns and a > 1e-300
             and b > 1e-300 and abs(a - b) > 1e-15 * (a + b))
    if clear:
        return 1 if a > b else -1
    return order_of(mean_of(mf, nf), mean_of(ms, ns))


@njit(cache=True, _nrt=False, inline="always")
def cross_code(prev: int, now: int, short: bool) -> float:
    """:func:`cross_step` from orders: -1 -> 1 goes long, 1 -> -1 short (or flat)."""
    if prev == -1 and now == 1:
        return 1.0
    if prev == 1 and now == -1:
        return -1.0 if short else 0.0
    return math.nan


@njit(cache=True, _nrt=False)
def sma_cross_mid(c: np.ndarray, sp: np.ndarray, half: float, fast: int, slow: int,
                  short: bool, st: np.ndarray, rf: np.ndarray, rs: np.ndarray,
                  out: np.ndarray) -> None:
    """:func:`sma_cross` on the price ``c + half * sp`` (half = 0.5: quote mids, the same
    ``c + 0.5 * sp`` as ``Events.price``; half = 0: bar closes) without a price array.
    The state lives in scalars during the loop, and the means are compared without a
    division unless they nearly tie (:func:`order_fast`)."""
    mf = mean_load(st, 3, 19)
    ms = mean_load(st, 10, 0)
    prev = order_of(st[17], st[18])
    inv_f, inv_s = 1.0 / fast, 1.0 / slow
    for i in range(c.shape[0]):
        v = c[i] + half * sp[i] if half != 0.0 else c[i]
        mf = mean_acc(mf, rf, v)
        ms = mean_acc(ms, rs, v)
        now = order_fast(mf, ms, inv_f, inv_s, fast, slow)
        out[i] = cross_code(prev, now, short)
        prev = now
    sma_store(st, (mf, ms, prev), fast, slow)


@njit(cache=True)
def sma_cross(x: np.ndarray, fast: int, slow: int, short: bool, st: np.ndarray,
              rf: np.ndarray, rs: np.ndarray) -> np.ndarray:
    """Fast SMA crossing above slow -> long; below -> short (or flat). A cross is
    ``f[t-1] < s[t-1] and f[t] > s[t]`` (strict, as backtesting.py's ``crossover``); the means
    are computed exactly as pandas' ``rolling(n).mean()`` so near-ties resolve the same way.
    st: 0/1 slow ring, 3..9 fast mean, 10..16 slow mean, 17 prev fast, 18 prev slow,
    19/20 fast ring."""
    out = np.empty(x.shape[0])
    sma_cross_mid(x, x, 0.0, fast, slow, short, st, rf, rs, out)
    return out


@njit(cache=True)
def sma_cross_ref(x: np.ndarray, fast: int, slow: int, short: bool, st: np.ndarray,
                  rf: np.ndarray, rs: np.ndarray) -> np.ndarray:
    """The step-by-step form (state in ``st`` at every step): the reference the tests hold
    :func:`sma_cross` to, bit for bit."""
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
    :func:`sma_cross` computes (same arithmetic, same fresh state)."""
    m = (0.0, 0.0, 0.0, 0.0, 0.0, math.nan, 0.0, 0.0, 0.0)
    ring = np.zeros(n)
    for i in range(x.shape[0]):
        out[i], m = mean_next(m, ring, x[i])


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


# ---------------------------------------------------------------- fused run (signals + core)

SmaState = tuple[MeanState, MeanState, int]


@njit(cache=True, _nrt=False, inline="always")
def sma_load(st: np.ndarray) -> SmaState:
    return mean_load(st, 3, 19), mean_load(st, 10, 0), order_of(st[17], st[18])


@njit(cache=True, _nrt=False, inline="always")
def sma_store(st: np.ndarray, m: SmaState, fast: int, slow: int) -> None:
    """Save the state; st[17], st[18] get the last exact means (NaN before any price)."""
    mean_store(st, 3, 19, m[0])
    mean_store(st, 10, 0, m[1])
    st[17], st[18] = mean_of(m[0], fast), mean_of(m[1], slow)


@njit(cache=True, _nrt=False, inline="always")
def sma_next(m: SmaState, rf: np.ndarray, rs: np.ndarray, v: float, inv_f: float,
             inv_s: float, short: bool) -> tuple[float, SmaState]:
    """One price into :func:`sma_cross_mid`'s state: (signal, new state)."""
    mf = mean_acc(m[0], rf, v)
    ms = mean_acc(m[1], rs, v)
    now = order_fast(mf, ms, inv_f, inv_s, rf.shape[0], rs.shape[0])
    return cross_code(m[2], now, short), (mf, ms, now)


# Steady state of one rolling mean (window full, no NaN): (sum, comp_add, comp_remove,
# same_run, neg_count, ring position). nobs is the window length and the ring count only
# grows, so neither is carried: fewer loop-carried values, no spills in the fused loop.
Steady = tuple[float, float, float, float, float, int]


@njit(cache=True, _nrt=False, inline="always")
def steady_ok(m: MeanState, n: int) -> bool:
    return m[7] >= n and m[3] == n


@njit(cache=True, _nrt=False, inline="always")
def steady_of(m: MeanState) -> Steady:
    return (m[0], m[1], m[2], m[4], m[6], int(m[8]))


@njit(cache=True, _nrt=False, inline="always")
def steady_back(s: Steady, n: int, prev: float, count: float) -> MeanState:
    return (s[0], s[1], s[2], float(n), s[3], prev, s[4], count, float(s[5]))


@njit(cache=True, _nrt=False, inline="always")
def kahan_move(total: float, c_add: float, c_rem: float, old: float,
               v: float) -> tuple[float, float, float]:
    """:func:`steady_acc`'s sums: remove ``old``, then add ``v`` (pandas' order)."""
    y = -old - c_rem
    t = total + y
    c_rem = t - total - y
    total = t
    y = v - c_add
    t = total + y
    return t, t - total - y, c_rem


@njit(cache=True, _nrt=False, inline="always")
def steady_acc(s: Steady, ring: np.ndarray, old: float, v: float, prev: float) -> Steady:
    """:func:`mean_acc` on a full window (``old`` = the ring value falling out, not NaN):
    the same operations in the same order, so the same sums bit for bit."""
    total, c_add, c_rem, same, neg, k = s
    total, c_add, c_rem = kahan_move(total, c_add, c_rem, old, v)
    ring[k] = v
    k = 0 if k + 1 == ring.shape[0] else k + 1
    neg += (1.0 if v < 0.0 else 0.0) - (1.0 if old < 0.0 else 0.0)
    same = same + 1.0 if v == prev else 1.0
    return (total, c_add, c_rem, same, neg, k)


@njit(cache=True, _nrt=False, inline="always")
def steady_order(sf: Steady, ss: Steady, inv_f: float, inv_s: float, nf: int, ns: int,
                 v: float) -> int:
    """:func:`order_fast` on steady states (``v`` = the last value, both windows full)."""
    a = sf[0] * inv_f
    b = ss[0] * inv_s
    if sf[3] < nf and ss[3] < ns and a > 1e-300 and b > 1e-300 and abs(a - b) > 1e-15 * (a + b):
        return 1 if a > b else -1
    return order_of(mean_of(steady_back(sf, nf, v, 0.0), nf),
                    mean_of(steady_back(ss, ns, v, 0.0), ns))


# Steady SMA pair as scalars: (fast state, slow state, last value, last order of the means).
SteadyPair = tuple[Steady, Steady, float, int]


@njit(cache=True, _nrt=False, inline="always")
def pair_next(p: SteadyPair, rf: np.ndarray, rs: np.ndarray, old_f: float, old_s: float,
              v: float, inv_f: float, inv_s: float, short: bool) -> tuple[float, SteadyPair]:
    """One value into both means: (signal, new pair)."""
    sf = steady_acc(p[0], rf, old_f, v, p[2])
    ss = steady_acc(p[1], rs, old_s, v, p[2])
    now = steady_order(sf, ss, inv_f, inv_s, rf.shape[0], rs.shape[0], v)
    return cross_code(p[3], now, short), (sf, ss, v, now)


@njit(cache=True, _nrt=False, inline="always")
def steady_loop(book: tuple[np.ndarray, ...], ev: tuple[np.ndarray, ...], half: float,
                short: bool, p: SteadyPair, rf: np.ndarray, rs: np.ndarray,
                qs: core.QState, qc: core.QConst, i0: int,
                i1: int) -> tuple[int, SteadyPair, float, bool, core.QState]:
    """:func:`sma_quiet`'s loop with :func:`engine.nb.quiet_event`."""
    cfg, eq, eq_t = book[10], book[8], book[9]
    ts_a, h_a, l_a, c_a, sp_a = ev[0], ev[3], ev[4], ev[5], ev[7]
    inv_f, inv_s = 1.0 / rf.shape[0], 1.0 / rs.shape[0]
    i, sig, have = i0, math.nan, False
    while i < i1:
        ts, c, sp = ts_a[i], c_a[i], sp_a[i]
        v = c + half * sp if half != 0.0 else c
        old_f, old_s = rf[p[0][5]], rs[p[1][5]]
        if core.quiet_blocked(qs, qc, ts) or math.isnan(v + old_f + old_s):
            break
        sig, p = pair_next(p, rf, rs, old_f, old_s, v, inv_f, inv_s, short)
        if not core.quiet_margin_ok(qs[0], qc, cfg, c, sp):
            have = True
            break
        qs = core.quiet_event(qs, qc, eq, eq_t, ts, h_a[i], l_a[i], c, sp)
        i += 1
        if not math.isnan(sig):
            break
    return i, p, sig, have, qs


@njit(cache=True, _nrt=False, inline="always")
def scan_ok(p: SteadyPair) -> bool:
    """:func:`pair_scan` applies: no negative value in either window, and one run of equal
    values for both (the same values went into both, so their runs agree)."""
    return p[0][4] == 0.0 and p[1][4] == 0.0 and p[0][3] == p[1][3]


# A mean above the other by this factor (computed as ``total * (1 / n)``, within 3 ulp of
# ``total / n``) is above it exactly too: :func:`order_fast`'s test, one multiply.
CLEAR = 1.0 + 4e-15


@njit(cache=True, _nrt=False, inline="always")
def still_clear(order: int, a: float, b: float, same: float, n_min: float) -> bool:
    """The means keep their last order ``order``, surely: :func:`steady_order` would give
    ``order`` again (a cheaper sufficient test; the exact one decides otherwise)."""
    if same >= n_min:
        return False
    if order == 1:
        return a > b * CLEAR and b > 1e-300
    return order == -1 and b > a * CLEAR and a > 1e-300


@njit(cache=True, _nrt=False)
def pair_scan(ts_a: np.ndarray, c_a: np.ndarray, sp_a: np.ndarray, half: float, short: bool,
              p: SteadyPair, rf: np.ndarray, rs: np.ndarray, band_lo: float, band_hi: float,
              roll: int, i0: int, i1: int) -> tuple[int, SteadyPair, float]:
    """The signal pass of a lean stretch (:func:`scan_ok`): :func:`pair_next` over the
    events from ``i0`` to ``i1`` (:func:`engine.nb.lean_reach`) while they come before the
    day roll (time ``roll``), their marks need no margin check (inside
    :func:`engine.nb.margin_band`'s band) and their values are >= 0; stops after the first
    signal, before an event that fails a test (a NaN fails two), or at ``i1``. The same
    sums bit for bit, on unpacked state: no negative value enters, so the counts of
    negative values stay 0; one run of equal values serves both means; runs of events end
    where a ring wraps, so the ring positions need no test per event. A function of its
    own, called once per block, with nothing else in its loop (the price extremes are
    taken after it, :func:`engine.nb.extremes`): inlined into the run loop, or with more
    live values, the compiler kept the sums' compensations on the stack, a store and a
    load on their dependency chains every event."""
    nf, ns = rf.shape[0], rs.shape[0]
    inv_f, inv_s, n_min = 1.0 / nf, 1.0 / ns, float(min(nf, ns))
    (tot_f, add_f, rem_f, same, neg_f, kf), (tot_s, add_s, rem_s, _, neg_s, ks), pv, order = p
    i, sig, go = i0, math.nan, True
    while go and i < i1:
        stop = i + min(i1 - i, nf - kf, ns - ks)
        while i < stop:
            c, sp = c_a[i], sp_a[i]
            v = c + half * sp if half != 0.0 else c
            if not (v >= 0.0 and c >= band_lo and c + sp <= band_hi and ts_a[i] < roll):
                go = False
                break
            tot_f, add_f, rem_f = kahan_move(tot_f, add_f, rem_f, rf[kf], v)
            tot_s, add_s, rem_s = kahan_move(tot_s, add_s, rem_s, rs[ks], v)
            rf[kf], rs[ks] = v, v
            kf, ks = kf + 1, ks + 1
            same = same + 1.0 if v == pv else 1.0
            pv = v
            i += 1
            if still_clear(order, tot_f * inv_f, tot_s * inv_s, same, n_min):
                continue
            now = steady_order((tot_f, add_f, rem_f, same, 0.0, kf),
                               (tot_s, add_s, rem_s, same, 0.0, ks), inv_f, inv_s, nf, ns, v)
            sig, order = cross_code(order, now, short), now
            if not math.isnan(sig):
                go = False
                break
        kf = 0 if kf == nf else kf
        ks = 0 if ks == ns else ks
    return i, ((tot_f, add_f, rem_f, same, neg_f, kf), (tot_s, add_s, rem_s, same, neg_s, ks),
               pv, order), sig


@njit(cache=True, _nrt=False, inline="always")
def steady_lean_loop(book: tuple[np.ndarray, ...], ev: tuple[np.ndarray, ...], half: float,
                     short: bool, p: SteadyPair, rf: np.ndarray, rs: np.ndarray,
                     qs: core.QState, qc: core.QConst, i0: int,
                     i1: int) -> tuple[int, SteadyPair, float, bool, core.QState]:
    """:func:`steady_loop` on the core's lean quiet state (:func:`engine.nb.lean_ok`): blocks
    of events that need no check take three passes (:func:`pair_scan`, then the price
    extremes and :func:`engine.nb.lean_span`); from the first event that needs one, one
    event at a time."""
    cfg, eq, eq_t = book[10], book[8], book[9]
    ts_a, h_a, l_a, c_a, sp_a = ev[0], ev[3], ev[4], ev[5], ev[7]
    inv_f, inv_s = 1.0 / rf.shape[0], 1.0 / rs.shape[0]
    ln = core.lean_start(qs)
    i, sig, have = i0, math.nan, False
    while i < i1 and scan_ok(p):
        e = core.lean_reach(ln, qc, i, i1)
        k, p, sig = pair_scan(ev[0], ev[5], ev[7], half, short, p, rf, rs, qc[9], qc[10], qc[7],
                              i, e)
        if not math.isnan(sig):  # the next event steps: fetch its lines during the passes
            core.prefetch_step(ev, k)
        ln = core.lean_span(ln, qs, qc, eq, eq_t, ev, i, k, core.extremes(ev, i, k, ln[5:]))
        stop = k < e or k == i or not math.isnan(sig)  # a check, no room, or a signal
        i = k
        if stop:
            break
    while i < i1 and math.isnan(sig):
        ts, c, sp = ts_a[i], c_a[i], sp_a[i]
        v = c + half * sp if half != 0.0 else c
        old_f, old_s = rf[p[0][5]], rs[p[1][5]]
        if core.lean_blocked(ln, qc, ts) or math.isnan(v + old_f + old_s):
            break
        sig, p = pair_next(p, rf, rs, old_f, old_s, v, inv_f, inv_s, short)
        if not core.quiet_margin_ok(qs[0], qc, cfg, c, sp):
            have = True
            break
        ln = core.lean_event(ln, qs, qc, eq, eq_t, ts, h_a[i], l_a[i], c, sp)
        i += 1
    return i, p, sig, have, core.lean_done(qs, qc, ln, i - i0, core.lean_prev(c_a, qs, i0, i))


@njit(cache=True, _nrt=False, inline="always")
def sma_steady(book: tuple[np.ndarray, ...], ev: tuple[np.ndarray, ...], half: float,
               short: bool, m: SmaState, rf: np.ndarray, rs: np.ndarray, i0: int,
               i1: int) -> tuple[int, SmaState, float, bool]:
    """:func:`sma_quiet` once both windows are full (:func:`steady_ok`): the means on
    :data:`Steady` state. Leaves at a NaN price (the general path takes it), else exactly
    as :func:`sma_quiet`."""
    nf, ns = rf.shape[0], rs.shape[0]
    p0 = (steady_of(m[0]), steady_of(m[1]), m[0][5], m[2])
    qs, qc = core.quiet_load(book)
    if core.lean_ok(qc):
        i, p, sig, have, qs = steady_lean_loop(book, ev, half, short, p0, rf, rs, qs, qc, i0, i1)
    else:
        i, p, sig, have, qs = steady_loop(book, ev, half, short, p0, rf, rs, qs, qc, i0, i1)
    if i > i0:
        core.quiet_store(book, qs)
    fed = float(i - i0 + (1 if have else 0))
    pv = p[2]
    m = (steady_back(p[0], nf, pv, m[0][7] + fed), steady_back(p[1], ns, pv, m[1][7] + fed), p[3])
    return i, m, sig, have


@njit(cache=True, _nrt=False, inline="always")
def sma_quiet(book: tuple[np.ndarray, ...], ev: tuple[np.ndarray, ...], half: float,
              short: bool, m: SmaState, rf: np.ndarray, rs: np.ndarray, i0: int,
              i1: int) -> tuple[int, SmaState, float, bool]:
    """Quiet events (``engine.nb.quiet_run``'s conditions and per-event functions) with the
    signal computed in the same pass. Stops at the first event :func:`engine.nb.step` must
    handle, or (once both windows are full, :func:`sma_steady`) after a quiet event with a
    signal. Returns (next event, state, signal, whether the signal is that of the next event,
    not processed yet); a signal with ``False`` belongs to the event before the next one,
    already processed: the caller submits it."""
    if not core.quiet_ok(book):
        return i0, m, math.nan, False
    if steady_ok(m[0], rf.shape[0]) and steady_ok(m[1], rs.shape[0]):
        return sma_steady(book, ev, half, short, m, rf, rs, i0, i1)
    cfg, eq, eq_t = book[10], book[8], book[9]
    ts_a, h_a, l_a, c_a, sp_a = ev[0], ev[3], ev[4], ev[5], ev[7]
    inv_f, inv_s = 1.0 / rf.shape[0], 1.0 / rs.shape[0]
    qs, qc = core.quiet_load(book)
    i, sig, have = i0, math.nan, False
    while i < i1:
        ts, c, sp = ts_a[i], c_a[i], sp_a[i]
        if core.quiet_blocked(qs, qc, ts):
            break
        sig, m = sma_next(m, rf, rs, c + half * sp if half != 0.0 else c, inv_f, inv_s, short)
        if not math.isnan(sig) or not core.quiet_margin_ok(qs[0], qc, cfg, c, sp):
            have = True
            break
        qs = core.quiet_event(qs, qc, eq, eq_t, ts, h_a[i], l_a[i], c, sp)
        i += 1
    if i > i0:
        core.quiet_store(book, qs)
    return i, m, sig, have


@njit(cache=True, _nrt=False)
def run_sma_cross(book: tuple[np.ndarray, ...], ev: tuple[np.ndarray, ...], half: float,
                  short: bool, size: float, tmode: int, st: np.ndarray, rf: np.ndarray,
                  rs: np.ndarray, i0: int, i1: int) -> int:
    """``engine.nb.run_targets`` over :func:`sma_cross` targets (signal x ``size``, one
    symbol) computed in the same pass: no price, signal or target arrays. Same events go
    through the same core functions, so the book is bit for bit the two-pass one. The
    strategy state (``st``, rings) is saved on return; returns the first event not
    processed (< i1 when a table needs room; its signal is not computed yet)."""
    close_fill_on = book[10][core.C_CLOSEFILL] == 1.0
    c_a, sp_a = ev[5], ev[7]
    inv_f, inv_s = 1.0 / rf.shape[0], 1.0 / rs.shape[0]
    m = sma_load(st)
    i = i0
    while i < i1:
        j, m, sig, have = sma_quiet(book, ev, half, short, m, rf, rs, i, i1)
        if not have and not math.isnan(sig):  # a signal on a quiet event (j - 1), processed
            core.decide(book, ev, j - 1, sig * size, tmode, close_fill_on)
            i = j
            continue
        i = j
        if i >= i1:
            break
        if not have:  # (a quiet stop after the signal leaves room: quiet_ok checked it)
            if not core.has_room(book):
                sma_store(st, m, rf.shape[0], rs.shape[0])
                return i
            v = c_a[i] + half * sp_a[i] if half != 0.0 else c_a[i]
            sig, m = sma_next(m, rf, rs, v, inv_f, inv_s, short)
        core.target_event(book, ev, i)
        core.decide(book, ev, i, sig * size, tmode, close_fill_on)
        i += 1
    sma_store(st, m, rf.shape[0], rs.shape[0])
    return i1
