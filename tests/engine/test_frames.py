"""Result tables built from the book's arrays in one go (no per-row Python)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tickforge.engine import frames_nb, nb
from tickforge.engine.broker import (
    KINDS,
    REASONS,
    STATUSES,
    TIFS,
    Book,
    labels,
    repeat_label,
    to_time,
    trade_rows,
)
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


def numpy_equity_block(eq: np.ndarray, n: int) -> np.ndarray:
    """The NumPy formulas ``frames_nb.equity_block`` replaced: column copies, the running
    peak, then ``num / den (- 1)`` where ``den > 0``, else 0."""
    block = np.empty((5, n))
    equity, cash, pos_value, dd, exposure = block
    equity[:], cash[:], pos_value[:] = eq[:n, nb.E_EQ], eq[:n, nb.E_CASH], eq[:n, nb.E_POSVAL]
    peak = np.maximum.accumulate(equity) if n else equity
    for num, den, out, minus_one in ((equity, peak, dd, True), (pos_value, equity, exposure,
                                                                  False)):
        ok = den > 0
        out[:] = 0.0
        with np.errstate(invalid="ignore"):  # inf / inf
            np.divide(num, den, out=out, where=ok)
        if minus_one:
            np.subtract(out, 1.0, out=out, where=ok)
    return block


EDGE_EQUITY = {
    "zero_and_negative_peak": [0.0, -5.0, -1.0, 0.0, 100.0, 120.0, 90.0, -10.0],
    "zero_equity": [100.0, 0.0, 50.0, -0.0, 150.0, 0.0],
    "nan_then_higher": [100.0, 120.0, np.nan, 200.0, 50.0],
    "nan_first": [np.nan, 5.0, 1.0],
    "signed_zero_peak": [-0.0, 0.0, -3.0, 2.0, 1.0],
    "infinite": [1.0, np.inf, 3.0, -np.inf, np.nan],
    "empty": [],
}


@pytest.mark.parametrize("name", [*EDGE_EQUITY, "walk"])
def test_equity_block_is_the_numpy_formula(name: str) -> None:
    """Bit for bit the NumPy formulas, NaN / zero / negative equity and peaks included."""
    rng = np.random.default_rng(len(name))
    if name == "walk":  # long, wiped out and back, a NaN row
        equity = 100.0 + np.cumsum(rng.normal(0.0, 1.0, 10_001)) * 3.0
        equity[5000] = np.nan
    else:
        equity = np.array(EDGE_EQUITY[name])
    n = equity.size
    pos_value = rng.normal(0.0, 50.0, n) * (rng.random(n) < 0.7)
    pos_value[::7] = np.nan
    eq = np.full((n + 3, nb.N_EQ), 7.0)  # rows past n are not read
    eq[:n, nb.E_EQ], eq[:n, nb.E_POSVAL] = equity, pos_value
    eq[:n, nb.E_CASH] = rng.normal(0.0, 1.0, n)
    got = np.empty((5, n))
    frames_nb.equity_block(eq, got)
    assert np.array_equal(got.view(np.int64), numpy_equity_block(eq, n).view(np.int64))


@pytest.mark.parametrize("name", ["EURUSD", "", "日本株"])
@pytest.mark.parametrize("n", [0, 1, 3, 4095, 4096, 4097, 10_001])
def test_repeat_label_is_the_gathered_column(name: str, n: int) -> None:
    """The buffers written directly give the column ``labels`` gathers: same values, same
    ``str`` dtype and Arrow type."""
    want = labels([name], np.zeros(n), empty_dtype="str")
    got = repeat_label(name, n)
    assert got.equals(want) and got.dtype == want.dtype and got.tolist() == [name] * n
    if n:
        got.array._pa_array.validate(full=True)
        assert got.array._pa_array.type == want.array._pa_array.type
    offsets = np.empty(n + 1, np.int64)
    frames_nb.fill_offsets(offsets, 5)
    assert np.array_equal(offsets, np.arange(n + 1) * 5)


def _random_orders(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    o = rng.normal(0, 3, (n + 5, nb.N_ORD))
    o[:, nb.O_KIND] = rng.integers(0, 6, n + 5)
    o[:, nb.O_TMODE] = rng.integers(0, 2, n + 5)
    o[:, nb.O_SIDE] = rng.choice([-1.0, 1.0], n + 5)
    o[:, nb.O_FILLED] = np.where(rng.random(n + 5) < 0.3, 0.0, np.abs(o[:, nb.O_FILLED]))
    o[::7, nb.O_LIMIT] = np.nan
    o[:, nb.O_TIF] = rng.integers(0, 3, n + 5)
    o[:, nb.O_STATUS] = rng.integers(0, 7, n + 5)
    o[:, nb.O_PARENT] = rng.integers(-1, n, n + 5)
    o[:, nb.O_SYM] = rng.integers(0, 2, n + 5)
    ot = rng.integers(0, 2**62, (n + 5, nb.N_ORD_T))
    return o, ot


def test_orders_frame_columns_equal_the_numpy_formulas() -> None:
    n = 1000
    o, ot = _random_orders(n, np.random.default_rng(3))
    book = Book.create(make_config("sma_cross", {"fast": 2, "slow": 3}, {}), "bars", ["A", "B"],
                       capacity=n + 5)
    book.arrays[4][: n + 5], book.arrays[5][: n + 5] = o, ot
    book.acct[nb.A_NORD] = n
    got = book.orders_frame()
    o, ot = o[:n], ot[:n]
    target = o[:, nb.O_KIND] == nb.K_TARGET
    expect = {
        "order_id": np.arange(n), "side": o[:, nb.O_SIDE].astype(int),
        "size": np.where(target, o[:, nb.O_FILLED], o[:, nb.O_SIZE0]),
        "target": np.where(target, o[:, nb.O_SIZE0], np.nan),
        "limit_price": o[:, nb.O_LIMIT], "stop_price": o[:, nb.O_STOP],
        "filled_size": o[:, nb.O_FILLED],
        "avg_fill_price": np.where(o[:, nb.O_FILLED] > 0, o[:, nb.O_AVG], np.nan),
        "fees": o[:, nb.O_FEES], "parent_id": o[:, nb.O_PARENT].astype(int),
    }
    for name, values in expect.items():
        np.testing.assert_array_equal(got[name].to_numpy(), values, err_msg=name)
        assert got[name].dtype == values.dtype, name
    mode = np.where(target, np.where(o[:, nb.O_TMODE] == 1, "equity", "units"), "")
    assert got["target_mode"].tolist() == mode.tolist()
    assert got["kind"].tolist() == [KINDS[int(k)] for k in o[:, nb.O_KIND]]
    assert got["status"].tolist() == [STATUSES[int(k)] for k in o[:, nb.O_STATUS]]
    assert got["tif"].tolist() == [TIFS[int(k)] for k in o[:, nb.O_TIF]]
    assert got["symbol"].tolist() == [["A", "B"][int(k)] for k in o[:, nb.O_SYM]]
    pd.testing.assert_series_equal(got["created"], to_time(ot[:, nb.OT_CREATED]),
                                   check_names=False)
    pd.testing.assert_series_equal(got["updated"], to_time(ot[:, nb.OT_UPDATED]),
                                   check_names=False)


def test_trades_frame_columns_equal_the_numpy_formulas_with_nat_and_zero_notional() -> None:
    n, rng = 500, np.random.default_rng(4)
    t = rng.normal(0, 5, (n, nb.N_TRD))
    t[:, nb.T_SYM] = 0.0
    t[:, nb.T_DIR] = rng.choice([-1.0, 1.0], n)
    t[:, nb.T_REASON] = rng.integers(0, 7, n)
    t[::5, nb.T_NOTIONAL] = 0.0
    t[::11, nb.T_PNL] = np.nan
    tt = np.sort(rng.integers(0, 2**60, (n, nb.N_TRD_T)), axis=1)
    tt[3, nb.TT_ENTRY] = np.iinfo(np.int64).min  # NaT
    got = trade_rows(t, tt, ["X"])
    expect = _numpy_trades(t, tt)
    pd.testing.assert_frame_equal(got, expect, check_exact=True)
    assert pd.isna(got["duration"][3])
    pd.testing.assert_frame_equal(trade_rows(t[:0], tt[:0], ["X"]), _numpy_trades(t[:0], tt[:0]),
                                  check_exact=True)


def _numpy_trades(t: np.ndarray, tt: np.ndarray) -> pd.DataFrame:
    """The trades frame as NumPy and pandas column operations build it (the reference)."""
    entry, exit_ = to_time(tt[:, nb.TT_ENTRY]), to_time(tt[:, nb.TT_EXIT])
    with np.errstate(divide="ignore", invalid="ignore"):
        ret = np.where(t[:, nb.T_NOTIONAL] > 0, t[:, nb.T_PNL] / t[:, nb.T_NOTIONAL], 0.0)
    return pd.DataFrame({
        "symbol": labels(["X"], t[:, nb.T_SYM]),
        "direction": t[:, nb.T_DIR].astype(int), "size": t[:, nb.T_SIZE],
        "entry_time": entry, "entry_price": t[:, nb.T_ENTRY],
        "exit_time": exit_, "exit_price": t[:, nb.T_EXIT],
        "pnl": t[:, nb.T_PNL], "return_pct": ret, "fees": t[:, nb.T_FEES],
        "mae": t[:, nb.T_MAE], "mfe": t[:, nb.T_MFE], "duration": exit_ - entry,
        "exit_reason": labels(REASONS, t[:, nb.T_REASON]),
    })
