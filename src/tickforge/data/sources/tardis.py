"""Tardis.dev ``trades`` CSV (``.csv`` or ``.csv.gz``) -> trades.

Columns ``exchange,symbol,timestamp,local_timestamp,id,side,price,amount`` with a header;
``timestamp`` (exchange time, µs since the epoch) is used. ``side`` buy -> +1,
sell -> -1, anything else (``unknown``) -> 0. ``id`` may be empty (null trade_id).
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

NAMES = ("exchange", "symbol", "timestamp", "local_timestamp", "id", "side", "price", "amount")
TYPES = {"timestamp": pa.int64(), "id": pa.string(), "side": pa.string(), "price": pa.float64(),
         "amount": pa.float64()}


def _side(side: pa.ChunkedArray) -> pa.Array:
    lower = pc.utf8_lower(side)
    out = pc.if_else(pc.equal(lower, "buy"), 1, pc.if_else(pc.equal(lower, "sell"), -1, 0))
    return pc.fill_null(out, 0).cast(pa.int8())


def _finish(table: pa.Table, options: ReadOptions) -> Finished:
    trade_id = pc.if_else(pc.equal(table.column("id"), ""), pa.scalar(None, pa.string()),
                          table.column("id"))
    return Finished(canonical("trades", {
        "ts": pc.multiply(table.column("timestamp"), 1000).cast(pa.int64()).cast(
            pa.timestamp("ns", tz="UTC")),
        "price": table.column("price"), "size": table.column("amount"),
        "side": _side(table.column("side")), "trade_id": trade_id,
    }, table.column(LINE).combine_chunks()))


class TardisTrades:
    name = "tardis-trades"
    dataset: Dataset = "trades"

    def read(self, path: Path, options: ReadOptions) -> Iterator[Chunk]:
        head = head_lines(path, 1)
        names = tuple(n.strip() for n in head[0].split(",")) if head else ()
        if names != NAMES:
            raise DataFormatError(f"header '{head[0] if head else ''}' is not a Tardis trades "
                                  "header", file=str(path), line=1,
                                  hint="expected " + ",".join(NAMES))
        layout = Layout(NAMES, TYPES, "trades", _finish,
                        required=("timestamp", "price", "side"))
        return read_table(path, options, layout, 1)
