"""Ingest end to end: real and written HistData files, idempotency, overlaps, CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from tickforge.data.ingest import ingest_files
from tickforge.data.lake import Lake
from tickforge.data.sources.base import ReadOptions
from tickforge.errors import DataFormatError, LakeError

TICKFORGE = str(Path(sys.executable).with_name("tickforge"))
EST_MS = 5 * 3600 * 1000
EPOCH_2020 = 1577836800000  # 2020-01-01 00:00 UTC in ms


def write_histdata(path: Path, n: int, start_ms: int = EPOCH_2020, step_ms: int = 250,
                   seed: int = 0) -> Path:
    """A HistData tick file (EST, no DST) of ``n`` clean quotes, one every ``step_ms``."""
    rng = np.random.default_rng(seed)
    utc = start_ms + np.arange(n, dtype=np.int64) * step_ms
    mid = np.round(1.1 + np.cumsum(rng.integers(-1, 2, n)) * 1e-5, 5)
    frame = pl.DataFrame({"t": utc - EST_MS, "bid": mid, "ask": np.round(mid + 2e-5, 5)})
    frame = frame.select(
        pl.from_epoch("t", "ms").dt.strftime("%Y%m%d %H%M%S%3f").alias("t"),
        pl.col("bid").map_elements(lambda x: f"{x:.6f}", return_dtype=pl.String),
        pl.col("ask").map_elements(lambda x: f"{x:.6f}", return_dtype=pl.String),
        pl.lit("0").alias("v"),
    ) if n < 50_000 else frame.select(
        pl.from_epoch("t", "ms").dt.strftime("%Y%m%d %H%M%S%3f").alias("t"),
        pl.col("bid").round(5), pl.col("ask").round(5), pl.lit(0).alias("v"))
    frame.write_csv(path, include_header=False)
    return path


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([TICKFORGE, *args], capture_output=True, text=True, timeout=120)


def last_json(out: str) -> dict:
    return json.loads(out.strip().splitlines()[-1])


def ingest(path: Path, lake: Path, symbol: str = "EURUSD", **kw: str) -> dict:
    report = ingest_files([path], "histdata", ReadOptions(symbol=symbol), str(lake), **kw)
    return report.as_dict()


def test_real_histdata_sample_lands_in_utc(real_data: Path, lake_dir: Path) -> None:
    path = real_data / "histdata" / "DAT_ASCII_EURUSD_T_20200101.csv"
    got = ingest(path, lake_dir)
    assert got["rows_read"] == 9500
    assert got["rows_read"] == got["rows_written"] + got["rows_quarantined"] + got["duplicates"]
    frame = Lake(lake_dir).quotes("EURUSD").to_pandas()
    assert len(frame) == got["rows_written"]
    assert str(frame["ts"].iloc[0]) == "2020-01-01 22:00:00.065000+00:00"  # 17:00:00.065 EST
    assert frame["bid"].iloc[0] == 1.1212 and frame["ask"].iloc[0] == 1.12172


def test_same_file_twice_adds_nothing(tmp_path: Path, lake_dir: Path) -> None:
    src = write_histdata(tmp_path / "a.csv", 3000, step_ms=60_000)  # spans 3 UTC days
    first = ingest(src, lake_dir)
    assert first["rows_written"] == 3000 and first["partitions"] == 3
    copy = tmp_path / "renamed.csv"
    copy.write_bytes(src.read_bytes())  # same content under another name: same source
    second = ingest(copy, lake_dir)
    assert second["files_skipped"] == 1 and second["rows_written"] == 0
    assert second["rows_read"] == 0 and second["files"][0]["sha256"] == first["files"][0]["sha256"]
    assert len(Lake(lake_dir).quotes("EURUSD")) == 3000


def test_malformed_file_accounting_adds_up(tmp_path: Path, lake_dir: Path) -> None:
    good = write_histdata(tmp_path / "g.csv", 200).read_text().splitlines()
    lines = list(good)
    lines.insert(10, "garbage line")
    lines.insert(20, lines[19])  # exact duplicate of the row before
    lines.insert(30, "20191231 190000000,1.2,1.1,0")  # crossed and out of order
    lines.insert(40, "20191231 19")  # truncated
    src = tmp_path / "bad.csv"
    src.write_text("\n".join(lines) + "\n20191231 1900")  # truncated last line, no newline
    got = ingest(src, lake_dir)
    assert got["rows_read"] == 205
    assert got["duplicates"] == 1 and got["rows_written"] == 200
    assert got["rows_quarantined"] == 4
    quarantine = Lake(lake_dir).quarantine().to_pandas()
    assert sorted(quarantine["line"]) == [11, 31, 41, 205]
    assert "garbage line" in set(quarantine["raw"])


def test_overlap_from_another_source_is_refused_with_both_names(tmp_path: Path,
                                                                lake_dir: Path) -> None:
    a = write_histdata(tmp_path / "a.csv", 1000, seed=1)
    b = write_histdata(tmp_path / "b.csv", 1000, start_ms=EPOCH_2020 + 100_000, seed=2)
    ingest(a, lake_dir)
    with pytest.raises(LakeError) as err:
        ingest(b, lake_dir)
    message = str(err.value)
    assert "'b.csv'" in message and "'a.csv'" in message and "\n" not in message
    assert len(Lake(lake_dir).quotes("EURUSD")) == 1000  # nothing of b is visible


def test_overlap_skip_keeps_lake_rows(tmp_path: Path, lake_dir: Path) -> None:
    a = write_histdata(tmp_path / "a.csv", 1000, seed=1)  # 0 .. 249.75 s
    b = write_histdata(tmp_path / "b.csv", 1000, start_ms=EPOCH_2020 + 200_000, seed=2)
    ingest(a, lake_dir)
    got = ingest(b, lake_dir, on_overlap="skip")
    assert got["overlap_skipped"] == 200  # b's rows inside a's time range
    assert got["rows_read"] == got["rows_written"] + got["rows_quarantined"] + got["duplicates"]
    frame = Lake(lake_dir).quotes("EURUSD").to_pandas()
    assert len(frame) == 1800 and frame["ts"].is_unique and frame["ts"].is_monotonic_increasing


def test_overlap_replace_takes_new_rows(tmp_path: Path, lake_dir: Path) -> None:
    a = write_histdata(tmp_path / "a.csv", 1000, seed=1)
    b = write_histdata(tmp_path / "b.csv", 1000, start_ms=EPOCH_2020 + 200_000, step_ms=100,
                       seed=2)  # 200 .. 299.9 s
    ingest(a, lake_dir)
    got = ingest(b, lake_dir, on_overlap="replace")
    assert got["files"][0]["replaced_sources"] == ["a.csv"]
    frame = Lake(lake_dir).quotes("EURUSD").to_pandas()
    assert len(frame) == 800 + 1000  # a's rows from 200 s on replaced
    assert frame["ts"].is_monotonic_increasing and frame["ts"].is_unique


def test_empty_file_is_a_one_line_error(tmp_path: Path, lake_dir: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(DataFormatError) as err:
        ingest(empty, lake_dir)
    assert "empty.csv" in str(err.value)


def test_cli_ingest_json_and_idempotent(tmp_path: Path, lake_dir: Path) -> None:
    src = write_histdata(tmp_path / "a.csv", 500)
    args = ["ingest", "--format", "histdata", "--symbol", "EURUSD", "--lake", str(lake_dir),
            str(src), "--json"]
    first = cli(*args)
    assert first.returncode == 0, first.stderr
    assert last_json(first.stdout)["rows_written"] == 500
    second = cli(*args)
    assert second.returncode == 0
    got = last_json(second.stdout)
    assert got["files_skipped"] == 1 and got["rows_written"] == 0


def test_cli_exit_zero_with_quarantined_rows(tmp_path: Path, lake_dir: Path) -> None:
    src = write_histdata(tmp_path / "a.csv", 100)
    src.write_text(src.read_text() + "not a tick\n")
    done = cli("ingest", "-f", "histdata", "-s", "EURUSD", "--lake", str(lake_dir), str(src),
               "--json")
    assert done.returncode == 0, done.stderr
    assert last_json(done.stdout)["rows_quarantined"] == 1


def test_cli_unusable_file_one_line_nonzero(tmp_path: Path, lake_dir: Path) -> None:
    src = tmp_path / "junk.csv"
    src.write_text("hello,world\nthis is,not\n")
    done = cli("ingest", "-f", "histdata", "-s", "EURUSD", "--lake", str(lake_dir), str(src))
    assert done.returncode != 0
    lines = [x for x in done.stderr.splitlines() if x.strip()]
    assert len(lines) == 1 and "junk.csv" in lines[0] and "Traceback" not in done.stderr
    assert not (lake_dir / "quotes").exists()


def test_cli_overlap_refused_one_line(tmp_path: Path, lake_dir: Path) -> None:
    a = write_histdata(tmp_path / "a.csv", 300, seed=1)
    b = write_histdata(tmp_path / "b.csv", 300, start_ms=EPOCH_2020 + 10_000, seed=2)
    base = ["ingest", "-f", "histdata", "-s", "EURUSD", "--lake", str(lake_dir)]
    assert cli(*base, str(a)).returncode == 0
    done = cli(*base, str(b))
    assert done.returncode == 2
    assert "overlap" in done.stderr and "a.csv" in done.stderr and "b.csv" in done.stderr
    assert cli(*base, "--on-overlap", "skip", str(b)).returncode == 0


def test_cli_lake_info_json(tmp_path: Path, lake_dir: Path) -> None:
    ingest(write_histdata(tmp_path / "a.csv", 400, step_ms=1000), lake_dir)
    done = cli("lake", "info", "--lake", str(lake_dir), "--json")
    assert done.returncode == 0, done.stderr
    info = last_json(done.stdout)
    eurusd = info["datasets"]["quotes"]["symbols"]["EURUSD"]
    assert eurusd["rows"] == 400 and eurusd["bytes"] > 0
    assert eurusd["start"].startswith("2020-01-01T00:00:00")


def test_refused_overlap_in_a_later_partition_leaves_nothing_of_the_file(
        tmp_path: Path, lake_dir: Path) -> None:
    day_ms = 86_400_000
    a = write_histdata(tmp_path / "a.csv", 1440, start_ms=EPOCH_2020 + day_ms, step_ms=60_000)
    b = write_histdata(tmp_path / "b.csv", 4 * 1440, step_ms=60_000, seed=3)  # days 1-4
    ingest(a, lake_dir)
    with pytest.raises(LakeError, match="overlap"):
        ingest(b, lake_dir)  # day 1 may be committed (own lane) before day 2 is refused
    files = sorted(p.name for p in (lake_dir / "quotes").rglob("*.parquet"))
    assert len(files) == 1 and not list(lake_dir.rglob("*.tmp-*"))
    assert len(Lake(lake_dir).quotes("EURUSD")) == 1440
    assert len(list((lake_dir / "_manifest").rglob("*.json"))) == 1  # a's only
