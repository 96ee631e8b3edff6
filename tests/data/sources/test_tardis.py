from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from tests.data.sources.helpers import iso, read
from tickforge.errors import DataFormatError

HEADER = "exchange,symbol,timestamp,local_timestamp,id,side,price,amount\n"


def test_real_sample(real_data: Path) -> None:
    rows, rejects, lines = read("tardis-trades", real_data / "tardis" / "bitmex_trades_XBTUSD.csv",
                                symbol="XBTUSD")
    assert rows.num_rows == 10 == lines and rejects.num_rows == 0
    assert iso(rows, 0) == "2020-03-01T00:00:03.145000+00:00"
    assert rows.column("price")[0].as_py() == 8531.5 and rows.column("size")[0].as_py() == 2152
    assert rows.column("side")[0].as_py() == -1
    assert rows.column("trade_id")[0].as_py() == "ccc3c1fa-212c-e8b0-1706-9b9c4f3d5ecf"


def test_gz_sides_and_bad_rows(tmp_path: Path) -> None:
    path = tmp_path / "binance_trades_2020-03-01_BTCUSDT.csv.gz"
    rows_text = ["binance,BTCUSDT,1583020800123456,1583020800200000,1,buy,8500.1,0.5",
                 "binance,BTCUSDT,1583020800123457,1583020800200000,,unknown,8500.2,0.1",
                 "binance,BTCUSDT,xx,1583020800200000,3,sell,8500.2,0.1"]
    path.write_bytes(gzip.compress((HEADER + "\n".join(rows_text) + "\n").encode()))
    rows, rejects, lines = read("tardis-trades", path)
    assert lines == 3 and rows.num_rows == 2
    assert rows.column("ts")[0].value == 1583020800123456000
    assert rows.column("side").to_pylist() == [1, 0]
    assert rows.column("trade_id").to_pylist() == ["1", None]
    assert rejects.column("reason")[0].as_py() == "field 'timestamp': 'xx' is not an integer"


def test_header_mismatch(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("a,b\n1,2\n")
    with pytest.raises(DataFormatError, match="Tardis"):
        read("tardis-trades", path)
