from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from tests.data.sources.helpers import iso, read
from tickforge.errors import DataFormatError


def test_real_sample_quotes_csv(real_data: Path) -> None:
    path = real_data / "truefx" / "usdjpy-ticks.csv"
    for fmt in ("quotes-csv", "truefx"):  # truefx falls back to quotes-csv on a header
        rows, rejects, lines = read(fmt, path, symbol="USDJPY")
        assert rows.num_rows == 1000 and rejects.num_rows == 0 and lines == 1000
        assert iso(rows, 0) == "2013-01-01T22:00:00.295000+00:00"
        assert rows.column("bid")[0].as_py() == 86.655
        assert iso(rows, -1) == "2013-01-01T22:35:13.494000+00:00"
        assert rows.column("_line")[0].as_py() == 2


def test_truefx_layout_gz(tmp_path: Path) -> None:
    path = tmp_path / "EURUSD-2017-01.csv.gz"
    path.write_bytes(gzip.compress(b"EUR/USD,20170102 00:00:00.115,1.05147,1.05203\n"
                                   b"EUR/USD,20170102 00:00:00.115,1.05148,1.05204\n"
                                   b"EUR/USD,20170102 00:00:01.2,1.0515,1.052\n"
                                   b"EUR/USD,2017-01-02,1.0515,1.052\n"))
    rows, rejects, lines = read("truefx", path)
    assert rows.num_rows == 3 and lines == 4
    assert iso(rows, 2) == "2017-01-02T00:00:01.200000+00:00"
    assert "is not a timestamp" in rejects.column("reason")[0].as_py()


def test_quotes_csv_offsets_naive_tz_and_sizes(tmp_path: Path) -> None:
    path = tmp_path / "q.csv"
    path.write_text("Timestamp,Bid,Ask,Bid_Size,Ask_Size\n"
                    "2024-03-10 09:30:00.5-05:00,10.0,10.1,100,\n"
                    "2024-03-10T14:30:00.123456789Z,10.0,10.1,,200\n"
                    "2024-03-10 09:30:00,10.0,10.1,1,2\n")
    rows, _, _ = read("quotes-csv", path)
    assert iso(rows, 0) == "2024-03-10T14:30:00.500000+00:00"
    assert rows.column("ts")[1].value == 1710081000123456789  # ns kept exactly
    assert iso(rows, 2) == "2024-03-10T09:30:00+00:00"  # naive = UTC
    assert rows.column("bid_size").to_pylist() == [100.0, None, 1.0]
    ny, _, _ = read("quotes-csv", path, tz="America/New_York")
    assert iso(ny, 2) == "2024-03-10T13:30:00+00:00"  # EDT began that morning
    assert iso(ny, 0) == iso(rows, 0)  # explicit offsets are not touched by --tz


def test_quotes_csv_header_mismatch(tmp_path: Path) -> None:
    path = tmp_path / "q.csv"
    path.write_text("time,price,qty\n2024-01-01,1,2\n")
    with pytest.raises(DataFormatError, match="bid and ask"):
        read("quotes-csv", path)


def test_wrong_column_count_rows_are_rejects(tmp_path: Path) -> None:
    path = tmp_path / "q.csv"
    path.write_text("timestamp,bid,ask\n2024-01-01 00:00:00,1,2\n2024-01-01 00:00:01,1\n"
                    "2024-01-01 00:00:02,1,2,3\n\n2024-01-01 00:00:03,1,2\n")
    rows, rejects, lines = read("quotes-csv", path, block_bytes=8)
    assert rows.column("_line").to_pylist() == [2, 6] and lines == 4
    assert rejects.column("reason").to_pylist() == ["expected 3 fields, got 2",
                                                    "expected 3 fields, got 4"]
