"""Parity with backtesting.py 0.6.6: its SmaCross on its bundled GOOG and EURUSD data.

Its conventions are reproduced by options: market orders at the next bar's open (our
default), relative commission on entry and exit (``commission.bps``), all-in whole-unit
sizing (``size_mode='equity', size=0.9999``, lot size 1: backtesting.py's default order size).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

backtesting = pytest.importorskip("backtesting")
from backtesting import Backtest, Strategy  # noqa: E402
from backtesting.lib import crossover  # noqa: E402
from backtesting.test import EURUSD, GOOG, SMA  # noqa: E402

import tickforge as tf  # noqa: E402

CASES = [
    ("GOOG", 10, 30, 0.002, 10_000.0),
    ("GOOG", 5, 20, 0.0, 100_000.0),
    ("EURUSD", 10, 30, 0.0002, 10_000.0),
    ("EURUSD", 20, 60, 0.0, 10_000.0),
]
DATA = {"GOOG": GOOG, "EURUSD": EURUSD}


class SmaCross(Strategy):  # type: ignore[misc]
    """backtesting.py's own example (backtesting/test/_test.py), verbatim."""

    fast = 10
    slow = 30

    def init(self) -> None:
        self.sma1 = self.I(SMA, self.data.Close, self.fast)
        self.sma2 = self.I(SMA, self.data.Close, self.slow)

    def next(self) -> None:
        if crossover(self.sma1, self.sma2):
            self.position.close()
            self.buy()
        elif crossover(self.sma2, self.sma1):
            self.position.close()
            self.sell()


def run_peer(data: pd.DataFrame, fast: int, slow: int, commission: float, cash: float
             ) -> pd.Series:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        bt = Backtest(data, SmaCross, cash=cash, commission=commission)
        return bt.run(fast=fast, slow=slow)


@pytest.mark.parametrize(("name", "fast", "slow", "commission", "cash"), CASES)
def test_sma_cross_matches_backtesting_py(name: str, fast: int, slow: int, commission: float,
                                          cash: float) -> None:
    data = DATA[name]
    peer = run_peer(data, fast, slow, commission, cash)
    res = tf.backtest(data, "sma_cross", {"fast": fast, "slow": slow}, cash=cash,
                      commission={"bps": commission * 1e4}, size=1 - 2**-52)
    ours = res.trades[res.trades["exit_reason"] != "open"].reset_index(drop=True)
    theirs = peer["_trades"]
    assert len(ours) == len(theirs) > 5
    assert list(ours["entry_time"].dt.tz_localize(None)) == list(theirs["EntryTime"])
    assert list(ours["exit_time"].dt.tz_localize(None)) == list(theirs["ExitTime"])
    np.testing.assert_allclose(ours["entry_price"], theirs["EntryPrice"], rtol=1e-12)
    np.testing.assert_allclose(ours["exit_price"], theirs["ExitPrice"], rtol=1e-12)
    np.testing.assert_array_equal(ours["size"] * ours["direction"], theirs["Size"])
    np.testing.assert_allclose(ours["pnl"], theirs["PnL"], rtol=1e-9, atol=1e-9)
    assert res.final_equity == pytest.approx(peer["Equity Final [$]"], rel=1e-9)
    np.testing.assert_allclose(res.equity["equity"].to_numpy()[-len(data) + slow:],
                               peer["_equity_curve"]["Equity"].to_numpy()[-len(data) + slow:],
                               rtol=1e-9)
