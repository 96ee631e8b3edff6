"""Bars and synthetic data: 1-minute quote bars over Parquet files vs hand-written DuckDB.

Synthetic EURUSD quotes (1 M ticks per weekday) are written as one Parquet file per day
(ts as timestamp[ms, UTC], as the lake stores them).
tickforge reads the files one by one (pyarrow) and streams them through ``BarBuilder``;
DuckDB runs one ``GROUP BY time_bucket(INTERVAL 1 minute, ts)`` over the same files,
computing the same columns (mid, bid and ask OHLC, volume, tick count). Both results are
checked against each other. Also measured: synthetic tick generation and HistData writing.
"""

from __future__ import annotations

import tempfile
import time
from datetime import date
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from tickforge.data.bars import BarBuilder
from tickforge.data.synth import iter_days, symbol_spec, to_table, write_synthetic

AREA = "bars"
TICKS_PER_DAY = 1_000_000

DUCKDB_SQL = """
SELECT time_bucket(INTERVAL 1 minute, ts) AS ts,
       arg_min(mid, ts) AS open, max(mid) AS high, min(mid) AS low, arg_max(mid, ts) AS close,
       sum(coalesce(bid_size, 0) + coalesce(ask_size, 0)) AS volume, count(*) AS tick_count,
       arg_min(bid, ts) AS bid_open, max(bid) AS bid_high, min(bid) AS bid_low,
       arg_max(bid, ts) AS bid_close,
       arg_min(ask, ts) AS ask_open, max(ask) AS ask_high, min(ask) AS ask_low,
       arg_max(ask, ts) AS ask_close
FROM (SELECT * REPLACE (CAST(ts AS TIMESTAMPTZ) AS ts), (bid + ask) / 2 AS mid
      FROM read_parquet('{glob}'))
GROUP BY 1 ORDER BY 1
"""


def days_for(ticks: int) -> int:
    """Calendar days holding about ``ticks`` ticks (5 trading days per 7)."""
    return max(1, round(ticks / TICKS_PER_DAY * 7 / 5))


def make_files(folder: Path, days: int) -> tuple[int, float]:
    """One Parquet file per day; returns (ticks, seconds spent generating them)."""
    spec, ticks, gen = symbol_spec("EURUSD"), 0, 0.0
    t0 = time.perf_counter()
    for day in iter_days("EURUSD", date(2024, 1, 1), days, seed=1, ticks_per_day=TICKS_PER_DAY):
        table = to_table(day, spec)
        table = table.set_column(0, "ts", table["ts"].cast(pa.timestamp("ms", tz="UTC")))
        gen += time.perf_counter() - t0
        if table.num_rows:
            pq.write_table(table, folder / f"{day.day}.parquet", compression="zstd")
            ticks += table.num_rows
        t0 = time.perf_counter()
    return ticks, gen


def tickforge_bars(folder: Path) -> tuple[pa.Table, float]:
    t0 = time.perf_counter()
    builder = BarBuilder("1min", "quotes")
    parts = [builder.push(pq.read_table(path)) for path in sorted(folder.glob("*.parquet"))]
    parts.append(builder.finish())
    return pa.concat_tables(parts), time.perf_counter() - t0


def duckdb_bars(folder: Path) -> tuple[pa.Table, float]:
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    t0 = time.perf_counter()
    table = con.sql(DUCKDB_SQL.format(glob=folder / "*.parquet")).to_arrow_table()
    return table, time.perf_counter() - t0


def same_bars(ours: pa.Table, peer: pa.Table) -> bool:
    if ours.num_rows != peer.num_rows:
        return False
    names = ("tick_count", "high", "low", "bid_high", "ask_low")
    return all(np.array_equal(ours[n].to_numpy(), peer[n].to_numpy()) for n in names)


def histdata_speed(folder: Path, ticks: int) -> float:
    t0 = time.perf_counter()
    write_synthetic("EURUSD", date(2024, 1, 1), days_for(ticks), "histdata", folder, seed=1,
                    ticks_per_day=TICKS_PER_DAY)
    return time.perf_counter() - t0


def run(quick: bool) -> list[dict]:
    target = 5_000_000 if quick else 100_000_000
    with tempfile.TemporaryDirectory(prefix="bench_bars_") as tmp:
        folder = Path(tmp)
        ticks, gen = make_files(folder, days_for(target))
        duckdb_bars(folder)  # warm the OS cache and DuckDB alike
        tickforge_bars(folder)
        ours, ours_s = tickforge_bars(folder)
        peer, peer_s = duckdb_bars(folder)
        agree = same_bars(ours, peer)
        for path in folder.glob("*.parquet"):
            path.unlink()
        csv_ticks = min(ticks, 20_000_000)
        csv_s = histdata_speed(folder / "histdata", csv_ticks)
    rate = ticks / ours_s
    return [
        {"area": AREA, "name": f"1min quote bars over {ticks / 1e6:.0f} M ticks (Parquet files)",
         "value": rate / 1e6, "unit": "M ticks/s", "peer": "DuckDB time_bucket GROUP BY",
         "peer_value": ticks / peer_s / 1e6, "ratio": peer_s / ours_s,
         "target": "no slower than DuckDB", "ok": ours_s <= peer_s,
         "note": f"{ours.num_rows} bars; tickforge {ours_s:.2f} s, DuckDB {peer_s:.2f} s; "
                 f"results {'agree' if agree else 'DIFFER'}"},
        {"area": AREA, "name": "synthetic quote generation (to Arrow)", "value": ticks / gen / 1e6,
         "unit": "M ticks/s", "note": f"{ticks / 1e6:.0f} M ticks in {gen:.1f} s"},
        {"area": AREA, "name": "synthetic HistData CSV writing", "value": csv_ticks / csv_s / 1e6,
         "unit": "M ticks/s", "note": f"about {csv_ticks / 1e6:.0f} M ticks incl. generation"},
    ]


if __name__ == "__main__":
    import json

    for row in run(quick=True):
        print(json.dumps(row))
