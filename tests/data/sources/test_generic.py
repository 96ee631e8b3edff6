from __future__ import annotations

from pathlib import Path

import pytest

from tests.data.sources.helpers import iso, read
from tickforge.errors import DataFormatError


def test_quotes_mapping_strftime_and_tz(tmp_path: Path) -> None:
    path = tmp_path / "q.csv"
    path.write_text("Time;Bid;Ask;Extra\n02/01/2020 17:00:00.250;1.1;1.2;x\n"
                    "03/01/2020 17:00:00.000;1.3;1.4;y\nnope;1;2;z\n")
    rows, rejects, lines = read("csv", path, columns={"ts": "time", "bid": "Bid", "ask": "Ask"},
                                ts_format="%d/%m/%Y %H:%M:%S%.f", tz="-05:00")
    assert lines == 3 and rows.num_rows == 2
    assert iso(rows, 0) == "2020-01-02T22:00:00.250000+00:00"
    assert rows.column("ask").to_pylist() == [1.2, 1.4]
    assert "is not a timestamp" in rejects.column("reason")[0].as_py()


def test_trades_positions_epoch_ms(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("1700000000123,100.5,2,buy\n1700000000124,100.4,1,sell\n")
    rows, _, _ = read("csv", path, columns={"ts": "1", "price": "2", "size": "3", "side": "4"},
                      ts_format="ms")
    assert rows.column("ts")[0].value == 1700000000123000000
    assert rows.column("side").to_pylist() == [1, -1]
    assert rows.column("size").to_pylist() == [2.0, 1.0]


def test_bars_auto_timestamps(tmp_path: Path) -> None:
    path = tmp_path / "b.csv"
    path.write_text("d,o,h,l,c,v\n2020-01-02T00:00:00+01:00,1,2,0.5,1.5,3\n")
    rows, _, _ = read("csv", path, columns={"ts": "d", "open": "o", "high": "h", "low": "l",
                                            "close": "c", "volume": "v"})
    assert iso(rows, 0) == "2020-01-01T23:00:00+00:00"
    assert rows.column("volume")[0].as_py() == 3.0


def test_mapping_errors(tmp_path: Path) -> None:
    path = tmp_path / "q.csv"
    path.write_text("Time,Bid,Ask\n2020-01-01,1,2\n")
    with pytest.raises(DataFormatError, match="needs --columns"):
        read("csv", path)
    with pytest.raises(DataFormatError, match="header has no column"):
        read("csv", path, columns={"ts": "Time", "bid": "B", "ask": "Ask"})
    with pytest.raises(DataFormatError, match="missing column"):
        read("csv", path, columns={"ts": "Time", "bid": "Bid"})
