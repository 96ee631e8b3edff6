from __future__ import annotations

import gzip
from pathlib import Path

from tests.data.sources.helpers import iso, read

TRADES = ("ticker,conditions,correction,exchange,id,participant_timestamp,price,sequence_number,"
          "sip_timestamp,size,tape,trf_id,trf_timestamp\n"
          'AAPL,"12,37",0,4,1,1704189600011000000,185.5,100,1704189600011456789,10,3,,\n'
          "MSFT,,0,4,2,1704189600012000000,370.1,101,1704189600012000001,5,3,,\n"
          "AAPL,12,0,4,3,1704189600013000000,185.6,102,1704189600013000002,20,3,,\n")


def test_trades_filtered_by_ticker_gz(tmp_path: Path) -> None:
    path = tmp_path / "2024-01-02.csv.gz"
    path.write_bytes(gzip.compress(TRADES.encode()))
    rows, rejects, lines = read("polygon-trades", path, symbol="AAPL")
    assert rows.num_rows == 2 and rejects.num_rows == 0
    assert lines == 2  # the MSFT row is not data for AAPL and not counted
    assert rows.column("ts")[0].value == 1704189600011456789  # sip_timestamp, ns exact
    assert rows.column("trade_id").to_pylist() == ["1", "3"]
    assert rows.column("_line").to_pylist() == [2, 4]


def test_minute_aggs(tmp_path: Path) -> None:
    path = tmp_path / "aggs.csv"
    path.write_text("ticker,volume,open,close,high,low,window_start,transactions\n"
                    "C:EURUSD,120,1.1,1.2,1.25,1.05,1704189600000000000,40\n"
                    "AAPL,4000,185,186,187,184,1704189600000000000,50\n"
                    "C:EURUSD,120,x,1.2,1.25,1.05,1704189660000000000,40\n")
    rows, rejects, lines = read("polygon-aggs", path, symbol="EURUSD")
    assert rows.num_rows == 1 and rejects.num_rows == 1 and lines == 2
    assert iso(rows, 0) == "2024-01-02T10:00:00+00:00"
    assert rows.column("close")[0].as_py() == 1.2 and rows.column("high")[0].as_py() == 1.25
    assert rows.column("tick_count")[0].as_py() == 40
