"""Synthetic FX quotes: determinism, calendar, spreads, seasonality, vendor files round trip."""

from __future__ import annotations

import lzma
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from tickforge.data.bars import bars_from_ticks, materialize_bars
from tickforge.data.schemas import QUOTES
from tickforge.data.synth import iter_days, synth_quotes, write_synthetic
from tickforge.errors import ConfigError

# Thursday 2024-01-04 .. Wednesday 2024-01-10: a full weekend inside
START, DAYS, TPD = date(2024, 1, 4), 7, 20_000


@pytest.fixture(scope="module")
def quotes() -> pd.DataFrame:
    return synth_quotes("EURUSD", START, DAYS, seed=7, ticks_per_day=TPD).to_pandas()


def test_schema_and_determinism_by_seed() -> None:
    a = synth_quotes("EURUSD", START, 2, seed=1, ticks_per_day=5000)
    assert a.schema == QUOTES
    assert a.equals(synth_quotes("EURUSD", START, 2, seed=1, ticks_per_day=5000))
    assert not a.equals(synth_quotes("EURUSD", START, 2, seed=2, ticks_per_day=5000))


def test_day_by_day_equals_one_shot_prefix() -> None:
    longer = synth_quotes("EURUSD", START, 3, seed=3, ticks_per_day=5000)
    shorter = synth_quotes("EURUSD", START, 2, seed=3, ticks_per_day=5000)
    assert longer.slice(0, shorter.num_rows).equals(shorter)


def test_weekend_gap(quotes: pd.DataFrame) -> None:
    ts = quotes["ts"]
    friday_close = pd.Timestamp("2024-01-05 22:00", tz="UTC")
    sunday_open = pd.Timestamp("2024-01-07 22:00", tz="UTC")
    assert not ((ts >= friday_close) & (ts < sunday_open)).any()
    assert (ts < friday_close).any() and (ts >= sunday_open).any()
    assert ts[ts < friday_close].max() > friday_close - pd.Timedelta(minutes=5)
    assert ts[ts >= sunday_open].min() < sunday_open + pd.Timedelta(minutes=5)
    assert ts.is_monotonic_increasing


def test_spreads_positive_variable_and_wider_when_quiet(quotes: pd.DataFrame) -> None:
    spread = np.round((quotes["ask"] - quotes["bid"]) * 1e5)
    assert spread.min() >= 1
    assert spread.nunique() > 5
    hour = quotes["ts"].dt.hour
    busy, rollover = spread[hour.isin([13, 14])].mean(), spread[hour == 21].mean()
    assert 3 <= busy <= 10  # EURUSD ~0.6 pip in liquid hours
    assert rollover > 2 * busy


def test_prices_on_the_point_grid() -> None:
    for symbol, decimals in (("EURUSD", 5), ("USDJPY", 3)):
        q = synth_quotes(symbol, START, 1, seed=5, ticks_per_day=3000)
        for side in ("bid", "ask"):
            prices = q[side].to_numpy()
            # each price is the double nearest to a decimal on the grid (prints back exactly)
            np.testing.assert_array_equal(prices, np.round(prices * 10**decimals) / 10**decimals)
            assert max(len(repr(float(p)).split(".")[1]) for p in prices) <= decimals


def test_seasonality_busy_hours_have_more_ticks(quotes: pd.DataFrame) -> None:
    weekdays = quotes[quotes["ts"].dt.dayofweek < 4]  # Mon-Thu, full days
    per_hour = weekdays.groupby(weekdays["ts"].dt.hour).size()
    assert per_hour[[13, 14, 15]].mean() > 2.5 * per_hour[[2, 3, 4]].mean()
    assert per_hour[[8, 9]].mean() > 2 * per_hour[[2, 3, 4]].mean()
    assert per_hour[21] == per_hour.min()
    per_day = weekdays.groupby(weekdays["ts"].dt.date).size()
    assert ((per_day > 0.8 * TPD) & (per_day < 1.25 * TPD)).all()


def test_volatility_clusters(quotes: pd.DataFrame) -> None:
    mid = (quotes.set_index("ts")["bid"] + quotes.set_index("ts")["ask"]) / 2
    returns = np.log(mid.resample("5min").last().dropna()).diff().dropna().to_numpy()
    absolute = np.abs(returns - returns.mean())
    autocorrelation = np.corrcoef(absolute[:-1], absolute[1:])[0, 1]
    assert autocorrelation > 0.1  # |returns| cluster (white noise would give ~0)
    assert returns.std() > 0


def test_unknown_symbol_and_format_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="symbol"):
        synth_quotes("NOT-A-PAIR", START, 1)
    with pytest.raises(ConfigError, match="histdata"):
        write_synthetic("EURUSD", START, 1, "excel", tmp_path)


# ---------------------------------------------------------------- vendor files


def read_histdata(path: Path) -> pd.DataFrame:
    frame = pd.read_csv(path, header=None, names=["t", "bid", "ask", "vol"], dtype={"t": str})
    est = pd.to_datetime(frame["t"], format="%Y%m%d %H%M%S%f")
    frame["ts"] = (est + pd.Timedelta(hours=5)).dt.tz_localize("UTC")
    return frame


def test_histdata_round_trip_monthly_est_files(tmp_path: Path) -> None:
    # 2024-01-30 .. 2024-02-01 UTC; files follow EST months: 2024-02-01 00:00-05:00 UTC is
    # still January 31 in EST and goes to the January file.
    files = write_synthetic("EURUSD", date(2024, 1, 30), 3, "histdata", tmp_path, seed=9,
                            ticks_per_day=4000)
    assert [f.name for f in files] == ["DAT_ASCII_EURUSD_T_202401.csv",
                                       "DAT_ASCII_EURUSD_T_202402.csv"]
    assert not list(tmp_path.glob("*.part"))
    first_line = files[0].read_text().splitlines()[0]
    assert first_line.startswith("20240129 19") and first_line.endswith(",0")
    assert len(first_line.split(",")[1]) == 8  # 1.xxxxxx as HistData prints it
    feb = read_histdata(files[1])
    assert feb["ts"].min() >= pd.Timestamp("2024-02-01 05:00", tz="UTC")
    back = pd.concat([read_histdata(f) for f in files], ignore_index=True)
    expected = synth_quotes("EURUSD", date(2024, 1, 30), 3, seed=9, ticks_per_day=4000).to_pandas()
    assert back["ts"].tolist() == expected["ts"].tolist()
    np.testing.assert_array_equal(back["bid"].to_numpy(), expected["bid"].to_numpy())
    np.testing.assert_array_equal(back["ask"].to_numpy(), expected["ask"].to_numpy())


def test_histdata_files_read_by_the_histdata_reader(tmp_path: Path) -> None:
    reader_module = pytest.importorskip("tickforge.data.sources.histdata")
    from tickforge.data.sources.base import ReadOptions

    [path] = write_synthetic("USDJPY", date(2024, 3, 5), 1, "histdata", tmp_path, seed=4,
                             ticks_per_day=3000)
    chunks = list(reader_module.HistDataTicks().read(path, ReadOptions(symbol="USDJPY")))
    table = pa.concat_tables([c.table for c in chunks])
    assert sum(c.rejects.num_rows for c in chunks) == 0
    expected = synth_quotes("USDJPY", date(2024, 3, 5), 1, seed=4, ticks_per_day=3000)
    assert table.column("ts").to_pylist() == expected.column("ts").to_pylist()
    assert table.column("bid").to_pylist() == expected.column("bid").to_pylist()
    assert table.column("ask").to_pylist() == expected.column("ask").to_pylist()


def test_truefx_and_quotes_csv_round_trip(tmp_path: Path) -> None:
    expected = synth_quotes("GBPUSD", date(2024, 5, 1), 1, seed=2, ticks_per_day=2000).to_pandas()
    [truefx] = write_synthetic("GBPUSD", date(2024, 5, 1), 1, "truefx", tmp_path / "t", seed=2,
                               ticks_per_day=2000)
    assert truefx.name == "GBPUSD-2024-05.csv"
    frame = pd.read_csv(truefx, header=None, names=["pair", "t", "bid", "ask"])
    assert set(frame["pair"]) == {"GBP/USD"}
    ts = pd.to_datetime(frame["t"], format="%Y%m%d %H:%M:%S.%f").dt.tz_localize("UTC")
    assert ts.tolist() == expected["ts"].tolist()
    assert frame["bid"].tolist() == expected["bid"].tolist()
    [plain] = write_synthetic("GBPUSD", date(2024, 5, 1), 1, "quotes-csv", tmp_path / "q", seed=2,
                              ticks_per_day=2000)
    frame = pd.read_csv(plain)
    assert list(frame.columns) == ["timestamp", "bid", "ask"]
    assert pd.to_datetime(frame["timestamp"]).tolist() == expected["ts"].tolist()
    assert frame["ask"].tolist() == expected["ask"].tolist()


def test_dukascopy_bi5_tree_round_trip(tmp_path: Path) -> None:
    files = write_synthetic("EURUSD", date(2024, 2, 29), 1, "dukascopy", tmp_path, seed=6,
                            ticks_per_day=2400)
    assert len(files) == 24
    assert files[0] == tmp_path / "EURUSD" / "2024" / "01" / "29" / "00h_ticks.bi5"  # month 0-based
    expected = synth_quotes("EURUSD", date(2024, 2, 29), 1, seed=6, ticks_per_day=2400).to_pandas()
    records = []
    for hour, path in enumerate(files):
        raw = np.frombuffer(lzma.decompress(path.read_bytes()),
                            dtype=">u4,>u4,>u4,>f4,>f4").copy()
        ts = pd.Timestamp("2024-02-29", tz="UTC") + pd.Timedelta(hours=hour) + \
            pd.to_timedelta(raw["f0"].astype(np.int64), unit="ms")
        records.append(pd.DataFrame({"ts": ts, "ask": raw["f1"] / 1e5, "bid": raw["f2"] / 1e5,
                                     "ask_size": raw["f3"], "bid_size": raw["f4"]}))
    back = pd.concat(records, ignore_index=True)
    assert back["ts"].tolist() == expected["ts"].tolist()
    assert back["bid"].tolist() == expected["bid"].tolist()
    assert back["ask"].tolist() == expected["ask"].tolist()
    np.testing.assert_allclose(back["bid_size"], expected["bid_size"], rtol=1e-6)


def test_iter_days_covers_calendar_days() -> None:
    days = [d.day for d in iter_days("EURUSD", START, DAYS, seed=1, ticks_per_day=1000)]
    assert days == [date(2024, 1, 4 + i) for i in range(DAYS)]


# ---------------------------------------------------------------- bars into the lake


def test_materialize_bars_into_the_lake(lake_dir: Path) -> None:
    lake_module = pytest.importorskip("tickforge.data.lake")
    ticks = synth_quotes("EURUSD", START, 4, seed=8, ticks_per_day=10_000)
    lake = lake_module.Lake(str(lake_dir))
    lake.write("quotes", "EURUSD", ticks)
    report = materialize_bars(str(lake_dir), "EURUSD", "15min")
    assert report["ticks_read"] == ticks.num_rows
    expected = bars_from_ticks(ticks, "15min")
    assert report["bars_written"] == expected.num_rows
    assert lake.bars("EURUSD", "15min").to_arrow().equals(expected)
    # a partial range starting mid-bar is widened to whole bars and replaces them in place
    again = materialize_bars(str(lake_dir), "EURUSD", "15min", pd.Timestamp("2024-01-05 10:07"),
                             pd.Timestamp("2024-01-05 12:00"))
    assert again["bars_written"] == 8
    assert lake.bars("EURUSD", "15min").to_arrow().equals(expected)
