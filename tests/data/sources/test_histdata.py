from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pyarrow as pa

from tests.data.sources.helpers import data_lines, iso, read
from tickforge.data.sources import get_reader
from tickforge.data.sources.base import ReadOptions
from tickforge.data.sources.fast import null_floats

TICKS = """20200102 170000065,1.121200,1.121720,0
20200102 170000065,1.121210,1.121730,0

20200102 170010447,1.121200,1.121920,3
"""


def test_real_sample_rows_and_utc(real_data: Path) -> None:
    path = real_data / "histdata" / "DAT_ASCII_EURUSD_T_20200101.csv"
    rows, rejects, lines = read("histdata", path)
    assert rows.num_rows == 9500 and rejects.num_rows == 0 and lines == 9500
    assert iso(rows, 0) == "2020-01-01T22:00:00.065000+00:00"  # 17:00 EST = 22:00 UTC
    assert rows.column("bid")[0].as_py() == 1.1212 and rows.column("ask")[0].as_py() == 1.12172
    assert iso(rows, -1) == "2020-01-02T04:00:52.125000+00:00"
    assert rows.column("_line")[-1].as_py() == 9500
    assert rows.column("bid_size").null_count == 9500  # volume 0 -> null


def test_same_millisecond_kept_in_order_and_blank_lines_skipped(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text(TICKS)
    rows, _, lines = read("histdata", path)
    assert rows.num_rows == 3 and lines == 3
    assert rows.column("_line").to_pylist() == [1, 2, 4]
    assert rows.column("bid").to_pylist() == [1.1212, 1.12121, 1.1212]
    assert rows.column("bid_size").to_pylist() == [None, None, 3.0]


def test_zip_as_downloaded(tmp_path: Path) -> None:
    path = tmp_path / "HISTDATA_COM_ASCII_EURUSD_T202001.zip"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("DAT_ASCII_EURUSD_T_202001.csv", TICKS)
        z.writestr("DAT_ASCII_EURUSD_T_202001.txt", "HistData.com status report\nGap of 61s\n")
    rows, rejects, _ = read("histdata", path)
    assert rows.num_rows == 3 and rejects.num_rows == 0


def test_malformed_lines_all_accounted(tmp_path: Path) -> None:
    text = ("20200102 170000065,1.121200,1.121720,0\n"
            "20200102 170000165,abc,1.121720,0\n"        # garbage number
            "20200102 170000265,1.1212,1.1213\n"         # missing field
            "2020-01-02 17:00,1.1,1.2,0\n"               # bad timestamp
            "20200102 170000365,1.121200,1.121720,0,9\n"  # extra field
            "20200102 170000465,1.121200000000000001,1.121720,0\n"  # long, recovered exactly
            "20200102 170000565,1.1212")                   # truncated last line
    path = tmp_path / "bad.csv"
    path.write_text(text)
    rows, rejects, lines = read("histdata", path)
    assert lines == 7 == rows.num_rows + rejects.num_rows
    assert rows.column("_line").to_pylist() == [1, 6]
    assert rows.column("bid")[1].as_py() == float("1.121200000000000001")
    reasons = dict(zip(rejects.column("line").to_pylist(), rejects.column("reason").to_pylist(),
                       strict=True))
    assert reasons[2] == "field 'bid': 'abc' is not a number"
    assert reasons[3] == "expected 4 fields, got 3"
    assert "is not a timestamp like YYYYMMDD HHMMSSfff" in reasons[4]
    assert reasons[5] == "expected 4 fields, got 5"
    assert reasons[7].startswith("truncated last line")
    assert rejects.column("raw").to_pylist()[0] == "20200102 170000165,abc,1.121720,0"


def test_raw_lines_returns_source_text(real_data: Path) -> None:
    path = real_data / "histdata" / "DAT_ASCII_EURUSD_T_20200101.csv"
    chunk = next(iter(get_reader("histdata").read(path, ReadOptions("EURUSD"))))
    first, last = path.read_text().splitlines()[0], path.read_text().splitlines()[-1]
    assert chunk.raw_lines(np.array([1, 9500])) == [first, last]


def test_tiny_blocks_give_identical_rows(real_data: Path, tmp_path: Path) -> None:
    path = real_data / "histdata" / "DAT_ASCII_EURUSD_T_20200101.csv"
    whole, _, _ = read("histdata", path)
    small, _, lines = read("histdata", path, block_bytes=997)
    assert small.equals(whole) and lines == data_lines(path)
    bad = tmp_path / "bad.csv"
    bad.write_text(TICKS + "junk\n" + TICKS + "20200102 1700")
    one = read("histdata", bad)
    tiny = read("histdata", bad, block_bytes=5)
    assert tiny[0].equals(one[0]) and tiny[1].equals(one[1]) and tiny[2] == one[2] == 8


def test_tz_override_with_dst(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("20200702 170000000,1.1,1.2,0\n")
    rows, _, _ = read("histdata", path, tz="America/New_York")
    assert iso(rows, 0) == "2020-07-02T21:00:00+00:00"  # EDT = UTC-4


def test_m1_bars(tmp_path: Path) -> None:
    path = tmp_path / "DAT_ASCII_EURUSD_M1_2020.csv"
    path.write_text("20200101 170000;1.121940;1.122070;1.121930;1.122070;0\n"
                    "20200101 170100;1.122070;1.122100;1.122000;1.122020;0\n")
    rows, rejects, _ = read("histdata-m1", path)
    assert rows.num_rows == 2 and rejects.num_rows == 0
    assert iso(rows, 1) == "2020-01-01T22:01:00+00:00"
    assert rows.column("high").to_pylist() == [1.12207, 1.1221]


def test_empty_optional_columns_share_one_cached_null_array() -> None:
    small = null_floats(3)
    large = null_floats(100_000)  # grows the cache; earlier slices stay valid
    assert (len(small), small.null_count) == (3, 3)
    assert (len(large), large.null_count, large.type) == (100_000, 100_000, pa.float64())
