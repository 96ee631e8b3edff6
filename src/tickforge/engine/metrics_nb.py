"""Numba kernels of the backtest metrics (conventions in ``docs/metrics.md``).

One implementation serves every caller: :func:`tickforge.engine.metrics.compute_metrics`
(DataFrames at the edge), a single backtest's ``Result.metrics`` (:func:`book_metrics`, from
the book's arrays) and the sweep batch kernel (the same :func:`book_metrics` per parameter
set), so a sweep row equals the single backtest's metrics bit for bit by construction.

Raw values come out in ``KEYS`` order; NaN / inf are made JSON-safe in Python
(``metrics.json_safe``).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

KEYS = ("total_return", "cagr", "annual_volatility", "sharpe", "sortino", "calmar",
        "max_drawdown", "max_drawdown_duration", "max_drawdown_duration_days", "var_95",
        "cvar_95", "omega", "tail_ratio", "alpha", "beta", "benchmark_return", "num_trades",
        "win_rate", "profit_factor", "expectancy", "avg_win", "avg_loss", "payoff_ratio",
        "best_trade", "worst_trade", "avg_trade_return", "avg_trade_duration_days", "sqn",
        "kelly", "exposure", "avg_gross_exposure", "turnover", "annual_turnover", "fees_paid",
        "final_equity", "num_periods", "periods_per_year")
(M_TOTAL, M_CAGR, M_VOL, M_SHARPE, M_SORTINO, M_CALMAR, M_MDD, M_MDD_DUR, M_MDD_DAYS, M_VAR,
 M_CVAR, M_OMEGA, M_TAIL, M_ALPHA, M_BETA, M_BENCH, M_NTRADES, M_WINRATE, M_PF, M_EXPECT,
 M_AVGWIN, M_AVGLOSS, M_PAYOFF, M_BEST, M_WORST, M_AVGRET, M_AVGDUR, M_SQN, M_KELLY, M_EXPO,
 M_GROSS, M_TURN, M_ATURN, M_FEES, M_FINAL, M_NPER, M_PPY) = range(37)
N_KEYS = 37
# the return-series block of KEYS, as returned by wealth_stats
N_WEALTH = 15  # total_return .. beta (max_drawdown_duration_days excluded: set by caller)
VAR_CUTOFF = 0.05
NS_PER_DAY = 86_400 * 10**9
DAYS_PER_YEAR = 365.25
SAMPLE = 2048  # sample size for the tail thresholds of long series
TAIL_MARGIN = 0.02
TAIL_ROOM = 8  # tail buffers hold n / TAIL_ROOM values (+64)


# ---------------------------------------------------------------- scalar helpers


@njit(cache=True, inline="always")
def ratio(num: float, den: float) -> float:
    """num / den: 0/0 -> 0, x/0 -> +/-inf (capped later)."""
    if den == 0.0 or not math.isfinite(den):
        return 0.0 if num == 0.0 or math.isnan(num) else math.copysign(math.inf, num)
    return num / den


@njit(cache=True, inline="always")
def lerp(low: float, high: float, t: float) -> float:
    """NumPy's linear interpolation (as in ``np.percentile``)."""
    diff = high - low
    return high - diff * (1.0 - t) if t >= 0.5 else low + diff * t


@njit(cache=True)
def mean(x: np.ndarray) -> float:
    total = 0.0
    for v in x:
        total += v
    return total / x.shape[0]


@njit(cache=True)
def dispersion(x: np.ndarray, mu: float) -> float:
    """Sample std (ddof=1) around ``mu``; exactly 0 for a constant series."""
    lo, hi = x[0], x[0]
    acc = 0.0
    for v in x:
        lo = min(lo, v)
        hi = max(hi, v)
        d = v - mu
        acc += d * d
    if lo == hi:
        return 0.0
    return math.sqrt(acc / (x.shape[0] - 1))


# ---------------------------------------------------------------- wealth curve


@njit(cache=True)
def drawdown_stats(wealth: np.ndarray) -> tuple[float, int, int]:
    """(max drawdown, peak row, recovery row) of the longest drawdown; recovery = last row if
    never; (0, 0) when never underwater. Drawdown = wealth / running peak - 1, >= -1.
    Underwater <=> wealth < peak; the deepest point of a peak's stretch is its lowest wealth
    (division by a positive peak is monotonic), so one division per new peak."""
    n = wealth.shape[0]
    peak = wealth[0]
    low = peak
    worst = 0.0
    best_len, best_peak, best_rec = -1, 0, 0
    start = -1
    for i in range(n):
        w = wealth[i]
        if w < peak:
            if start < 0:
                start = i
            low = min(low, w)
            continue
        if start >= 0:
            if i - (start - 1) > best_len:
                best_len, best_peak, best_rec = i - (start - 1), start - 1, i
            start = -1
        if w > peak:
            worst = min(worst, max(low / peak - 1.0, -1.0))
            peak = w
            low = w
    worst = min(worst, max(low / peak - 1.0, -1.0))
    if start >= 0 and (n - 1) - (start - 1) > best_len:
        best_len, best_peak, best_rec = (n - 1) - (start - 1), start - 1, n - 1
    if best_len < 0:
        return worst, 0, 0
    return worst, best_peak, best_rec


@njit(cache=True)
def curve_scratch(rows: int) -> np.ndarray:
    """Work space of :func:`wealth_stats` for a curve of ``rows`` rows (the returns and the
    tail buffers): a sweep slot allocates it once, not per set (in a Dask worker, whose
    nanny sets MALLOC_TRIM_THRESHOLD_, every large allocation is a fresh mmap)."""
    return np.empty(rows + 2 * (rows // TAIL_ROOM + 65))


@njit(cache=True)
def returns_of(wealth: np.ndarray) -> np.ndarray:
    """Simple returns; a wiped-out account (<= 0) stays at -100 %."""
    return returns_into(wealth, np.empty(max(wealth.shape[0] - 1, 0)))


@njit(cache=True)
def returns_into(wealth: np.ndarray, space: np.ndarray) -> np.ndarray:
    """``returns_of`` written into the start of ``space``; returns that view."""
    n = wealth.shape[0] - 1
    out = space[:max(n, 0)]
    for i in range(n):
        prev = wealth[i]
        if prev > 0.0:
            out[i] = max(wealth[i + 1] / prev - 1.0, -1.0)
        else:
            out[i] = 0.0
    return out


@njit(cache=True)
def next_min(part: np.ndarray, k: int) -> float:
    """Smallest value after position ``k`` of an array partitioned at ``k``."""
    best = part[k + 1]
    for j in range(k + 2, part.shape[0]):
        best = min(best, part[j])
    return best


@njit(cache=True)
def tail_split(r: np.ndarray, need_lo: int, need_hi: int,
               space: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Arrays holding the ``need_lo`` smallest and the ``need_hi`` largest returns (maybe
    more): for long series only the values beyond thresholds estimated from a sample, in
    one pass (into ``space``: 2 * (n // TAIL_ROOM + 65) values); else (or if a sample
    misled) all values."""
    n = r.shape[0]
    if n < 20 * SAMPLE:
        return r, r
    sample = r[::n // SAMPLE].copy()
    m = sample.shape[0]
    k_lo = min(int((VAR_CUTOFF + TAIL_MARGIN) * m), m - 1)
    k_hi = min(int((1.0 - VAR_CUTOFF - TAIL_MARGIN) * m), m - 1)
    th_lo = np.partition(sample, k_lo)[k_lo]
    th_hi = np.partition(sample, k_hi)[k_hi]
    cap = n // TAIL_ROOM + 64  # ~2 x the expected share; beyond it (e.g. many ties): all
    lo_buf = space[:cap + 1]
    hi_buf = space[cap + 1:2 * cap + 2]
    a, b = 0, 0
    for v in r:  # branch-free: store always (slot ``cap`` once full), advance when it belongs
        lo_buf[min(a, cap)] = v
        a += v <= th_lo
        hi_buf[min(b, cap)] = v
        b += v >= th_hi
    lo = lo_buf[:a] if need_lo <= a <= cap else r
    hi = hi_buf[:b] if need_hi <= b <= cap else r
    return lo, hi


@njit(cache=True)
def tails(r: np.ndarray, space: np.ndarray) -> tuple[float, float, float]:
    """Historic VaR (5th percentile, linear interpolation as ``np.percentile``), CVaR (mean of
    the int((n - 1) * 0.05) + 1 smallest, as empyrical) and the 95th percentile.
    ``floor(0.05 * (n - 1)) == int((n - 1) * 0.05)``: one partition serves VaR and CVaR."""
    n = r.shape[0]
    pos_lo = VAR_CUTOFF * (n - 1)
    low = int(pos_lo)  # >= 0: truncation is floor
    pos_hi = (1.0 - VAR_CUTOFF) * (n - 1)
    high = int(pos_hi)
    lo, hi = tail_split(r, low + 2, n - high, space)
    part = np.partition(lo, low)
    above = next_min(part, low) if low + 1 < n else part[low]
    var = lerp(part[low], above, pos_lo - low)
    cvar = mean(part[:low + 1])
    k = high - (n - hi.shape[0])
    top = np.partition(hi, k)
    above = next_min(top, k) if high + 1 < n else top[k]
    return var, cvar, lerp(top[k], above, pos_hi - high)


@njit(cache=True)
def pairwise_sum(x: np.ndarray) -> float:
    """NumPy's pairwise summation (8 accumulators in blocks of 128, halves above): the same
    sum as ``x.sum()`` for float64, much less rounding than a running sum."""
    n = x.shape[0]
    if n < 8:
        total = -0.0
        for v in x:
            total += v
        return total
    if n <= 128:
        r = np.empty(8)
        for k in range(8):
            r[k] = x[k]
        i = 8
        while i < n - n % 8:
            for k in range(8):
                r[k] += x[i + k]
            i += 8
        total = (r[0] + r[1]) + (r[2] + r[3]) + ((r[4] + r[5]) + (r[6] + r[7]))
        for j in range(i, n):
            total += x[j]
        return total
    half = n // 2
    half -= half % 8
    return pairwise_sum(x[:half]) + pairwise_sum(x[half:])


@njit(cache=True, inline="always")
def sum_terms(stage: int, e: float, x: float, b: float, mu: float,
              b_mean: float) -> tuple[float, float, float]:
    """Per-row terms summed by :func:`pair_sums`. Stage 0: excess ``e``, its loss part
    ``min(e, 0)`` and that squared; stage 1: ``(e - mu)**2`` and ``(b - b_mean) * x``."""
    if stage == 0:
        m = min(e, 0.0)
        return e, m, m * m
    d = e - mu
    return d * d, (b - b_mean) * x, 0.0


@njit(cache=True)
def leaf_sums(ex: np.ndarray, r: np.ndarray, b: np.ndarray, mu: float, b_mean: float,
              stage: int, start: int, stop: int, acc: np.ndarray) -> tuple[float, float, float]:
    """``pairwise_sum``'s leaf (at most 128 rows) for the three ``sum_terms`` at once; ``acc``
    is (3, 8) scratch."""
    n = stop - start
    if n < 8:
        s0, s1, s2 = -0.0, -0.0, -0.0
        for i in range(start, stop):
            t0, t1, t2 = sum_terms(stage, ex[i], r[i], b[i], mu, b_mean)
            s0, s1, s2 = s0 + t0, s1 + t1, s2 + t2
        return s0, s1, s2
    for k in range(8):
        j = start + k
        acc[0, k], acc[1, k], acc[2, k] = sum_terms(stage, ex[j], r[j], b[j], mu, b_mean)
    i = 8
    while i < n - n % 8:
        for k in range(8):
            j = start + i + k
            t0, t1, t2 = sum_terms(stage, ex[j], r[j], b[j], mu, b_mean)
            acc[0, k] += t0
            acc[1, k] += t1
            acc[2, k] += t2
        i += 8
    s0 = (acc[0, 0] + acc[0, 1]) + (acc[0, 2] + acc[0, 3]) + ((acc[0, 4] + acc[0, 5])
                                                            + (acc[0, 6] + acc[0, 7]))
    s1 = (acc[1, 0] + acc[1, 1]) + (acc[1, 2] + acc[1, 3]) + ((acc[1, 4] + acc[1, 5])
                                                            + (acc[1, 6] + acc[1, 7]))
    s2 = (acc[2, 0] + acc[2, 1]) + (acc[2, 2] + acc[2, 3]) + ((acc[2, 4] + acc[2, 5])
                                                            + (acc[2, 6] + acc[2, 7]))
    for j in range(start + i, stop):
        t0, t1, t2 = sum_terms(stage, ex[j], r[j], b[j], mu, b_mean)
        s0, s1, s2 = s0 + t0, s1 + t1, s2 + t2
    return s0, s1, s2


@njit(cache=True, inline="always")
def left_size(n: int) -> int:
    """Rows of the first half in ``pairwise_sum``'s split (a multiple of 8)."""
    half = n // 2
    return half - half % 8


@njit(cache=True)
def pair_sums(ex: np.ndarray, r: np.ndarray, b: np.ndarray, mu: float, b_mean: float,
              stage: int, acc: np.ndarray) -> tuple[float, float, float]:
    """The ``pairwise_sum`` of each of the three ``sum_terms`` over all rows, in one pass:
    the same blocks and additions as ``pairwise_sum`` of each materialised term, so the
    same bits. The halving recursion runs on an explicit stack (a recursive kernel
    returning a tuple crashes when numba loads it from its cache)."""
    lo = np.empty(64, np.int64)
    hi = np.empty(64, np.int64)
    state = np.zeros(64, np.int64)  # 0 new, 1 left half summed, 2 right half summed
    left = np.empty((64, 3))
    lo[0], hi[0], depth = 0, ex.shape[0], 0
    s0, s1, s2 = 0.0, 0.0, 0.0  # the last finished node's sums
    while depth >= 0:
        start, stop = lo[depth], hi[depth]
        if state[depth] == 0 and stop - start <= 128:
            s0, s1, s2 = leaf_sums(ex, r, b, mu, b_mean, stage, start, stop, acc)
            depth -= 1
        elif state[depth] == 2:
            s0, s1, s2 = left[depth, 0] + s0, left[depth, 1] + s1, left[depth, 2] + s2
            depth -= 1
        else:
            middle = start + left_size(stop - start)
            first_half = state[depth] == 0
            if not first_half:  # the left half just finished: keep its sums
                left[depth, 0], left[depth, 1], left[depth, 2] = s0, s1, s2
            state[depth] += 1
            depth += 1
            lo[depth] = start if first_half else middle
            hi[depth] = middle if first_half else stop
            state[depth] = 0
    return s0, s1, s2


@njit(cache=True)
def constant(x: np.ndarray) -> bool:
    """All values equal (a zero-dispersion series); stops at the first different value."""
    i = 0
    while i < x.shape[0] and x[i] == x[0]:
        i += 1
    return i == x.shape[0]


@njit(cache=True)
def bench_stats(bench: np.ndarray) -> np.ndarray:
    """(compounded return, mean, variance ddof=0) of benchmark returns: the same for every
    parameter set of a sweep, so computed once there. Sums are pairwise, as NumPy's."""
    out = np.zeros(3)
    n = bench.shape[0]
    if n == 0:
        return out
    b_mean = pairwise_sum(bench) / n
    tmp = np.empty(n)
    for i in range(n):
        d = bench[i] - b_mean
        tmp[i] = d * d
    out[0] = compounded(bench)
    out[1] = b_mean
    out[2] = pairwise_sum(tmp) / n
    return out


@njit(cache=True)
def risk_stats(r: np.ndarray, ppy: float, rf: float, bench: np.ndarray, has_bench: bool,
               b_stats: np.ndarray, out: np.ndarray) -> None:
    """Volatility, Sharpe, Sortino, omega of the excess returns ``r - rf``; with a
    benchmark (``b_stats`` from :func:`bench_stats`), empyrical's alpha (compounded
    annualisation) and beta (cov / var). Sums are pairwise, as NumPy's; two fused passes."""
    n = r.shape[0]
    excess = r - rf if rf != 0.0 else r
    acc = np.empty((3, 8))
    s_ex, s_neg, s_neg2 = pair_sums(excess, r, excess, 0.0, 0.0, 0, acc)
    mu = s_ex / n
    b = bench if has_bench else excess
    b_mean = b_stats[1] if has_bench else 0.0
    s_dev2, s_cov, _ = pair_sums(excess, r, b, mu, b_mean, 1, acc)
    std = 0.0 if constant(excess) else math.sqrt(s_dev2 / (n - 1))
    losses = -s_neg
    downside = math.sqrt(s_neg2 / n)
    root = math.sqrt(ppy)
    out[M_VOL] = std * root
    out[M_SHARPE] = ratio(mu, std) * root
    out[M_SORTINO] = ratio(mu * ppy, downside * root)
    out[M_OMEGA] = ratio(s_ex + losses, losses)
    if has_bench:
        var = b_stats[2]
        beta = s_cov / n / var if var >= 1e-30 else 0.0
        s_r = s_ex if rf == 0.0 else pairwise_sum(r)
        mean_alpha = s_r / n - rf - beta * (b_mean - rf)
        out[M_ALPHA] = (1.0 + mean_alpha) ** ppy - 1.0
        out[M_BETA] = beta


@njit(cache=True)
def wealth_stats(wealth: np.ndarray, ppy: float, risk_free: float, bench: np.ndarray,
                 has_bench: bool, b_stats: np.ndarray, out: np.ndarray,
                 scratch: np.ndarray) -> tuple[int, int]:
    """Return-series metrics of a positive-start wealth curve into ``out`` (KEYS slots);
    returns the (peak, recovery) rows of the longest drawdown. ``b_stats``: ``bench_stats``
    of ``bench`` when ``has_bench``; ``scratch``: ``curve_scratch(len(wealth))`` or more."""
    if wealth.shape[0] < 2:
        return 0, 0
    max_dd, peak, rec = drawdown_stats(wealth)
    n = wealth.shape[0] - 1
    ending = max(wealth[-1] / wealth[0], 0.0)
    cagr = ending ** (1.0 / (n / ppy)) - 1.0
    out[M_TOTAL] = ending - 1.0
    out[M_CAGR] = cagr
    out[M_CALMAR] = ratio(cagr, abs(max_dd))
    out[M_MDD] = max_dd
    out[M_MDD_DUR] = float(rec - peak)
    r = returns_into(wealth, scratch)
    if r.shape[0] >= 2:
        rf = (1.0 + risk_free) ** (1.0 / ppy) - 1.0 if risk_free != 0.0 else 0.0
        risk_stats(r, ppy, rf, bench, has_bench and bench.shape[0] == r.shape[0], b_stats,
                   out)
        var, cvar, upper = tails(r, scratch[r.shape[0]:])
        out[M_VAR] = var
        out[M_CVAR] = cvar
        out[M_TAIL] = ratio(abs(upper), abs(var))
    return peak, rec


# ---------------------------------------------------------------- trades, exposure


@njit(cache=True)
def pnl_stats(pnl: np.ndarray, out: np.ndarray) -> None:
    n = pnl.shape[0]
    if n == 0:
        return
    n_win, n_loss, s_win, s_loss = 0, 0, 0.0, 0.0
    for v in pnl:
        if v > 0.0:
            n_win += 1
            s_win += v
        elif v < 0.0:
            n_loss += 1
            s_loss += v
    mu = mean(pnl)
    win_rate = n_win / n
    avg_win = s_win / n_win if n_win else 0.0
    avg_loss = s_loss / n_loss if n_loss else 0.0
    payoff = ratio(avg_win, -avg_loss)
    std = dispersion(pnl, mu) if n >= 2 else 0.0
    out[M_NTRADES] = float(n)
    out[M_WINRATE] = win_rate
    out[M_PF] = ratio(s_win, -s_loss)
    out[M_EXPECT] = mu
    out[M_AVGWIN] = avg_win
    out[M_AVGLOSS] = avg_loss
    out[M_PAYOFF] = payoff
    out[M_SQN] = math.sqrt(n) * ratio(mu, std) if n >= 2 else 0.0
    out[M_KELLY] = win_rate - (1.0 - win_rate) / payoff if payoff != 0.0 else -math.inf


@njit(cache=True)
def trade_return_stats(ret: np.ndarray, out: np.ndarray) -> None:
    if ret.shape[0]:
        out[M_BEST] = ret.max()
        out[M_WORST] = ret.min()
        out[M_AVGRET] = mean(ret)


@njit(cache=True)
def nanmean(x: np.ndarray) -> float:
    total, k = 0.0, 0
    for v in x:
        if not math.isnan(v):
            total += v
            k += 1
    return total / k if k else math.nan


@njit(cache=True)
def days_of(ns: np.ndarray) -> np.ndarray:
    """Durations in ns -> days (float)."""
    out = np.empty(ns.shape[0])
    for i in range(ns.shape[0]):
        out[i] = ns[i] / NS_PER_DAY
    return out


@njit(cache=True)
def exposure_stats(exposure: np.ndarray, out: np.ndarray) -> None:
    """Share of rows with a position and mean gross exposure."""
    n = exposure.shape[0]
    if n == 0:
        return
    k, total = 0, 0.0
    for v in exposure:
        a = abs(v)
        k += a > 0.0
        total += a
    out[M_EXPO] = k / n
    out[M_GROSS] = total / n


@njit(cache=True)
def book_exposure(eq: np.ndarray, n_eq: int, out: np.ndarray) -> float:
    """``exposure_stats`` of the equity rows' position value / equity, in the same pass as
    the sum of the equity (returned: ``mean`` = sum / n_eq, the same bits)."""
    k, gross, total = 0, 0.0, 0.0
    for i in range(n_eq):
        e = eq[i, 0]
        total += e
        a = abs(eq[i, 2] / e if e > 0.0 else 0.0)
        k += a > 0.0
        gross += a
    if n_eq:
        out[M_EXPO] = k / n_eq
        out[M_GROSS] = gross / n_eq
    return total


@njit(cache=True)
def turnover(size: np.ndarray, prices: np.ndarray, mean_equity: float, years: float,
             out: np.ndarray) -> None:
    """Traded notional (entry + exit) over average equity, and per year."""
    traded = 0.0
    for i in range(size.shape[0]):
        v = abs(size[i]) * abs(prices[i])
        if not math.isnan(v):
            traded += v
    t = ratio(traded, mean_equity)
    out[M_TURN] = t
    out[M_ATURN] = ratio(t, years)


@njit(cache=True)
def bench_returns(prices: np.ndarray) -> tuple[np.ndarray, bool]:
    """Simple returns of benchmark prices; (empty, False) when unusable (any price <= 0)."""
    n = prices.shape[0]
    if n < 2 or prices.min() <= 0.0:
        return np.empty(0), False
    out = np.empty(n - 1)
    for i in range(n - 1):
        out[i] = prices[i + 1] / prices[i] - 1.0
    return out, True


@njit(cache=True)
def compounded(r: np.ndarray) -> float:
    total = 1.0
    for v in r:
        total *= 1.0 + v
    return total - 1.0


@njit(cache=True)
def episode_days(peak: int, rec: int, ns: np.ndarray, has_ns: bool, ppy: float) -> float:
    if rec == peak:
        return 0.0
    if not has_ns:
        return (rec - peak) / ppy * DAYS_PER_YEAR
    return float(ns[rec] - ns[peak]) / NS_PER_DAY


# ---------------------------------------------------------------- a whole run


@njit(cache=True)
def curve_metrics(values: np.ndarray, ns: np.ndarray, has_ns: bool, bench: np.ndarray,
                  has_bench: bool, ppy: float, risk_free: float, out: np.ndarray) -> None:
    """Everything that depends on the equity curve alone, plus the benchmark's returns
    (``bench_returns`` of its prices; ignored unless one per equity return)."""
    ok = has_bench and bench.shape[0] == max(values.shape[0] - 1, 0)
    curve_with_stats(values, ns, has_ns, bench, ok, bench_stats(bench) if ok else np.zeros(3),
                     ppy, risk_free, out, curve_scratch(values.shape[0]))


@njit(cache=True)
def curve_with_stats(values: np.ndarray, ns: np.ndarray, has_ns: bool, bench: np.ndarray,
                     ok: bool, b_stats: np.ndarray, ppy: float, risk_free: float,
                     out: np.ndarray, scratch: np.ndarray) -> None:
    """``curve_metrics`` given a usable benchmark (``ok``), its ``bench_stats`` and work
    space (``curve_scratch``)."""
    peak, rec = wealth_stats(values, ppy, risk_free, bench, ok, b_stats, out, scratch)
    out[M_MDD_DAYS] = episode_days(peak, rec, ns, has_ns, ppy)
    out[M_BENCH] = b_stats[0] if ok else 0.0
    out[M_NPER] = float(max(values.shape[0] - 1, 0))
    out[M_PPY] = ppy
    out[M_FINAL] = values[-1] if values.shape[0] else 0.0


@njit(cache=True)
def book_bench(eq: np.ndarray, n_eq: int) -> tuple[np.ndarray, bool, np.ndarray]:
    """Benchmark returns of a run: buy and hold of the first symbol's mid at each equity row
    (the same for every parameter set of a sweep: computed once there), whether usable, and
    their ``bench_stats``."""
    bench, ok = bench_returns(eq[:n_eq, 3].copy())
    return bench, ok, bench_stats(bench) if ok else np.zeros(3)


@njit(cache=True)
def book_metrics(eq: np.ndarray, eq_t: np.ndarray, n_eq: int, trades: np.ndarray,
                 trades_t: np.ndarray, n_trd: int, fees: float, ppy: float, risk_free: float,
                 bench: np.ndarray, has_bench: bool, b_stats: np.ndarray,
                 scratch: np.ndarray) -> np.ndarray:
    """All metrics of a finished run from the book's tables (equity rows and closed trades),
    in ``KEYS`` order; ``bench``, ``has_bench``, ``b_stats`` from :func:`book_bench`;
    ``scratch``: ``curve_scratch(n_eq)`` or larger (reused from set to set). Columns
    as in ``engine.nb``: equity 0 eq, 2 position value; trades 2 size, 3 entry, 4 exit,
    5 pnl, 10 notional; trades_t 0/1 entry/exit ns."""
    out = np.zeros(N_KEYS)
    values = eq[:n_eq, 0]
    ok = has_bench and bench.shape[0] == max(n_eq - 1, 0)
    curve_with_stats(values, eq_t[:n_eq], True, bench, ok, b_stats, ppy, risk_free, out,
                     scratch)
    total = book_exposure(eq, n_eq, out)
    t = trades[:n_trd]
    if n_trd:
        pnl = t[:, 5].copy()
        pnl_stats(pnl, out)
        ret = np.empty(n_trd)
        for i in range(n_trd):
            ret[i] = t[i, 5] / t[i, 10] if t[i, 10] > 0.0 else 0.0
        trade_return_stats(ret, out)
        out[M_AVGDUR] = nanmean(days_of(trades_t[:n_trd, 1] - trades_t[:n_trd, 0]))
        prices = t[:, 3] + t[:, 4]
        turnover(t[:, 2].copy(), prices, total / n_eq, max(n_eq - 1, 1) / ppy, out)
    out[M_FEES] = fees
    return out
