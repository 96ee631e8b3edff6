"""Parse-only throughput of the vendor readers vs a bare ``polars.read_csv``.

Generates a HistData tick file (and TrueFX, quotes-csv copies of the same ticks) in a
temp dir, then measures lines/s of ``get_reader(fmt).read`` (all chunks consumed) and of
``polars.read_csv`` of the same HistData file (no timestamp parsing, so a lower bound on
its work). Best of a few runs each, peers in the same run. Figures are per process CPU
time (``time.process_time``: the machine is shared, wall time is noisy) with the wall
figure in the note; Polars uses every core, so its CPU figure is summed over threads.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import polars as pl

from tickforge.data.sources import get_reader
from tickforge.data.sources.base import ReadOptions


def write_ticks(folder: Path, n: int, seed: int = 7) -> dict[str, Path]:
    """The same n random-walk EURUSD ticks in HistData, TrueFX and quotes-csv layouts."""
    rng = np.random.default_rng(seed)
    ts = np.datetime64("2020-01-01T17:00", "ms") + np.cumsum(rng.integers(0, 400, n))
    bid = np.round(1.12 + np.cumsum(rng.normal(0, 2e-5, n)), 5)
    ask = np.round(bid + rng.integers(1, 30, n) * 1e-5, 5)
    frame = pl.DataFrame({"ts": ts, "bid": bid, "ask": ask})
    hist = frame.select(pl.col("ts").dt.strftime("%Y%m%d %H%M%S%3f"),
                        pl.col("bid").map_elements(lambda v: f"{v:.6f}", pl.String),
                        pl.col("ask").map_elements(lambda v: f"{v:.6f}", pl.String),
                        pl.lit(0).alias("vol"))
    paths = {"histdata": folder / "DAT_ASCII_EURUSD_T_202001.csv",
             "truefx": folder / "EURUSD-2020-01.csv", "quotes-csv": folder / "quotes.csv"}
    hist.write_csv(paths["histdata"], include_header=False)
    frame.select(pl.lit("EUR/USD"), pl.col("ts").dt.strftime("%Y%m%d %H:%M:%S%.3f"), "bid",
                 "ask").write_csv(paths["truefx"], include_header=False)
    frame.select(pl.col("ts").dt.strftime("%Y-%m-%d %H:%M:%S%.3f+00:00").alias("timestamp"),
                 "bid", "ask").write_csv(paths["quotes-csv"])
    return paths


def best_of(fn: Callable[[], int], repeat: int) -> tuple[float, float, int]:
    """(best CPU seconds, best wall seconds, rows) over ``repeat`` runs."""
    cpu, wall, rows = float("inf"), float("inf"), 0
    for _ in range(repeat):
        w0, c0 = time.perf_counter(), time.process_time()
        rows = fn()
        cpu = min(cpu, time.process_time() - c0)
        wall = min(wall, time.perf_counter() - w0)
    return cpu, wall, rows


def read_all(fmt: str, path: Path) -> int:
    reader = get_reader(fmt)
    return sum(c.table.num_rows for c in reader.read(path, ReadOptions(symbol="EURUSD")))


def run(quick: bool) -> list[dict]:
    n = 300_000 if quick else 5_000_000
    repeat = 2 if quick else 3
    rows: list[dict] = []
    with tempfile.TemporaryDirectory() as tmp:
        paths = write_ticks(Path(tmp), n)
        read_all("histdata", paths["histdata"])  # numba cache warm-up
        polars_cpu, polars_wall, _ = best_of(
            lambda: pl.read_csv(paths["histdata"], has_header=False).height, repeat)
        peer = n / polars_cpu / 1e6
        for fmt, path in paths.items():
            cpu, wall, got = best_of(lambda f=fmt, p=path: read_all(f, p), repeat)
            assert got == n, (fmt, got, n)
            value = n / cpu / 1e6
            target = 15 if fmt == "histdata" else 10
            rows.append({"area": "readers", "name": f"parse {fmt} ({n:,} ticks)",
                         "value": value, "unit": "M lines/s (CPU)", "peer": "polars.read_csv",
                         "peer_value": peer, "ratio": value / peer,
                         "target": f">= {target} M lines/s", "ok": value >= target,
                         "note": f"parse only, to canonical Arrow quotes; {cpu / n * 1e9:.0f} "
                                 f"ns/line CPU; wall {n / wall / 1e6:.1f} M/s vs polars "
                                 f"{n / polars_wall / 1e6:.1f} M/s"})
    return rows


if __name__ == "__main__":
    for row in run(quick=True):
        print(row)
