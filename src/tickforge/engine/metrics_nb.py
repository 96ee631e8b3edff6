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
from typing import Any

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic, models, register_model

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
CHUNK = 1024  # rows per block of the curve pass (its buffers stay in L1)
BLOCK = 64  # values per block of the branch-free partition scan


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


# ---------------------------------------------------------------- eight float64 lanes
# NumPy's pairwise sum keeps eight accumulators (lane k sums rows k, k + 8, ...): exactly an
# 8-lane vector. numba does not SLP-vectorise such code, and its loop vectoriser cannot
# (in-order reductions, a compress), so the lanes are an LLVM <8 x double> value type with
# a few lane-wise operations: per lane the same IEEE operations as the scalar code, so the
# same bits (no fast-math flags: no reassociation, no FMA contraction). LLVM splits the
# vectors on machines without AVX-512 and expands the compress where it has no instruction:
# slower there, the same results.


class Lanes(types.Type):
    """Eight float64 lanes (LLVM ``<8 x double>``), a value type of the kernels below."""

    def __init__(self) -> None:
        super().__init__(name="Lanes8xf64")


LANES = Lanes()
V8 = ir.VectorType(ir.DoubleType(), 8)


@register_model(Lanes)
class LanesModel(models.PrimitiveModel):
    def __init__(self, dmm: Any, fe_type: Any) -> None:
        super().__init__(dmm, fe_type, V8)


def _item_ptr(context: Any, builder: Any, arrty: Any, arr: Any, idx: Any) -> Any:
    """Pointer to element ``idx`` of a contiguous 1-d array, as ``<8 x double>*``."""
    ary = context.make_array(arrty)(context, builder, arr)
    return builder.bitcast(builder.gep(ary.data, [idx]), V8.as_pointer())


def _splat(builder: Any, x: Any) -> Any:
    v = builder.insert_element(ir.Constant(V8, ir.Undefined), x, ir.Constant(ir.IntType(32), 0))
    return builder.shuffle_vector(v, v, ir.Constant(ir.VectorType(ir.IntType(32), 8), [0] * 8))


def _is_f8(arr: Any) -> bool:
    return isinstance(arr, types.Array) and arr.ndim == 1 and arr.layout == "C" \
        and arr.dtype == types.float64


@intrinsic
def vload(typingctx: Any, arr: Any, idx: Any) -> Any:
    """``arr[idx:idx + 8]`` (contiguous float64; the caller checks the bounds)."""
    if not _is_f8(arr):
        return None

    def codegen(context: Any, builder: Any, sig: Any, args: Any) -> Any:
        return builder.load(_item_ptr(context, builder, sig.args[0], args[0], args[1]),
                            align=8)

    return LANES(arr, types.intp), codegen


def _lanewise(op: str, scalar: bool) -> Any:
    def typer(typingctx: Any, a: Any, b: Any) -> Any:
        def codegen(context: Any, builder: Any, sig: Any, args: Any) -> Any:
            return getattr(builder, op)(args[0], _splat(builder, args[1]) if scalar else args[1])

        return LANES(LANES, types.float64 if scalar else LANES), codegen

    return intrinsic(typer)


vadd = _lanewise("fadd", False)  # a + b
vmul = _lanewise("fmul", False)  # a * b
vsub = _lanewise("fsub", True)  # a - scalar


@intrinsic
def vmin0(typingctx: Any, a: Any) -> Any:
    """``min(a, 0.0)`` per lane, as numba's ``min``: ``0.0 if 0.0 < a else a``."""
    def codegen(context: Any, builder: Any, sig: Any, args: Any) -> Any:
        zero = ir.Constant(V8, [0.0] * 8)
        return builder.select(builder.fcmp_ordered("<", zero, args[0]), zero, args[0])

    return LANES(LANES), codegen


@intrinsic
def lane(typingctx: Any, a: Any, k: Any) -> Any:
    def codegen(context: Any, builder: Any, sig: Any, args: Any) -> Any:
        return builder.extract_element(args[0], args[1])

    return types.float64(LANES, types.intp), codegen


def _count(builder: Any, mask: Any) -> Any:
    """Lanes set in an ``<8 x i1>`` mask, as an int64."""
    i8 = ir.IntType(8)
    ctpop = cgutils.get_or_insert_function(builder.module, ir.FunctionType(i8, [i8]),
                                           "llvm.ctpop.i8")
    return builder.zext(builder.call(ctpop, [builder.bitcast(mask, i8)]), ir.IntType(64))


def _compress(op: str) -> Any:
    def typer(typingctx: Any, v: Any, th: Any, dst: Any, at: Any) -> Any:
        if not _is_f8(dst):
            return None

        def codegen(context: Any, builder: Any, sig: Any, args: Any) -> Any:
            mask = builder.fcmp_ordered(op, args[0], _splat(builder, args[1]))
            compress = cgutils.get_or_insert_function(
                builder.module, ir.FunctionType(V8, [V8, mask.type, V8]),
                "llvm.experimental.vector.compress.v8f64")  # in lane order, packed low
            packed = builder.call(compress, [args[0], mask, ir.Constant(V8, ir.Undefined)])
            builder.store(packed, _item_ptr(context, builder, sig.args[2], args[2], args[3]),
                          align=8)
            return _count(builder, mask)

        return types.intp(LANES, types.float64, dst, types.intp), codegen

    return intrinsic(typer)


# The lanes ``op th`` (in lane order) to ``dst[at:]``, whose 8 slots from ``at`` are written
# (those past the count with junk); returns the count. ``<=`` / ``>=`` are False for NaN.
compress_le = _compress("<=")
compress_ge = _compress(">=")


@intrinsic
def vstore(typingctx: Any, v: Any, arr: Any, idx: Any) -> Any:
    """``arr[idx:idx + 8] = v`` (contiguous float64; the caller checks the bounds)."""
    if not _is_f8(arr):
        return None

    def codegen(context: Any, builder: Any, sig: Any, args: Any) -> Any:
        builder.store(args[0], _item_ptr(context, builder, sig.args[1], args[1], args[2]),
                      align=8)
        return context.get_dummy_value()

    return types.none(LANES, arr, types.intp), codegen


@intrinsic
def count_nan(typingctx: Any, a: Any) -> Any:
    def codegen(context: Any, builder: Any, sig: Any, args: Any) -> Any:
        return _count(builder, builder.fcmp_unordered("uno", args[0], args[0]))

    return types.intp(LANES), codegen


@intrinsic
def count_positive(typingctx: Any, a: Any) -> Any:
    """Lanes ``> 0.0``."""
    def codegen(context: Any, builder: Any, sig: Any, args: Any) -> Any:
        return _count(builder, builder.fcmp_ordered(">", args[0], ir.Constant(V8, [0.0] * 8)))

    return types.intp(LANES), codegen


@intrinsic
def vreturns(typingctx: Any, prev: Any, nxt: Any) -> Any:
    """``simple_return(prev, nxt)`` per lane: ``max(nxt / prev - 1.0, -1.0) if prev > 0.0
    else 0.0``, numba's ``max`` being ``-1.0 if -1.0 > x else x``."""
    def codegen(context: Any, builder: Any, sig: Any, args: Any) -> Any:
        prev, nxt = args
        zero, one = ir.Constant(V8, [0.0] * 8), ir.Constant(V8, [1.0] * 8)
        minus = ir.Constant(V8, [-1.0] * 8)
        x = builder.fsub(builder.fdiv(nxt, prev), one)
        x = builder.select(builder.fcmp_ordered(">", minus, x), minus, x)
        return builder.select(builder.fcmp_ordered(">", prev, zero), x, zero)

    return LANES(LANES, LANES), codegen


@intrinsic
def vgross(typingctx: Any, pv: Any, w: Any) -> Any:
    """``abs(pv / w if w > 0.0 else 0.0)`` per lane."""
    def codegen(context: Any, builder: Any, sig: Any, args: Any) -> Any:
        pv, w = args
        zero = ir.Constant(V8, [0.0] * 8)
        x = builder.select(builder.fcmp_ordered(">", w, zero), builder.fdiv(pv, w), zero)
        fabs = cgutils.get_or_insert_function(builder.module, ir.FunctionType(V8, [V8]),
                                              "llvm.fabs.v8f64")
        return builder.call(fabs, [x])

    return LANES(LANES, LANES), codegen


@njit(cache=True, inline="always")
def lanes_sum(v: Any) -> float:
    """The eight accumulators combined as NumPy's pairwise sum combines them."""
    return (lane(v, 0) + lane(v, 1)) + (lane(v, 2) + lane(v, 3)) + (
        (lane(v, 4) + lane(v, 5)) + (lane(v, 6) + lane(v, 7)))


# ---------------------------------------------------------------- wealth curve
# One blocked pass over the curve (``curve_pass``) yields the returns, the drawdown, the
# exposure sums and the tail buffers, reading the (strided) equity table once: each block
# of CHUNK rows is copied into contiguous buffers, then eight rows at a time the divisions,
# the NaN count and the tail split run as vector lanes while the sequential part (running
# sums in row order, drawdown) goes lane by lane; the vector work hides in the latency of
# those sums. Every value is computed with the same operations, in the same order, as the
# one-purpose loops this replaced, so the bits are unchanged (tests/engine/
# test_metrics_fused.py checks each against those formulas).


@njit(cache=True, inline="always")
def simple_return(prev: float, nxt: float) -> float:
    """Simple return of one step; a wiped-out account (<= 0) stays at -100 %."""
    return max(nxt / prev - 1.0, -1.0) if prev > 0.0 else 0.0


@njit(cache=True)
def returns_of(wealth: np.ndarray) -> np.ndarray:
    """Simple returns; a wiped-out account (<= 0) stays at -100 %."""
    out = np.empty(max(wealth.shape[0] - 1, 0))
    for i in range(out.shape[0]):
        out[i] = simple_return(wealth[i], wealth[i + 1])
    return out


@njit(cache=True, inline="always")
def tail_layout(n: int) -> tuple[int, int, int, int]:
    """Scratch offsets of the two tail buffers of ``n`` returns (after the returns), their
    cap (values kept, ~2 x the expected share; beyond it, e.g. many ties: all values) and
    room (cap + 1 + a block: ``curve_pass`` checks the cap once per block)."""
    cap = n // TAIL_ROOM + 64
    room = cap + 1 + CHUNK
    return n, n + room, cap, room


@njit(cache=True)
def curve_scratch(rows: int) -> np.ndarray:
    """Work space of :func:`wealth_stats` / :func:`book_metrics` for a curve of ``rows`` rows
    (returns, tail buffers, block buffers of ``curve_pass``): a sweep slot allocates it
    once, not per set (in a Dask worker, whose nanny sets MALLOC_TRIM_THRESHOLD_, every
    large allocation is a fresh mmap)."""
    return np.empty(scratch_size(rows))


@njit(cache=True)
def scratch_size(rows: int) -> int:
    """Values of ``curve_scratch(rows)`` (to allocate it in NumPy: huge pages)."""
    _, hi_at, _, room = tail_layout(rows)
    return hi_at + room + 2 * (CHUNK + 8)


# curve_pass state carried from block to block: floats, ints
S_PEAK, S_LOW, S_WORST, S_TOTAL, S_GROSS = range(5)
I_START, I_BEST_LEN, I_BEST_PEAK, I_BEST_REC, I_EXPOSED, I_LO, I_HI, I_NAN = range(8)


@njit(cache=True)
def load_block(w_src: np.ndarray, pv_src: np.ndarray, has_pv: bool, c0: int, c1: int,
               wb: np.ndarray, pvb: np.ndarray) -> None:
    """Rows [c0, c1) of the (strided) sources into the block buffers: ``wb[j]`` /
    ``pvb[j]`` hold row c0 - 1 + j (``wb[0]`` the row before the block)."""
    m = c1 - c0
    src = w_src[c0:c1]
    if c0 > 0:
        wb[0] = w_src[c0 - 1]
    if has_pv:  # the two columns of a row share a cache line: one loop
        pos = pv_src[c0:c1]
        for j in range(m):
            wb[j + 1] = src[j]
            pvb[j + 1] = pos[j]
    else:
        for j in range(m):
            wb[j + 1] = src[j]


@njit(cache=True, inline="always")
def drawdown_step(i: int, w: float, peak: float, low: float, worst: float, start: int,
                  best_len: int, best_peak: int,
                  best_rec: int) -> tuple[float, float, float, int, int, int, int]:
    """Row ``i`` (wealth ``w``) of the drawdown scan: underwater <=> wealth < running peak;
    the deepest point of a peak's stretch is its lowest wealth (division by a positive
    peak is monotonic), so one division per new peak; the longest stretch is kept."""
    if w < peak:
        if start < 0:
            start = i
        low = min(low, w)
    else:
        if start >= 0:
            if i - (start - 1) > best_len:
                best_len, best_peak, best_rec = i - (start - 1), start - 1, i
            start = -1
        if w > peak:
            worst = min(worst, max(low / peak - 1.0, -1.0))
            peak = w
            low = w
    return peak, low, worst, start, best_len, best_peak, best_rec


PassState = tuple[float, float, float, float, float, int, int, int, int, int, int, int, int]


@njit(cache=True, inline="always")
def pass_state(state: np.ndarray, istate: np.ndarray) -> PassState:
    """The curve pass's carried state as scalars (peak, low, worst, total, gross; drawdown
    start, best length, best peak and recovery, exposed rows, tail fills, NaN count)."""
    return (state[S_PEAK], state[S_LOW], state[S_WORST], state[S_TOTAL], state[S_GROSS],
            istate[I_START], istate[I_BEST_LEN], istate[I_BEST_PEAK], istate[I_BEST_REC],
            istate[I_EXPOSED], istate[I_LO], istate[I_HI], istate[I_NAN])


@njit(cache=True, inline="always")
def keep_pass_state(state: np.ndarray, istate: np.ndarray, ps: PassState) -> None:
    """Store what :func:`pass_state` loaded."""
    state[S_PEAK], state[S_LOW], state[S_WORST], state[S_TOTAL], state[S_GROSS] = ps[:5]
    (istate[I_START], istate[I_BEST_LEN], istate[I_BEST_PEAK], istate[I_BEST_REC],
     istate[I_EXPOSED], istate[I_LO], istate[I_HI], istate[I_NAN]) = ps[5:]


@njit(cache=True)
def lane_rows(wb: np.ndarray, pvb: np.ndarray, r: np.ndarray, c0: int, j0: int, j1: int,
              has_pv: bool, split: bool, th_lo: float, th_hi: float, lo_buf: np.ndarray,
              hi_buf: np.ndarray, state: np.ndarray, istate: np.ndarray) -> None:
    """Rows ``wb[j]``, j in [j0, j1) (whole groups of 8, each row with a return), 8 at a
    time: returns (into ``r``, index row - 1), gross exposure, NaN count and tail split
    as vector lanes; then the sequential part lane by lane, in row order: the running
    sums of the wealth and the gross exposure (a plain loop's bits) and the drawdown.
    The vector work overlaps the latency of those sums."""
    (peak, low, worst, total, gross, start, best_len, best_peak, best_rec, exposed, a, b,
     nan) = pass_state(state, istate)
    for j in range(j0, j1, 8):
        cur = vload(wb, j)
        ret = vreturns(vload(wb, j - 1), cur)
        vstore(ret, r, c0 - 2 + j)
        nan += count_nan(ret)
        if split:
            a += compress_le(ret, th_lo, lo_buf, a)
            b += compress_ge(ret, th_hi, hi_buf, b)
        g = vgross(vload(pvb, j), cur) if has_pv else cur
        if has_pv:
            exposed += count_positive(g)
        for t in range(8):
            w = lane(cur, t)
            total += w
            if has_pv:
                gross += lane(g, t)
            peak, low, worst, start, best_len, best_peak, best_rec = drawdown_step(
                c0 - 1 + j + t, w, peak, low, worst, start, best_len, best_peak, best_rec)
    keep_pass_state(state, istate, (peak, low, worst, total, gross, start, best_len,
                                    best_peak, best_rec, exposed, a, b, nan))


@njit(cache=True)
def single_rows(wb: np.ndarray, pvb: np.ndarray, r: np.ndarray, c0: int, j0: int, j1: int,
                has_pv: bool, split: bool, th_lo: float, th_hi: float, lo_buf: np.ndarray,
                hi_buf: np.ndarray, state: np.ndarray, istate: np.ndarray) -> None:
    """``lane_rows`` one row at a time (the first row, without a return, and the rows
    after the last whole group of 8)."""
    (peak, low, worst, total, gross, start, best_len, best_peak, best_rec, exposed, a, b,
     nan) = pass_state(state, istate)
    for j in range(j0, j1):
        i = c0 - 1 + j
        w = wb[j]
        if i > 0:
            v = simple_return(wb[j - 1], w)
            r[i - 1] = v
            nan += v != v
            if split:  # branch-free: store always, advance when it belongs
                lo_buf[a] = v
                a += v <= th_lo
                hi_buf[b] = v
                b += v >= th_hi
        total += w
        if has_pv:
            x = abs(pvb[j] / w if w > 0.0 else 0.0)
            exposed += x > 0.0
            gross += x
        peak, low, worst, start, best_len, best_peak, best_rec = drawdown_step(
            i, w, peak, low, worst, start, best_len, best_peak, best_rec)
    keep_pass_state(state, istate, (peak, low, worst, total, gross, start, best_len,
                                    best_peak, best_rec, exposed, a, b, nan))


@njit(cache=True)
def curve_pass(w_src: np.ndarray, pv_src: np.ndarray, has_pv: bool, split: bool,
               th_lo: float, th_hi: float, scratch: np.ndarray, state: np.ndarray,
               istate: np.ndarray) -> None:
    """One blocked pass over the wealth ``w_src`` (>= 1 row): its returns into
    ``scratch[:len - 1]``, drawdown, wealth sum, NaN returns, with ``has_pv`` the
    exposure of the position values ``pv_src`` and with ``split`` the returns <=
    ``th_lo`` / >= ``th_hi``, in order, into the tail buffers (``tail_layout``); results
    in ``state`` / ``istate``."""
    rows = w_src.shape[0]
    lo_at, hi_at, cap, room = tail_layout(rows - 1)
    lo_buf, hi_buf = scratch[lo_at:lo_at + room], scratch[hi_at:hi_at + room]
    wb = scratch[hi_at + room:hi_at + room + CHUNK + 8]
    pvb = scratch[hi_at + room + CHUNK + 8:hi_at + room + 2 * (CHUNK + 8)]
    state[:] = 0.0
    istate[:] = 0
    state[S_PEAK] = state[S_LOW] = w_src[0]
    istate[I_START] = istate[I_BEST_LEN] = -1
    a_past, b_past = 0, 0
    for c0 in range(0, rows, CHUNK):
        c1 = min(c0 + CHUNK, rows)
        load_block(w_src, pv_src, has_pv, c0, c1, wb, pvb)
        if split:  # a cursor past the cap (that tail then uses all values) goes back to it
            a_past += max(istate[I_LO] - cap, 0)
            b_past += max(istate[I_HI] - cap, 0)
            istate[I_LO], istate[I_HI] = min(istate[I_LO], cap), min(istate[I_HI], cap)
        # the first row (no return) alone; ``one`` is 1 but not a literal argument, for
        # which numba would compile another copy of single_rows
        j0 = 1 if c0 > 0 else 2
        one = j0 - 1 if c0 == 0 else j0
        single_rows(wb, pvb, scratch, c0, one, j0, has_pv, split, th_lo, th_hi, lo_buf,
                    hi_buf, state, istate)
        j1 = j0 + (c1 - c0 + 1 - j0) // 8 * 8
        lane_rows(wb, pvb, scratch, c0, j0, j1, has_pv, split, th_lo, th_hi, lo_buf, hi_buf,
                  state, istate)
        single_rows(wb, pvb, scratch, c0, j1, c1 - c0 + 1, has_pv, split, th_lo, th_hi,
                    lo_buf, hi_buf, state, istate)
    istate[I_LO] += a_past
    istate[I_HI] += b_past


@njit(cache=True)
def finish_drawdown(rows: int, state: np.ndarray, istate: np.ndarray) -> tuple[float, int, int]:
    """(max drawdown, peak row, recovery row) of the longest drawdown after ``curve_pass``;
    recovery = last row if never; (0, 0) when never underwater. Drawdown = wealth /
    running peak - 1, >= -1."""
    worst = min(state[S_WORST], max(state[S_LOW] / state[S_PEAK] - 1.0, -1.0))
    start, best_len = istate[I_START], istate[I_BEST_LEN]
    best_peak, best_rec = istate[I_BEST_PEAK], istate[I_BEST_REC]
    if start >= 0 and (rows - 1) - (start - 1) > best_len:
        best_len, best_peak, best_rec = (rows - 1) - (start - 1), start - 1, rows - 1
    if best_len < 0:
        return worst, 0, 0
    return worst, best_peak, best_rec


@njit(cache=True)
def tail_thresholds(w_src: np.ndarray, sample: np.ndarray) -> tuple[float, float]:
    """Thresholds of the tail split of the ``n`` returns of ``w_src``: order statistics of
    the sample ``r[::n // SAMPLE]`` (computed from the wealth, into ``sample``: room for up
    to 2 * SAMPLE values)."""
    n = w_src.shape[0] - 1
    step = n // SAMPLE
    m = (n + step - 1) // step
    s = sample[:m]
    for j in range(m):
        s[j] = simple_return(w_src[j * step], w_src[j * step + 1])
    k_lo = min(int((VAR_CUTOFF + TAIL_MARGIN) * m), m - 1)
    k_hi = min(int((1.0 - VAR_CUTOFF - TAIL_MARGIN) * m), m - 1)
    th_lo = select(s, k_lo, True)
    return th_lo, select(s, k_hi, True)


@njit(cache=True, inline="always")
def less(a: float, b: float, nan_last: bool) -> bool:
    """``a < b``; with ``nan_last`` NaN sorts after every number (numba's NaN-aware
    ``np.partition`` order)."""
    if nan_last:
        return not math.isnan(a) and (math.isnan(b) or a < b)
    return a < b


@njit(cache=True)
def median_pivot(a: np.ndarray, low: int, high: int, nan_last: bool) -> float:
    """numba's ``np.partition`` pivot: the median of ``a[low]``, ``a[mid]``, ``a[high]``
    (sorted in place), then swapped to ``high``."""
    mid = (low + high) >> 1
    if less(a[mid], a[low], nan_last):
        a[low], a[mid] = a[mid], a[low]
    if less(a[high], a[mid], nan_last):
        a[high], a[mid] = a[mid], a[high]
    if less(a[mid], a[low], nan_last):
        a[low], a[mid] = a[mid], a[low]
    pivot = a[mid]
    a[high], a[mid] = a[mid], a[high]
    return pivot


@njit(cache=True)
def block_swaps(a: np.ndarray, i: int, j: int, pivot: float, nan_last: bool,
                off_lo: np.ndarray, off_hi: np.ndarray) -> tuple[int, int]:
    """The swaps of a Hoare scan of ``a[i:j + 1]`` while it has room for two disjoint blocks
    of BLOCK values: the k-th value from the left that is not below ``pivot`` goes with the
    k-th from the right that is not above it. Each block's such values are found at once,
    without branches (as BlockQuicksort; ``off_lo`` / ``off_hi``: BLOCK slots each).
    Returns the scan's state (i, j) for ``partition_step`` to go on from."""
    n_lo, n_hi, s_lo, s_hi = 0, 0, 0, 0  # pending offsets in the current blocks
    while j - i + 1 > 2 * BLOCK:
        if n_lo == 0:
            s_lo = 0
            left = a[i:i + BLOCK]
            for t in range(BLOCK):
                off_lo[n_lo] = t
                n_lo += not less(left[t], pivot, nan_last)
        if n_hi == 0:
            s_hi = 0
            right = a[j - BLOCK + 1:j + 1]
            for t in range(BLOCK):
                off_hi[n_hi] = t
                n_hi += not less(pivot, right[BLOCK - 1 - t], nan_last)
        m = min(n_lo, n_hi)
        for t in range(m):
            p, q = i + off_lo[s_lo + t], j - off_hi[s_hi + t]
            a[p], a[q] = a[q], a[p]
        n_lo, n_hi, s_lo, s_hi = n_lo - m, n_hi - m, s_lo + m, s_hi + m
        if n_lo == 0:
            i += BLOCK
        if n_hi == 0:
            j -= BLOCK
    if n_lo:  # the scan stands at the next pending value
        i += off_lo[s_lo]
    if n_hi:
        j -= off_hi[s_hi]
    return i, j


@njit(cache=True)
def partition_step(a: np.ndarray, low: int, high: int, nan_last: bool, off_lo: np.ndarray,
                   off_hi: np.ndarray) -> int:
    """One step of numba's ``np.partition`` (``_partition_w_nan``: median-of-three pivot,
    Hoare scan) on ``a[low:high + 1]``, in place: the same swaps, so the same order;
    ``block_swaps`` does them far from where the scans meet. Without NaN the NaN-aware
    order is ``<`` (``nan_last`` False: faster). Returns the pivot's final position."""
    pivot = median_pivot(a, low, high, nan_last)
    i, j = block_swaps(a, low, high - 1, pivot, nan_last, off_lo, off_hi)
    while True:
        while i < high and less(a[i], pivot, nan_last):
            i += 1
        while j >= low and less(pivot, a[j], nan_last):
            j -= 1
        if i >= j:
            break
        a[i], a[j] = a[j], a[i]
        i += 1
        j -= 1
    a[i], a[high] = a[high], a[i]
    return i


@njit(cache=True)
def select(a: np.ndarray, k: int, nan_last: bool) -> float:
    """``a`` rearranged in place exactly as numba's ``np.partition(a, k)`` leaves its copy
    (``nan_last`` must be True if ``a`` may hold NaN); returns ``a[k]``."""
    off_lo = np.empty(BLOCK, np.int64)
    off_hi = np.empty(BLOCK, np.int64)
    low, high = 0, a.shape[0] - 1
    while True:
        i = partition_step(a, low, high, nan_last, off_lo, off_hi)
        if i == k:
            return a[k]
        if i < k:
            low = i + 1
        else:
            high = i - 1


@njit(cache=True)
def next_min(part: np.ndarray, k: int) -> float:
    """Smallest value after position ``k`` of an array partitioned at ``k``."""
    best = part[k + 1]
    for j in range(k + 2, part.shape[0]):
        best = min(best, part[j])
    return best


@njit(cache=True)
def pass_tails(scratch: np.ndarray, n: int, split: bool, n_lo: int, n_hi: int,
               nan: bool) -> tuple[float, float, float]:
    """Historic VaR (5th percentile, linear interpolation as ``np.percentile``), CVaR (mean of
    the int((n - 1) * 0.05) + 1 smallest, as empyrical) and the 95th percentile of the
    returns ``scratch[:n]`` after ``curve_pass`` (``nan``: some are NaN). For long series
    (``split``) only the values beyond thresholds estimated from a sample take part (the
    tail buffers: ``n_lo`` / ``n_hi`` values), unless a sample misled (too few, or more
    than the cap, e.g. many ties: then all values). ``floor(0.05 * (n - 1)) ==
    int((n - 1) * 0.05)``: one partition serves VaR and CVaR. Partitions in place (the
    returns too), in numba's ``np.partition`` order: CVaR sums in that order."""
    r = scratch[:n]
    pos_lo = VAR_CUTOFF * (n - 1)
    low = int(pos_lo)  # >= 0: truncation is floor
    pos_hi = (1.0 - VAR_CUTOFF) * (n - 1)
    high = int(pos_hi)
    lo_at, hi_at, cap, _ = tail_layout(n)
    lo_all = not (split and low + 2 <= n_lo <= cap)
    hi_all = not (split and n - high <= n_hi <= cap)
    lo = r if lo_all else scratch[lo_at:lo_at + n_lo]
    hi = r if hi_all else scratch[hi_at:hi_at + n_hi]
    if nan and lo_all and hi_all:  # with NaN, next_min depends on the order: a fresh copy
        hi = r.copy()
    select(lo, low, nan)
    above = next_min(lo, low) if low + 1 < n else lo[low]
    var = lerp(lo[low], above, pos_lo - low)
    cvar = mean(lo[:low + 1])  # before ``hi`` (maybe the same array) is rearranged
    k = high - (n - hi.shape[0])
    select(hi, k, nan)  # NaN-free, only its order statistics count: any order of ``r`` does
    above = next_min(hi, k) if high + 1 < n else hi[k]
    return var, cvar, lerp(hi[k], above, pos_hi - high)


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


@njit(cache=True)
def leaf_sums0(ex: np.ndarray, rf: float, start: int,
               stop: int) -> tuple[float, float, float]:
    """``pairwise_sum``'s leaf (at most 128 rows) of the excess ``e = ex - rf``, its loss part
    ``min(e, 0)`` and that squared, at once (the eight accumulators are vector lanes)."""
    n = stop - start
    end = start + n - n % 8
    if n < 8:
        s0, s1, s2 = -0.0, -0.0, -0.0
    else:
        e = vsub(vload(ex, start), rf)
        m = vmin0(e)
        a, b, c = e, m, vmul(m, m)
        for j in range(start + 8, end, 8):
            e = vsub(vload(ex, j), rf)
            m = vmin0(e)
            a, b, c = vadd(a, e), vadd(b, m), vadd(c, vmul(m, m))
        s0, s1, s2 = lanes_sum(a), lanes_sum(b), lanes_sum(c)
    for i in range(end, stop):
        e1 = ex[i] - rf
        m1 = min(e1, 0.0)
        s0, s1, s2 = s0 + e1, s1 + m1, s2 + m1 * m1
    return s0, s1, s2


@njit(cache=True)
def leaf_sums1(ex: np.ndarray, rf: float, r: np.ndarray, b: np.ndarray, mu: float,
               b_mean: float, start: int, stop: int) -> tuple[float, float, float]:
    """``leaf_sums0``'s second stage: ``(e - mu)**2``, ``(b - b_mean) * r`` (and 0)."""
    n = stop - start
    end = start + n - n % 8
    if n < 8:
        s0, s1 = -0.0, -0.0
    else:
        d = vsub(vsub(vload(ex, start), rf), mu)
        acc_d, acc_c = vmul(d, d), vmul(vsub(vload(b, start), b_mean), vload(r, start))
        for j in range(start + 8, end, 8):
            d = vsub(vsub(vload(ex, j), rf), mu)
            acc_d = vadd(acc_d, vmul(d, d))
            acc_c = vadd(acc_c, vmul(vsub(vload(b, j), b_mean), vload(r, j)))
        s0, s1 = lanes_sum(acc_d), lanes_sum(acc_c)
    for i in range(end, stop):
        d1 = (ex[i] - rf) - mu
        s0, s1 = s0 + d1 * d1, s1 + (b[i] - b_mean) * r[i]
    return s0, s1, 0.0


@njit(cache=True, inline="always")
def left_size(n: int) -> int:
    """Rows of the first half in ``pairwise_sum``'s split (a multiple of 8)."""
    half = n // 2
    return half - half % 8


@njit(cache=True)
def excess_sums(ex: np.ndarray, rf: float, r: np.ndarray, b: np.ndarray, mu: float,
                b_mean: float, stage: int) -> tuple[float, float, float]:
    """The ``pairwise_sum`` of each per-row term of a stage over all rows, in one pass: with
    ``e = ex - rf``, stage 0 ``e``, ``min(e, 0)`` and that squared; stage 1 ``(e - mu)**2``,
    ``(b - b_mean) * r`` and 0. The same blocks and additions as ``pairwise_sum`` of each
    materialised term, so the same bits. The halving recursion runs on an explicit stack
    (a recursive kernel returning a tuple crashes when numba loads it from its cache)."""
    lo = np.empty(64, np.int64)
    hi = np.empty(64, np.int64)
    state = np.zeros(64, np.int64)  # 0 new, 1 left half summed, 2 right half summed
    left = np.empty((64, 3))
    lo[0], hi[0], depth = 0, ex.shape[0], 0
    s0, s1, s2 = 0.0, 0.0, 0.0  # the last finished node's sums
    while depth >= 0:
        start, stop = lo[depth], hi[depth]
        if state[depth] == 0 and stop - start <= 128:
            if stage == 0:
                s0, s1, s2 = leaf_sums0(ex, rf, start, stop)
            else:
                s0, s1, s2 = leaf_sums1(ex, rf, r, b, mu, b_mean, start, stop)
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
def pair_sums(ex: np.ndarray, r: np.ndarray, b: np.ndarray, mu: float, b_mean: float,
              stage: int, acc: np.ndarray) -> tuple[float, float, float]:
    """``excess_sums`` of ``ex`` itself (``rf = 0``: ``x - 0.0`` is ``x``); ``acc`` is
    unused (kept for existing callers)."""
    return excess_sums(np.ascontiguousarray(ex), 0.0, np.ascontiguousarray(r),
                       np.ascontiguousarray(b), mu, b_mean, stage)


@njit(cache=True)
def constant_excess(r: np.ndarray, rf: float) -> bool:
    """All ``r - rf`` equal (a zero-dispersion series); stops at the first different value."""
    i = 0
    first = r[0] - rf
    while i < r.shape[0] and r[i] - rf == first:
        i += 1
    return i == r.shape[0]


@njit(cache=True)
def bench_stats(bench: np.ndarray) -> np.ndarray:
    """(compounded return, mean, variance ddof=0) of benchmark returns: the same for every
    parameter set of a sweep, so computed once there. Sums are pairwise, as NumPy's: the
    sum and the product in one pass, the squared deviations summed on the fly."""
    n = bench.shape[0]
    if n == 0:
        return np.zeros(3)
    b = np.ascontiguousarray(bench)  # (copied only if strided)
    acc = np.zeros(N_BFLAGS)
    acc[B_PROD] = 1.0
    return bench_moments(b, leaf_tree(b, b, 0.0, T_SUM, acc), acc[B_PROD])


@njit(cache=True)
def bench_moments(b: np.ndarray, total: float, prod: float) -> np.ndarray:
    """``bench_stats`` of ``b`` (>= 1 row) given its ``pairwise_sum`` and the product of
    ``1 + b`` in row order."""
    n = b.shape[0]
    out = np.zeros(3)
    b_mean = total / n
    out[0] = prod - 1.0
    out[1] = b_mean
    out[2] = leaf_tree(b, b, b_mean, T_DEV2, np.zeros(N_BFLAGS)) / n
    return out


# leaf_tree's terms: the benchmark returns made from the prices, the values themselves,
# their squared deviations from a mean
T_RETURNS, T_SUM, T_DEV2 = range(3)
# what leaf_tree carries from leaf to leaf in ``acc`` (T_RETURNS, T_SUM): the product of
# 1 + value, the prices <= 0, NaN, the zero divisors
B_PROD, B_NONPOS, B_NAN, B_ZERO = range(4)
N_BFLAGS = 4


@njit(cache=True)
def leaf_tree(prices: np.ndarray, x: np.ndarray, mu: float, term: int,
              acc: np.ndarray) -> float:
    """``pairwise_sum`` over ``x``'s rows of a per-row term: ``x`` (``T_SUM``), ``x`` made
    first from the prices (``T_RETURNS``: the benchmark returns, see ``leaf_bench``) or
    ``(x - mu)**2`` (``T_DEV2``). The same blocks and additions as ``pairwise_sum`` of the
    materialised term, so the same bits; the leaves come in row order (the product of
    ``leaf_bench`` is ``compounded``'s). The halving runs on an explicit stack, as in
    ``excess_sums`` (recursive kernels crash when numba loads their callers' cache)."""
    lo = np.empty(64, np.int64)
    hi = np.empty(64, np.int64)
    state = np.zeros(64, np.int64)  # 0 new, 1 left half summed, 2 right half summed
    left = np.empty(64)
    lo[0], hi[0], depth = 0, x.shape[0], 0
    total = 0.0  # the last finished node's sum
    while depth >= 0:
        start, stop = lo[depth], hi[depth]
        if state[depth] == 0 and stop - start <= 128:
            if term == T_DEV2:
                total = leaf_dev2(x, mu, start, stop)
            else:
                total = leaf_bench(prices, x, start, stop, term == T_RETURNS, acc)
            depth -= 1
        elif state[depth] == 2:
            total = left[depth] + total
            depth -= 1
        else:
            middle = start + left_size(stop - start)
            first_half = state[depth] == 0
            if not first_half:  # the left half just finished: keep its sum
                left[depth] = total
            state[depth] += 1
            depth += 1
            lo[depth] = start if first_half else middle
            hi[depth] = middle if first_half else stop
            state[depth] = 0
    return total


@njit(cache=True, inline="always")
def leaf_sum(x: np.ndarray, start: int, stop: int) -> float:
    """``pairwise_sum``'s leaf (at most 128 rows) of ``x[start:stop]`` (8 vector lanes)."""
    n = stop - start
    end = start + n - n % 8
    total = -0.0
    if n >= 8:
        acc = vload(x, start)
        for j in range(start + 8, end, 8):
            acc = vadd(acc, vload(x, j))
        total = lanes_sum(acc)
    for i in range(end, stop):
        total += x[i]
    return total


@njit(cache=True)
def leaf_dev2(x: np.ndarray, mu: float, start: int, stop: int) -> float:
    """``pairwise_sum``'s leaf of ``(x - mu)**2`` over ``x[start:stop]``."""
    n = stop - start
    end = start + n - n % 8
    total = -0.0
    if n >= 8:
        d = vsub(vload(x, start), mu)
        acc = vmul(d, d)
        for j in range(start + 8, end, 8):
            d = vsub(vload(x, j), mu)
            acc = vadd(acc, vmul(d, d))
        total = lanes_sum(acc)
    for i in range(end, stop):
        d1 = x[i] - mu
        total += d1 * d1
    return total


@njit(cache=True, error_model="numpy")
def leaf_bench(prices: np.ndarray, out: np.ndarray, start: int, stop: int,
               from_prices: bool, acc: np.ndarray) -> float:
    """Rows [start, stop) of the benchmark returns ``out`` (with ``from_prices`` first
    made: ``prices[i + 1] / prices[i] - 1``, counting the prices ``prices[i + 1]`` <= 0
    or NaN and the zero ``prices[i]``), the product of ``1 + out[i]`` carried in row
    order; returns their ``pairwise_sum`` leaf."""
    prod = acc[B_PROD]
    if from_prices:
        nonpos, nan, zero = acc[B_NONPOS], acc[B_NAN], acc[B_ZERO]
        for i in range(start, stop):
            p0, p1 = prices[i], prices[i + 1]
            v = p1 / p0 - 1.0
            out[i] = v
            prod *= 1.0 + v
            nonpos += p1 <= 0.0
            nan += p1 != p1
            zero += p0 == 0.0
        acc[B_NONPOS], acc[B_NAN], acc[B_ZERO] = nonpos, nan, zero
    else:
        for i in range(start, stop):
            prod *= 1.0 + out[i]
    acc[B_PROD] = prod
    return leaf_sum(out, start, stop)


@njit(cache=True)
def risk_stats(r: np.ndarray, ppy: float, rf: float, bench: np.ndarray, has_bench: bool,
               b_stats: np.ndarray, out: np.ndarray) -> None:
    """Volatility, Sharpe, Sortino, omega of the excess returns ``r - rf``; with a
    benchmark (``b_stats`` from :func:`bench_stats`), empyrical's alpha (compounded
    annualisation) and beta (cov / var). Sums are pairwise, as NumPy's; two fused passes
    (the excess is never materialised: ``r[i] - rf`` is the same value)."""
    n = r.shape[0]
    s_ex, s_neg, s_neg2 = excess_sums(r, rf, r, r, 0.0, 0.0, 0)
    mu = s_ex / n
    b = np.ascontiguousarray(bench) if has_bench else r  # (copied only if strided)
    b_mean = b_stats[1] if has_bench else 0.0
    s_dev2, s_cov, _ = excess_sums(r, rf, r, b, mu, b_mean, 1)
    std = 0.0 if constant_excess(r, rf) else math.sqrt(s_dev2 / (n - 1))
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
def curve_stats(w_src: np.ndarray, pv_src: np.ndarray, has_pv: bool, ppy: float,
                risk_free: float, bench: np.ndarray, has_bench: bool, b_stats: np.ndarray,
                out: np.ndarray, scratch: np.ndarray) -> tuple[int, int, float]:
    """:func:`wealth_stats` of the wealth ``w_src`` (>= 1 row) and, with ``has_pv``, the
    exposure of the position values ``pv_src`` (``exposure`` / ``avg_gross_exposure`` of
    ``|pv / wealth|``): (peak row, recovery row, sum of the wealth in row order)."""
    state = np.empty(5)
    istate = np.empty(8, np.int64)
    rows = w_src.shape[0]
    n = rows - 1
    split = n >= 20 * SAMPLE
    th_lo, th_hi = tail_thresholds(w_src, scratch[n:]) if split else (0.0, 0.0)
    curve_pass(w_src, pv_src, has_pv, split, th_lo, th_hi, scratch, state, istate)
    if has_pv:
        out[M_EXPO] = istate[I_EXPOSED] / rows
        out[M_GROSS] = state[S_GROSS] / rows
    if rows < 2:
        return 0, 0, state[S_TOTAL]
    max_dd, peak, rec = finish_drawdown(rows, state, istate)
    ending = max(w_src[-1] / w_src[0], 0.0)
    cagr = ending ** (1.0 / (n / ppy)) - 1.0
    out[M_TOTAL] = ending - 1.0
    out[M_CAGR] = cagr
    out[M_CALMAR] = ratio(cagr, abs(max_dd))
    out[M_MDD] = max_dd
    out[M_MDD_DUR] = float(rec - peak)
    if n >= 2:
        r = scratch[:n]
        rf = (1.0 + risk_free) ** (1.0 / ppy) - 1.0 if risk_free != 0.0 else 0.0
        risk_stats(r, ppy, rf, bench, has_bench and bench.shape[0] == n, b_stats, out)
        var, cvar, upper = pass_tails(scratch, n, split, istate[I_LO], istate[I_HI],
                                      istate[I_NAN] > 0)
        out[M_VAR] = var
        out[M_CVAR] = cvar
        out[M_TAIL] = ratio(abs(upper), abs(var))
    return peak, rec, state[S_TOTAL]


@njit(cache=True)
def wealth_stats(wealth: np.ndarray, ppy: float, risk_free: float, bench: np.ndarray,
                 has_bench: bool, b_stats: np.ndarray, out: np.ndarray,
                 scratch: np.ndarray) -> tuple[int, int]:
    """Return-series metrics of a positive-start wealth curve into ``out`` (KEYS slots);
    returns the (peak, recovery) rows of the longest drawdown. ``b_stats``: ``bench_stats``
    of ``bench`` when ``has_bench``; ``scratch``: ``curve_scratch(len(wealth))`` or more."""
    rows = wealth.shape[0]
    if rows < 2:
        return 0, 0
    # the same argument types as book_metrics' call (a strided view; a runtime False, not a
    # literal): one compiled curve_stats serves both
    view = wealth[::1]
    peak, rec, _ = curve_stats(view, view, rows < 0, ppy, risk_free, bench, has_bench,
                               b_stats, out, scratch)
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
    if n < 2:
        return np.empty(0), False
    out = np.empty(n - 1)
    ok, _ = bench_into(prices, out, False)
    return (out, True) if ok else (np.empty(0), False)


@njit(cache=True)
def bench_into(prices: np.ndarray, out: np.ndarray, stats: bool) -> tuple[bool, np.ndarray]:
    """The simple returns of ``prices`` (>= 2, maybe strided) into ``out`` (one fewer),
    whether usable, and (``stats``) their ``bench_stats`` (zeros when unusable or not
    asked), from one pass over the prices and, for the variance, one over ``out``. Usable
    as ``prices.min() > 0`` was: unless a price is <= 0, or some price is NaN (that min is
    NaN); then, as that division did, a zero divisor raises ZeroDivisionError."""
    acc = np.zeros(N_BFLAGS)
    acc[B_PROD] = 1.0
    total = leaf_tree(prices, out, 0.0, T_RETURNS, acc)
    p0 = prices[0]
    nonpos = acc[B_NONPOS] > 0.0 or p0 <= 0.0
    nan = acc[B_NAN] > 0.0 or p0 != p0
    if nonpos and not nan:
        return False, np.zeros(3)
    if acc[B_ZERO] > 0.0:
        raise ZeroDivisionError("division by zero")
    return True, bench_moments(out, total, acc[B_PROD]) if stats else np.zeros(3)


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
    curve_facts(values, ns, has_ns, ok, b_stats, ppy, peak, rec, out)


@njit(cache=True)
def curve_facts(values: np.ndarray, ns: np.ndarray, has_ns: bool, ok: bool,
                b_stats: np.ndarray, ppy: float, peak: int, rec: int, out: np.ndarray) -> None:
    """The curve's metrics besides ``wealth_stats``' (given its longest drawdown)."""
    out[M_MDD_DAYS] = episode_days(peak, rec, ns, has_ns, ppy)
    out[M_BENCH] = b_stats[0] if ok else 0.0
    out[M_NPER] = float(max(values.shape[0] - 1, 0))
    out[M_PPY] = ppy
    out[M_FINAL] = values[-1] if values.shape[0] else 0.0


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
    peak, rec, total = 0, 0, 0.0
    if n_eq:  # the curve's metrics and the exposure (position value / equity): one pass
        peak, rec, total = curve_stats(values, eq[:n_eq, 2], n_eq > 0, ppy, risk_free, bench,
                                       ok, b_stats, out, scratch)  # (True, not a literal)
    curve_facts(values, eq_t[:n_eq], True, ok, b_stats, ppy, peak, rec, out)
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
