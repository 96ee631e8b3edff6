"""``csv``: any delimited file, described on the command line.

``--columns`` maps canonical columns to the file's header names, e.g.
``ts=Time,bid=Bid,ask=Ask`` (quotes), ``ts=time,price=px,size=qty[,side=side,trade_id=id]``
(trades) or ``ts=Date,open=O,high=H,low=L,close=C[,volume=V]`` (bars). When every value is
a number the file has no header and the numbers are 1-based column positions
(``ts=1,bid=2,ask=3``). ``--ts-format`` is a strftime pattern (``%d/%m/%Y %H:%M:%S%.f``,
polars dialect), or ``s``/``ms``/``us``/``ns`` for epoch numbers; without it the layout is
detected (epoch by magnitude, ISO with or without offset, ``DD.MM.YYYY``, ``YYYYMMDD``).
Naive times are in ``--tz`` (default UTC). ``--dataset`` is inferred from the mapping when
omitted. The delimiter (``,``, ``;``, tab or ``|``) is taken from the first line.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from tickforge.data.sources.base import Chunk, Dataset, ReadOptions
from tickforge.data.sources.blocks import head_lines
from tickforge.data.sources.fast import sniff_delim
from tickforge.data.sources.tabular import (
    LINE,
    Finished,
    Layout,
    canonical,
    read_table,
    text_to_ns,
)
from tickforge.errors import DataFormatError

REQUIRED: dict[str, tuple[str, ...]] = {
    "quotes": ("ts", "bid", "ask"), "trades": ("ts", "price"),
    "bars": ("ts", "open", "high", "low", "close")}
OPTIONAL: dict[str, tuple[str, ...]] = {
    "quotes": ("bid_size", "ask_size"), "trades": ("size", "side", "trade_id"),
    "bars": ("volume", "tick_count")}
TEXT_COLUMNS = ("ts", "side", "trade_id")
COLUMNS_HINT = "e.g. --columns ts=Time,bid=Bid,ask=Ask (or price=..., or open=...,close=...)"


def infer_dataset(mapping: dict[str, str], given: str | None) -> Dataset:
    if given in REQUIRED:
        return given  # type: ignore[return-value]
    if given is not None:
        raise DataFormatError(f"unknown dataset '{given}'", field="dataset",
                              hint="use quotes, trades or bars")
    for dataset in ("quotes", "trades", "bars"):
        if REQUIRED[dataset][1] in mapping:
            return dataset
    raise DataFormatError("cannot tell the dataset from --columns", field="columns",
                          hint=COLUMNS_HINT)


def _side(values: pa.ChunkedArray) -> pa.Array:
    text = pc.utf8_lower(pc.utf8_trim_whitespace(values))
    buy = pc.is_in(text, pa.array(["buy", "b", "1", "+1", "bid"]))
    sell = pc.is_in(text, pa.array(["sell", "s", "-1", "ask", "offer"]))
    return pc.if_else(buy, 1, pc.if_else(sell, -1, 0)).cast(pa.int8())


def _ts_text(table: pa.Table, ts_cols: tuple[str, ...]) -> pa.ChunkedArray:
    if len(ts_cols) == 1:
        return table.column(ts_cols[0])
    return pc.binary_join_element_wise(*(table.column(c) for c in ts_cols), " ")


def make_finish(mapping: dict[str, str], dataset: Dataset, ts_cols: tuple[str, ...]):
    """The finish step: text timestamps -> UTC ns (bad ones rejected), canonical columns."""

    def finish(table: pa.Table, options: ReadOptions) -> Finished:
        ts, ok = text_to_ns(_ts_text(table, ts_cols), options.tz, options.ts_format)
        rejects: list[tuple[int, str]] = []
        if not ok.all():
            shown = _ts_text(table, ts_cols).to_numpy(zero_copy_only=False)
            lines = table.column(LINE).to_numpy()
            hint = options.ts_format or "2020-01-31 17:00:00.123 or epoch numbers"
            rejects = [(int(lines[i]), f"field '{' '.join(ts_cols)}': '{shown[i]}' is not a "
                                       f"timestamp like {hint}") for i in np.flatnonzero(~ok)]
            table, ts = table.filter(pa.array(ok)), ts[ok]
        cols: dict[str, object] = {"ts": ts}
        for key, name in mapping.items():
            if key == "side":
                cols[key] = _side(table.column(name))
            elif key != "ts":
                cols[key] = table.column(name)
        return Finished(canonical(dataset, cols, table.column(LINE).combine_chunks()),
                        rejects)

    return finish


def mapped_layout(names: tuple[str, ...], mapping: dict[str, str], dataset: Dataset,
                  delim: str, ts_cols: tuple[str, ...] | None = None) -> Layout:
    """Layout reading the mapped columns of a file with columns ``names``."""
    ts_cols = ts_cols or (mapping["ts"],)
    types: dict[str, pa.DataType] = {c: pa.string() for c in ts_cols}
    for key, name in mapping.items():
        if key == "tick_count":
            types[name] = pa.int64()
        elif key not in TEXT_COLUMNS:
            types[name] = pa.float64()
        elif key != "ts":
            types[name] = pa.string()
    required = tuple(mapping[k] for k in REQUIRED[dataset] if k != "ts")
    return Layout(names, types, dataset, make_finish(mapping, dataset, ts_cols), delim,
                  required=required + ts_cols)


def _check_mapping(mapping: dict[str, str], dataset: Dataset) -> None:
    allowed = REQUIRED[dataset] + OPTIONAL[dataset]
    unknown = [k for k in mapping if k not in allowed]
    missing = [k for k in REQUIRED[dataset] if k not in mapping]
    if unknown or missing:
        what = f"unknown column(s) {', '.join(unknown)}" if unknown else \
            f"missing column(s) {', '.join(missing)}"
        raise DataFormatError(f"--columns for {dataset}: {what}", field="columns",
                              hint=f"{dataset} takes " + ", ".join(allowed))


def _resolve(path: Path, mapping: dict[str, str]) -> tuple[tuple[str, ...], dict[str, str],
                                                           str, int]:
    """(file column names, mapping onto them, delimiter, header lines)."""
    head = head_lines(path, 1)
    if not head:
        raise DataFormatError("file is empty", file=str(path))
    delim = sniff_delim(head[0])
    fields = [f.strip().strip('"') for f in head[0].split(delim)]
    if all(v.strip().isdigit() for v in mapping.values()):
        names = tuple(f"column{i + 1}" for i in range(len(fields)))
        bad = [v for v in mapping.values() if not 1 <= int(v) <= len(fields)]
        if bad:
            raise DataFormatError(f"column position(s) {', '.join(bad)} out of 1..{len(fields)}",
                                  file=str(path), field="columns")
        return names, {k: names[int(v) - 1] for k, v in mapping.items()}, delim, 0
    lower = {f.lower(): f for f in fields}
    missing = [v for v in mapping.values() if v.strip().lower() not in lower]
    if missing:
        raise DataFormatError(f"header has no column(s) {', '.join(missing)}", file=str(path),
                              line=1, field="columns",
                              hint=f"the header is '{head[0]}'; " + COLUMNS_HINT)
    return tuple(fields), {k: lower[v.strip().lower()] for k, v in mapping.items()}, delim, 1


class GenericCsv:
    name = "csv"
    dataset: Dataset = "quotes"  # or trades / bars, from --dataset or --columns

    def read(self, path: Path, options: ReadOptions) -> Iterator[Chunk]:
        if not options.columns:
            raise DataFormatError("--format csv needs --columns", field="columns",
                                  hint=COLUMNS_HINT)
        dataset = infer_dataset(options.columns, options.dataset)
        _check_mapping(options.columns, dataset)
        names, mapping, delim, skip = _resolve(path, options.columns)
        return read_table(path, options, mapped_layout(names, mapping, dataset, delim), skip)
