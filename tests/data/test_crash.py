"""SIGKILL during a real ``tickforge ingest``: nothing half-visible; a re-run completes it."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from tests.data.test_ingest import TICKFORGE, last_json, write_histdata
from tickforge.data.lake import Lake

ROWS = 3_000_000  # 100 ms apart: 3.5 UTC days, about 0.86 M rows per partition


def visible_files(lake_dir: Path) -> list[Path]:
    return sorted(p for p in (lake_dir / "quotes").rglob("*.parquet") if not p.name.startswith("."))


def kill_after_first_partition(args: list[str], lake_dir: Path) -> None:
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if (lake_dir / "quotes").exists() and visible_files(lake_dir):
            os.kill(proc.pid, signal.SIGKILL)
            break
        time.sleep(0.005)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL, "ingest finished before it could be killed"


@pytest.mark.slow
def test_sigkill_leaves_lake_consistent_and_rerun_completes(tmp_path: Path,
                                                             lake_dir: Path) -> None:
    src = write_histdata(tmp_path / "big.csv", ROWS, step_ms=100)
    args = [TICKFORGE, "ingest", "-f", "histdata", "-s", "EURUSD", "--lake", str(lake_dir),
            str(src), "--json"]
    kill_after_first_partition(args, lake_dir)

    files = visible_files(lake_dir)
    assert 1 <= len(files) < 4
    for f in files:  # every visible file is a complete Parquet file
        assert pq.read_metadata(f).num_rows > 0
    assert not list(lake_dir.glob("_manifest/**/*.json"))  # the manifest is written last
    glob = f"{lake_dir}/quotes/**/*.parquet"
    n, distinct = duckdb.sql(f"select count(*), count(distinct ts) from read_parquet('{glob}')"
                             ).fetchall()[0]
    assert n == distinct > 0  # queries work, no duplicates

    done = subprocess.run(args, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    report = last_json(done.stdout)
    assert report["rows_written"] == ROWS and report["files_skipped"] == 0
    lake = Lake(str(lake_dir))
    assert lake.info()["datasets"]["quotes"]["rows"] == ROWS
    n, distinct = duckdb.sql(f"select count(*), count(distinct ts) from read_parquet('{glob}')"
                             ).fetchall()[0]
    assert n == distinct == ROWS
    again = subprocess.run(args, capture_output=True, text=True, timeout=300)
    assert last_json(again.stdout)["files_skipped"] == 1
