"""Bar files with a header.

``ohlcv-csv``: a header naming ``timestamp|date|datetime|time`` and ``open,high,low,close``
and optionally ``volume`` (any case, any order). ``Adj Close`` and every other column are
ignored (bars keep the traded prices). Timestamps may be dates, ISO timestamps with or
without offsets (naive = UTC unless ``--tz``), day-first ``DD.MM.YYYY`` or epoch numbers.
Separate ``Date`` and ``Time`` columns are joined. Files whose rows carry one field more
than the header, the second being a time (``2006-01-02,09:01:00,3602.00,...`` under
``Date,Open,...``), are read with that extra time column. Otherwise rows whose field count
does not match the header are rejects; if no row of the first block can be used the file
is refused (DataFormatError) with what the header and the rows look like.

``yfinance``: the multi-row header that ``yfinance.download(...).to_csv()`` writes
(``Price,Close,High,Low,Open,Volume`` / ``Ticker,AAPL,...`` / ``Date,,,,,``); with several
tickers the columns of ``--symbol`` are read. A single-row header falls back to
``ohlcv-csv``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from tickforge.data.sources.base import Chunk, Dataset, ReadOptions
from tickforge.data.sources.blocks import head_lines
from tickforge.data.sources.fast import sniff_delim
from tickforge.data.sources.generic import mapped_layout
from tickforge.data.sources.tabular import read_table
from tickforge.errors import DataFormatError

TS_NAMES = ("timestamp", "datetime", "date", "time", "gmt time", "local time", "open time",
            "open_time", "ts")
PRICES = ("open", "high", "low", "close")
VOLUME_NAMES = ("volume", "vol", "tickvol")
_TIME = re.compile(r"^\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?$")
HINT = "use --format csv --columns ts=...,open=...,high=...,low=...,close=... instead"


def _find(lower: list[str], choices: tuple[str, ...]) -> int | None:
    return next((lower.index(c) for c in choices if c in lower), None)


def _extra_time_column(names: list[str], rows: list[list[str]]) -> bool:
    """Rows have one field more than the header and the second one is a time."""
    return bool(rows) and all(len(r) == len(names) + 1 and _TIME.match(r[1].strip())
                              for r in rows)


def _ts_columns(names: list[str], lower: list[str], path: Path, header: str) -> tuple[str, ...]:
    if "date" in lower and "time" in lower:
        return names[lower.index("date")], names[lower.index("time")]
    at = _find(lower, TS_NAMES)
    if at is None:
        raise DataFormatError(f"header '{header}' has no timestamp/date column", file=str(path),
                              line=1, hint=HINT)
    return (names[at],)


def ohlcv_layout(path: Path, head: list[str], header_lines: int = 1):
    """Layout of an OHLCV file from its header (``head[0]``) and first rows."""
    delim = sniff_delim(head[0])
    names = [n.strip().strip('"') for n in head[0].split(delim)]
    rows = [r.split(delim) for r in head[header_lines:] if r.strip()]
    if _extra_time_column(names, rows):
        names = [names[0], f"{names[0]} time", *names[1:]]
        ts_cols: tuple[str, ...] = (names[0], names[1])
        lower = [n.lower() for n in names]
    else:
        lower = [n.lower() for n in names]
        ts_cols = _ts_columns(names, lower, path, head[0])
    missing = [p for p in PRICES if p not in lower]
    if missing:
        raise DataFormatError(f"header '{head[0]}' lacks {', '.join(missing)}", file=str(path),
                              line=1, hint=HINT)
    mapping = {p: names[lower.index(p)] for p in PRICES}
    volume = _find(lower, VOLUME_NAMES)
    if volume is not None:
        mapping["volume"] = names[volume]
    mapping["ts"] = ts_cols[0]
    return mapped_layout(tuple(names), mapping, "bars", delim, ts_cols)


def checked(chunks: Iterator[Chunk], path: Path, head: list[str]) -> Iterator[Chunk]:
    """Refuse the file when no row of its first block can be used."""
    first = next(chunks, None)
    if first is None:
        return
    if first.table.num_rows == 0 and first.rejects.num_rows:
        sample = first.rejects.column("raw")[0].as_py()
        reason = first.rejects.column("reason")[0].as_py()
        raise DataFormatError(f"no row matches the header: header is '{head[0]}', rows look "
                              f"like '{sample}' ({reason})", file=str(path), hint=HINT)
    yield first
    yield from chunks


class OhlcvCsv:
    name = "ohlcv-csv"
    dataset: Dataset = "bars"

    def read(self, path: Path, options: ReadOptions) -> Iterator[Chunk]:
        head = head_lines(path, 11)
        if not head or not head[0].strip():
            raise DataFormatError("file is empty", file=str(path))
        layout = ohlcv_layout(path, head)
        return checked(read_table(path, options, layout, 1), path, head)


def _ticker_columns(path: Path, head: list[str], symbol: str) -> tuple[list[str], str]:
    fields = [f.strip() for f in head[0].split(",")]
    tickers = [t.strip() for t in head[1].split(",")]
    choices = sorted(set(tickers[1:]) - {""})
    ticker = symbol.upper() if symbol.upper() in choices else (
        choices[0] if len(choices) == 1 else None)
    if ticker is None:
        raise DataFormatError(f"symbol '{symbol}' is not among the tickers "
                              f"{', '.join(choices)}", file=str(path), line=2,
                              hint="pass --symbol with one of these tickers")
    names = ["Date"] + [f"{f}|{t}" for f, t in zip(fields[1:], tickers[1:], strict=False)]
    return names, ticker


class YFinance:
    name = "yfinance"
    dataset: Dataset = "bars"

    def read(self, path: Path, options: ReadOptions) -> Iterator[Chunk]:
        head = head_lines(path, 13)
        if len(head) < 2 or not head[0].lower().startswith("price,") \
                or not head[1].lower().startswith("ticker,"):
            return OhlcvCsv().read(path, options)
        names, ticker = _ticker_columns(path, head, options.symbol)
        skip = 3 if len(head) > 2 and not any(c.isdigit() for c in head[2]) else 2
        lower = [n.lower() for n in names]
        mapping = {"ts": "Date"}
        for key in (*PRICES, "volume"):
            at = _find(lower, (f"{key}|{ticker.lower()}",))
            if at is not None:
                mapping[key] = names[at]
        missing = [p for p in PRICES if p not in mapping]
        if missing:
            raise DataFormatError(f"no {', '.join(missing)} column for {ticker}",
                                  file=str(path), line=1, hint=HINT)
        layout = mapped_layout(tuple(names), mapping, "bars", ",")
        return checked(read_table(path, options, layout, skip), path, head)
