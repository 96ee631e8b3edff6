"""ETL benchmarks: ingest throughput vs bare Polars, bytes per tick, peak RSS.

* ingest of a HistData tick CSV (2 M ticks quick, 30 M full) with full validation into a
  fresh lake, against Polars ``read_csv -> write_parquet`` of the same file, same run;
* bytes per tick of the lake on the real Dukascopy BTCUSD sample (14,716 ticks);
* peak RSS of a ``tickforge ingest`` subprocess on a large CSV (~0.3 GB quick, ~2 GB full).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
REAL = Path(os.environ.get("TICKFORGE_REAL_DATA", ROOT.parent / "shared" / "data" / "real"))
EST_MS = 5 * 3600 * 1000


def write_histdata(path: Path, n: int, seed: int = 0) -> Path:
    """``n`` HistData ticks (about 40 bytes each), 100 ms apart, written in 5 M-row pieces."""
    rng = np.random.default_rng(seed)
    start = 1577836800000
    mid = 1.1
    with path.open("wb") as out:
        for lo in range(0, n, 5_000_000):
            m = min(5_000_000, n - lo)
            steps = np.cumsum(rng.integers(-1, 2, m)) * 1e-5
            bid = np.round(mid + steps, 5)
            mid = float(bid[-1])
            utc = start + (lo + np.arange(m, dtype=np.int64)) * 100
            frame = pl.DataFrame({"t": utc - EST_MS, "bid": bid, "ask": np.round(bid + 2e-5, 5)})
            frame.select(pl.from_epoch("t", "ms").dt.strftime("%Y%m%d %H%M%S%3f"), "bid", "ask",
                         pl.lit(0).alias("v")).write_csv(out, include_header=False)
    return path


def polars_baseline(src: Path, out: Path) -> float:
    t0 = time.perf_counter()
    frame = pl.read_csv(src, has_header=False, new_columns=["t", "bid", "ask", "v"])
    frame.write_parquet(out)
    return time.perf_counter() - t0


def tickforge_ingest(src: Path, lake: Path) -> tuple[float, dict[str, Any]]:
    from tickforge.data.ingest import ingest_files
    from tickforge.data.sources.base import ReadOptions

    t0 = time.perf_counter()
    report = ingest_files([src], "histdata", ReadOptions(symbol="EURUSD"), str(lake))
    return time.perf_counter() - t0, report.as_dict()


def throughput_rows(work: Path, n: int) -> list[dict[str, Any]]:
    src = write_histdata(work / "ticks.csv", n)
    warm = write_histdata(work / "warm.csv", 20_000, seed=1)
    tickforge_ingest(warm, work / "warm-lake")  # numba compile outside the timing
    peer_s = polars_baseline(src, work / "polars.parquet")
    ours_s, report = tickforge_ingest(src, work / "lake")
    ours, peer = n / ours_s, n / peer_s
    ok_rows = report["rows_written"] == n
    return [{
        "area": "etl", "name": f"ingest HistData CSV, {n / 1e6:.0f} M ticks, full validation",
        "value": ours, "unit": "ticks/s", "peer": "polars read_csv -> write_parquet",
        "peer_value": peer, "ratio": ours / peer, "target": ">= 5 M ticks/s and >= 0.8x polars",
        "ok": ours >= 5e6 and ours / peer >= 0.8 and ok_rows,
        "note": f"{src.stat().st_size / 2**20:.0f} MiB file; {report['partitions']} partitions",
    }]


def bytes_per_tick_rows(work: Path) -> list[dict[str, Any]]:
    folder = REAL / "dukascopy" / "BTCUSD" / "2023" / "01" / "20"
    if not folder.is_dir():
        return [{"area": "etl", "name": "bytes per tick (real Dukascopy)", "note": "sample absent"}]
    sys.path.insert(0, str(ROOT / "tests"))
    import pyarrow as pa
    from tests.data.test_lake import read_bi5, write_source

    from tickforge.data.lake import Lake

    day_ms = 1676851200000
    table = pa.concat_tables([read_bi5(folder / f"{h}h_ticks.bi5", day_ms + h * 3_600_000, 0.1)
                              for h in (12, 13)])
    write_source(Lake(str(work / "duk")), table, "btc.bi5", "BTCUSD")
    size = sum(f.stat().st_size for f in (work / "duk").rglob("*.parquet"))
    naive = work / "naive.parquet"
    pl.from_arrow(table).write_parquet(naive, compression="snappy")  # type: ignore[union-attr]
    naive_bpt = naive.stat().st_size / table.num_rows
    bpt = size / table.num_rows
    name = f"bytes per tick, real Dukascopy BTCUSD ({table.num_rows} ticks)"
    return [{"area": "etl", "name": name,
             "value": bpt, "unit": "bytes/tick", "peer": "naive snappy parquet",
             "peer_value": naive_bpt, "ratio": naive_bpt / bpt, "target": "<= 4",
             "ok": bpt <= 4.0}]


def peak_rss_rows(work: Path, n: int) -> list[dict[str, Any]]:
    src = write_histdata(work / "rss.csv", n, seed=2)
    exe = str(Path(sys.executable).with_name("tickforge"))
    proc = psutil.Popen([exe, "ingest", "-f", "histdata", "-s", "EURUSD", "--lake",
                         str(work / "rss-lake"), str(src), "--json"],
                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    peak = 0
    while proc.poll() is None:
        try:
            peak = max(peak, proc.memory_info().rss)
        except psutil.NoSuchProcess:
            break
        time.sleep(0.05)
    gib = src.stat().st_size / 2**30
    return [{"area": "etl", "name": f"peak RSS, ingest of a {gib:.2f} GiB CSV",
             "value": peak / 2**20, "unit": "MiB", "target": "< 1536 MiB for 2 GB",
             "ok": peak < 1.5 * 2**30,
             "note": f"exit {proc.returncode}"}]


def run(quick: bool) -> list[dict[str, Any]]:
    work = Path(tempfile.mkdtemp(prefix="tickforge-bench-etl-"))
    try:
        rows = throughput_rows(work, 2_000_000 if quick else 30_000_000)
        rows += bytes_per_tick_rows(work)
        rows += peak_rss_rows(work, 8_000_000 if quick else 50_000_000)
        return rows
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    for row in run(quick="--full" not in sys.argv):
        print(row)
