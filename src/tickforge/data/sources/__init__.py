"""Vendor-format readers: ``get_reader(fmt).read(path, options)`` yields chunks.

Each ``--format`` name maps to one reader object (see :data:`FORMATS`); every reader
follows the contract of :mod:`tickforge.data.sources.base`. :func:`expand_paths` turns
the command-line paths (files or folders) into the list of files to read, in time order.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

from tickforge.data.sources.base import Reader
from tickforge.data.sources.binance import BinanceAggTrades, BinanceKlines, BinanceTrades
from tickforge.data.sources.dukascopy import DukascopyBi5, DukascopyCsv
from tickforge.data.sources.generic import GenericCsv
from tickforge.data.sources.histdata import HistDataM1, HistDataTicks
from tickforge.data.sources.ohlcv import OhlcvCsv, YFinance
from tickforge.data.sources.polygon import PolygonAggs, PolygonTrades
from tickforge.data.sources.tardis import TardisTrades
from tickforge.data.sources.truefx import QuotesCsv, TrueFX
from tickforge.errors import DataFormatError, TickforgeError

FORMATS: dict[str, Reader] = {
    r.name: r
    for r in (HistDataTicks(), HistDataM1(), DukascopyBi5(), DukascopyCsv(), TrueFX(),
              QuotesCsv(), BinanceTrades(), BinanceAggTrades(), BinanceKlines(), TardisTrades(),
              PolygonTrades(), PolygonAggs(), OhlcvCsv(), YFinance(), GenericCsv())
}

_TEXT = (".csv", ".txt", ".tsv", ".zip", ".gz")
SUFFIXES: dict[str, tuple[str, ...]] = {name: _TEXT for name in FORMATS}
SUFFIXES["dukascopy"] = (".bi5",)
SUFFIXES["histdata"] = SUFFIXES["histdata-m1"] = (".csv", ".zip", ".gz")  # not the status .txt


def get_reader(name: str) -> Reader:
    """The reader of ``--format name``."""
    try:
        return FORMATS[name]
    except KeyError:
        raise TickforgeError(f"unknown format '{name}'", field="format",
                             hint="valid formats: " + ", ".join(FORMATS)) from None


def _natural_key(path: Path) -> list[object]:
    """Sort key comparing digit runs as numbers (``h2`` before ``h10``)."""
    return [int(part) if part.isdigit() else part.lower()
            for part in re.split(r"(\d+)", path.as_posix())]


def _files_under(folder: Path, fmt: str) -> list[Path]:
    suffixes = SUFFIXES.get(fmt, _TEXT)
    found = [p for p in folder.rglob("*")
             if p.is_file() and not p.name.startswith(".") and p.name.lower().endswith(suffixes)]
    if not found:
        raise DataFormatError(f"no {fmt} files under this folder", file=str(folder),
                              hint="expected files ending in " + ", ".join(suffixes))
    return sorted(found, key=_natural_key)


def expand_paths(paths: Iterable[Path | str], fmt: str) -> list[Path]:
    """Files to read for ``paths``: folders expanded recursively to the files of ``fmt``
    (sorted in time order: natural order of their paths, which carry the date for every
    vendor layout, e.g. ``YYYY/MM/DD/HHh_ticks.bi5``); files are kept as given."""
    get_reader(fmt)
    out: list[Path] = []
    seen: set[Path] = set()
    for item in paths:
        path = Path(item)
        if not path.exists():
            raise DataFormatError("path does not exist", file=str(path),
                                  hint="check the spelling, or the folder you run from")
        for file in _files_under(path, fmt) if path.is_dir() else [path]:
            if file.resolve() not in seen:
                seen.add(file.resolve())
                out.append(file)
    return out


__all__ = ["FORMATS", "SUFFIXES", "expand_paths", "get_reader"]
