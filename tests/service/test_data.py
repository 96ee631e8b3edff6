"""Data endpoints: server-side downsampling of bars (OHLCV checked against pandas resample)
and lake coverage with gaps (FX weekends excluded)."""

from __future__ import annotations

from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from tickforge.data.bars import parse_timeframe
from tickforge.service.coverage import coverage, find_gaps
from tickforge.service.downsample import downsample

AGG = {"open": "first", "high": "max", "low": "min", "close": "last", "volume": "sum",
       "tick_count": "sum", "bid_open": "first", "bid_high": "max", "bid_low": "min",
       "bid_close": "last", "ask_open": "first", "ask_high": "max", "ask_low": "min",
       "ask_close": "last"}


def pandas_resample(bars: pd.DataFrame, width: str) -> pd.DataFrame:
    frame = bars.set_index("ts")
    out = frame.resample(width, origin="epoch", label="left", closed="left").agg(
        {k: v for k, v in AGG.items() if k in frame.columns})
    return out.dropna(subset=["open"]).reset_index()


def synthetic_bars(n: int, seed: int = 3) -> pa.Table:
    """``n`` 1-minute bars with weekend holes, valid OHLC."""
    rng = np.random.default_rng(seed)
    minutes = np.arange(n * 2)
    ts = pd.Timestamp("2021-03-01", tz="UTC") + pd.to_timedelta(minutes, "min")
    ts = ts[ts.dayofweek < 5][:n]
    close = 1.1 + np.cumsum(rng.normal(0, 1e-4, n))
    opened = np.r_[close[0], close[:-1]]
    spread = rng.uniform(0, 2e-4, n)
    high = np.maximum(opened, close) + spread
    low = np.minimum(opened, close) - spread
    return pa.table({"ts": pa.array(ts), "open": opened, "high": high, "low": low,
                     "close": close, "volume": rng.uniform(0, 10, n),
                     "tick_count": rng.integers(1, 50, n)})


def test_downsampling_matches_pandas_resample_on_150k_bars() -> None:
    table = synthetic_bars(150_000)
    out, effective = downsample(table, parse_timeframe("1min"), 2000)
    assert out.num_rows <= 2000 and effective != "1min"
    finer = {"2h": "1h", "1h": "30min", "4h": "3h", "3h": "2h"}.get(effective)
    if finer:  # the finest width that fits was chosen
        assert pandas_resample(table.to_pandas(), finer).shape[0] > 2000
    expected = pandas_resample(table.to_pandas(), effective)
    got = out.to_pandas()
    assert len(got) == len(expected)
    assert (pd.DatetimeIndex(got["ts"]) == pd.DatetimeIndex(expected["ts"])).all()
    for col in ("open", "high", "low", "close", "volume"):
        np.testing.assert_allclose(got[col], expected[col], rtol=1e-12, err_msg=col)
    assert (got["tick_count"].to_numpy() == expected["tick_count"].to_numpy()).all()


def test_small_ranges_are_not_downsampled() -> None:
    table = synthetic_bars(500)
    out, effective = downsample(table, parse_timeframe("1min"), 5000)
    assert out is table and effective == "1min"


def test_tick_bars_merge_every_k_consecutive_bars() -> None:
    """Tick bars have no time width: 10 bars to at most 3 merge 4, 4 and 2 consecutive ones."""
    table = synthetic_bars(10, seed=5)
    out, effective = downsample(table, parse_timeframe("100t"), 3)
    assert effective == "400t" and out.num_rows == 3
    got = out.to_pandas()
    for k, (lo, hi) in enumerate([(0, 4), (4, 8), (8, 10)]):
        part = table.slice(lo, hi - lo).to_pandas()
        assert got["ts"][k] == part["ts"].iloc[0]  # labelled by its first bar
        assert got["open"][k] == part["open"].iloc[0]
        assert got["high"][k] == part["high"].max() and got["low"][k] == part["low"].min()
        assert got["close"][k] == part["close"].iloc[-1]
        assert got["volume"][k] == pytest.approx(part["volume"].sum(), rel=1e-12)
        assert got["tick_count"][k] == part["tick_count"].sum()


def test_bars_endpoint_downsamples_real_bars(alice: httpx.Client) -> None:
    raw = alice.get("/v1/bars", params={"symbol": "EURUSD", "max_points": 0, "limit": 10_000})
    assert raw.status_code == 200, raw.text
    assert raw.json()["timeframe"] == "1min" and raw.json()["downsampled"] is False
    wide = alice.get("/v1/bars", params={"symbol": "EURUSD", "max_points": 50}).json()
    assert wide["downsampled"] is True and wide["source_timeframe"] == "1min"
    assert wide["timeframe"] == "10min" and 0 < wide["count"] <= 50  # 361 minutes of data
    bars = pd.DataFrame(raw.json()["bars"])
    bars["ts"] = pd.to_datetime(bars["ts"], utc=True, format="ISO8601")
    expected = pandas_resample(bars, "10min")
    got = pd.DataFrame(wide["bars"])
    assert len(got) == len(expected) == wide["total"]
    got_ts = pd.DatetimeIndex(pd.to_datetime(got["ts"], utc=True, format="ISO8601"))
    assert (got_ts == pd.DatetimeIndex(expected["ts"])).all()
    for col in AGG:
        np.testing.assert_allclose(got[col].astype(float), expected[col].astype(float),
                                   rtol=1e-12, err_msg=col)


def quotes_with_gaps(symbol: str, lake: Path) -> None:
    """Quotes every 10 s, Thu 2020-01-02 to Mon 2020-01-06 noon UTC, minus the FX weekend
    (Fri 22:00 to Sun 22:00 UTC in winter) and a 3-hour hole on Thursday."""
    from tickforge.data.bars import materialize_bars
    from tickforge.data.lake import Lake

    ts = pd.date_range("2020-01-02", "2020-01-06 12:00", freq="10s", tz="UTC")
    weekend = (ts >= "2020-01-03 22:00") & (ts < "2020-01-05 22:00")
    hole = (ts >= "2020-01-02 10:00") & (ts < "2020-01-02 13:00")
    ts = ts[~weekend & ~hole]
    bid = 1.1 + 1e-5 * np.sin(np.arange(len(ts)) / 50)
    Lake(str(lake)).write("quotes", symbol, pa.table({"ts": pa.array(ts), "bid": bid,
                                                       "ask": bid + 1e-4}))
    materialize_bars(str(lake), symbol, "1min", None, None)


def test_coverage_reports_gaps_but_not_fx_weekends(tmp_path: Path) -> None:
    from tickforge.data.lake import Lake

    for symbol in ("EURUSD", "BTCUSDT"):
        quotes_with_gaps(symbol, tmp_path)
    rows = {(r["dataset"], r["symbol"]): r for r in coverage(Lake(str(tmp_path)), 3600)}
    fx, crypto = rows[("quotes", "EURUSD")], rows[("quotes", "BTCUSDT")]
    assert fx["weekends_excluded"] and not crypto["weekends_excluded"]
    assert fx["gaps"] == 1  # the Thursday hole only
    hole = fx["gap_list"][0]
    assert hole["start"].startswith("2020-01-02T10:00") and hole["end"].startswith(
        "2020-01-02T13:00")
    assert hole["seconds"] == pytest.approx(3 * 3600, abs=60)
    assert crypto["gaps"] == 2  # for a crypto symbol the weekend is a gap too
    assert crypto["gap_seconds"] == pytest.approx(3 * 3600 + 48 * 3600, abs=120)
    bars = rows[("bars", "EURUSD")]
    assert bars["timeframe"] == "1min" and bars["gaps"] == 1
    coarse = {(r["dataset"], r["symbol"]): r for r in coverage(Lake(str(tmp_path)), 4 * 3600)}
    assert coarse[("quotes", "EURUSD")]["gaps"] == 0  # the hole is below this threshold
    assert coarse[("quotes", "BTCUSDT")]["gaps"] == 1


def test_find_gaps_counts_only_open_market_time() -> None:
    ns = 1_000_000_000
    fri = pd.Timestamp("2020-01-03 21:30", tz="UTC").value  # 30 min before the close
    sun = pd.Timestamp("2020-01-05 22:30", tz="UTC").value  # 30 min after the reopen
    ts = np.array([fri, sun], dtype=np.int64)
    assert find_gaps(ts, 0, 3600 * ns, fx=True) == []  # 1 h of open market missing: not > 1 h
    (gap,) = find_gaps(ts, 0, 3500 * ns, fx=True)
    assert gap[2] == 3600 * ns
    assert find_gaps(ts, 0, 3600 * ns, fx=False)[0][2] == sun - fri


def test_datasets_and_coverage_endpoints(alice: httpx.Client) -> None:
    info = alice.get("/v1/datasets").json()
    entry = info["datasets"]["quotes"]["symbols"]["EURUSD"]
    assert entry["rows"] == 9500 and entry["gaps"] == 0 and entry["weekends_excluded"] is True
    assert info["datasets"]["bars"]["symbols"]["EURUSD/1min"]["gaps"] == 0
    strict = alice.get("/v1/coverage", params={"gap_minutes": 0.5, "dataset": "quotes"}).json()
    (row,) = strict["items"]
    assert row["symbol"] == "EURUSD" and row["gaps_from"] == "bars/1min"
    assert row["gaps"] == len(row["gap_list"])
