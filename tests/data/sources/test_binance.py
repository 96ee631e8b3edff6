from __future__ import annotations

import zipfile
from pathlib import Path

from tests.data.sources.helpers import iso, read


def test_real_klines(real_data: Path) -> None:
    path = real_data / "binance" / "ADABTC-1m-2021-11-27.csv"
    rows, rejects, lines = read("binance-klines", path, symbol="ADABTC")
    assert rows.num_rows == 10 == lines and rejects.num_rows == 0
    assert iso(rows, 0) == "2021-11-27T00:00:00+00:00"
    assert rows.column("open")[0].as_py() == 0.00002853
    assert rows.column("tick_count")[0].as_py() == 79
    assert rows.column("volume")[0].as_py() == 36304.2


def test_spot_trades_ms_and_us_zip(tmp_path: Path) -> None:
    ms = "100,0.5,2.0,1.0,1700000000123,True,True\n101,0.6,1.0,0.6,1700000000123,False,True\n"
    us = "102,0.7,1.0,0.7,1735689600123456,false,true\n"
    path = tmp_path / "BTCUSDT-trades-2025-01-01.zip"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("BTCUSDT-trades-2025-01-01.csv", ms + us)
    rows, rejects, lines = read("binance-trades", path, symbol="BTCUSDT")
    assert lines == 3 and rejects.num_rows == 0
    assert iso(rows, 0) == "2023-11-14T22:13:20.123000+00:00"
    assert rows.column("ts")[2].value == 1735689600123456000  # µs kept exactly
    assert rows.column("side").to_pylist() == [-1, 1, 1]  # buyer is maker -> sell
    assert rows.column("trade_id").to_pylist() == ["100", "101", "102"]
    assert rows.column("size").to_pylist() == [2.0, 1.0, 1.0]


def test_futures_trades_with_header_and_garbage(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("id,price,qty,quote_qty,time,is_buyer_maker\n"
                    "1,100.5,0.1,10.05,1700000000000,true\n"
                    "2,abc,0.1,10.05,1700000000001,false\n"
                    "3,100.5,0.1\n"
                    "4,100.6,0.2,20.12,1700000000002,false\n")
    rows, rejects, lines = read("binance-trades", path, block_bytes=40)
    assert lines == 4 and rows.column("_line").to_pylist() == [2, 5]
    assert rejects.column("reason").to_pylist() == ["field 'price': 'abc' is not a number",
                                                    "expected 6 fields, got 3"]


def test_aggtrades_with_and_without_header_same_rows(tmp_path: Path) -> None:
    body = "26129,0.01633102,4.7,27781,27781,1498793709153,true,true\n" \
           "26130,0.01633103,1.0,27782,27783,1498793709154,false,true\n"
    plain, headed = tmp_path / "a.csv", tmp_path / "b.csv"
    plain.write_text(body)
    headed.write_text("agg_trade_id,price,quantity,first_trade_id,last_trade_id,transact_time,"
                      "is_buyer_maker,is_best_match\n" + body)
    a, _, _ = read("binance-aggtrades", plain)
    b, _, _ = read("binance-aggtrades", headed)
    assert a.drop_columns("_line").equals(b.drop_columns("_line"))
    assert a.column("trade_id").to_pylist() == ["26129", "26130"]
    assert a.column("side").to_pylist() == [-1, 1]
