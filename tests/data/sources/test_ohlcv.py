from __future__ import annotations

from pathlib import Path

import pytest

from tests.data.sources.helpers import data_lines, iso, read
from tickforge.errors import DataFormatError


def test_fxcm_offsets(real_data: Path) -> None:
    path = real_data / "fxcm" / "gbpusd-m1-bid-2012.csv"
    rows, rejects, lines = read("ohlcv-csv", path, symbol="GBPUSD")
    assert rows.num_rows == 30117 == lines and rejects.num_rows == 0
    assert iso(rows, 0) == "2012-02-01T00:00:00+00:00"
    assert iso(rows, -1) == "2012-03-01T00:00:00+00:00"
    assert rows.column("close")[0].as_py() == 1.57576
    assert rows.column("volume").null_count == 30117


def test_yahoo_adj_close_ignored(real_data: Path) -> None:
    rows, _, lines = read("ohlcv-csv", real_data / "yahoo" / "nvda-1999-2014.txt", symbol="NVDA")
    assert lines == rows.num_rows == data_lines(real_data / "yahoo" / "nvda-1999-2014.txt", 1)
    assert iso(rows, 0) == "1999-01-22T00:00:00+00:00"
    assert rows.column("close")[0].as_py() == 1.640625  # Close, not Adj Close (1.518424)
    assert rows.column("volume")[0].as_py() == 67867200


def test_header_without_time_column_rows_with_one(real_data: Path) -> None:
    path = real_data / "misc" / "2006-01-02-volume-min-001.txt"
    rows, rejects, lines = read("ohlcv-csv", path, symbol="IDX")
    assert rows.num_rows == 30889 == lines and rejects.num_rows == 0
    assert iso(rows, 0) == "2006-01-02T09:01:00+00:00"
    assert iso(rows, -1) == "2006-02-27T22:00:00+00:00"
    assert rows.column("open")[0].as_py() == 3602.0  # not the time field
    assert rows.column("volume")[0].as_py() == 5699


def test_ticksample_iso_ms(real_data: Path) -> None:
    rows, _, lines = read("ohlcv-csv", real_data / "misc" / "ticksample.csv", symbol="ES")
    assert rows.num_rows == 135 == lines
    assert iso(rows, 0) == "2015-09-23T20:57:42.146000+00:00"


def test_mismatching_rows_are_quarantined(tmp_path: Path) -> None:
    path = tmp_path / "b.csv"
    path.write_text("DATE,OPEN,HIGH,LOW,CLOSE,VOLUME\n2020-01-02,1,2,0.5,1.5,10\n"
                    "2020-01-03,1,2,0.5\n1577923200,1,2,0.5,1.5,10\n2020-01-0x,1,2,0.5,1.5,1\n")
    rows, rejects, lines = read("ohlcv-csv", path)
    assert lines == 4 and rows.column("_line").to_pylist() == [2]
    assert rejects.column("line").to_pylist() == [3, 4, 5]


def test_epoch_numbers(tmp_path: Path) -> None:
    path = tmp_path / "b.csv"
    path.write_text("time,open,high,low,close\n1577923200,1,2,0.5,1.5\n1577923260,1,2,0.5,1.5\n")
    rows, _, _ = read("ohlcv-csv", path)
    assert iso(rows, 1) == "2020-01-02T00:01:00+00:00"


def test_unusable_header_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "b.csv"
    path.write_text("Date,Open,High,Low,Close\n2020-01-02;1;2;0.5;1.5\n2020-01-03;1;2;0.5;1.5\n")
    with pytest.raises(DataFormatError, match="--format csv --columns"):
        read("ohlcv-csv", path)


def test_yfinance_multi_row_header(tmp_path: Path) -> None:
    path = tmp_path / "yf.csv"
    path.write_text("Price,Close,High,Low,Open,Volume,Close,High,Low,Open,Volume\n"
                    "Ticker,AAPL,AAPL,AAPL,AAPL,AAPL,MSFT,MSFT,MSFT,MSFT,MSFT\n"
                    "Date,,,,,,,,,,\n"
                    "2024-01-02,185.6,188.4,183.9,187.1,82488700,370.6,375.9,366.8,373.8,25258600\n"
                    "2024-01-03,184.2,185.9,183.4,184.2,58414500,370.6,373.1,368.5,369.0,23083500\n")
    rows, rejects, lines = read("yfinance", path, symbol="MSFT")
    assert rows.num_rows == 2 == lines and rejects.num_rows == 0
    assert iso(rows, 0) == "2024-01-02T00:00:00+00:00"
    assert rows.column("close")[0].as_py() == 370.6 and rows.column("open")[0].as_py() == 373.8
    assert rows.column("_line").to_pylist() == [4, 5]
    with pytest.raises(DataFormatError, match="AAPL, MSFT"):
        read("yfinance", path, symbol="NVDA")
