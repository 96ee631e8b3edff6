"""SQL over the lake: views, partition columns, errors, output formats, CLI."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pytest

from tests.data.test_lake import bars, three_days
from tickforge.data.lake import Lake
from tickforge.data.sql import format_table, run_sql
from tickforge.errors import LakeError

TICKFORGE = str(Path(sys.executable).with_name("tickforge"))


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([TICKFORGE, *args], capture_output=True, text=True, timeout=120)


def test_views_with_partition_columns(lake_dir: Path) -> None:
    three_days(lake_dir)
    got = run_sql(str(lake_dir), "select symbol, date, count(*) as n from quotes "
                                 "where date >= '2020-01-02' group by all order by date")
    assert got.to_pylist() == [
        {"symbol": "EURUSD", "date": pa.scalar(18263, pa.date32()).as_py(), "n": 1440},
        {"symbol": "EURUSD", "date": pa.scalar(18264, pa.date32()).as_py(), "n": 1440},
    ]


def test_absent_datasets_are_empty_views(lake_dir: Path) -> None:
    three_days(lake_dir)
    assert run_sql(str(lake_dir), "select count(*) as n from trades").to_pylist() == [{"n": 0}]
    assert run_sql(str(lake_dir), "select * from quarantine").num_rows == 0


def test_bars_view(lake_dir: Path) -> None:
    Lake(str(lake_dir)).write_bars("EURUSD", "1min", bars(0, 30, 1.5))
    got = run_sql(str(lake_dir), "select timeframe, year, count(*) as n, max(high) as h "
                                 "from bars group by all")
    assert got.to_pylist() == [{"timeframe": "1min", "year": 2020, "n": 30, "h": 1.6}]


def test_empty_lake_and_bad_query_are_one_line_errors(lake_dir: Path) -> None:
    with pytest.raises(LakeError, match="holds no data yet"):
        run_sql(str(lake_dir), "select 1")
    three_days(lake_dir)
    with pytest.raises(LakeError) as err:
        run_sql(str(lake_dir), "select * from nosuch")
    assert "nosuch" in str(err.value) and "\n" not in str(err.value)


def test_formats() -> None:
    table = pa.table({"a": [1, 2], "b": ["x", None]})
    assert list(csv.reader(io.StringIO(format_table(table, "csv")))) == [
        ["a", "b"], ["1", "x"], ["2", ""]]
    assert json.loads(format_table(table, "json")) == [{"a": 1, "b": "x"}, {"a": 2, "b": None}]
    text = format_table(table, "table").splitlines()
    assert text[0].split() == ["a", "b"] and text[-1] == "(2 rows)"
    with pytest.raises(LakeError):
        format_table(table, "xml")


def test_cli_sql(lake_dir: Path) -> None:
    three_days(lake_dir)
    done = cli("sql", "--lake", str(lake_dir), "select count(*) as n from quotes",
               "--format", "json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == [{"n": 3 * 1440}]
    bad = cli("sql", "--lake", str(lake_dir), "select * from nosuch")
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1
