"""Metrics: parity with empyrical-reloaded and quantstats, hand-computed trade statistics,
defined values for degenerate runs, and Hypothesis properties."""

from __future__ import annotations

import json
import math
import warnings
from collections.abc import Callable
from pathlib import Path

import empyrical as ep
import numpy as np
import pandas as pd
import pytest
import quantstats as qs
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from tickforge.engine import metrics_nb as mk
from tickforge.engine.metrics import (
    METRIC_INFO,
    RATIO_CAP,
    compute_metrics,
    infer_periods_per_year,
    json_safe,
    returns_metrics,
    trade_metrics,
)
from tickforge.errors import TickforgeError

REL = 1e-9


def close(ours: float, theirs: float) -> bool:
    """Equal to 1e-9; their value is first clipped to +/-RATIO_CAP, our documented bound
    (e.g. the CAGR of 1500 one-minute returns annualised to 98,280 periods)."""
    assert not math.isnan(theirs)
    return math.isclose(ours, json_safe(theirs), rel_tol=REL, abs_tol=1e-12)


def series(kind: str, n: int = 1500, seed: int = 7) -> tuple[pd.Series, pd.Series]:
    """A return series and a correlated benchmark on a business-day index."""
    rng = np.random.default_rng(seed)
    if kind == "normal":
        r = rng.normal(0.0004, 0.011, n)
    elif kind == "fat_tails":
        r = rng.standard_t(3, n) * 0.006 + 0.0002
    elif kind == "sparse":  # a strategy that is flat two thirds of the time
        r = rng.normal(0.001, 0.015, n) * (rng.random(n) < 0.33)
    elif kind == "losing":
        r = -np.abs(rng.normal(0.001, 0.01, n)) + 0.002 * (rng.random(n) < 0.2)
    else:
        raise ValueError(kind)
    bench = 0.6 * r + rng.normal(0.0002, 0.008, n)
    index = pd.bdate_range("2012-01-02", periods=n)
    return pd.Series(r, index=index), pd.Series(bench, index=index)


KINDS = ["normal", "fat_tails", "sparse", "losing"]
PERIODS = [252.0, 365.0, 98_280.0]

# our key -> empyrical, given (returns, benchmark, periods per year)
EMPYRICAL: dict[str, Callable[[pd.Series, pd.Series, float], float]] = {
    "total_return": lambda r, b, p: ep.cum_returns_final(r),
    "cagr": lambda r, b, p: ep.cagr(r, annualization=p),
    "annual_volatility": lambda r, b, p: ep.annual_volatility(r, annualization=p),
    "sharpe": lambda r, b, p: ep.sharpe_ratio(r, annualization=p),
    "sortino": lambda r, b, p: ep.sortino_ratio(r, annualization=p),
    "calmar": lambda r, b, p: ep.calmar_ratio(r, annualization=p),
    "max_drawdown": lambda r, b, p: ep.max_drawdown(r),
    "var_95": lambda r, b, p: ep.value_at_risk(r),
    "cvar_95": lambda r, b, p: ep.conditional_value_at_risk(r),
    "omega": lambda r, b, p: ep.omega_ratio(r),
    "tail_ratio": lambda r, b, p: ep.tail_ratio(r),
    "alpha": lambda r, b, p: ep.alpha(r, b, annualization=p),
    "beta": lambda r, b, p: ep.beta(r, b),
}

# our key -> quantstats, where its definition coincides with ours
QUANTSTATS: dict[str, Callable[[pd.Series, pd.Series, float], float]] = {
    "total_return": lambda r, b, p: qs.stats.comp(r),
    "cagr": lambda r, b, p: qs.stats.cagr(r, periods=p),
    "annual_volatility": lambda r, b, p: qs.stats.volatility(r, periods=p),
    "sharpe": lambda r, b, p: qs.stats.sharpe(r, periods=p),
    "sortino": lambda r, b, p: qs.stats.sortino(r, periods=p),
    "calmar": lambda r, b, p: qs.stats.calmar(r, periods=p),
    "max_drawdown": lambda r, b, p: qs.stats.max_drawdown(r),
    "cvar_95": lambda r, b, p: qs.stats.cvar(r, method="historical"),
    "omega": lambda r, b, p: qs.stats.omega(r, periods=p),
    "tail_ratio": lambda r, b, p: qs.stats.tail_ratio(r),
    "beta": lambda r, b, p: qs.stats.greeks(r, b, periods=p)["beta"],
}


@pytest.fixture(autouse=True)
def _quiet() -> None:
    warnings.filterwarnings("ignore", module="quantstats")
    warnings.filterwarnings("ignore", category=RuntimeWarning)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("ppy", PERIODS)
def test_returns_metrics_equal_empyrical(kind: str, ppy: float) -> None:
    r, b = series(kind)
    ours = returns_metrics(r.to_numpy(), ppy, benchmark_returns=b.to_numpy())
    for key, theirs in EMPYRICAL.items():
        assert close(ours[key], theirs(r, b, ppy)), (key, ours[key], theirs(r, b, ppy))


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("ppy", PERIODS)
def test_returns_metrics_equal_quantstats(kind: str, ppy: float) -> None:
    r, b = series(kind)
    ours = returns_metrics(r.to_numpy(), ppy, benchmark_returns=b.to_numpy())
    for key, theirs in QUANTSTATS.items():
        assert close(ours[key], theirs(r, b, ppy)), (key, ours[key], theirs(r, b, ppy))


@pytest.mark.parametrize("rf", [0.02, 0.05])
def test_annual_risk_free_matches_quantstats_and_deannualised_empyrical(rf: float) -> None:
    r, _ = series("normal")
    ours = returns_metrics(r.to_numpy(), 252, risk_free=rf)
    per_period = (1 + rf) ** (1 / 252) - 1
    assert close(ours["sharpe"], qs.stats.sharpe(r, rf=rf, periods=252))
    assert close(ours["sharpe"], ep.sharpe_ratio(r, risk_free=per_period))
    assert close(ours["sortino"], qs.stats.sortino(r, rf=rf, periods=252))
    assert close(ours["sortino"], ep.sortino_ratio(r, required_return=per_period))
    assert close(ours["omega"], qs.stats.omega(r, rf=rf, periods=252))
    assert close(ours["omega"], ep.omega_ratio(r, risk_free=per_period))


def test_long_series_tails_equal_empyrical() -> None:
    """Above 200k points the tails come from a sampled threshold; still exact."""
    rng = np.random.default_rng(3)
    r = rng.standard_t(4, 600_000) * 0.001
    ours = returns_metrics(r, 98_280)
    assert close(ours["var_95"], ep.value_at_risk(r))
    assert close(ours["cvar_95"], ep.conditional_value_at_risk(r))
    assert close(ours["tail_ratio"], ep.tail_ratio(r))
    assert close(ours["max_drawdown"], ep.max_drawdown(r))


def test_long_sparse_series_tails_equal_empyrical() -> None:
    """Mostly flat returns put far more values at the sampled thresholds than the tail
    buffers hold: the kernel falls back to all values and is still exact."""
    rng = np.random.default_rng(4)
    r = rng.normal(0.0, 0.001, 100_000) * (rng.random(100_000) < 0.12)  # 88 % zeros
    ours = returns_metrics(r, 98_280)
    assert close(ours["var_95"], ep.value_at_risk(r))
    assert close(ours["cvar_95"], ep.conditional_value_at_risk(r))
    assert close(ours["tail_ratio"], ep.tail_ratio(r))


@pytest.mark.parametrize("n", [3, 8, 127, 128, 129, 1000, 4099, 70_001])
def test_fused_sums_are_numpy_pairwise_sums_of_each_term(n: int) -> None:
    """One pass sums several per-row terms with NumPy's pairwise blocking: bit for bit the
    ``np.sum`` of each materialised term (what the metrics were defined with)."""
    rng = np.random.default_rng(n)
    ex, r, b = rng.normal(0, 0.01, n), rng.normal(0, 0.01, n), rng.normal(0, 0.01, n)
    mu, b_mean = float(ex.mean()), float(b.mean())
    acc = np.empty((3, 8))
    first = mk.pair_sums(ex, r, b, mu, b_mean, 0, acc)
    neg = np.minimum(ex, 0.0)
    assert first == (np.sum(ex), np.sum(neg), np.sum(neg * neg))
    second = mk.pair_sums(ex, r, b, mu, b_mean, 1, acc)
    assert second[:2] == (np.sum((ex - mu) * (ex - mu)), np.sum((b - b_mean) * r))


def test_real_prices_equal_empyrical_and_quantstats(real_data: Path) -> None:
    prices = pd.read_csv(real_data / "yahoo" / "nvda-1999-2014.txt", parse_dates=["Date"],
                         index_col="Date")["Adj Close"]
    bench = pd.read_csv(real_data / "yahoo" / "orcl-1995-2014.txt", parse_dates=["Date"],
                        index_col="Date")["Adj Close"].reindex(prices.index).ffill()
    equity = pd.DataFrame({"ts": prices.index.tz_localize("UTC"), "equity": prices.to_numpy()})
    ours = compute_metrics(equity, benchmark=bench.to_numpy())
    r = prices.pct_change().dropna()
    b = bench.pct_change().dropna()
    assert ours["periods_per_year"] == 252
    for key, theirs in EMPYRICAL.items():
        assert close(ours[key], theirs(r, b, 252)), key
    for key, theirs in QUANTSTATS.items():
        assert close(ours[key], theirs(r, b, 252)), key
    assert close(ours["benchmark_return"], bench.iloc[-1] / bench.iloc[0] - 1)


# ---------------------------------------------------------------- deliberate differences
# Each row is documented in docs/metrics.md ("Deliberate differences").


def test_difference_alpha_annualisation_vs_quantstats() -> None:
    """We compound alpha like empyrical; quantstats multiplies the mean by periods."""
    r, b = series("normal")
    ours = returns_metrics(r.to_numpy(), 252, benchmark_returns=b.to_numpy())
    qs_alpha = qs.stats.greeks(r, b, periods=252)["alpha"]
    assert not close(ours["alpha"], qs_alpha)
    assert close(ours["alpha"], (1 + qs_alpha / 252) ** 252 - 1)


def test_difference_var_is_historic_not_parametric() -> None:
    r, _ = series("fat_tails")
    ours = returns_metrics(r.to_numpy(), 252)
    assert close(ours["var_95"], np.percentile(r, 5))
    parametric = qs.stats.value_at_risk(r)
    assert not close(ours["var_95"], parametric)


def test_difference_zero_dispersion_gives_zero_not_nan() -> None:
    flat = np.zeros(50)
    ours = returns_metrics(flat, 252)
    assert math.isnan(ep.sharpe_ratio(flat))
    assert math.isnan(ep.calmar_ratio(flat))
    assert math.isnan(ep.omega_ratio(flat))
    assert ours["sharpe"] == ours["calmar"] == ours["omega"] == ours["sortino"] == 0.0


def test_difference_infinite_ratios_are_capped() -> None:
    gains = np.full(30, 0.001)
    gains[::3] = 0.002
    ours = returns_metrics(gains, 252)
    assert math.isinf(ep.sortino_ratio(gains))
    assert ours["sortino"] == RATIO_CAP
    assert ours["omega"] == RATIO_CAP  # empyrical: NaN (no losses)
    assert math.isnan(ep.omega_ratio(gains))
    assert ours["calmar"] == RATIO_CAP  # no drawdown
    json.dumps(ours, allow_nan=False)


def test_difference_trade_stats_per_trade_match_quantstats_on_pnl() -> None:
    """quantstats computes win rate, profit factor, payoff and Kelly per *period*; applied to
    a series of trade P&L without zero trades, the definitions coincide with ours."""
    pnl = pd.Series([120.0, -40.0, 35.0, -80.0, 60.0, -10.0, 5.0],
                    index=pd.bdate_range("2020-01-01", periods=7))
    ours = trade_metrics(pd.DataFrame({"pnl": pnl.to_numpy()}))
    assert close(ours["win_rate"], qs.stats.win_rate(pnl))
    assert close(ours["profit_factor"], qs.stats.profit_factor(pnl))
    assert close(ours["payoff_ratio"], qs.stats.payoff_ratio(pnl))
    assert close(ours["kelly"], qs.stats.kelly_criterion(pnl))
    with_zero = pd.Series([*pnl.to_numpy(), 0.0], index=pd.bdate_range("2020-01-01", periods=8))
    ours_zero = trade_metrics(pd.DataFrame({"pnl": with_zero.to_numpy()}))
    assert ours_zero["win_rate"] == 4 / 8  # a break-even trade counts as a trade
    assert close(qs.stats.win_rate(with_zero), 4 / 7)  # quantstats drops zero periods


# ---------------------------------------------------------------- hand-computed cases


def hand_trades() -> pd.DataFrame:
    entry = pd.to_datetime(["2021-01-04", "2021-01-06", "2021-01-11", "2021-01-13",
                            "2021-01-15"], utc=True)
    exits = entry + pd.to_timedelta([1, 2, 1, 1, 4], unit="D")
    return pd.DataFrame({
        "symbol": "X",
        "direction": [1, -1, 1, 1, -1],
        "size": [10.0, 5.0, 10.0, 20.0, 4.0],
        "entry_time": entry,
        "entry_price": [100.0, 110.0, 105.0, 100.0, 125.0],
        "exit_time": exits,
        "exit_price": [110.0, 120.0, 125.0, 98.75, 125.0],
        "pnl": [100.0, -50.0, 200.0, -25.0, 0.0],
        "return_pct": [0.10, -0.05 / 0.55, 0.2 / 1.05, -0.0125, 0.0],
        "fees": [1.0, 1.0, 2.0, 0.5, 0.5],
        "mae": [0.0] * 5,
        "mfe": [0.0] * 5,
        "duration": exits - entry,
        "exit_reason": "signal",
    })


def test_trade_statistics_hand_computed() -> None:
    m = trade_metrics(hand_trades())
    assert m["num_trades"] == 5
    assert m["win_rate"] == pytest.approx(2 / 5)
    assert m["profit_factor"] == pytest.approx(300 / 75)
    assert m["expectancy"] == pytest.approx(225 / 5)
    assert m["avg_win"] == pytest.approx(150.0)
    assert m["avg_loss"] == pytest.approx(-37.5)
    assert m["payoff_ratio"] == pytest.approx(4.0)
    assert m["kelly"] == pytest.approx(0.4 - 0.6 / 4)
    # deviations from the mean 45: 55, -95, 155, -70, -45 -> sum of squares 43000
    assert m["sqn"] == pytest.approx(math.sqrt(5) * 45 / math.sqrt(43000 / 4))
    assert m["best_trade"] == pytest.approx(0.2 / 1.05)
    assert m["worst_trade"] == pytest.approx(-0.05 / 0.55)
    assert m["avg_trade_duration_days"] == pytest.approx(9 / 5)


def hand_equity() -> pd.DataFrame:
    values = [1000.0, 1200.0, 900.0, 1000.0, 1300.0, 1250.0, 1250.0]
    return pd.DataFrame({
        "ts": pd.date_range("2021-01-04", periods=7, freq="D", tz="UTC"),
        "equity": values,
        "cash": values,
        "position_value": 0.0,
        "drawdown": 0.0,
        "exposure": [0.0, 1.0, 1.0, 0.0, 0.5, 0.0, 0.0],
    })


def test_equity_statistics_hand_computed() -> None:
    m = compute_metrics(hand_equity(), hand_trades(), periods_per_year=365, fees=7.5)
    assert m["total_return"] == pytest.approx(0.25)
    assert m["max_drawdown"] == pytest.approx(900 / 1200 - 1)
    # peak at row 1 (1200), recovered at row 4 (1300): 3 periods, 3 days; the later
    # 1300 -> 1250 drawdown never recovers but lasts only 2 periods.
    assert m["max_drawdown_duration"] == 3
    assert m["max_drawdown_duration_days"] == pytest.approx(3.0)
    assert m["cagr"] == pytest.approx(1.25 ** (365 / 6) - 1)
    assert m["exposure"] == pytest.approx(3 / 7)
    assert m["avg_gross_exposure"] == pytest.approx(2.5 / 7)
    notional = 10 * 210 + 5 * 230 + 10 * 230 + 20 * 198.75 + 4 * 250
    mean_equity = np.mean(hand_equity()["equity"])
    assert m["turnover"] == pytest.approx(notional / mean_equity)
    assert m["annual_turnover"] == pytest.approx(notional / mean_equity / (6 / 365))
    assert m["fees_paid"] == 7.5
    assert m["final_equity"] == 1250.0
    assert m["num_periods"] == 6


def test_fees_default_to_trade_fees_and_exposure_to_trade_time() -> None:
    equity = hand_equity().drop(columns=["exposure"])
    m = compute_metrics(equity, hand_trades(), periods_per_year=252)
    assert m["fees_paid"] == pytest.approx(5.0)
    # daily rows 01-04 .. 01-10; rows inside a trade's [entry, exit): 01-04 (first trade),
    # 01-06 and 01-07 (second); the other trades start after the last row
    assert m["exposure"] == pytest.approx(3 / 7)


def test_duration_days_without_timestamps_uses_periods_per_year() -> None:
    m = compute_metrics(hand_equity()["equity"].to_numpy(), periods_per_year=252)
    assert m["max_drawdown_duration_days"] == pytest.approx(3 / 252 * 365.25)


# ---------------------------------------------------------------- degenerate runs


def finite_and_json(m: dict[str, float]) -> None:
    assert set(m) == set(METRIC_INFO)
    assert all(isinstance(v, float) and math.isfinite(v) for v in m.values()), m
    json.dumps(m, allow_nan=False)


def test_zero_trades_and_flat_equity_are_defined() -> None:
    equity = hand_equity().assign(equity=1000.0, exposure=0.0)
    empty = hand_trades().iloc[0:0]
    for trades in (empty, None, pd.DataFrame()):
        m = compute_metrics(equity, trades, benchmark=np.linspace(10, 12, 7))
        finite_and_json(m)
        assert m["num_trades"] == m["win_rate"] == m["profit_factor"] == m["sqn"] == 0.0
        assert m["sharpe"] == m["sortino"] == m["max_drawdown"] == m["total_return"] == 0.0
        assert m["exposure"] == m["turnover"] == m["fees_paid"] == 0.0
        assert m["beta"] == 0.0


@pytest.mark.parametrize("values", [[], [1000.0], [1000.0, 1000.0], [1000.0, 900.0]])
def test_tiny_equity_curves_are_defined(values: list[float]) -> None:
    finite_and_json(compute_metrics(np.array(values)))


def test_empty_equity_table_is_defined() -> None:
    m = compute_metrics(hand_equity().iloc[0:0], hand_trades().iloc[0:0])
    finite_and_json(m)
    assert m["final_equity"] == 0.0 and m["num_periods"] == 0.0


def test_wiped_out_account_is_minus_100_percent() -> None:
    m = compute_metrics(np.array([100.0, 50.0, 0.0, 0.0]), periods_per_year=252)
    finite_and_json(m)
    assert m["total_return"] == -1.0
    assert m["max_drawdown"] == -1.0
    assert m["cagr"] == -1.0
    negative = compute_metrics(np.array([100.0, 50.0, -20.0, -30.0]), periods_per_year=252)
    finite_and_json(negative)
    assert negative["total_return"] == -1.0 and negative["max_drawdown"] == -1.0
    assert negative["cvar_95"] == -1.0  # worst period: -100 %, not -140 %


def test_all_winning_trades_cap_profit_factor() -> None:
    m = trade_metrics(pd.DataFrame({"pnl": [10.0, 20.0]}))
    assert m["profit_factor"] == RATIO_CAP
    assert m["kelly"] == 1.0
    losing = trade_metrics(pd.DataFrame({"pnl": [-10.0, -20.0]}))
    assert losing["profit_factor"] == 0.0
    assert losing["kelly"] == -RATIO_CAP


def test_bad_input_raises_user_errors() -> None:
    with pytest.raises(TickforgeError, match="equity"):
        compute_metrics(pd.DataFrame({"value": [1.0, 2.0]}))
    with pytest.raises(TickforgeError, match="row 1"):
        compute_metrics(np.array([1.0, np.nan, 2.0]))
    with pytest.raises(TickforgeError, match="benchmark"):
        compute_metrics(np.array([1.0, 2.0, 3.0]), benchmark=np.array([1.0, 2.0]))
    with pytest.raises(TickforgeError, match="periods_per_year"):
        returns_metrics([0.01, 0.02], 0)
    with pytest.raises(TickforgeError, match="starting equity"):
        compute_metrics(np.array([0.0, 1.0, 2.0]))
    with pytest.raises(TickforgeError, match="pnl"):
        trade_metrics(pd.DataFrame({"size": [1.0]}))


# ---------------------------------------------------------------- periods per year


def _ppy(freq: str, periods: int, start: str = "2021-01-04") -> float:
    return infer_periods_per_year(pd.date_range(start, periods=periods, freq=freq, tz="UTC"))


def fx_minutes(weeks: int) -> pd.DatetimeIndex:
    """FX session: Sunday 22:00 to Friday 22:00 UTC, one-minute bars."""
    ts = pd.date_range("2021-01-03 22:00", periods=weeks * 7 * 1440, freq="1min", tz="UTC")
    minute_of_week = (ts.day_of_week * 1440 + ts.hour * 60 + ts.minute + 2 * 60) % (7 * 1440)
    return ts[minute_of_week < 5 * 1440]


def test_infer_periods_per_year_from_calendar() -> None:
    assert _ppy("B", 300) == 252
    assert _ppy("D", 300) == 365
    assert _ppy("W", 100) == 52
    assert _ppy("MS", 40) == 12
    assert _ppy("QS", 20) == 4
    assert _ppy("h", 24 * 60) == pytest.approx(24 * 365.25)
    assert _ppy("1min", 1440 * 40) == pytest.approx(1440 * 365.25)
    assert infer_periods_per_year(fx_minutes(8)) == pytest.approx(1440 * 365.25 * 5 / 7,
                                                                  rel=0.02)
    assert infer_periods_per_year(fx_minutes(8)[:1440 * 3]) == pytest.approx(1440 * 252)
    assert infer_periods_per_year(pd.DatetimeIndex([], tz="UTC")) == 252


def test_infer_short_equity_session() -> None:
    days = pd.bdate_range("2021-03-01", periods=5, tz="UTC")
    ts = pd.DatetimeIndex(np.concatenate([
        pd.date_range(d + pd.Timedelta("14h30min"), periods=390, freq="1min").to_numpy()
        for d in days]), tz="UTC")
    assert infer_periods_per_year(ts) == pytest.approx(390 * 252)


def test_infer_real_fx_minutes_and_daily_stock(real_data: Path) -> None:
    fx = pd.read_csv(real_data / "fxcm" / "gbpusd-m1-bid-2012.csv")["timestamp"]
    assert infer_periods_per_year(fx) == pytest.approx(1440 * 365.25 * 5 / 7, rel=0.01)
    daily = pd.read_csv(real_data / "yahoo" / "orcl-1995-2014.txt")["Date"]
    assert infer_periods_per_year(daily) == 252


# ---------------------------------------------------------------- properties

returns_strategy = arrays(np.float64, st.integers(2, 300),  # 1e-8 steps: no float underflow
                          elements=st.floats(-0.5, 0.5).map(lambda x: round(x, 8)))


@settings(max_examples=150, deadline=None)
@given(returns_strategy)
def test_property_bounds_and_finiteness(r: np.ndarray) -> None:
    m = returns_metrics(r, 252)
    assert -1.0 <= m["max_drawdown"] <= 0.0
    assert m["total_return"] >= -1.0
    assert m["annual_volatility"] >= 0.0
    assert m["cvar_95"] <= m["var_95"] + 1e-15
    assert 0 <= m["max_drawdown_duration"] <= len(r)
    assert all(math.isfinite(v) for v in m.values())
    if m["sharpe"] != 0:
        assert np.sign(m["sharpe"]) == np.sign(r.mean())


@settings(max_examples=100, deadline=None)
@given(returns_strategy, st.floats(0.01, 1.9))  # keeps every return above -100 %
def test_property_scale_invariance(r: np.ndarray, k: float) -> None:
    """Scaling returns by k leaves Sharpe, Sortino, omega and tail ratio unchanged."""
    a, b = returns_metrics(r, 252), returns_metrics(r * k, 252)
    for key in ("sharpe", "sortino", "omega", "tail_ratio"):
        if abs(a[key]) < RATIO_CAP:
            assert b[key] == pytest.approx(a[key], rel=1e-6, abs=1e-9), key
    assert b["annual_volatility"] == pytest.approx(a["annual_volatility"] * k, rel=1e-9,
                                                   abs=1e-12)


@settings(max_examples=100, deadline=None)
@given(arrays(np.float64, st.integers(2, 200),  # 1e-8 steps, as returns_strategy
              elements=st.floats(-0.3, 0.3, width=64).map(lambda x: round(x, 8))),
       st.floats(1.0, 1e7))
def test_property_equity_level_invariance(r: np.ndarray, cash: float) -> None:
    """Metrics of an equity curve do not depend on the starting cash (only money ones do).
    Returns are re-derived from the scaled curve (relative error ~eps / |r|), so Sortino,
    whose downside may rest on one 1e-8 loss (e.g. 1e8 for [0.22] * 4 + [-6e-8]), is
    compared at 1e-6 like the scale-invariance property."""
    curve = np.concatenate([[1.0], np.cumprod(1 + r)])
    a = compute_metrics(curve)
    b = compute_metrics(curve * cash)
    for key in ("total_return", "sharpe", "max_drawdown", "cagr", "var_95",
                "max_drawdown_duration"):
        assert b[key] == pytest.approx(a[key], rel=1e-9, abs=1e-12), key
    assert b["sortino"] == pytest.approx(a["sortino"], rel=1e-6, abs=1e-12)
    assert b["final_equity"] == pytest.approx(a["final_equity"] * cash)


@settings(max_examples=100, deadline=None)
@given(arrays(np.float64, st.integers(1, 60),  # P&L in cents, no subnormal underflow
              elements=st.floats(-1e4, 1e4, allow_nan=False).map(lambda x: round(x, 2))),
       st.floats(0.01, 1e3))
def test_property_trade_stats_scale_with_pnl(pnl: np.ndarray, k: float) -> None:
    a = trade_metrics(pd.DataFrame({"pnl": pnl}))
    b = trade_metrics(pd.DataFrame({"pnl": pnl * k}))
    assert 0.0 <= a["win_rate"] <= 1.0
    assert a["kelly"] <= 1.0
    for key in ("win_rate", "profit_factor", "sqn", "kelly", "payoff_ratio"):
        assert b[key] == pytest.approx(a[key], rel=1e-6, abs=1e-9), key
    assert b["expectancy"] == pytest.approx(a["expectancy"] * k, rel=1e-9, abs=1e-9)


def test_ten_million_points_run() -> None:
    """Sweeps call this thousands of times: it must stay vectorised (no Python loop)."""
    rng = np.random.default_rng(0)
    equity = 1e5 * np.cumprod(1 + rng.normal(0, 2e-4, 10_000_000))
    m = compute_metrics(equity, periods_per_year=252 * 1440)
    finite_and_json(m)
    assert m["num_periods"] == 10_000_000 - 1
