"""Bars: equal to pandas resample, streaming == one-shot, tick/volume bars, roll-ups."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tickforge.data.bars import (
    QUOTE_BARS,
    BarBuilder,
    bars_from_ticks,
    build_bars,
    parse_timeframe,
    resample_bars,
)
from tickforge.data.schemas import BARS, QUOTES, TRADES, TS
from tickforge.errors import ConfigError, TickforgeError

T0 = int(pd.Timestamp("2020-01-02 21:37:13.123456789", tz="UTC").value)
TIMEFRAMES = ["1s", "5s", "1min", "5min", "15min", "1h", "4h", "1d"]
SECOND = 10**9
HYPO = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# gaps between consecutive ticks: same nanosecond, sub-second, whole seconds (bar edges), hours
gaps = st.one_of(
    st.just(0),
    st.integers(1, SECOND),
    st.integers(1, 900).map(lambda s: s * SECOND),
    st.integers(SECOND, 7 * 3600 * SECOND),
)


@st.composite
def tick_arrays(draw: st.DrawFn, max_ticks: int = 150) -> dict[str, np.ndarray]:
    steps = draw(st.lists(gaps, min_size=1, max_size=max_ticks))
    start = T0 - draw(st.integers(0, 86_400)) * SECOND  # sometimes exactly on a bar edge
    ts = start + np.cumsum(np.array(steps, dtype=np.int64)) - steps[0]
    n = ts.size
    points = draw(st.lists(st.integers(100_000, 101_000), min_size=n, max_size=n))
    spread = draw(st.lists(st.integers(0, 30), min_size=n, max_size=n))
    sizes = draw(st.lists(st.one_of(st.none(), st.integers(0, 9).map(lambda v: v * 0.25)),
                          min_size=2 * n, max_size=2 * n))
    bid = np.array(points) / 1e5
    return {"ts": ts, "bid": bid, "ask": (np.array(points) + np.array(spread)) / 1e5,
            "bid_size": np.array(sizes[:n], dtype=float),
            "ask_size": np.array(sizes[n:], dtype=float)}


def quotes_table(a: dict[str, np.ndarray]) -> pa.Table:
    return pa.table({
        "ts": pa.array(a["ts"], pa.int64()).cast(TS),
        "bid": a["bid"], "ask": a["ask"],
        "bid_size": pa.array(a["bid_size"], from_pandas=True),
        "ask_size": pa.array(a["ask_size"], from_pandas=True),
    }, schema=QUOTES)


def trades_table(a: dict[str, np.ndarray]) -> pa.Table:
    n = a["ts"].size
    return pa.table({
        "ts": pa.array(a["ts"], pa.int64()).cast(TS), "price": a["bid"],
        "size": pa.array(a["bid_size"], from_pandas=True),
        "side": pa.array(np.zeros(n, np.int8)), "trade_id": pa.array([str(i) for i in range(n)]),
    }, schema=TRADES)


def pandas_ohlc(frame: pd.DataFrame, freq: str, column: str, prefix: str = "",
                offset: timedelta | None = None) -> pd.DataFrame:
    r = frame[column].resample(freq, label="left", closed="left", offset=offset)
    out = pd.DataFrame({f"{prefix}open": r.first(), f"{prefix}high": r.max(),
                        f"{prefix}low": r.min(), f"{prefix}close": r.last()})
    return out


def pandas_quote_bars(a: dict[str, np.ndarray], freq: str,
                      offset: timedelta | None = None) -> pd.DataFrame:
    index = pd.to_datetime(a["ts"], unit="ns", utc=True)
    frame = pd.DataFrame({"bid": a["bid"], "ask": a["ask"],
                          "volume": np.nan_to_num(a["bid_size"]) + np.nan_to_num(a["ask_size"])},
                         index=index)
    frame["mid"] = (frame["bid"] + frame["ask"]) / 2
    parts = [pandas_ohlc(frame, freq, "mid", "", offset),
             pandas_ohlc(frame, freq, "bid", "bid_", offset),
             pandas_ohlc(frame, freq, "ask", "ask_", offset)]
    r = frame["volume"].resample(freq, label="left", closed="left", offset=offset)
    out = pd.concat([*parts, r.sum().rename("volume"), r.count().rename("tick_count")], axis=1)
    return out[out["tick_count"] > 0]


def assert_bars_equal(ours: pa.Table, expected: pd.DataFrame) -> None:
    got = ours.to_pandas()
    assert got["ts"].tolist() == list(expected.index)
    for name in expected.columns:
        if name == "volume":
            np.testing.assert_allclose(got[name].to_numpy(), expected[name].to_numpy(), rtol=1e-12)
        else:
            assert got[name].tolist() == expected[name].tolist(), name


# ---------------------------------------------------------------- pandas equality


@HYPO
@given(a=tick_arrays(), tf=st.sampled_from(TIMEFRAMES))
def test_quote_bars_equal_pandas_resample(a: dict[str, np.ndarray], tf: str) -> None:
    freq = parse_timeframe(tf).pandas_freq
    bars = bars_from_ticks(quotes_table(a), tf)
    assert bars.schema == QUOTE_BARS
    assert_bars_equal(bars, pandas_quote_bars(a, freq))


@HYPO
@given(a=tick_arrays(), tf=st.sampled_from(TIMEFRAMES))
def test_trade_bars_equal_pandas_resample(a: dict[str, np.ndarray], tf: str) -> None:
    index = pd.to_datetime(a["ts"], unit="ns", utc=True)
    frame = pd.DataFrame({"price": a["bid"], "size": np.nan_to_num(a["bid_size"])}, index=index)
    freq = parse_timeframe(tf).pandas_freq
    r = frame["size"].resample(freq, label="left", closed="left")
    expected = pd.concat([pandas_ohlc(frame, freq, "price"), r.sum().rename("volume"),
                          r.count().rename("tick_count")], axis=1)
    bars = bars_from_ticks(trades_table(a), tf)
    assert bars.schema == BARS
    assert_bars_equal(bars, expected[expected["tick_count"] > 0])


@HYPO
@given(a=tick_arrays(), hours=st.integers(1, 23))
def test_daily_bars_with_offset_equal_pandas(a: dict[str, np.ndarray], hours: int) -> None:
    offset = timedelta(hours=hours)
    bars = bars_from_ticks(quotes_table(a), "1d", offset=offset)
    assert_bars_equal(bars, pandas_quote_bars(a, "24h", offset))  # pandas ignores offset for "1D"


def test_labels_are_open_times_and_intervals_left_closed() -> None:
    edge = int(pd.Timestamp("2021-03-04 10:01:00", tz="UTC").value)
    a = {"ts": np.array([edge - 1, edge, edge + 59 * SECOND, edge + 60 * SECOND], np.int64),
         "bid": np.array([1.0, 2.0, 3.0, 4.0]), "ask": np.array([1.0, 2.0, 3.0, 4.0]),
         "bid_size": np.full(4, np.nan), "ask_size": np.full(4, np.nan)}
    bars = bars_from_ticks(quotes_table(a), "1min").to_pylist()
    assert [b["ts"] for b in bars] == [datetime(2021, 3, 4, 10, m, tzinfo=UTC) for m in (0, 1, 2)]
    assert [b["tick_count"] for b in bars] == [1, 2, 1]
    assert [(b["open"], b["close"]) for b in bars] == [(1.0, 1.0), (2.0, 3.0), (4.0, 4.0)]
    assert [b["volume"] for b in bars] == [0.0, 0.0, 0.0]


def test_empty_intervals_produce_no_bar() -> None:
    a = {"ts": np.array([0, 3600 * SECOND], np.int64), "bid": np.array([1.0, 1.1]),
         "ask": np.array([1.0, 1.1]), "bid_size": np.ones(2), "ask_size": np.ones(2)}
    assert bars_from_ticks(quotes_table(a), "1min").num_rows == 2


def test_unsorted_ticks_are_sorted_stably() -> None:
    a = {"ts": np.array([5, 1, 5, 2], np.int64) * SECOND, "bid": np.array([1.0, 2.0, 3.0, 4.0]),
         "ask": np.array([1.0, 2.0, 3.0, 4.0]), "bid_size": np.ones(4), "ask_size": np.ones(4)}
    bar = bars_from_ticks(quotes_table(a), "1min").to_pylist()[0]
    assert (bar["open"], bar["close"], bar["high"], bar["low"]) == (2.0, 3.0, 4.0, 1.0)


# ---------------------------------------------------------------- streaming


def split(table: pa.Table, cuts: list[int]) -> list[pa.Table]:
    edges = sorted({0, table.num_rows, *[c % (table.num_rows + 1) for c in cuts]})
    return [table.slice(lo, hi - lo) for lo, hi in itertools.pairwise(edges)]


@HYPO
@given(a=tick_arrays(), cuts=st.lists(st.integers(0, 10_000), max_size=8),
       tf=st.sampled_from([*TIMEFRAMES, "1t", "3t", "17t", "1v", "2.5v", "7v"]))
def test_streaming_equals_one_shot(a: dict[str, np.ndarray], cuts: list[int], tf: str) -> None:
    a["bid_size"] = np.nan_to_num(a["bid_size"]) + 0.1  # volume bars need some volume
    for table in (quotes_table(a), trades_table(a)):
        one_shot = bars_from_ticks(table, tf)
        parts = list(build_bars(split(table, cuts), tf)) or [one_shot.slice(0, 0)]
        streamed = pa.concat_tables(parts)
        assert streamed.equals(one_shot)
        assert int(pa.compute.sum(one_shot["tick_count"]).as_py()) == table.num_rows


def test_streaming_refuses_chunks_out_of_time_order() -> None:
    a = {"ts": np.array([10, 20], np.int64) * SECOND, "bid": np.ones(2), "ask": np.ones(2),
         "bid_size": np.ones(2), "ask_size": np.ones(2)}
    table = quotes_table(a)
    builder = BarBuilder("1s")
    builder.push(table.slice(1))
    with pytest.raises(TickforgeError, match="not in time order"):
        builder.push(table.slice(0, 1))


# ---------------------------------------------------------------- tick and volume bars


def hand_trades() -> pa.Table:
    a = {"ts": np.arange(7, dtype=np.int64) * SECOND,
         "bid": np.array([5.0, 7.0, 4.0, 6.0, 6.5, 3.0, 8.0]),
         "bid_size": np.array([1.0, 2.0, 1.0, 4.0, 1.0, 1.0, 1.0])}
    return trades_table(a)


def row(b: dict) -> tuple:
    return (b["ts"].second, b["open"], b["high"], b["low"], b["close"], b["volume"],
            b["tick_count"])


def test_tick_bars_hand_checked() -> None:
    bars = bars_from_ticks(hand_trades(), "3t").to_pylist()
    rows = [row(b) for b in bars]
    assert rows == [(0, 5.0, 7.0, 4.0, 4.0, 4.0, 3), (3, 6.0, 6.5, 3.0, 3.0, 6.0, 3),
                    (6, 8.0, 8.0, 8.0, 8.0, 1.0, 1)]


def test_volume_bars_hand_checked() -> None:
    # sizes 1,2 | 1,4 | 1,1,1 -> bars close when their volume reaches 3
    bars = bars_from_ticks(hand_trades(), "3v").to_pylist()
    rows = [row(b) for b in bars]
    assert rows == [(0, 5.0, 7.0, 5.0, 7.0, 3.0, 2), (2, 4.0, 6.0, 4.0, 6.0, 5.0, 2),
                    (4, 6.5, 8.0, 3.0, 8.0, 3.0, 3)]


def test_volume_bars_without_volume_are_refused() -> None:
    a = {"ts": np.arange(3, dtype=np.int64), "bid": np.ones(3), "ask": np.ones(3),
         "bid_size": np.full(3, np.nan), "ask_size": np.full(3, np.nan)}
    with pytest.raises(TickforgeError, match="need volumes"):
        bars_from_ticks(quotes_table(a), "1e6v")


# ---------------------------------------------------------------- roll-ups


@HYPO
@given(a=tick_arrays(), pair=st.sampled_from([("1s", "1min"), ("1min", "5min"), ("1min", "1h"),
                                              ("5min", "4h"), ("1h", "1d"), ("15min", "1d")]))
def test_coarser_bars_equal_bars_from_ticks(a: dict[str, np.ndarray],
                                            pair: tuple[str, str]) -> None:
    a["bid_size"] = np.round(np.nan_to_num(a["bid_size"]))  # integral volumes: sums exact
    a["ask_size"] = np.round(np.nan_to_num(a["ask_size"]))
    for table in (quotes_table(a), trades_table(a)):
        fine = bars_from_ticks(table, pair[0])
        assert resample_bars(fine, pair[1]).equals(bars_from_ticks(table, pair[1]))


def test_rollup_into_tick_bars_is_refused() -> None:
    fine = bars_from_ticks(hand_trades(), "1s")
    with pytest.raises(ConfigError, match="time bars"):
        resample_bars(fine, "10t")


# ---------------------------------------------------------------- timeframes


@pytest.mark.parametrize(("text", "name", "seconds"), [
    ("1s", "1s", 1), ("5s", "5s", 5), ("60s", "1min", 60), ("1min", "1min", 60), ("1T", "1min", 60),
    ("5min", "5min", 300), ("15min", "15min", 900), ("1h", "1h", 3600), ("4H", "4h", 14400),
    ("1d", "1d", 86400), ("1D", "1d", 86400), ("24h", "1d", 86400),
])
def test_parse_time_timeframes(text: str, name: str, seconds: int) -> None:
    tf = parse_timeframe(text)
    assert (tf.kind, tf.name, tf.step_ns) == ("time", name, seconds * SECOND)


def test_parse_tick_and_volume_timeframes() -> None:
    assert parse_timeframe("1000t").ticks == 1000
    assert parse_timeframe("1e6v").volume == 1e6
    assert parse_timeframe("1e6v").name == "1e+06v"


@pytest.mark.parametrize(("text", "message"), [
    ("1m", "ambiguous"), ("5M", "ambiguous"), ("7min", "divide a day"), ("2d", "divide a day"),
    ("0s", "not understood"), ("1ms", "not understood"), ("abc", "not understood"),
    ("-1v", "positive volume"), ("0t", "not understood"),
])
def test_bad_timeframes_say_what_is_accepted(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as info:
        parse_timeframe(text)
    assert "timeframe" in str(info.value)
    if message in ("ambiguous", "not understood"):
        assert "1min" in str(info.value)
