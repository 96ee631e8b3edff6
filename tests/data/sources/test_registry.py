from __future__ import annotations

from pathlib import Path

import pytest

from tickforge.data.sources import FORMATS, expand_paths, get_reader
from tickforge.errors import DataFormatError, TickforgeError

CLI_FORMATS = ["histdata", "histdata-m1", "dukascopy", "dukascopy-csv", "truefx", "quotes-csv",
               "binance-trades", "binance-aggtrades", "binance-klines", "tardis-trades",
               "polygon-trades", "polygon-aggs", "ohlcv-csv", "yfinance", "csv"]


def test_every_cli_format_has_a_reader() -> None:
    assert sorted(FORMATS) == sorted(CLI_FORMATS)
    for name in CLI_FORMATS:
        assert get_reader(name).name == name
        assert get_reader(name).dataset in ("quotes", "trades", "bars")


def test_unknown_format_lists_valid_names() -> None:
    with pytest.raises(TickforgeError, match="histdata-m1"):
        get_reader("histdta")


def test_expand_paths_folders_sorted_and_filtered(tmp_path: Path) -> None:
    folder = tmp_path / "y"
    folder.mkdir()
    for hour in (10, 2, 1):  # a plain string sort would give 1, 10, 2
        (folder / f"EURUSD_h{hour}.csv").write_text("")
    (folder / "DAT_ASCII_EURUSD_T_202001.txt").write_text("status")  # HistData status file
    (folder / ".hidden.csv").write_text("")
    files = expand_paths([folder], "histdata")
    assert [f.name for f in files] == ["EURUSD_h1.csv", "EURUSD_h2.csv", "EURUSD_h10.csv"]
    with pytest.raises(DataFormatError, match="does not exist"):
        expand_paths([tmp_path / "missing"], "histdata")
    with pytest.raises(DataFormatError, match="no dukascopy files"):
        expand_paths([folder], "dukascopy")
