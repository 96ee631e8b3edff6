"""Binance public data (data.binance.vision), spot and futures, ``.csv`` or the ``.zip``.

* ``binance-trades`` - ``id,price,qty,quote_qty,time,is_buyer_maker[,is_best_match]``
* ``binance-aggtrades`` - ``agg_trade_id,price,quantity,first_trade_id,last_trade_id,
  transact_time,is_buyer_maker[,is_best_match]``
* ``binance-klines`` - 12 columns ``open_time,open,high,low,close,volume,close_time,
  quote_volume,count,taker_buy_base,taker_buy_quote,ignore`` -> bars (ts = open_time,
  tick_count = count)

With or without a header row (futures files have one, spot files do not). Timestamps are
epoch ms or, in spot files since 2025, µs: the unit is taken from each value's magnitude.
``side`` is -1 when ``is_buyer_maker`` (the taker sold), +1 otherwise.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from tickforge.data.sources.base import Chunk, Dataset, ReadOptions
from tickforge.data.sources.blocks import head_lines
from tickforge.data.sources.tabular import (
    LINE,
    Finished,
    Layout,
    canonical,
    epoch_to_ns,
    has_header,
    read_table,
)
from tickforge.errors import DataFormatError

F64, I64 = pa.float64(), pa.int64()
TRADES = ("id", "price", "qty", "quote_qty", "time", "is_buyer_maker", "is_best_match")
AGG = ("agg_trade_id", "price", "quantity", "first_trade_id", "last_trade_id", "transact_time",
       "is_buyer_maker", "is_best_match")
KLINES = ("open_time", "open", "high", "low", "close", "volume", "close_time", "quote_volume",
          "count", "taker_buy_base", "taker_buy_quote", "ignore")


def _side(maker: pa.ChunkedArray) -> pa.ChunkedArray:
    side = pc.if_else(maker, pa.scalar(-1, pa.int8()), pa.scalar(1, pa.int8()))
    return pc.fill_null(side, pa.scalar(0, pa.int8()))


def _trades(id_col: str, qty_col: str, time_col: str):
    def finish(table: pa.Table, options: ReadOptions) -> Finished:
        return Finished(canonical("trades", {
            "ts": epoch_to_ns(table.column(time_col)),
            "price": table.column("price"), "size": table.column(qty_col),
            "side": _side(table.column("is_buyer_maker")),
            "trade_id": pc.cast(table.column(id_col), pa.string()),
        }, table.column(LINE).combine_chunks()))

    return finish


def _klines(table: pa.Table, options: ReadOptions) -> Finished:
    return Finished(canonical("bars", {
        "ts": epoch_to_ns(table.column("open_time")),
        **{c: table.column(c) for c in ("open", "high", "low", "close", "volume")},
        "tick_count": table.column("count"),
    }, table.column(LINE).combine_chunks()))


def _names(path: Path, full: tuple[str, ...], minimum: int) -> tuple[tuple[str, ...], int]:
    """Column names (by the file's field count) and number of header lines."""
    head = head_lines(path, 2)
    if not head or not head[0].strip():
        raise DataFormatError("file is empty", file=str(path))
    header = has_header(head[0])
    sample = head[1] if header and len(head) > 1 else head[0]
    count = len(sample.split(","))
    if not minimum <= count <= len(full):
        raise DataFormatError(f"expected {minimum} to {len(full)} columns, found {count}",
                              file=str(path), line=2 if header else 1,
                              hint="expected columns: " + ",".join(full))
    return full[:count], int(header)


def _read(path: Path, options: ReadOptions, full: tuple[str, ...], minimum: int,
          types: dict[str, pa.DataType], finish, dataset) -> Iterator[Chunk]:
    names, skip = _names(path, full, minimum)
    required = tuple(n for n in types if n not in ("is_buyer_maker", "count", "volume", "qty",
                                                   "quantity"))
    layout = Layout(names, types, dataset, finish, required=required)
    return read_table(path, options, layout, skip)


class BinanceTrades:
    name = "binance-trades"
    dataset: Dataset = "trades"

    def read(self, path: Path, options: ReadOptions) -> Iterator[Chunk]:
        types = {"id": I64, "price": F64, "qty": F64, "time": I64, "is_buyer_maker": pa.bool_()}
        return _read(path, options, TRADES, 6, types, _trades("id", "qty", "time"), "trades")


class BinanceAggTrades:
    name = "binance-aggtrades"
    dataset: Dataset = "trades"

    def read(self, path: Path, options: ReadOptions) -> Iterator[Chunk]:
        types = {"agg_trade_id": I64, "price": F64, "quantity": F64, "transact_time": I64,
                 "is_buyer_maker": pa.bool_()}
        finish = _trades("agg_trade_id", "quantity", "transact_time")
        return _read(path, options, AGG, 7, types, finish, "trades")


class BinanceKlines:
    name = "binance-klines"
    dataset: Dataset = "bars"

    def read(self, path: Path, options: ReadOptions) -> Iterator[Chunk]:
        types = {"open_time": I64, "open": F64, "high": F64, "low": F64, "close": F64,
                 "volume": F64, "count": I64}
        return _read(path, options, KLINES, 12, types, _klines, "bars")
