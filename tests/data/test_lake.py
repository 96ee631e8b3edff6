"""The lake: layout, types, pruning, engines, units, bars writes, encoding size."""

from __future__ import annotations

import lzma
from pathlib import Path

import duckdb
import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

from tickforge.data import lake as lake_module
from tickforge.data.ingest import ingest_files
from tickforge.data.lake import Encoder, Lake, Source, partition_in_range, to_ns
from tickforge.data.schemas import BARS, QUOTES
from tickforge.data.sources.base import ReadOptions
from tickforge.errors import LakeError

DAY_MS = 86_400_000
EPOCH_2020 = 1577836800000


def quotes_table(ts_ms: np.ndarray, seed: int = 0, ns_extra: int = 0) -> pa.Table:
    rng = np.random.default_rng(seed)
    n = ts_ms.size
    mid = np.round(1.1 + np.cumsum(rng.integers(-1, 2, n)) * 1e-5, 5)
    return pa.table({
        "ts": pa.array(ts_ms.astype(np.int64) * 10**6 + ns_extra, QUOTES.field("ts").type),
        "bid": mid, "ask": np.round(mid + 2e-5, 5),
        "bid_size": np.full(n, 1.0), "ask_size": np.full(n, 2.0),
    }, schema=QUOTES)


def write_source(lake: Lake, table: pa.Table, name: str = "a.csv",
                 symbol: str = "EURUSD", on_overlap: str = "refuse") -> int:
    writer = lake.writer("quotes", symbol, Source.of_file(name, name.encode().hex() * 8),
                         on_overlap)  # type: ignore[arg-type]
    writer.add(table)
    return sum(w.rows for w in writer.close())


def three_days(lake_dir: Path) -> tuple[Lake, pa.Table]:
    lake = Lake(str(lake_dir))
    ts = EPOCH_2020 + np.arange(0, 3 * DAY_MS, 60_000)
    table = quotes_table(ts)
    assert write_source(lake, table) == table.num_rows
    return lake, table


def test_layout_is_hive_by_symbol_and_utc_day(lake_dir: Path) -> None:
    three_days(lake_dir)
    days = sorted(p.name for p in (lake_dir / "quotes" / "symbol=EURUSD").iterdir())
    assert days == ["date=2020-01-01", "date=2020-01-02", "date=2020-01-03"]
    files = list((lake_dir / "quotes").rglob("*.parquet"))
    assert len(files) == 3 and all(f.name.startswith("part-") for f in files)


def test_roundtrip_types_and_time_range(lake_dir: Path) -> None:
    lake, table = three_days(lake_dir)
    got = lake.quotes("EURUSD")
    assert got.table.schema.field("ts").type == pa.timestamp("ns", tz="UTC")
    assert got.table.column_names == QUOTES.names
    assert got.table.cast(QUOTES).equals(table)
    part = lake.quotes("EURUSD", "2020-01-02T12:00", "2020-01-03")
    ts = part.to_pandas()["ts"]
    assert len(ts) == 720 and str(ts.iloc[0]) == "2020-01-02 12:00:00+00:00"
    assert isinstance(part.to_polars(), pl.DataFrame) and len(pa.table(part)) == 720


def test_reads_only_the_needed_partitions(lake_dir: Path) -> None:
    lake, _ = three_days(lake_dir)
    day1 = next((lake_dir / "quotes" / "symbol=EURUSD" / "date=2020-01-01").iterdir())
    day1.write_bytes(b"not parquet at all")  # any read of day 1 would fail
    got = lake.quotes("EURUSD", start="2020-01-02")
    assert len(got) == 2 * 1440
    with pytest.raises(pa.ArrowInvalid):
        lake.quotes("EURUSD")


def test_partition_pruning_bounds() -> None:
    lo, hi = to_ns("2020-01-02"), to_ns("2020-01-03")
    assert partition_in_range("x/date=2020-01-02", lo, hi)
    assert not partition_in_range("x/date=2020-01-03", lo, hi)  # end is exclusive
    assert not partition_in_range("x/date=2020-01-01", lo, hi)
    assert partition_in_range("x/year=2020", lo, None)
    assert not partition_in_range("x/year=2019", lo, None)


def test_iter_quotes_streams_one_partition_at_a_time(lake_dir: Path) -> None:
    lake, _ = three_days(lake_dir)
    sizes = [t.num_rows for t in lake.iter_quotes("EURUSD")]
    assert sizes == [1440, 1440, 1440]


def test_iter_reads_only_the_asked_columns_in_time_order(lake_dir: Path) -> None:
    lake = Lake(str(lake_dir))
    full = quotes_table(EPOCH_2020 + np.arange(0, DAY_MS, 60_000))
    write_source(lake, full.slice(720), "a.csv")  # two sources in one partition; the
    write_source(lake, full.slice(0, 720), "b.csv")  # later rows are in the first file
    parts = list(lake.iter_quotes("EURUSD", "2020-01-01T06:00", None,
                                  columns=["ts", "ask", "not_a_column"]))
    assert len(parts) == 1 and parts[0].column_names == ["ts", "ask"]
    assert parts[0].schema.field("ts").type == pa.timestamp("ns", tz="UTC")
    expected = full.slice(360).select(["ts", "ask"])
    assert parts[0].cast(expected.schema).equals(expected)
    assert lake.read_partition("quotes", str(lake_dir / "none"), None, None,
                               ["ts", "bid"]).column_names == ["ts", "bid"]


def test_other_engines_read_the_lake_as_is(lake_dir: Path) -> None:
    three_days(lake_dir)
    glob = f"{lake_dir}/quotes/**/*.parquet"
    n, first = duckdb.sql(f"select count(*), min(ts) from read_parquet('{glob}', "
                          "hive_partitioning=true) where date >= '2020-01-02'").fetchall()[0]
    assert n == 2 * 1440 and first.isoformat() == "2020-01-02T00:00:00+00:00"
    frame = pl.scan_parquet(glob, hive_partitioning=True).filter(pl.col("symbol") == "EURUSD")
    assert frame.select(pl.len()).collect().item() == 3 * 1440
    table = ds.dataset(lake_dir / "quotes", partitioning="hive").to_table()
    assert table.num_rows == 3 * 1440


def test_engines_see_the_same_types_without_an_arrow_schema_in_the_footer(
        lake_dir: Path) -> None:
    three_days(lake_dir)
    file = next((lake_dir / "quotes").rglob("*.parquet"))
    assert b"ARROW:schema" not in (pq.read_metadata(file).metadata or {})
    assert pq.read_schema(file).remove_metadata().equals(
        pa.schema([pa.field("ts", pa.timestamp("ms", tz="UTC"), False),
                   pa.field("bid", pa.float64(), False), pa.field("ask", pa.float64(), False),
                   pa.field("bid_size", pa.float64()), pa.field("ask_size", pa.float64())]))
    assert pl.read_parquet(file).schema["ts"] == pl.Datetime("ms", "UTC")
    kinds = dict(duckdb.sql(f"describe select * from '{file}'").fetchall()[i][:2]
                 for i in range(5))
    assert kinds["ts"] == "TIMESTAMP WITH TIME ZONE" and kinds["bid"] == "DOUBLE"


def test_statistics_on_time_and_prices_not_sizes(lake_dir: Path) -> None:
    three_days(lake_dir)
    group = pq.read_metadata(next((lake_dir / "quotes").rglob("*.parquet"))).row_group(0)
    with_stats = {group.column(i).path_in_schema for i in range(group.num_columns)
                  if group.column(i).is_stats_set}
    assert with_stats == {"ts", "bid", "ask"}


def test_ms_data_stored_as_ms_and_finer_data_refused(lake_dir: Path) -> None:
    lake, _ = three_days(lake_dir)
    file = next((lake_dir / "quotes").rglob("*.parquet"))
    assert pq.read_schema(file).field("ts").type == pa.timestamp("ms", tz="UTC")
    finer = quotes_table(EPOCH_2020 + 5 * DAY_MS + np.arange(10), ns_extra=500)
    with pytest.raises(LakeError, match="ms resolution"):
        write_source(lake, finer, "b.csv")
    ns_lake = Lake(str(lake_dir / "other"))
    write_source(ns_lake, finer, "b.csv")
    assert ns_lake.quotes("EURUSD").table.column("ts").to_numpy()[0].astype(np.int64) % 1000 == 500


def test_missing_symbol_is_a_clear_error(lake_dir: Path) -> None:
    lake, _ = three_days(lake_dir)
    with pytest.raises(LakeError, match="symbols present: EURUSD"):
        lake.quotes("GBPUSD")
    assert lake.symbols("quotes") == ["EURUSD"] and lake.symbols("trades") == []


def bars(start_min: int, n: int, price: float) -> pa.Table:
    ts = (EPOCH_2020 // 1000 + (start_min + np.arange(n)) * 60) * 10**9
    px = np.full(n, price)
    return pa.table({"ts": pa.array(ts, BARS.field("ts").type), "open": px, "high": px + 0.1,
                     "low": px - 0.1, "close": px, "volume": np.ones(n),
                     "tick_count": np.full(n, 5)}, schema=BARS)


def test_write_bars_merges_and_rewrites_ranges(lake_dir: Path) -> None:
    lake = Lake(str(lake_dir))
    lake.write_bars("EURUSD", "1min", bars(0, 100, 1.0))
    lake.write_bars("EURUSD", "1min", bars(100, 50, 2.0))  # a later range: appended
    lake.write_bars("EURUSD", "1min", bars(50, 20, 3.0))  # an earlier range: replaced
    got = lake.bars("EURUSD", "1min").to_pandas()
    assert len(got) == 150 and got["ts"].is_monotonic_increasing and got["ts"].is_unique
    assert got["open"].tolist() == [1.0] * 50 + [3.0] * 20 + [1.0] * 30 + [2.0] * 50
    assert lake.timeframes("EURUSD") == ["1min"]
    assert (lake_dir / "bars" / "symbol=EURUSD" / "timeframe=1min" / "year=2020").is_dir()
    with pytest.raises(LakeError, match="timeframes present: 1min"):
        lake.bars("EURUSD", "1h")


def test_info_reports_rows_ranges_and_bytes(lake_dir: Path) -> None:
    lake, _ = three_days(lake_dir)
    info = lake.info()
    eurusd = info["datasets"]["quotes"]["symbols"]["EURUSD"]
    assert eurusd["rows"] == 3 * 1440 and eurusd["files"] == 3
    assert eurusd["start"] == "2020-01-01T00:00:00+00:00"
    assert eurusd["end"] == "2020-01-03T23:59:00+00:00"
    assert eurusd["bytes"] == sum(f.stat().st_size for f in lake_dir.rglob("*.parquet"))


def test_no_temporary_file_is_left_or_visible(lake_dir: Path) -> None:
    three_days(lake_dir)
    assert [p for p in lake_dir.rglob("*") if ".tmp-" in p.name] == []


def read_bi5(path: Path, hour_ms: int, point: float) -> pa.Table:
    raw = lzma.decompress(path.read_bytes())
    rec = np.frombuffer(raw, np.dtype([("ms", ">u4"), ("ask", ">u4"), ("bid", ">u4"),
                                       ("av", ">f4"), ("bv", ">f4")]))
    ts = (hour_ms + rec["ms"].astype(np.int64)) * 10**6
    return pa.table({
        "ts": pa.array(ts, QUOTES.field("ts").type),
        "bid": np.round(rec["bid"] * point, 1), "ask": np.round(rec["ask"] * point, 1),
        "bid_size": rec["bv"].astype(np.float64), "ask_size": rec["av"].astype(np.float64),
    }, schema=QUOTES)


def test_encoding_at_most_4_bytes_per_tick_on_real_dukascopy(real_data: Path,
                                                             lake_dir: Path) -> None:
    folder = real_data / "dukascopy" / "BTCUSD" / "2023" / "01" / "20"  # 20 Feb 2023
    day_ms = 1676851200000
    table = pa.concat_tables([read_bi5(folder / f"{h}h_ticks.bi5", day_ms + h * 3_600_000, 0.1)
                              for h in (12, 13)])
    assert table.num_rows == 14_716
    lake = Lake(str(lake_dir))
    write_source(lake, table, "btc.bi5", "BTCUSD")
    size = sum(f.stat().st_size for f in (lake_dir / "quotes").rglob("*.parquet"))
    assert size / table.num_rows <= 4.0
    assert lake.quotes("BTCUSD").table.equals(table)


def test_ingest_of_hourly_dukascopy_files_stays_within_4_bytes_per_tick(
        real_data: Path, lake_dir: Path) -> None:
    """Through ``ingest`` each hourly file is its own source, so one part file (and footer)
    per hour in the day's partition: the budget must hold for that layout too."""
    folder = real_data / "dukascopy" / "BTCUSD" / "2023" / "01" / "20"
    files = [folder / f"{h}h_ticks.bi5" for h in (12, 13)]
    report = ingest_files(files, "dukascopy", ReadOptions(symbol="BTCUSD"), str(lake_dir))
    parts = list((lake_dir / "quotes").rglob("*.parquet"))
    assert len(parts) == 2 and report.total("rows_written") == 14_716
    assert sum(f.stat().st_size for f in parts) / 14_716 <= 4.0


def test_big_partition_streams_in_row_groups_and_round_trips(lake_dir: Path) -> None:
    lake = Lake(str(lake_dir))
    table = quotes_table(EPOCH_2020 + np.arange(300_000, dtype=np.int64) * 250)  # one day
    writer = lake.writer("quotes", "EURUSD", Source.of_file("big.csv", "ab" * 32))
    for lo in range(0, table.num_rows, 70_000):  # several adds, as ingest does per chunk
        writer.add(table.slice(lo, 70_000))
    assert sum(w.rows for w in writer.close()) == table.num_rows
    files = list((lake_dir / "quotes").rglob("*.parquet"))
    assert len(files) == 1 and pq.read_metadata(files[0]).num_row_groups >= 2
    assert lake.quotes("EURUSD").table.equals(table)


def test_unsorted_rows_are_refused_not_misfiled(lake_dir: Path) -> None:
    lake = Lake(str(lake_dir))
    table = quotes_table(EPOCH_2020 + np.array([0, 2 * DAY_MS, DAY_MS]))
    with pytest.raises(LakeError, match="not sorted by time"):
        write_source(lake, table)


def test_encoder_queues_a_bounded_number_of_rows(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lake_module, "MAX_IN_FLIGHT_ROWS", 10)
    encoder = Encoder()
    lanes = [Encoder.lane(), Encoder.lane()]
    done: list[int] = []
    queued: list[int] = []
    for k in range(12):
        encoder.submit(lanes[k % 2], done.append, k, rows=4)
        queued.append(encoder.rows)
    encoder.drain()
    for lane in lanes:
        lane.shutdown()
    assert max(queued) == 8 and encoder.rows == 0  # a third job of 4 rows had to wait
    assert sorted(done) == list(range(12))
