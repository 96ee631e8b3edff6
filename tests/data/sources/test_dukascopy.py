from __future__ import annotations

import lzma
from pathlib import Path

import numpy as np
import pytest

from tests.data.sources.helpers import iso, read
from tickforge.data.sources import expand_paths, get_reader
from tickforge.data.sources.base import ReadOptions
from tickforge.data.sources.dukascopy import RECORD, point_size
from tickforge.errors import DataFormatError


def write_bi5(path: Path, records: list[tuple[int, int, int, float, float]], tail: bytes = b""
              ) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    raw = np.array(records, dtype=RECORD).tobytes() + tail
    path.write_bytes(lzma.compress(raw, format=lzma.FORMAT_ALONE))
    return path


def test_real_sample_two_hours(real_data: Path) -> None:
    files = expand_paths([real_data / "dukascopy"], "dukascopy")
    assert [f.name for f in files] == ["12h_ticks.bi5", "13h_ticks.bi5"]
    parts = [read("dukascopy", f, symbol="BTCUSD") for f in files]
    assert sum(p[0].num_rows for p in parts) == 14716
    assert all(p[1].num_rows == 0 for p in parts)
    first, last = parts[0][0], parts[1][0]
    assert iso(first, 0) == "2023-02-20T12:00:00.084000+00:00"  # month folder 01 = February
    assert iso(last, -1).startswith("2023-02-20T13:59:59")
    assert first.column("bid")[0].as_py() == 24849.4  # points x 0.1


def test_written_file_prices_volumes_and_record_numbers(tmp_path: Path) -> None:
    path = write_bi5(tmp_path / "EURUSD" / "2020" / "00" / "02" / "07h_ticks.bi5",
                     [(0, 112345, 112340, 1.5, 0.75), (0, 112346, 112341, 1.0, 1.0),
                      (3_599_999, 112350, 112349, 2.0, 3.0)])
    rows, rejects, lines = read("dukascopy", path)
    assert lines == 3 and rejects.num_rows == 0
    assert iso(rows, 0) == "2020-01-02T07:00:00+00:00"
    assert iso(rows, 2) == "2020-01-02T07:59:59.999000+00:00"
    assert rows.column("ask").to_pylist() == [1.12345, 1.12346, 1.1235]
    assert rows.column("bid_size").to_pylist() == [0.75, 1.0, 3.0]
    assert rows.column("_line").to_pylist() == [1, 2, 3]


def test_empty_file_is_an_hour_without_ticks(tmp_path: Path) -> None:
    path = tmp_path / "USDJPY" / "2020" / "11" / "31" / "23h_ticks.bi5"
    path.parent.mkdir(parents=True)
    path.write_bytes(b"")
    assert list(get_reader("dukascopy").read(path, ReadOptions("USDJPY"))) == []


def test_truncated_record_and_bad_ms_are_rejects(tmp_path: Path) -> None:
    path = write_bi5(tmp_path / "USDJPY" / "2020" / "05" / "01" / "00h_ticks.bi5",
                     [(10, 107123, 107120, 1.0, 1.0), (3_600_000, 1, 1, 1.0, 1.0)],
                     tail=b"\x00" * 7)
    rows, rejects, lines = read("dukascopy", path, symbol="USDJPY", block_bytes=20)
    assert lines == 3 and rows.num_rows == 1
    assert rows.column("ask")[0].as_py() == 107.123  # JPY pair: 1e-3
    assert rejects.column("line").to_pylist() == [2, 3]
    assert "past the end of the hour" in rejects.column("reason")[0].as_py()
    assert "truncated record" in rejects.column("reason")[1].as_py()


def test_points_and_unknown_symbol() -> None:
    assert point_size("EURUSD", None) == 1e-5 and point_size("EURJPY", None) == 1e-3
    assert point_size("BTCUSD", None) == 0.1 and point_size("FOO", 0.01) == 0.01
    with pytest.raises(DataFormatError, match="--point"):
        point_size("FOOBAR1", None)


def test_bad_path_and_corrupt_file(tmp_path: Path) -> None:
    flat = write_bi5(tmp_path / "ticks.bi5", [(0, 1, 1, 1.0, 1.0)])
    with pytest.raises(DataFormatError, match="SYMBOL/YYYY/MM/DD"):
        list(get_reader("dukascopy").read(flat, ReadOptions("EURUSD")))
    bad = tmp_path / "EURUSD" / "2020" / "00" / "02" / "01h_ticks.bi5"
    bad.parent.mkdir(parents=True)
    payload = np.random.default_rng(1).integers(0, 255, 4000, dtype=np.uint8).tobytes()
    bad.write_bytes(lzma.compress(payload, format=lzma.FORMAT_ALONE)[:2000])
    with pytest.raises(DataFormatError, match="LZMA"):
        list(get_reader("dukascopy").read(bad, ReadOptions("EURUSD")))


def test_dukascopy_csv_export(tmp_path: Path) -> None:
    path = tmp_path / "EURUSD_Ticks.csv"
    path.write_text("Gmt time,Ask,Bid,AskVolume,BidVolume\n"
                    "01.02.2023 00:00:00.123,1.08650,1.08640,0.75,1.2\n"
                    "01.02.2023 00:00:00.123,1.08651,1.08641,0.75,1.2\n"
                    "31.02.2023 00:00:01.000,1.08651,1.08641,0.75,1.2\n")
    rows, rejects, lines = read("dukascopy-csv", path)
    assert rows.num_rows == 2 and lines == 3
    assert iso(rows, 0) == "2023-02-01T00:00:00.123000+00:00"
    assert rows.column("ask")[0].as_py() == 1.0865 and rows.column("bid")[0].as_py() == 1.0864
    assert rows.column("ask_size")[0].as_py() == 0.75
    assert rejects.column("line").to_pylist() == [4]
