"""Polygon.io flat files (``.csv`` or ``.csv.gz``, with a header).

* ``polygon-trades`` - ``ticker,conditions,correction,exchange,id,participant_timestamp,
  price,sequence_number,sip_timestamp,size,tape,trf_id,trf_timestamp`` -> trades; ts =
  ``sip_timestamp`` (ns), trade_id = ``id``, side unknown (0).
* ``polygon-aggs`` - minute aggregates ``ticker,volume,open,close,high,low,window_start,
  transactions`` -> bars; ts = ``window_start`` (ns), tick_count = ``transactions``.

A flat file holds every ticker of the day. Only rows whose ``ticker`` equals ``--symbol``
(also ignoring a ``X:``/``C:``/``I:`` prefix, e.g. ``C:EURUSD`` for EURUSD) are read; rows
of other tickers are neither errors nor counted in ``lines_read``. Lines that cannot be
parsed at all are rejects whatever their ticker (their ticker is unknown).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from tickforge.data.sources.base import Chunk, Dataset, ReadOptions
from tickforge.data.sources.blocks import head_lines
from tickforge.data.sources.tabular import LINE, Finished, Layout, canonical, read_table
from tickforge.errors import DataFormatError

F64, I64, STR = pa.float64(), pa.int64(), pa.string()
TRADE_TYPES = {"ticker": STR, "id": STR, "price": F64, "sip_timestamp": I64, "size": F64}
AGG_TYPES = {"ticker": STR, "volume": F64, "open": F64, "close": F64, "high": F64, "low": F64,
             "window_start": I64, "transactions": I64}


def _mine(table: pa.Table, options: ReadOptions) -> pa.Table:
    """Rows of ``options.symbol`` only."""
    ticker = table.column("ticker")
    bare = pc.replace_substring_regex(ticker, r"^[A-Z]:", "")
    symbol = options.symbol.upper()
    return table.filter(pc.or_(pc.equal(ticker, symbol), pc.equal(bare, symbol)))


def _ns(column: pa.ChunkedArray) -> pa.ChunkedArray:
    return column.cast(pa.timestamp("ns", tz="UTC"))


def _trades(table: pa.Table, options: ReadOptions) -> Finished:
    mine = _mine(table, options)
    return Finished(canonical("trades", {
        "ts": _ns(mine.column("sip_timestamp")), "price": mine.column("price"),
        "size": mine.column("size"), "side": pa.array([0] * mine.num_rows, pa.int8()),
        "trade_id": mine.column("id"),
    }, mine.column(LINE).combine_chunks()), skipped=table.num_rows - mine.num_rows)


def _aggs(table: pa.Table, options: ReadOptions) -> Finished:
    mine = _mine(table, options)
    return Finished(canonical("bars", {
        "ts": _ns(mine.column("window_start")),
        **{c: mine.column(c) for c in ("open", "high", "low", "close", "volume")},
        "tick_count": mine.column("transactions"),
    }, mine.column(LINE).combine_chunks()), skipped=table.num_rows - mine.num_rows)


def _layout(path: Path, types: dict[str, pa.DataType], finish, dataset) -> Layout:
    head = head_lines(path, 1)
    names = tuple(n.strip().strip('"') for n in head[0].split(",")) if head else ()
    missing = [n for n in types if n not in names]
    if missing:
        raise DataFormatError(f"header lacks column(s) {', '.join(missing)}", file=str(path),
                              line=1, hint="expected a Polygon flat file header with "
                                           + ",".join(types))
    required = tuple(n for n in types if n not in ("volume", "size", "transactions", "id"))
    return Layout(names, types, dataset, finish, required=required)


class PolygonTrades:
    name = "polygon-trades"
    dataset: Dataset = "trades"

    def read(self, path: Path, options: ReadOptions) -> Iterator[Chunk]:
        return read_table(path, options, _layout(path, TRADE_TYPES, _trades, "trades"), 1)


class PolygonAggs:
    name = "polygon-aggs"
    dataset: Dataset = "bars"

    def read(self, path: Path, options: ReadOptions) -> Iterator[Chunk]:
        return read_table(path, options, _layout(path, AGG_TYPES, _aggs, "bars"), 1)
