"""TrueFX tick files and generic quote CSVs.

* ``truefx`` - ``PAIR,YYYYMMDD HH:MM:SS.fff,bid,ask`` in UTC, no header -> quotes.
* ``quotes-csv`` - a header naming ``timestamp,bid,ask[,bid_size,ask_size]`` (any case,
  any order, other columns ignored) and ISO timestamps, with or without an offset
  (``2013-01-01 22:00:00.295000+00:00``); naive timestamps are UTC unless ``--tz``.
  Day-first ``DD.MM.YYYY`` and compact ``YYYYMMDD HH:MM:SS`` timestamps are accepted too
  (detected from the first data line).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from tickforge.data.sources import nb
from tickforge.data.sources.base import Chunk, Dataset, ReadOptions
from tickforge.data.sources.blocks import head_lines
from tickforge.data.sources.fast import (
    TS_HINTS,
    Field,
    LineSpec,
    looks_like_header,
    read_lines,
    sniff_delim,
    sniff_ts_kind,
)
from tickforge.errors import DataFormatError

TRUEFX = LineSpec(
    dataset="quotes",
    fields=(Field("pair", nb.K_SKIP), Field("timestamp", nb.K_TS_COMPACT),
            Field("bid", nb.K_NUM, ("bid",)), Field("ask", nb.K_NUM, ("ask",))),
    ts_hint="YYYYMMDD HH:MM:SS.fff",
)

TS_NAMES = ("timestamp", "time", "datetime", "date", "gmt time", "local time", "ts")
QUOTE_NAMES = {"bid": "bid", "ask": "ask", "bid_size": "bid_size", "ask_size": "ask_size",
               "bidsize": "bid_size", "asksize": "ask_size", "bid_volume": "bid_size",
               "ask_volume": "ask_size", "bidvolume": "bid_size", "askvolume": "ask_size",
               "bid size": "bid_size", "ask size": "ask_size"}


class TrueFX:
    name = "truefx"
    dataset: Dataset = "quotes"

    def read(self, path: Path, options: ReadOptions) -> Iterator[Chunk]:
        head = head_lines(path, 1)
        if head and looks_like_header(head[0]):  # a header: the CSV layout TrueFX data is
            return QuotesCsv().read(path, options)  # often converted to (timestamp,bid,ask)
        return read_lines(path, options, TRUEFX, 0)


def _field(name: str, kind: int) -> Field:
    key = name.strip().strip('"').lower()
    if key in TS_NAMES:
        return Field(name, kind)
    target = QUOTE_NAMES.get(key)
    if target in ("bid", "ask"):
        return Field(name, nb.K_NUM, (target,))
    return Field(name, nb.K_NUM_OPT, (target,)) if target else Field(name, nb.K_SKIP)


def quote_spec(path: Path, expected: str) -> LineSpec:
    """Build the line spec of a quote CSV from its header and first data line."""
    head = head_lines(path, 2)
    if not head or not head[0].strip():
        raise DataFormatError("file is empty", file=str(path))
    delim = sniff_delim(head[0])
    names = head[0].split(delim)
    first = head[1].split(delim) if len(head) > 1 else []
    ts_at = [i for i, n in enumerate(names) if n.strip().strip('"').lower() in TS_NAMES]
    fields = tuple(_field(n, nb.K_SKIP) for n in names)
    targets = {t for f in fields for t in f.targets}
    if not ts_at or not {"bid", "ask"} <= targets:
        raise DataFormatError(f"header '{head[0]}' does not name timestamp, bid and ask columns",
                              file=str(path), line=1,
                              hint=f"expected a header like '{expected}', or use --format csv "
                                   "--columns ts=...,bid=...,ask=...")
    sample = first[ts_at[0]] if len(first) > ts_at[0] else ""
    kind = sniff_ts_kind(sample) if sample else nb.K_TS_ISO
    if kind is None:
        raise DataFormatError(f"timestamp '{sample}' has an unknown layout", file=str(path),
                              line=2, field=names[ts_at[0]],
                              hint="expected e.g. 2013-01-01 22:00:00.295+00:00; use --format "
                                   "csv --columns ... --ts-format '%d/%m/%Y %H:%M:%S'")
    fields = tuple(Field(f.name, kind) if i == ts_at[0] else f for i, f in enumerate(fields))
    return LineSpec(dataset="quotes", fields=fields, delim=delim, ts_hint=TS_HINTS[kind])


class QuotesCsv:
    name = "quotes-csv"
    dataset: Dataset = "quotes"

    def read(self, path: Path, options: ReadOptions) -> Iterator[Chunk]:
        return read_lines(path, options, quote_spec(path, "timestamp,bid,ask"), 1)
