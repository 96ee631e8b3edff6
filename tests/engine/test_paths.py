"""One core for every way of writing a strategy: built-in, compiled, Python; determinism;
no lookahead; quotes mode; streaming chunks."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tickforge as tf
from tickforge.engine import callback_nb, nb, run, strategy
from tickforge.engine.strategy import Bar, Fill, Quote, Strategy, compiled_strategy


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


# ---------------------------------------------------------------- Python path: running ahead


class Chaos(Strategy):
    """Random orders of every kind (seeded), position and cash read on every event, equity and
    the raw book now and then, everything seen recorded: one core call per event and the core
    running ahead of the callbacks must see and do exactly the same."""

    def __init__(self, seed: int, rate: float = 0.03, lever: float = 0.5) -> None:
        super().__init__()
        self.rng = np.random.default_rng(seed)
        self.rate, self.lever = rate, lever
        self.seen: list[tuple[object, ...]] = []
        self.ids: list[int] = []

    def on_bar(self, bar: Bar) -> None:
        self.event(tuple(bar), bar.close)

    def on_quote(self, quote: Quote) -> None:
        self.event(tuple(quote), quote.bid)

    def on_fill(self, fill: Fill) -> None:
        self.seen.append(("fill", *fill))

    def event(self, fields: tuple[object, ...], price: float) -> None:
        symbols = self._live().symbols
        self.seen.append((*fields, self.position(), self.position(symbols[-1]), self.cash))
        u = self.rng.random()
        if u < self.rate / 3:
            self.seen.append(("equity", self.equity))
        elif u < self.rate / 2:
            self.seen.append(("marks", *self.book.pos[:, nb.P_BID].tolist()))
        elif u < self.rate:
            self.act(price)

    def act(self, price: float) -> None:
        rng, ids = self.rng, self.ids
        size = float(rng.integers(1, 6)) * (1.0 if rng.random() < 0.5 else -1.0)
        off = price * 0.003 * float(rng.integers(1, 5))
        tif = str(rng.choice(["GTC", "GTC", "DAY", "IOC"]))
        pick = int(rng.integers(0, 11))
        orders: list[Callable[[], object]] = [
            lambda: self.market(size, tif=tif),
            lambda: self.limit(size, price - math.copysign(off, size), tif=tif),
            lambda: self.stop(size, price + math.copysign(off, size), tif=tif),
            lambda: self.stop_limit(size, price + math.copysign(off, size),
                                    price + math.copysign(2 * off, size)),
            lambda: self.trailing_stop(size, off),
            lambda: self.bracket(size, price + math.copysign(2 * off, size),
                                 price - math.copysign(off, size)),
            lambda: self.target(self.lever * float(rng.uniform(-1, 1)), "equity"),
            lambda: self.target(size, "units"),
            lambda: self.close(),
            lambda: ids and self.cancel(ids[int(rng.integers(0, len(ids)))]),
            lambda: ids and self.replace(ids[int(rng.integers(0, len(ids)))], size=abs(size),
                                         limit=price - off),
        ]
        out = orders[pick]()
        self.seen.append(("act", pick, out))
        if isinstance(out, int) and not isinstance(out, bool) and out >= 0:
            ids.append(out)


def two_symbols(n: int) -> pd.DataFrame:
    a, b = random_bars(n, seed=3), random_bars(n, seed=4)
    b[["open", "high", "low", "close"]] *= 0.5
    both = pd.concat([a.assign(symbol="AAA"), b.assign(symbol="BBB")])
    return both.sort_values("ts", kind="stable").reset_index(drop=True)


CASES: dict[str, tuple[Callable[[], pd.DataFrame], dict[str, Any]]] = {
    "bars": (lambda: random_bars(2500), {}),
    "bars, close fills, volume cap, limit first": (
        lambda: random_bars(2500).assign(volume=40.0),
        {"fill_on": "close", "volume_cap": 0.05, "intrabar": "limit_first"}),
    "bars, leverage, margin calls, swap": (
        lambda: random_bars(2500), {"leverage": 20.0, "margin_call_level": 0.8,
                                    "instruments": [{"symbol": "X", "swap_long": -0.5,
                                                     "swap_short": 0.3}],
                                    "symbols": ["X"]}),
    "quotes with latency": (lambda: random_quotes(4000), {"latency_ms": 600}),
    "two symbols": (lambda: two_symbols(1500), {}),
}


def run_chaos(data: pd.DataFrame, options: dict[str, Any], seed: int, lever: float,
              rate: float = 0.03) -> tuple[tf.Result, Chaos]:
    strat = Chaos(seed, rate, lever)
    return tf.backtest(data, strat, cash=10_000.0, **options), strat


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize(("seed", "rate"), [(1, 0.03), (2, 0.006)])
def test_running_ahead_sees_and_does_what_one_step_per_event_does(
        case: str, seed: int, rate: float, monkeypatch: pytest.MonkeyPatch) -> None:
    make, options = CASES[case]
    data = make()
    lever = 0.98 if "margin" in case else 0.5
    ahead, seen_ahead = run_chaos(data, options, seed, lever, rate)
    monkeypatch.setattr(strategy, "SPAN_MAX", 1)  # one core call per event (nb.py_step)
    step, seen_step = run_chaos(data, options, seed, lever, rate)
    assert seen_ahead.seen == seen_step.seen
    for name in ("trades", "orders", "equity"):
        pd.testing.assert_frame_equal(getattr(ahead, name), getattr(step, name))
    assert ahead.final_equity == step.final_equity
    fills = [s for s in seen_ahead.seen if s[0] == "fill"]
    assert len(fills) > 500 * rate and len(ahead.trades) > 2
    if "margin" in case and rate > 0.01:  # with this seed and rate: one margin call
        assert "margin_call" in set(ahead.trades["exit_reason"])


def test_the_core_runs_ahead_and_rewinds(monkeypatch: pytest.MonkeyPatch) -> None:
    """The parity test above compares two different paths: spans of many events, and
    rewinds when a callback asks for the exact book."""
    calls: list[tuple[int, int, bool]] = []
    resolve = strategy.entry_point

    def counting(dispatcher: Any, *args: Any) -> Callable[..., Any]:
        fn = resolve(dispatcher, *args)
        if dispatcher is not callback_nb.run_ahead:
            return fn

        def call(*a: Any) -> Any:
            calls.append((int(a[3]), int(a[4]), bool(a[5])))
            return fn(*a)
        return call

    monkeypatch.setattr(strategy, "entry_point", counting)
    data = random_bars(3000)
    run_chaos(data, {}, seed=3, lever=0.5, rate=0.01)
    rewinds = [c for c in calls if c[2]]
    assert len(calls) < len(data) / 10
    assert len(rewinds) > 10
    assert max(i1 - i0 for i0, i1, _ in calls) >= 256


def test_python_path_in_chunks_equals_one_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    data = random_bars(3000)
    whole, seen_whole = run_chaos(data, {}, seed=5, lever=0.5)
    monkeypatch.setattr(run, "CHUNK", 777)
    parts, seen_parts = run_chaos(data, {}, seed=5, lever=0.5)
    assert seen_whole.seen == seen_parts.seen  # Bar.i counts events of the whole run
    pd.testing.assert_frame_equal(whole.trades, parts.trades)
    pd.testing.assert_frame_equal(whole.equity, parts.equity)


@pytest.mark.parametrize("kind", ["builtin", "python", "compiled"])
def test_every_runner_refuses_chunks_whose_symbols_change(kind: str) -> None:
    from tickforge.engine.data import events_from_frame
    from tickforge.engine.run import TargetRunner, make_config
    from tickforge.errors import ConfigError
    from tickforge.strategies import get_strategy

    data = random_quotes(400)
    first = events_from_frame(data.iloc[:200], "EURUSD")
    second = events_from_frame(data.iloc[200:], "USDJPY")
    params = {"fast": 5, "slow": 20}
    config = make_config("sma_cross", params, {})
    if kind == "builtin":
        strat = get_strategy("sma_cross")
        runner = TargetRunner(config, strat, strat.validate(params))
        runner.book_for(first, None)
        with pytest.raises(ConfigError, match="symbols changed"):
            runner.book_for(second, None)
        return
    runner = strategy.make_runner(config, PySmaCross if kind == "python" else nb_sma_cross)
    runner.chunk(first)
    with pytest.raises(ConfigError, match="symbols changed"):
        runner.chunk(second)
