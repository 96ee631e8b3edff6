"""The fused metrics kernels of ``metrics_nb`` (the blocked curve pass, the lane-wise pairwise
sums, the in-place partition of the tails) against the one-purpose formulas they replaced,
bit for bit, on random curves: constant, with zero returns, wiped out, with NaN, around
the block size, long enough for the sampled tail split and with more ties than its buffers
hold."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from numba import njit

from tickforge.engine import metrics_nb as mk
from tickforge.engine.metrics import book_bench, compute_metrics, returns_metrics

CURVES = ["walk", "flat_stretches", "constant", "wiped_out", "nan", "ties"]
LENGTHS = [1, 2, 3, 9, mk.CHUNK - 1, mk.CHUNK, mk.CHUNK + 1, 2 * mk.CHUNK + 3, 45_001]


def curve(kind: str, rows: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(wealth, position value) of ``rows`` rows."""
    rng = np.random.default_rng(seed)
    r = rng.normal(0.0, 0.002, rows)
    if kind == "flat_stretches":  # flat most of the time: zero returns, ties in the tails
        r *= rng.random(rows) < 0.3
    elif kind == "ties":  # mostly flat: more values at the tail thresholds than the cap
        r *= rng.random(rows) < 0.08
    wealth = 1e5 * np.cumprod(1.0 + r)
    if kind == "constant":
        wealth[:] = 1e5
    elif kind == "wiped_out" and rows > 2:
        wealth[rows // 2:] = np.linspace(0.0, -50.0, rows - rows // 2)
    elif kind == "nan" and rows > 2:
        wealth[rows // 3] = math.nan
    pv = wealth * rng.normal(0.0, 1.0, rows) * (rng.random(rows) < 0.5)
    return wealth, pv


def same(a: object, b: object) -> None:
    """Equal bits (NaN equals NaN)."""
    np.testing.assert_array_equal(np.asarray(a, dtype=np.float64),
                                  np.asarray(b, dtype=np.float64), strict=True)
    assert np.array_equal(np.signbit(np.asarray(a, dtype=np.float64)),
                          np.signbit(np.asarray(b, dtype=np.float64)))


# ---------------------------------------------------------------- the replaced formulas


def ref_returns(w: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(w[:-1] > 0.0, np.maximum(w[1:] / w[:-1] - 1.0, -1.0), 0.0)


@njit(cache=True)
def ref_drawdown(wealth: np.ndarray) -> tuple[float, int, int]:
    """The one-purpose drawdown loop ``curve_pass`` absorbed."""
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
def ref_running_sums(w: np.ndarray, pv: np.ndarray) -> tuple[float, float, int]:
    """Sum of the wealth, of |pv / wealth| and the rows with a position, in row order."""
    k, gross, total = 0, 0.0, 0.0
    for i in range(w.shape[0]):
        e = w[i]
        total += e
        a = abs(pv[i] / e if e > 0.0 else 0.0)
        k += a > 0.0
        gross += a
    return total, gross, k


@njit(cache=True)
def partition_copy(x: np.ndarray, k: int) -> np.ndarray:
    return np.partition(x, k)


@njit(cache=True)
def ref_tail_split(r: np.ndarray, need_lo: int,
                   need_hi: int) -> tuple[np.ndarray, np.ndarray]:
    """The values beyond thresholds from a sample (long series), or all."""
    n = r.shape[0]
    if n < 20 * mk.SAMPLE:
        return r, r
    sample = r[::n // mk.SAMPLE].copy()
    m = sample.shape[0]
    k_lo = min(int((mk.VAR_CUTOFF + mk.TAIL_MARGIN) * m), m - 1)
    k_hi = min(int((1.0 - mk.VAR_CUTOFF - mk.TAIL_MARGIN) * m), m - 1)
    th_lo = np.partition(sample, k_lo)[k_lo]
    th_hi = np.partition(sample, k_hi)[k_hi]
    cap = n // mk.TAIL_ROOM + 64
    lo, hi = r[r <= th_lo], r[r >= th_hi]
    return (lo if need_lo <= lo.shape[0] <= cap else r,
            hi if need_hi <= hi.shape[0] <= cap else r)


@njit(cache=True)
def ref_tails(r: np.ndarray) -> tuple[float, float, float]:
    """VaR, CVaR, 95th percentile with ``np.partition`` of copies (the replaced kernel)."""
    n = r.shape[0]
    pos_lo = mk.VAR_CUTOFF * (n - 1)
    low = int(pos_lo)
    pos_hi = (1.0 - mk.VAR_CUTOFF) * (n - 1)
    high = int(pos_hi)
    lo, hi = ref_tail_split(r, low + 2, n - high)
    part = np.partition(lo, low)
    above = mk.next_min(part, low) if low + 1 < n else part[low]
    var = mk.lerp(part[low], above, pos_lo - low)
    cvar = mk.mean(part[:low + 1])
    k = high - (n - hi.shape[0])
    top = np.partition(hi, k)
    above = mk.next_min(top, k) if high + 1 < n else top[k]
    return var, cvar, mk.lerp(top[k], above, pos_hi - high)


def run_pass(w: np.ndarray, pv: np.ndarray,
             split: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray, float, float]:
    scratch = mk.curve_scratch(len(w))
    n = len(w) - 1
    th_lo, th_hi = mk.tail_thresholds(w, scratch[n:]) if split else (0.0, 0.0)
    state, istate = np.empty(5), np.empty(8, np.int64)
    mk.curve_pass(w, pv, True, split, th_lo, th_hi, scratch, state, istate)
    return scratch, state, istate, th_lo, th_hi


# ---------------------------------------------------------------- properties


@pytest.mark.parametrize("rows", LENGTHS)
@pytest.mark.parametrize("kind", CURVES)
def test_curve_pass_equals_the_one_purpose_loops(kind: str, rows: int) -> None:
    w, pv = curve(kind, rows, seed=rows)
    n = rows - 1
    split = n >= 20 * mk.SAMPLE
    scratch, state, istate, th_lo, th_hi = run_pass(w, pv, split)
    r = ref_returns(w)
    same(scratch[:n], r)
    assert istate[mk.I_NAN] == np.isnan(r).sum()
    total, gross, exposed = ref_running_sums(w, pv)
    same(state[mk.S_TOTAL], total)
    same(state[mk.S_GROSS], gross)
    assert istate[mk.I_EXPOSED] == exposed
    worst, peak, rec = mk.finish_drawdown(rows, state, istate)
    ref_worst, ref_peak, ref_rec = ref_drawdown(w)
    same(worst, ref_worst)
    assert (peak, rec) == (ref_peak, ref_rec)
    if split:
        sample = r[::n // mk.SAMPLE]
        m = len(sample)
        k_lo = min(int((mk.VAR_CUTOFF + mk.TAIL_MARGIN) * m), m - 1)
        k_hi = min(int((1.0 - mk.VAR_CUTOFF - mk.TAIL_MARGIN) * m), m - 1)
        if not np.isnan(sample).any():
            assert (th_lo, th_hi) == (np.partition(sample, k_lo)[k_lo],
                                      np.partition(sample, k_hi)[k_hi])
        lo, hi = r[r <= th_lo], r[r >= th_hi]
        assert (istate[mk.I_LO], istate[mk.I_HI]) == (len(lo), len(hi))
        lo_at, hi_at, cap, _ = mk.tail_layout(n)
        if len(lo) <= cap:
            same(scratch[lo_at:lo_at + len(lo)], lo)
        if len(hi) <= cap:
            same(scratch[hi_at:hi_at + len(hi)], hi)


@settings(max_examples=150, deadline=None)
@given(arrays(np.float64, st.integers(1, 300),
              elements=st.sampled_from([0.0, 1.0, 2.0, 3.0, 100.0, -1.0, 1e-300, 5e-324,
                                        7.25, 1e300, math.inf, math.nan])),
       st.floats(-1e3, 1e3, allow_nan=False))
def test_curve_pass_on_arbitrary_values(w: np.ndarray, scale: float) -> None:
    """Ties, zeros, negative, denormal, infinite and NaN wealth: still the same bits (and
    the same ZeroDivisionError when a new peak follows a zero one)."""
    with np.errstate(all="ignore"):
        pv = w * scale
        r = ref_returns(w)
        total, gross, exposed = ref_running_sums(w, pv)
    try:
        ref_worst, ref_peak, ref_rec = ref_drawdown(w)
    except ZeroDivisionError:
        with pytest.raises(ZeroDivisionError):
            state, istate = run_pass(w, pv, False)[1:3]
            mk.finish_drawdown(len(w), state, istate)
        return
    scratch, state, istate, _, _ = run_pass(w, pv, False)
    same(scratch[:len(w) - 1], r)
    same(state[mk.S_TOTAL], total)
    same(state[mk.S_GROSS], gross)
    assert istate[mk.I_EXPOSED] == exposed
    worst, peak, rec = mk.finish_drawdown(len(w), state, istate)
    same(worst, ref_worst)
    assert (peak, rec) == (ref_peak, ref_rec)


@pytest.mark.parametrize("n", [1, 2, 3, 7, 63, 64, 65, 128, 129, 130, 131, 500, 4000, 20_000])
@pytest.mark.parametrize("kind", ["normal", "ties", "sorted", "reversed", "constant", "nan"])
def test_select_rearranges_as_numba_partition(n: int, kind: str) -> None:
    """``select`` leaves the very order numba's ``np.partition`` leaves (CVaR sums the
    smallest values in that order), for every k; NaN sorted last when asked."""
    rng = np.random.default_rng(n)
    x = {"normal": rng.normal(size=n), "ties": rng.integers(0, 4, n).astype(np.float64),
         "sorted": np.sort(rng.normal(size=n)), "reversed": np.sort(rng.normal(size=n))[::-1],
         "constant": np.full(n, 2.5), "nan": np.where(rng.random(n) < 0.2, math.nan,
                                                      rng.integers(0, 9, n))}[kind]
    for nan_last in (True, False) if kind != "nan" else (True,):
        for k in sorted({0, n // 20, n // 2, n - n // 20 - 1, n - 1, *rng.integers(0, n, 3)}):
            want = partition_copy(x, int(k))
            got = x.copy()
            same(mk.select(got, int(k), nan_last), want[k])
            same(got, want)


@pytest.mark.parametrize("kind", ["walk", "flat_stretches", "ties", "constant", "wiped_out",
                                  "nan", "many_nan"])
@pytest.mark.parametrize("rows", [4, 700, 45_001, 90_001])
def test_pass_tails_equal_partitioned_copies(kind: str, rows: int) -> None:
    """VaR, CVaR and the upper tail from the curve pass's buffers, partitioned in place,
    equal those of numba's ``np.partition`` of copies (what the kernel did before), sampled
    split or not, with NaN too (NaN sorts last; CVaR sums in the partition's order)."""
    w, pv = curve("walk" if kind == "many_nan" else kind, rows, seed=rows + 1)
    if kind == "many_nan":
        w[1::3] = math.nan
    n = rows - 1
    split = n >= 20 * mk.SAMPLE
    scratch, _, istate, _, _ = run_pass(w, pv, split)
    want = ref_tails(scratch[:n].copy())
    got = mk.pass_tails(scratch, n, split, istate[mk.I_LO], istate[mk.I_HI],
                        istate[mk.I_NAN] > 0)
    same(got, want)


@pytest.mark.parametrize("n", [1, 5, 8, 9, 127, 128, 129, 1000, 4099, 70_001])
@pytest.mark.parametrize("rf", [0.0, 3e-6])
def test_lane_sums_are_numpy_pairwise_sums(n: int, rf: float) -> None:
    """Both stages of ``excess_sums`` (8-lane vectors) equal ``np.sum`` of each materialised
    term, the excess ``r - rf`` included."""
    rng = np.random.default_rng(n)
    r, b = rng.normal(0, 0.01, n) * (rng.random(n) < 0.7), rng.normal(0, 0.01, n)
    e = r - rf
    neg = np.minimum(e, 0.0)
    got = mk.excess_sums(r, rf, r, r, 0.0, 0.0, 0)
    same(got, (np.sum(e), np.sum(neg), np.sum(neg * neg)))
    mu, b_mean = float(e.mean()), float(b.mean())
    got = mk.excess_sums(r, rf, r, b, mu, b_mean, 1)
    same(got[:2], (np.sum((e - mu) * (e - mu)), np.sum((b - b_mean) * r)))


@pytest.mark.parametrize("kind", ["walk", "flat_stretches", "nan", "constant"])
def test_book_metrics_equal_the_wealth_path(kind: str) -> None:
    """A book's metrics (one pass over the equity table, exposure included) equal the
    wealth curve's (``curve_metrics``) plus the exposure of the running sums."""
    rows = 50_001
    w, pv = curve(kind, rows, seed=5)
    eq = np.zeros((rows, 4))
    eq[:, 0], eq[:, 2], eq[:, 3] = w, pv, np.linspace(1.0, 2.0, rows)
    ts = np.arange(rows, dtype=np.int64) * 60 * 10**9
    bench, ok, stats = book_bench(eq, rows)
    none = np.zeros((0, 11))
    got = mk.book_metrics(eq, ts, rows, none, np.zeros((0, 2), np.int64), 0, 1.5, 98_280.0,
                          0.02, bench, ok, stats, mk.curve_scratch(rows))
    want = np.zeros(mk.N_KEYS)
    mk.curve_metrics(w.copy(), ts, True, bench, ok, 98_280.0, 0.02, want)
    _, gross, exposed = ref_running_sums(w, pv)
    want[mk.M_EXPO], want[mk.M_GROSS], want[mk.M_FEES] = exposed / rows, gross / rows, 1.5
    same(got, want)


def test_strided_inputs_give_the_same_metrics() -> None:
    """Strided (non-contiguous) returns, benchmark and equity arrays are fine (the lane
    kernels read contiguous copies) and give the same numbers."""
    rng = np.random.default_rng(11)
    r, b = rng.normal(0, 0.01, (2, 3000, 2))
    contiguous = returns_metrics(r[:, 0].copy(), 252, benchmark_returns=b[:, 0].copy())
    assert returns_metrics(r[:, 0], 252, benchmark_returns=b[:, 0]) == contiguous
    equity = np.stack([1e5 * np.cumprod(1 + r[:, 0]), np.zeros(3000)], axis=1)
    prices = np.stack([100 * np.cumprod(1 + b[:, 0]), np.zeros(3000)], axis=1)
    assert compute_metrics(equity[:, 0], benchmark=prices[:, 0]) == compute_metrics(
        equity[:, 0].copy(), benchmark=prices[:, 0].copy())


def numpy_bench(prices: np.ndarray) -> tuple[np.ndarray, bool, np.ndarray]:
    """Benchmark returns, usable, (compounded, mean, variance) as NumPy computes them: what
    ``bench_returns`` (a copy, ``min() <= 0``, then the divisions) and ``bench_stats``
    (pairwise sums, the squared deviations materialised) did."""
    if prices.size < 2 or prices.min() <= 0.0:  # NaN anywhere: min is NaN, usable
        return np.empty(0), False, np.zeros(3)
    r = prices[1:] / prices[:-1] - 1.0
    mean = np.sum(r) / r.size
    var = np.sum((r - mean) * (r - mean)) / r.size
    return r, True, np.array([np.cumprod(1.0 + r)[-1] - 1.0, mean, var])


def bench_prices(kind: str, n: int) -> np.ndarray:
    rng = np.random.default_rng(n)
    p = 100.0 * np.exp(np.cumsum(rng.normal(0.0, 1e-3, n)))
    if n > 2:
        if kind in ("nan", "zero_last_nan", "negative_nan"):
            p[n // 2] = np.nan
        if kind in ("zero_last", "zero_last_nan"):
            p[-1] = 0.0
        if kind in ("negative", "negative_nan"):
            p[n // 3] = -1.0
        if kind == "constant":
            p[:] = 3.0
    return p


@pytest.mark.parametrize("kind", ["walk", "nan", "zero_last", "zero_last_nan", "negative",
                                  "negative_nan", "constant"])
@pytest.mark.parametrize("n", [0, 1, 2, 3, 9, 128, 129, 130, 257, 4099, 70_001])
def test_bench_kernels_are_the_numpy_formulas(kind: str, n: int) -> None:
    """``book_bench`` (the table's strided column read in place, the sum and product in
    the same pass, the squared deviations summed on the fly), ``bench_returns`` and
    ``bench_stats``: bit for bit the NumPy formulas, unusable prices (<= 0 unless some
    price is NaN) included."""
    prices = bench_prices(kind, n)
    want = numpy_bench(prices)
    eq = np.full((n + 2, 4), 9.0)
    eq[:n, 3] = prices
    got = book_bench(eq, n)
    same(got[0], want[0])
    assert got[1] == want[1]
    same(got[2], want[2])
    returns, ok = mk.bench_returns(eq[:n, 3])
    same(returns, want[0])
    assert ok == want[1]
    if want[1]:
        same(mk.bench_stats(want[0]), want[2])
        strided = np.repeat(want[0], 2)[::2]
        same(mk.bench_stats(strided), want[2])


def test_bench_zero_divisor_raises_as_the_division_did() -> None:
    """With a NaN price (usable) a zero divisor raises ZeroDivisionError, as the division
    after the ``min()`` check did; a zero last price is no divisor."""
    with pytest.raises(ZeroDivisionError):
        mk.bench_returns(np.array([1.0, np.nan, 0.0, 2.0]))
    with pytest.raises(ZeroDivisionError):
        book_bench(np.array([[0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, np.nan]]), 2)
    returns, ok = mk.bench_returns(np.array([1.0, np.nan, 2.0, 0.0]))
    assert ok and returns[-1] == -1.0
