"""One core for every way of writing a strategy: built-in, compiled, Python; determinism;
no lookahead; quotes mode; streaming chunks."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tickforge as tf
from tickforge.engine import nb, run
from tickforge.engine.strategy import Bar, Quote, Strategy, compiled_strategy


def random_bars(n: int, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, n)))
    open_ = np.r_[close[0], close[:-1]] * (1 + rng.normal(0, 0.002, n))
    high = np.maximum(open_, close) * (1 + rng.uniform(0, 0.005, n))
    low = np.minimum(open_, close) * (1 - rng.uniform(0, 0.005, n))
    ts = pd.date_range("2020-01-01", periods=n, freq="1h", tz="UTC")
    return pd.DataFrame({"ts": ts, "open": open_, "high": high, "low": low, "close": close})


def random_quotes(n: int, seed: int = 2) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    mid = 1.1 + np.cumsum(rng.normal(0, 1e-4, n))
    spread = rng.uniform(0.5e-4, 2e-4, n)
    ts = pd.date_range("2020-01-01", periods=n, freq="250ms", tz="UTC")
    return pd.DataFrame({"ts": ts, "bid": mid - spread / 2, "ask": mid + spread / 2})


class PySmaCross(Strategy):
    """SMA cross written as a Python strategy (same rule as the built-in)."""

    defaults = {"fast": 10, "slow": 30}  # noqa: RUF012

    def on_start(self) -> None:
        self.prices: list[float] = []
        self.prev = (math.nan, math.nan)

    def decide(self, price: float) -> None:
        self.prices.append(price)
        fast, slow = self.params["fast"], self.params["slow"]
        f = float(np.mean(self.prices[-fast:])) if len(self.prices) >= fast else math.nan
        s = float(np.mean(self.prices[-slow:])) if len(self.prices) >= slow else math.nan
        if self.prev[0] < self.prev[1] and f > s:
            self.target(1.0, "equity")
        elif self.prev[0] > self.prev[1] and f < s:
            self.target(-1.0, "equity")
        self.prev = (f, s)

    def on_bar(self, bar: Bar) -> None:
        self.decide(bar.close)

    def on_quote(self, quote: Quote) -> None:
        self.decide(0.5 * (quote.bid + quote.ask))


@compiled_strategy(target_mode="equity")
def nb_sma_cross(i, ev, book, params):  # type: ignore[no-untyped-def]
    fast, slow = int(params[0]), int(params[1])
    c = ev[5]
    if i < slow:
        return math.nan
    f0, s0 = c[i - fast:i].mean(), c[i - slow:i].mean()
    f1, s1 = c[i - fast + 1:i + 1].mean(), c[i - slow + 1:i + 1].mean()
    if f0 < s0 and f1 > s1:
        return 1.0
    if f0 > s0 and f1 < s1:
        return -1.0
    return math.nan


def same_trades(a: pd.DataFrame, b: pd.DataFrame) -> None:
    cols = ["entry_time", "exit_time", "entry_price", "exit_price", "size", "direction"]
    pd.testing.assert_frame_equal(a[cols], b[cols])
    np.testing.assert_allclose(a["pnl"], b["pnl"], rtol=1e-9)


def test_builtin_python_and_compiled_paths_agree() -> None:
    data = random_bars(1500)
    params = {"fast": 10, "slow": 30}
    a = tf.backtest(data, "sma_cross", params, commission={"bps": 2})
    b = tf.backtest(data, PySmaCross, params, commission={"bps": 2})
    c = tf.backtest(data, nb_sma_cross, params, commission={"bps": 2})
    assert len(a.trades) > 10
    same_trades(a.trades, b.trades)
    same_trades(a.trades, c.trades)
    assert a.final_equity == pytest.approx(b.final_equity, rel=1e-12)
    assert a.final_equity == pytest.approx(c.final_equity, rel=1e-12)


def test_python_path_on_quotes_matches_builtin() -> None:
    data = random_quotes(3000)
    params = {"fast": 20, "slow": 80}
    a = tf.backtest(data, "sma_cross", params)
    b = tf.backtest(data, PySmaCross, params)
    assert len(a.trades) > 5
    same_trades(a.trades, b.trades)


def test_two_runs_are_identical() -> None:
    data = random_quotes(5000)
    a = tf.backtest(data, "rsi_reversion", {"n": 30})
    b = tf.backtest(data, "rsi_reversion", {"n": 30})
    pd.testing.assert_frame_equal(a.trades, b.trades)
    pd.testing.assert_frame_equal(a.equity, b.equity)
    pd.testing.assert_frame_equal(a.orders, b.orders)


def test_chunked_run_equals_one_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    data = random_quotes(6000)
    whole = tf.backtest(data, "sma_cross", {"fast": 15, "slow": 60}, equity_every="10s")
    monkeypatch.setattr(run, "CHUNK", 777)
    parts = tf.backtest(data, "sma_cross", {"fast": 15, "slow": 60}, equity_every="10s")
    pd.testing.assert_frame_equal(whole.trades, parts.trades)
    pd.testing.assert_frame_equal(whole.equity, parts.equity)


def test_quotes_fill_at_ask_and_bid() -> None:
    data = random_quotes(3000)
    res = tf.backtest(data, "sma_cross", {"fast": 20, "slow": 80}, size_mode="units", size=1000)
    ask = dict(zip(data["ts"], data["ask"], strict=True))
    bid = dict(zip(data["ts"], data["bid"], strict=True))
    closed = res.trades[res.trades["exit_reason"] != "open"]
    for _, t in closed.iterrows():
        entry_side = ask if t["direction"] > 0 else bid
        exit_side = bid if t["direction"] > 0 else ask
        assert t["entry_price"] == entry_side[t["entry_time"]]
        assert t["exit_price"] == exit_side[t["exit_time"]]


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cut=st.integers(min_value=50, max_value=700), seed=st.integers(0, 10_000),
       name=st.sampled_from(["sma_cross", "ema_cross", "donchian_breakout",
                             "bollinger_reversion", "rsi_reversion", "momentum"]))
def test_no_lookahead(cut: int, seed: int, name: str) -> None:
    """Changing every bar after bar ``cut`` changes nothing decided up to ``cut``."""
    data = random_bars(800, seed=1)
    other = random_bars(800, seed=seed + 7)
    changed = data.copy()
    for col in ("open", "high", "low", "close"):
        changed.loc[cut + 1:, col] = other.loc[cut + 1:, col] * data["close"][cut] / 100
    a = tf.backtest(data, name)
    b = tf.backtest(changed, name)
    limit = data["ts"][cut]
    oa = a.orders[a.orders["created"] <= limit].drop(columns=["updated", "status",
                                                              "filled_size", "avg_fill_price",
                                                              "fees", "size", "side"])
    ob = b.orders[b.orders["created"] <= limit].drop(columns=list(set(a.orders) - set(oa)))
    pd.testing.assert_frame_equal(oa, ob)
    ea, eb = a.equity[a.equity["ts"] <= limit], b.equity[b.equity["ts"] <= limit]
    pd.testing.assert_frame_equal(ea, eb)


def test_run_kernel_can_resume_when_tables_fill() -> None:
    data = random_bars(12_000)
    res = tf.backtest(data, "sma_cross", {"fast": 3, "slow": 7})
    assert len(res.orders) > 1024 and len(res.equity) == 12_000  # grew past the capacity
    assert int(res.orders["order_id"].iloc[-1]) == len(res.orders) - 1
    assert nb.ROOM > 0
