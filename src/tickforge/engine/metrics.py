"""Backtest performance metrics: numba kernels (``metrics_nb``), empyrical conventions,
JSON-safe output.

Three entry points:

* :func:`compute_metrics` - everything, from an equity curve (``Result.equity`` or an array)
  and the closed trades (``Result.trades``); what the engine stores in ``Result.metrics``.
* :func:`returns_metrics` - the return-series metrics alone, from bare per-period returns
  (research sweeps call it thousands of times).
* :func:`infer_periods_per_year` - the annualisation factor from the timestamps.

Conventions (see ``docs/metrics.md``): sample standard deviation (ddof=1), risk-free rate 0
by default (given as an *annual* rate and de-annualised as ``(1 + rf) ** (1 / ppy) - 1``),
downside deviation over all periods, annualisation by ``sqrt(periods_per_year)``, CAGR over
``number of periods / periods_per_year`` years, historic VaR/CVaR at 95 %. Every value is a
finite float: a ratio whose denominator is zero is 0 when its numerator is 0 too, and
``+/-RATIO_CAP`` otherwise; the same cap bounds any other overflow.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from tickforge.engine import metrics_nb as mk
from tickforge.errors import TickforgeError

RATIO_CAP = 1e9  # stands for +/- infinity in a JSON-safe way (e.g. profit factor, no losses)
DEFAULT_PERIODS_PER_YEAR = 252.0
VAR_CUTOFF = 0.05
NS_PER_DAY = 86_400 * 10**9
DAYS_PER_YEAR = 365.25
ArrayLike = np.ndarray | pd.Series | pd.Index | Sequence[float]

# key -> (label, kind); kind drives formatting in the report: pct, ratio, money, count, days.
METRIC_INFO: dict[str, tuple[str, str]] = {
    "total_return": ("Total return", "pct"),
    "cagr": ("CAGR", "pct"),
    "annual_volatility": ("Annual volatility", "pct"),
    "sharpe": ("Sharpe ratio", "ratio"),
    "sortino": ("Sortino ratio", "ratio"),
    "calmar": ("Calmar ratio", "ratio"),
    "max_drawdown": ("Max drawdown", "pct"),
    "max_drawdown_duration": ("Max drawdown duration (periods)", "count"),
    "max_drawdown_duration_days": ("Max drawdown duration (days)", "days"),
    "var_95": ("VaR 95% (per period)", "pct"),
    "cvar_95": ("CVaR 95% (per period)", "pct"),
    "omega": ("Omega ratio", "ratio"),
    "tail_ratio": ("Tail ratio", "ratio"),
    "alpha": ("Alpha (annual)", "pct"),
    "beta": ("Beta", "ratio"),
    "benchmark_return": ("Buy & hold return", "pct"),
    "num_trades": ("Trades", "count"),
    "win_rate": ("Win rate", "pct"),
    "profit_factor": ("Profit factor", "ratio"),
    "expectancy": ("Expectancy (per trade)", "money"),
    "avg_win": ("Average win", "money"),
    "avg_loss": ("Average loss", "money"),
    "payoff_ratio": ("Payoff ratio", "ratio"),
    "best_trade": ("Best trade", "pct"),
    "worst_trade": ("Worst trade", "pct"),
    "avg_trade_return": ("Average trade return", "pct"),
    "avg_trade_duration_days": ("Average trade duration (days)", "days"),
    "sqn": ("SQN", "ratio"),
    "kelly": ("Kelly fraction", "ratio"),
    "exposure": ("Exposure (time in market)", "pct"),
    "avg_gross_exposure": ("Average gross exposure", "ratio"),
    "turnover": ("Turnover (x average equity)", "ratio"),
    "annual_turnover": ("Annual turnover", "ratio"),
    "fees_paid": ("Fees paid", "money"),
    "final_equity": ("Final equity", "money"),
    "num_periods": ("Periods", "count"),
    "periods_per_year": ("Periods per year", "count"),
}


assert tuple(METRIC_INFO) == mk.KEYS, "metrics_nb.KEYS must follow METRIC_INFO"
CLIPPED = np.array([kind in ("pct", "ratio") for _, kind in METRIC_INFO.values()])


def safe_values(raw: np.ndarray) -> np.ndarray:
    """``json_safe`` of every value of raw kernel output (last axis in ``METRIC_INFO``
    order): NaN -> 0; ratios and fractions clipped to +/-RATIO_CAP; any inf -> +/-RATIO_CAP."""
    out = np.where(np.isnan(raw), 0.0, raw)
    return np.where(CLIPPED | np.isinf(out), np.clip(out, -RATIO_CAP, RATIO_CAP), out)


def as_dict(values: np.ndarray) -> dict[str, float]:
    """One row of ``safe_values`` as the metrics dict."""
    return dict(zip(METRIC_INFO, values.tolist(), strict=True))


# ---------------------------------------------------------------- helpers


def json_safe(value: float, clip: bool = True) -> float:
    """A finite float: NaN -> 0, +/-inf -> +/-RATIO_CAP; ``clip`` also bounds finite values
    to +/-RATIO_CAP (ratios and fractions; money, counts and durations are not clipped)."""
    value = float(value)
    if math.isnan(value):
        return 0.0
    if clip or math.isinf(value):
        return max(-RATIO_CAP, min(RATIO_CAP, value))
    return value


def _clipped(key: str) -> bool:
    return METRIC_INFO[key][1] in ("pct", "ratio")


def _as_float_array(values: Any, field: str) -> np.ndarray:
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 1:
        raise TickforgeError(f"expected a 1-D series, got shape {array.shape}", field=field)
    if len(array) and not np.isfinite(array).all():
        bad = int(np.flatnonzero(~np.isfinite(array))[0])
        raise TickforgeError(f"non-finite value at row {bad}", field=field,
                             hint="drop or fill missing values before computing metrics")
    return array


def to_ns(ts: Any) -> np.ndarray:
    """Timestamps (Series, DatetimeIndex, datetime64 or int ns array) as int64 UTC ns."""
    if isinstance(ts, np.ndarray) and ts.dtype.kind in "iu":
        return ts.astype(np.int64, copy=False)
    index = pd.DatetimeIndex(pd.to_datetime(ts, utc=True))
    return np.asarray(index.as_unit("ns").asi8)


# ---------------------------------------------------------------- periods per year


def _saturday_share(ns: np.ndarray) -> float:
    sample = ns[:: max(1, len(ns) // 200_000)]
    weekday = (sample // NS_PER_DAY + 3) % 7  # 1970-01-01 was a Thursday; Monday = 0
    return float(np.mean(weekday == 5))


def _coarse_periods(step_days: float, ns: np.ndarray) -> float:
    """Daily or coarser bars: 252 / 365 (Saturday bars present) / 52 / 12 / 4 / 1."""
    if step_days < 2.0:
        return 365.0 if _saturday_share(ns) > 0.07 else 252.0
    for low, high, periods in ((5, 10, 52.0), (25, 35, 12.0), (80, 100, 4.0), (350, 380, 1.0)):
        if low <= step_days <= high:
            return periods
    return DAYS_PER_YEAR / step_days


def _bars_per_day(ns: np.ndarray, step: float) -> float:
    """Median bars per UTC date, ignoring the (partial) first and last dates."""
    day = ns // NS_PER_DAY
    edges = np.flatnonzero(np.diff(day)) + 1
    counts = np.diff(np.concatenate(([0], edges, [len(ns)])))
    if len(counts) < 3:
        return NS_PER_DAY / step
    return float(np.median(counts[1:-1]))


def infer_periods_per_year(ts: Any) -> float:
    """Annualisation factor from the bar calendar actually present.

    Daily bars: 252 (weekdays only) or 365 (Saturday bars present, e.g. crypto); weekly 52,
    monthly 12, quarterly 4, yearly 1. Intraday bars spanning >= 4 weeks: bars observed in the
    whole weeks from the first bar, per year of 365.25 days, so weekends, holidays and session
    hours count as they occur (24x5 FX one-minute bars: 375,686; 24x7: 525,960). Shorter
    intraday spans: median bars per date x 365 (Saturday data) or 252. Fewer than 3 timestamps: 252.
    """
    ns = to_ns(ts)
    if len(ns) < 3:
        return DEFAULT_PERIODS_PER_YEAR
    steps = np.diff(ns[:: max(1, len(ns) // 1_000_000)])
    steps = steps[steps > 0]
    if len(steps) == 0:
        return DEFAULT_PERIODS_PER_YEAR
    step = float(np.median(steps))
    if step >= 0.9 * NS_PER_DAY:
        return _coarse_periods(step / NS_PER_DAY, ns)
    weeks = int((ns[-1] - ns[0]) // (7 * NS_PER_DAY))
    if weeks >= 4:  # bars in the whole weeks from the first bar, per year
        count = int(np.searchsorted(ns, ns[0] + weeks * 7 * NS_PER_DAY, side="left"))
        return count / (weeks * 7 / DAYS_PER_YEAR)
    days = 365.0 if _saturday_share(ns) > 0.07 else 252.0
    return _bars_per_day(ns, step) * days


# ---------------------------------------------------------------- return-series metrics

RETURN_KEYS = ("total_return", "cagr", "annual_volatility", "sharpe", "sortino", "calmar",
               "max_drawdown", "max_drawdown_duration", "var_95", "cvar_95", "omega",
               "tail_ratio", "alpha", "beta")
EMPTY = np.empty(0)
EMPTY_NS = np.empty(0, dtype=np.int64)


def check_start(wealth: np.ndarray) -> None:
    if len(wealth) >= 2 and not wealth[0] > 0:
        raise TickforgeError(f"starting equity must be > 0, got {wealth[0]}", field="equity")


def check_ppy(periods_per_year: float) -> float:
    if not periods_per_year > 0 or not math.isfinite(periods_per_year):
        raise TickforgeError(f"periods_per_year must be a positive number, got {periods_per_year}",
                             field="periods_per_year", hint="e.g. 252 for daily stock bars")
    return float(periods_per_year)


def returns_metrics(
    returns: ArrayLike,
    periods_per_year: float = DEFAULT_PERIODS_PER_YEAR,
    *,
    risk_free: float = 0.0,
    benchmark_returns: ArrayLike | None = None,
) -> dict[str, float]:
    """Metrics of a bare per-period simple-return series (wealth starts at 1).

    Keys: total_return, cagr, annual_volatility, sharpe, sortino, calmar, max_drawdown,
    max_drawdown_duration (periods), var_95, cvar_95, omega, tail_ratio, alpha, beta.
    ``risk_free`` is an annual rate; ``benchmark_returns`` must have the same length.
    """
    r = _as_float_array(returns, "returns")
    ppy = check_ppy(periods_per_year)
    wealth = np.empty(len(r) + 1)
    wealth[0] = 1.0
    np.cumprod(1.0 + np.maximum(r, -1.0), out=wealth[1:])
    bench = None if benchmark_returns is None else _as_float_array(benchmark_returns, "benchmark")
    _check_length(bench, len(r), "benchmark_returns")
    out = np.zeros(mk.N_KEYS)
    stats = np.zeros(3) if bench is None else mk.bench_stats(bench)
    mk.wealth_stats(wealth, ppy, float(risk_free), EMPTY if bench is None else bench,
                    bench is not None, stats, out, mk.curve_scratch(len(wealth)))
    metrics = as_dict(safe_values(out))
    return {k: metrics[k] for k in RETURN_KEYS}


def _check_length(values: np.ndarray | None, expected: int, field: str) -> None:
    if values is not None and len(values) != expected:
        raise TickforgeError(f"length {len(values)} does not match the equity ({expected})",
                             field=field, hint="align the benchmark to the equity rows")


# ---------------------------------------------------------------- trade metrics

TRADE_KEYS = ("num_trades", "win_rate", "profit_factor", "expectancy", "avg_win", "avg_loss",
              "payoff_ratio", "best_trade", "worst_trade", "avg_trade_return",
              "avg_trade_duration_days", "sqn", "kelly")


def _trade_column(trades: pd.DataFrame, name: str) -> np.ndarray:
    if name not in trades.columns:
        raise TickforgeError("trades table has no such column", field=name,
                             hint="see the trades contract in tickforge/engine/result.py")
    return np.asarray(trades[name], dtype=np.float64)


def _trade_durations_days(trades: pd.DataFrame) -> np.ndarray:
    """Durations in days through the same kernel as the engine's (ns -> days); NaT -> NaN."""
    if "duration" in trades.columns:
        duration = pd.to_timedelta(trades["duration"])
    else:
        duration = pd.to_datetime(trades["exit_time"]) - pd.to_datetime(trades["entry_time"])
    index = pd.TimedeltaIndex(duration).as_unit("ns")
    days = mk.days_of(np.asarray(index.asi8, dtype=np.int64))
    days[np.asarray(index.isna())] = np.nan
    return days


def _trade_stats(trades: pd.DataFrame | None, out: np.ndarray) -> None:
    """Per-trade statistics into ``out`` (kernel slots)."""
    if trades is None or len(trades) == 0:
        return
    mk.pnl_stats(_trade_column(trades, "pnl"), out)
    if "return_pct" in trades.columns:
        mk.trade_return_stats(_trade_column(trades, "return_pct"), out)
    if "duration" in trades.columns or {"entry_time", "exit_time"} <= set(trades.columns):
        out[mk.M_AVGDUR] = mk.nanmean(_trade_durations_days(trades))


def trade_metrics(trades: pd.DataFrame | None) -> dict[str, float]:
    """Per-trade statistics from the closed trades (zeros when there are none)."""
    out = np.zeros(mk.N_KEYS)
    _trade_stats(trades, out)
    metrics = as_dict(safe_values(out))
    return {k: metrics[k] for k in TRADE_KEYS}


# ---------------------------------------------------------------- equity + trades


def _exposure(frame: pd.DataFrame | None, trades: pd.DataFrame | None, ns: np.ndarray | None,
              values: np.ndarray, out: np.ndarray) -> None:
    """Time in market: rows with non-zero exposure; else rows inside a trade; else the
    fraction of periods with a non-zero return."""
    if len(values) == 0:
        return
    if frame is not None and "exposure" in frame.columns:
        mk.exposure_stats(np.asarray(frame["exposure"], dtype=np.float64), out)
    elif ns is not None and trades is not None and len(trades) and "entry_time" in trades.columns:
        out[mk.M_EXPO] = _time_in_trades(trades, ns)
    else:
        moving = float(np.count_nonzero(values[1:] != values[:-1])) / max(len(values) - 1, 1)
        out[mk.M_EXPO] = moving


def _time_in_trades(trades: pd.DataFrame, ns: np.ndarray) -> float:
    first = np.searchsorted(ns, to_ns(trades["entry_time"]), side="left")
    last = np.searchsorted(ns, to_ns(trades["exit_time"].fillna(trades["entry_time"])),
                           side="left")
    marks = np.zeros(len(ns) + 1, dtype=np.int64)
    np.add.at(marks, first, 1)
    np.add.at(marks, last, -1)
    return float(np.mean(np.cumsum(marks[:-1]) > 0))


def _turnover(trades: pd.DataFrame | None, equity: np.ndarray, years: float,
              out: np.ndarray) -> None:
    if trades is None or len(trades) == 0 or not {"size", "entry_price"} <= set(trades.columns):
        return
    prices = _trade_column(trades, "entry_price")
    if "exit_price" in trades.columns:
        prices = prices + np.nan_to_num(_trade_column(trades, "exit_price"))
    mk.turnover(_trade_column(trades, "size"), prices, mk.mean(equity), years, out)


def _fees(trades: pd.DataFrame | None, fees: float | None) -> float:
    if fees is not None:
        return float(fees)
    if trades is None or len(trades) == 0 or "fees" not in trades.columns:
        return 0.0
    return float(np.nansum(_trade_column(trades, "fees")))


def _split_equity(equity: pd.DataFrame | ArrayLike,
                  ts: Any) -> tuple[np.ndarray, np.ndarray | None, pd.DataFrame | None]:
    frame = equity if isinstance(equity, pd.DataFrame) else None
    if frame is not None:
        if "equity" not in frame.columns:
            raise TickforgeError("equity table has no 'equity' column", field="equity",
                                 hint="see the equity contract in tickforge/engine/result.py")
        values = _as_float_array(frame["equity"], "equity")
        if ts is None and "ts" in frame.columns:
            ts = frame["ts"]
    else:
        values = _as_float_array(equity, "equity")
    ns = None if ts is None else to_ns(ts)
    _check_length(ns, len(values), "ts")
    return values, ns, frame


def _benchmark_prices(benchmark: ArrayLike | None, n: int) -> np.ndarray | None:
    if benchmark is None:
        return None
    prices = _as_float_array(benchmark, "benchmark")
    _check_length(prices, n, "benchmark")
    return prices


def compute_metrics(
    equity: pd.DataFrame | ArrayLike,
    trades: pd.DataFrame | None = None,
    *,
    ts: Any = None,
    periods_per_year: float | None = None,
    benchmark: ArrayLike | None = None,
    fees: float | None = None,
    risk_free: float = 0.0,
) -> dict[str, float]:
    """All metrics of a backtest, as finite floats (``METRIC_INFO`` lists the keys).

    ``equity``: ``Result.equity`` (uses ``equity``, ``ts`` and ``exposure`` columns) or an
    array of equity values (then pass ``ts`` for durations in days and inference).
    ``trades``: ``Result.trades`` (closed trades). ``periods_per_year``: None infers it from
    ``ts`` (252 without timestamps). ``benchmark``: buy-and-hold *prices* aligned row by row
    with the equity. ``fees``: total fees paid if known (default: sum of ``trades.fees``).
    ``risk_free``: annual rate.
    """
    values, ns, frame = _split_equity(equity, ts)
    if periods_per_year is None:
        periods_per_year = DEFAULT_PERIODS_PER_YEAR if ns is None else infer_periods_per_year(ns)
    ppy = check_ppy(periods_per_year)
    bench = _benchmark_prices(benchmark, len(values))
    check_start(values)
    out = np.zeros(mk.N_KEYS)
    returns, ok = (EMPTY, False) if bench is None else mk.bench_returns(bench)
    mk.curve_metrics(values, EMPTY_NS if ns is None else ns, ns is not None, returns, ok, ppy,
                     float(risk_free), out)
    _trade_stats(trades, out)
    _exposure(frame, trades, ns, values, out)
    _turnover(trades, values, max(len(values) - 1, 1) / ppy, out)
    out[mk.M_FEES] = _fees(trades, fees)
    return as_dict(safe_values(out))


def book_metrics(arrays: tuple[np.ndarray, ...], ppy: float,
                 risk_free: float = 0.0) -> np.ndarray:
    """Raw metrics (kernel order) of a finished run's book; ``safe_values`` makes them
    JSON-safe. The sweep batch kernel calls the same ``metrics_nb.book_metrics``."""
    from tickforge.engine import nb

    acct = arrays[0]
    n_eq = int(acct[nb.A_NEQ])
    bench, ok, stats = book_bench(arrays[8], n_eq)
    return mk.book_metrics(arrays[8], arrays[9], n_eq, arrays[6], arrays[7],
                           int(acct[nb.A_NTRD]), float(acct[nb.A_FEES]), ppy, risk_free, bench,
                           ok, stats, np.empty(mk.scratch_size(n_eq)))


def book_bench(eq: np.ndarray, n_eq: int) -> tuple[np.ndarray, bool, np.ndarray]:
    """Benchmark returns of a run: buy and hold of the first symbol's mid at each of the
    ``n_eq`` equity rows (the same for every parameter set of a sweep: computed once
    there), whether usable, and their ``bench_stats``. ``metrics_nb.bench_into`` reads the
    table's column in place; the returns array comes from NumPy (large NumPy arrays get
    huge pages, numba's take a page fault per 4 KiB)."""
    from tickforge.engine import nb

    if n_eq < 2:
        return np.empty(0), False, np.zeros(3)
    out = np.empty(n_eq - 1)
    ok, stats = mk.bench_into(eq[:n_eq, nb.E_BENCH], out, True)
    return (out, True, stats) if ok else (np.empty(0), False, stats)
