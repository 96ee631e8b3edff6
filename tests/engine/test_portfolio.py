"""Portfolio: margin call, FX conversion, several symbols, swap, sizing; hand-computed."""

from __future__ import annotations

import pandas as pd
import pytest

import tickforge as tf
from tests.engine.helpers import Script, bars
from tickforge.errors import ConfigError

FLAT = (100.0, 100.0, 100.0, 100.0)


def test_margin_call_liquidates_at_the_mark() -> None:
    rows = [FLAT, FLAT, (98, 98, 98, 98), (96, 96, 96, 96), (94, 94, 94, 94), (90, 90, 90, 90)]
    strat = Script({0: lambda s: s.buy(1000)})
    res = tf.backtest(bars(rows), strat, cash=10_000.0, leverage=10, margin_call_level=0.5)
    # equity 10000 + 1000 (p - 100) < 0.5 * 1000 p / 10  <=>  p < 94.74: at the close of 94
    trade = res.trades.iloc[0]
    assert trade["exit_reason"] == "margin_call"
    assert trade["exit_price"] == 94.0
    assert res.final_equity == pytest.approx(4_000.0)


def test_order_beyond_leverage_is_rejected() -> None:
    strat = Script({0: lambda s: s.buy(200)})
    res = tf.backtest(bars([FLAT] * 3), strat, cash=10_000.0)
    assert res.orders["status"].tolist() == ["rejected"]
    assert res.final_equity == 10_000.0


def test_fx_pnl_converted_to_account_currency() -> None:
    rows = [(150, 150, 150, 150), (150, 150, 150, 150), (151.5, 151.5, 151.5, 151.5),
            (151.5, 151.5, 151.5, 151.5)]
    strat = Script({0: lambda s: s.buy(1000), 1: lambda s: s.sell(1000)})
    res = tf.backtest(bars(rows), strat, symbols=("USDJPY",), cash=10_000.0, leverage=50)
    assert res.trades["pnl"].iloc[0] == pytest.approx(1000 * 1.5 / 151.5)
    assert res.final_equity == pytest.approx(10_000 + 1000 * 1.5 / 151.5)


def test_cross_pair_converts_through_another_symbol() -> None:
    ts = pd.date_range("2024-01-01", periods=4, freq="1h", tz="UTC")
    eurgbp = pd.DataFrame({"ts": ts, "open": [0.85, 0.85, 0.86, 0.86]})
    gbpusd = pd.DataFrame({"ts": ts, "open": [1.25, 1.25, 1.30, 1.30]})
    frames = []
    for name, f in (("EURGBP", eurgbp), ("GBPUSD", gbpusd)):
        f = f.assign(high=f["open"], low=f["open"], close=f["open"], symbol=name)
        frames.append(f)
    data = pd.concat(frames, ignore_index=True)
    strat = Script({0: lambda s: s.buy(10_000, "EURGBP"), 2: lambda s: s.sell(10_000, "EURGBP")})
    res = tf.backtest(data, strat, cash=10_000.0, leverage=30)
    # EURGBP events come first at each time stamp: the sell fills at t2 with GBPUSD's t1 mark
    assert res.trades["pnl"].iloc[0] == pytest.approx(10_000 * 0.01 * 1.25)


def test_missing_conversion_rate_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="fx_rates"):
        tf.backtest(bars([FLAT] * 3), "buy_and_hold", symbols=("EURGBP",))
    res = tf.backtest(bars([FLAT] * 3), "buy_and_hold", symbols=("EURGBP",),
                      fx_rates={"GBP": 1.25})
    assert res.final_equity == pytest.approx(100_000.0)


def test_two_symbols_share_one_cash_balance() -> None:
    ts = pd.date_range("2024-01-01", periods=3, freq="1D", tz="UTC")
    a = pd.DataFrame({"ts": ts, "close": [10.0, 10.0, 12.0], "symbol": "AAA"})
    b = pd.DataFrame({"ts": ts, "close": [20.0, 20.0, 18.0], "symbol": "BBB"})
    data = pd.concat([a, b]).assign(open=lambda d: d["close"], high=lambda d: d["close"],
                                    low=lambda d: d["close"])
    res = tf.backtest(data, "buy_and_hold", size=0.5, cash=1_000.0)
    # each buys 50 % of equity at t1's open: 50 AAA at 10 and 25 BBB at 20
    assert sorted(res.trades["size"].tolist()) == [25.0, 50.0]
    assert res.final_equity == pytest.approx(1_000 + 50 * 2 - 25 * 2)


def test_overnight_swap_is_charged_per_day() -> None:
    rows = [FLAT] * 4
    strat = Script({0: lambda s: s.buy(10)})
    inst = [{"symbol": "ASSET", "swap_long": -0.0365}]
    res = tf.backtest(bars(rows, freq="1D"), strat, cash=10_000.0, instruments=inst)
    # held over 2 day rolls: 2 x 1000 x 0.0365 / 365
    assert res.final_equity == pytest.approx(10_000 - 2 * 1000 * 0.0365 / 365)
    assert res.meta["swap"] == pytest.approx(-0.2)


def test_units_sizing_and_lot_rounding() -> None:
    inst = [{"symbol": "BTCUSD", "lot_size": 0.001}]
    res = tf.backtest(bars([FLAT] * 3), "buy_and_hold", symbols=("BTCUSD",), cash=1_000.0,
                      instruments=inst, size=0.3333)
    assert res.trades["size"].iloc[0] == pytest.approx(3.333)
    res = tf.backtest(bars([FLAT] * 3), "buy_and_hold", size_mode="units", size=7)
    assert res.trades["size"].iloc[0] == 7.0
