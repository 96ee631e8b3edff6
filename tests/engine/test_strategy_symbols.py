"""Python strategies: which symbol an order goes to (the event's, or one named), looked up in
the name -> index map the runner makes once per run."""

from __future__ import annotations

import pandas as pd
import pytest

import tickforge as tf
from tickforge.engine.strategy import Bar, Strategy
from tickforge.errors import ConfigError


def bars(symbols: tuple[str, ...], n: int = 4) -> pd.DataFrame:
    ts = pd.date_range("2024-01-01", periods=n, freq="1D", tz="UTC")
    frames = [pd.DataFrame({"ts": ts, "close": 10.0 * (k + 1), "symbol": name})
              for k, name in enumerate(symbols)]
    data = pd.concat(frames).sort_values("ts", kind="stable").reset_index(drop=True)
    return data.assign(open=data["close"], high=data["close"], low=data["close"])


class Orders(Strategy):
    """At the first bar of every symbol: one order for that bar's symbol (no name given) and,
    at the first bar of the run, one for the last symbol by name."""

    def on_start(self) -> None:
        self.seen: set[str] = set()
        self.sent: list[tuple[int, str]] = []

    def on_bar(self, bar: Bar) -> None:
        if bar.symbol in self.seen:
            return
        if not self.seen:
            last = self._live().symbols[-1]
            self.sent.append((self.buy(3, symbol=last), last))
        self.seen.add(bar.symbol)
        self.sent.append((self.buy(1), bar.symbol))


@pytest.mark.parametrize("symbols", [("AAA",), ("AAA", "BBB", "CCC")])
def test_orders_go_to_the_events_symbol_or_the_named_one(symbols: tuple[str, ...]) -> None:
    strat = Orders()
    res = tf.backtest(bars(symbols), strat, cash=1_000_000.0)
    got = dict(zip(res.orders["order_id"], res.orders["symbol"], strict=True))
    assert sorted(got.items()) == sorted(strat.sent)
    assert len(strat.sent) == len(symbols) + 1


def test_one_instance_run_twice_on_other_symbols() -> None:
    strat = Orders()
    tf.backtest(bars(("AAA", "BBB", "CCC")), strat, cash=1_000_000.0)
    res = tf.backtest(bars(("CCC", "AAA")), strat, cash=1_000_000.0)
    got = dict(zip(res.orders["order_id"], res.orders["symbol"], strict=True))
    assert sorted(got.items()) == sorted(strat.sent)
    assert set(res.trades["symbol"]) == {"AAA", "CCC"}


class Named(Strategy):
    def __init__(self, symbol: str) -> None:
        super().__init__()
        self.symbol = symbol

    def on_bar(self, bar: Bar) -> None:
        self.position(self.symbol)


def test_an_unknown_symbol_is_refused_with_the_known_ones() -> None:
    with pytest.raises(ConfigError, match="unknown symbol 'ZZZ'") as info:
        tf.backtest(bars(("AAA", "BBB")), Named("ZZZ"))
    assert info.value.hint == "one of ['AAA', 'BBB']"


def test_order_methods_outside_a_run_say_so() -> None:
    with pytest.raises(ConfigError, match="not running"):
        Named("AAA").buy(1)
    with pytest.raises(ConfigError, match="not running"):
        Named("AAA").position("AAA")
