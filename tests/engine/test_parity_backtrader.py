"""Parity with backtrader for one configuration: SMA crossover on GOOG daily, fixed target
of 10 shares long/short, 0.1 % commission, market orders at the next bar's open."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

bt = pytest.importorskip("backtrader")
from backtesting.test import GOOG  # noqa: E402

import tickforge as tf  # noqa: E402

STAKE, FAST, SLOW, COMMISSION, CASH = 10, 10, 30, 0.001, 10_000.0


class SmaCross(bt.Strategy):  # type: ignore[misc]
    def __init__(self) -> None:
        fast = bt.indicators.SMA(self.data.close, period=FAST)
        slow = bt.indicators.SMA(self.data.close, period=SLOW)
        self.cross = bt.indicators.CrossOver(fast, slow)
        self.fills: list[tuple[pd.Timestamp, float, float]] = []

    def next(self) -> None:
        if self.cross[0] > 0:
            self.order_target_size(target=STAKE)
        elif self.cross[0] < 0:
            self.order_target_size(target=-STAKE)

    def notify_order(self, order: bt.Order) -> None:
        if order.status == order.Completed:
            when = pd.Timestamp(bt.num2date(order.executed.dt))
            self.fills.append((when, order.executed.size, order.executed.price))


def run_backtrader() -> tuple[list[tuple[pd.Timestamp, float, float]], float]:
    cerebro = bt.Cerebro(stdstats=False)
    cerebro.adddata(bt.feeds.PandasData(dataname=GOOG))
    cerebro.addstrategy(SmaCross)
    cerebro.broker.setcash(CASH)
    cerebro.broker.setcommission(commission=COMMISSION)
    strat = cerebro.run()[0]
    return strat.fills, cerebro.broker.getvalue()


def test_sma_cross_matches_backtrader() -> None:
    fills, value = run_backtrader()
    res = tf.backtest(GOOG, "sma_cross", {"fast": FAST, "slow": SLOW}, cash=CASH,
                      size_mode="units", size=STAKE, commission={"bps": COMMISSION * 1e4})
    orders = res.orders[res.orders["status"] == "filled"]
    ours = list(zip(orders["updated"].dt.tz_localize(None),
                    orders["filled_size"] * orders["side"], orders["avg_fill_price"],
                    strict=True))
    assert len(ours) == len(fills) > 10
    assert [o[0] for o in ours] == [f[0] for f in fills]
    np.testing.assert_array_equal([o[1] for o in ours], [f[1] for f in fills])
    np.testing.assert_allclose([o[2] for o in ours], [f[2] for f in fills], rtol=1e-12)
    assert res.final_equity == pytest.approx(value, rel=1e-9)
