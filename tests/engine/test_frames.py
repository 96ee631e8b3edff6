"""Result tables built from the book's arrays in one go (no per-row Python)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from tickforge.engine import nb
from tickforge.engine.broker import Book, labels, repeat_label, to_time
from tickforge.engine.run import make_config


def test_labels_pick_names_by_code_as_str() -> None:
    got = labels(["market", "limit", "stop"], np.array([2.0, 0.0, 2.0, 1.0]))
    assert got.tolist() == ["stop", "market", "stop", "limit"]
    assert got.dtype == pd.Series(["x"]).dtype  # pandas' default str dtype
    assert labels(["a"], np.zeros(0)).dtype == np.float64  # as pandas makes of []
    assert repeat_label("EURUSD", 3).tolist() == ["EURUSD"] * 3


def test_to_time_matches_pandas_conversion() -> None:
    ns = np.array([-86_400 * 10**9, 0, 1_600_000_000_123_456_789, 2**62], np.int64)
    expected = pd.Series(pd.to_datetime(ns, unit="ns", utc=True))
    pd.testing.assert_series_equal(to_time(ns), expected)
    strided = np.stack([ns, ns * 0]).T[:, 0]  # a column of a 2-D table
    pd.testing.assert_series_equal(to_time(strided), expected)


def test_equity_frame_drawdown_and_exposure_with_zero_and_negative_equity() -> None:
    book = Book.create(make_config("sma_cross", {"fast": 2, "slow": 3}, {}), "bars", ["X"])
    equity = np.array([0.0, -5.0, 100.0, 120.0, 90.0, -10.0])
    pos_value = np.array([1.0, 2.0, 50.0, -60.0, 45.0, 5.0])
    eq, eq_t = book.arrays[8], book.arrays[9]
    eq[: equity.size, nb.E_EQ], eq[: equity.size, nb.E_POSVAL] = equity, pos_value
    eq[: equity.size, nb.E_CASH] = equity - pos_value
    eq_t[: equity.size] = np.arange(equity.size) * 60 * 10**9
    book.acct[nb.A_NEQ] = equity.size
    frame = book.equity_frame()
    assert frame.columns.tolist() == ["ts", "equity", "cash", "position_value", "drawdown",
                                      "exposure"]
    np.testing.assert_array_equal(frame["drawdown"],
                                  [0.0, 0.0, 0.0, 0.0, 90 / 120 - 1.0, -10 / 120 - 1.0])
    np.testing.assert_array_equal(frame["exposure"], [0.0, 0.0, 0.5, -0.5, 0.5, 0.0])
    assert str(frame["ts"].dtype) == "datetime64[ns, UTC]" and frame["ts"].iloc[1].minute == 1
    book.acct[nb.A_NEQ] = 0
    assert book.equity_frame().dtypes.tolist() == frame.dtypes.tolist()


def test_trades_frame_dtypes_do_not_depend_on_which_trades_are_open() -> None:
    """Closed and open trades come from one set of rows: a run whose only trade is still
    open has the columns and dtypes of a run with closed ones (its symbol column was
    ``object`` when the open rows were concatenated to an empty frame)."""
    import tickforge as tf

    n = 300
    price = np.linspace(1.0, 2.0, n)
    bars = pd.DataFrame({"ts": pd.date_range("2024-01-01", periods=n, freq="1min", tz="UTC"),
                         "open": price, "high": price + 0.01, "low": price - 0.01,
                         "close": price, "volume": 1.0})
    only_open = tf.backtest(bars, "buy_and_hold").trades
    assert only_open["exit_reason"].tolist() == ["open"]
    wave = 1.5 + 0.3 * np.sin(np.arange(n) / 7.0)
    mixed = tf.backtest(bars.assign(open=wave, high=wave + 0.01, low=wave - 0.01, close=wave),
                        "sma_cross", {"fast": 3, "slow": 8}).trades
    assert (mixed["exit_reason"] != "open").sum() > 1
    assert only_open.dtypes.to_dict() == mixed.dtypes.to_dict()
