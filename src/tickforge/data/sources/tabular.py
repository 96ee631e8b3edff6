"""Block reader for the general CSV formats (Binance, Tardis, Polygon, OHLCV, generic).

Each block is parsed by ``pyarrow.csv`` with explicit column names and types; if that
fails, or the row count does not match the block's non-blank lines, the block is parsed
again line by line in Python, which accounts for every line (row or reject with reason).
A format then converts the typed columns to its canonical dataset (``finish``).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from tickforge.data import schemas
from tickforge.data.sources import nb
from tickforge.data.sources.base import Chunk, Dataset, ReadOptions
from tickforge.data.sources.blocks import Piece, iter_pieces
from tickforge.data.sources.fast import TRUNCATED, py_float, raw_lines_of, rejects_table
from tickforge.data.sources.timeutil import local_to_utc

LINE = schemas.LINE
_TRUE = {"true", "1", "t", "yes", "y"}
_FALSE = {"false", "0", "f", "no", "n"}


@dataclass
class Finished:
    """Result of converting typed columns: canonical table (+ ``_line``), line-level
    rejects ``(line, reason)``, and how many rows were dropped as not belonging to the
    requested symbol (not data for this ingest, not counted as read)."""

    table: pa.Table
    rejects: list[tuple[int, str]] = field(default_factory=list)
    skipped: int = 0


Finish = Callable[[pa.Table, ReadOptions], Finished]


@dataclass(frozen=True)
class Layout:
    names: tuple[str, ...]  # every column of the file, in order
    types: dict[str, pa.DataType]  # the columns used, with their parse type
    dataset: Dataset
    finish: Finish
    delim: str = ","
    required: tuple[str, ...] = ()  # used columns that may not be empty


def _py_value(text: str, typ: pa.DataType) -> object:
    """Python value of one field for ``typ``; raises ValueError with a reason."""
    text = text.strip()
    if text == "" and not pa.types.is_string(typ):
        return None
    if pa.types.is_floating(typ):
        value = py_float(text)
        if value is None:
            raise ValueError(f"'{text}' is not a number")
        return value
    if pa.types.is_integer(typ):
        if not text.lstrip("+-").isdigit():
            raise ValueError(f"'{text}' is not an integer")
        return int(text)
    if pa.types.is_boolean(typ):
        if text.lower() not in _TRUE | _FALSE:
            raise ValueError(f"'{text}' is not true/false")
        return text.lower() in _TRUE
    return text


def _parse_row(text: str, layout: Layout) -> list[object] | str:
    """Typed values of the used columns of one line, or the reason it cannot be parsed."""
    parts = next(csv.reader(io.StringIO(text), delimiter=layout.delim), [])
    if len(parts) != len(layout.names):
        return f"expected {len(layout.names)} fields, got {len(parts)}"
    values: list[object] = []
    for name, typ in layout.types.items():
        try:
            values.append(_py_value(parts[layout.names.index(name)], typ))
        except ValueError as exc:
            return f"field '{name}': {exc}"
    return values


def parse_slow(piece: Piece, layout: Layout, lines: np.ndarray, starts: np.ndarray
               ) -> tuple[pa.Table, list[tuple[int, str, str]]]:
    """Line-by-line parse of a block: typed table (+ ``_line``) and rejects."""
    rows: list[list[object]] = []
    kept: list[int] = []
    rejects: list[tuple[int, str, str]] = []
    for line, start in zip(lines, starts, strict=True):
        text = piece.line_text(int(start))
        got = _parse_row(text.lstrip("\ufeff"), layout)
        if isinstance(got, str):
            reason = f"{TRUNCATED}: {got}" if piece.is_truncated_at(int(start)) else got
            rejects.append((int(line), text, reason))
        else:
            rows.append(got)
            kept.append(int(line))
    cols = {name: pa.array([r[i] for r in rows], typ)
            for i, (name, typ) in enumerate(layout.types.items())}
    cols[LINE] = pa.array(kept, pa.int64())
    return pa.table(cols), rejects


def parse_fast(piece: Piece, layout: Layout, lines: np.ndarray) -> pa.Table | None:
    """pyarrow parse of a block; None when it fails or its rows do not match the lines."""
    try:
        table = pacsv.read_csv(
            pa.py_buffer(memoryview(piece.raw)[: piece.size]),
            read_options=pacsv.ReadOptions(column_names=list(layout.names), use_threads=False),
            parse_options=pacsv.ParseOptions(delimiter=layout.delim),
            convert_options=pacsv.ConvertOptions(
                column_types=layout.types, include_columns=list(layout.types),
                true_values=["true", "True", "TRUE", "1"],
                false_values=["false", "False", "FALSE", "0"]))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    if table.num_rows != len(lines):
        return None
    return table.append_column(LINE, pa.array(lines, pa.int64()))


def _null_rejects(table: pa.Table, layout: Layout) -> tuple[pa.Table, list[tuple[int, str]]]:
    """Move rows with an empty required field to rejects."""
    bad = None
    for name in layout.required:
        nulls = table.column(name).is_null()
        bad = nulls if bad is None else pc.or_(bad, nulls)
    if bad is None or not pc.any(bad).as_py():
        return table, []
    out = []
    for line, row in zip(table.filter(bad).column(LINE).to_pylist(),
                         table.filter(bad).select(list(layout.required)).to_pylist(), strict=True):
        name = next(n for n in layout.required if row[n] is None)
        out.append((line, f"field '{name}': '' is not a number"))
    return table.filter(pc.invert(bad)), out


def parse_piece(piece: Piece, layout: Layout, options: ReadOptions) -> Chunk:
    lines, starts, _ = nb.index_lines(piece.data, piece.first_line, piece.newlines)
    typed = parse_fast(piece, layout, lines)
    rejects: list[tuple[int, str, str]] = []
    if typed is None:
        typed, rejects = parse_slow(piece, layout, lines, starts)
    typed, empty = _null_rejects(typed, layout)
    done = layout.finish(typed, options)
    raw_lines = raw_lines_of(piece, lines, starts)
    for line, reason in empty + done.rejects:
        text = raw_lines(np.array([line]))[0]
        start = starts[np.searchsorted(lines, line)]
        reason = f"{TRUNCATED}: {reason}" if piece.is_truncated_at(int(start)) else reason
        rejects.append((line, text, reason))
    rejects.sort()
    return Chunk(layout.dataset, done.table, rejects_table(rejects), raw_lines,
                 len(lines) - done.skipped)


def read_table(path: Path, options: ReadOptions, layout: Layout, skip_lines: int
               ) -> Iterator[Chunk]:
    for piece in iter_pieces(path, options.block_bytes, skip_lines):
        chunk = parse_piece(piece, layout, options)
        if chunk.lines_read or chunk.table.num_rows:
            yield chunk


# ------------------------------------------------------------------ conversions


def _as_array(values: pa.Array | pa.ChunkedArray | np.ndarray, typ: pa.DataType) -> pa.Array:
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if isinstance(values, pa.Array):
        return values.cast(typ)
    if typ == schemas.TS:
        return pa.array(values, pa.int64()).cast(typ)
    return pa.array(values, typ)


def canonical(dataset: Dataset, columns: dict[str, pa.Array | np.ndarray], lines: pa.Array
              ) -> pa.Table:
    """Canonical table from the given columns (missing optional ones are null)."""
    schema = schemas.DATASETS[dataset]
    n = len(lines)
    arrays = [_as_array(columns[f.name], f.type) if f.name in columns
              else pa.nulls(n, f.type) for f in schema]
    arrays.append(lines)
    return pa.Table.from_arrays(arrays, schema=schema.append(pa.field(LINE, pa.int64())))


def epoch_to_ns(values: pa.Array | pa.ChunkedArray, unit: str | None = None) -> np.ndarray:
    """Epoch numbers to ns. ``unit`` s/ms/us/ns, or None: per value by magnitude
    (< 1e11 s, < 1e14 ms, < 1e17 µs, else ns), e.g. Binance ms vs µs files."""
    arr = np.asarray(values.to_numpy(zero_copy_only=False))
    if arr.dtype.kind == "f":
        scale = {"s": 1e9, "ms": 1e6, "us": 1e3, "ns": 1.0}
        if unit is not None:
            return np.round(arr * scale[unit]).astype(np.int64)
        mag = np.abs(arr)
        factor = np.select([mag < 1e11, mag < 1e14, mag < 1e17], [1e9, 1e6, 1e3], 1.0)
        return np.round(arr * factor).astype(np.int64)
    arr = arr.astype(np.int64)
    if unit is not None:
        return arr * {"s": 1_000_000_000, "ms": 1_000_000, "us": 1_000, "ns": 1}[unit]
    mag = np.abs(arr)
    factor = np.select([mag < 10**11, mag < 10**14, mag < 10**17],
                       [1_000_000_000, 1_000_000, 1_000], 1)
    return arr * factor


def _string_buffers(arr: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    arr = arr.cast(pa.large_string())
    offsets = np.frombuffer(arr.buffers()[1], np.int64)[arr.offset: arr.offset + len(arr) + 1]
    data_buf = arr.buffers()[2]
    data = np.frombuffer(data_buf, np.uint8) if data_buf is not None else np.zeros(0, np.uint8)
    return data, offsets


def strings_to_ns(values: pa.Array | pa.ChunkedArray, tz: str | None, kind: int = nb.K_TS_ISO
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Timestamps as text (ISO with or without offset, ...) to UTC ns; naive ones are in
    ``tz`` (UTC when None). Returns (ns, ok mask)."""
    arr = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
    arr = pc.fill_null(arr.cast(pa.string()), "")
    data, offsets = _string_buffers(arr)
    ts, status = nb.parse_ts_strings(data, offsets, kind)
    ok = status != nb.TS_BAD
    naive = status == nb.TS_NAIVE
    if naive.any():
        local, bad = local_to_utc(ts[naive], tz, 0)
        ts[naive] = local
        if bad is not None:
            ok[np.flatnonzero(naive)[bad]] = False
    return ts, ok


def ts_rejects(table: pa.Table, column: str, ok: np.ndarray, hint: str) -> list[tuple[int, str]]:
    """Rejects for rows whose timestamp in ``column`` did not parse."""
    bad = ~ok
    lines = table.column(LINE).to_numpy()[bad]
    texts = table.column(column).to_numpy(zero_copy_only=False)[bad]
    return [(int(line), f"field '{column}': '{text}' is not a timestamp like {hint}")
            for line, text in zip(lines, texts, strict=True)]


def has_header(first_line: str) -> bool:
    """True if the first field of the first line is not a number (a header row)."""
    first = first_line.split(",")[0].strip().strip('"')
    return bool(first) and py_float(first) is None


def _sniff_kind(values: pa.Array) -> int:
    """Fast timestamp layout of the first non-empty value (ISO when unknown)."""
    from tickforge.data.sources.fast import sniff_ts_kind

    for value in values.to_pylist()[:20]:
        if value and value.strip():
            return sniff_ts_kind(value.strip()) or nb.K_TS_ISO
    return nb.K_TS_ISO


def _strftime_to_ns(values: pa.Array, fmt: str, tz: str | None) -> tuple[np.ndarray, np.ndarray]:
    import polars as pl

    series = pl.Series(values=values).str.strip_chars()
    parsed = series.str.to_datetime(fmt, time_unit="ns", strict=False)
    ok = parsed.is_not_null().to_numpy()
    if isinstance(parsed.dtype, pl.Datetime) and parsed.dtype.time_zone is not None:
        utc = parsed.dt.convert_time_zone("UTC").dt.replace_time_zone(None)
        return utc.to_physical().fill_null(0).to_numpy().astype(np.int64), ok
    ns = parsed.to_physical().fill_null(0).to_numpy().astype(np.int64)
    local, bad = local_to_utc(ns, tz, 0)
    if bad is not None:
        ok &= ~bad
    return local, ok


_NUMBER = r"^-?\d+(\.\d*)?$"
EPOCH_UNITS = ("s", "ms", "us", "ns")


def _epoch_text_to_ns(arr: pa.Array, unit: str | None) -> tuple[np.ndarray, np.ndarray]:
    is_number = pc.match_substring_regex(arr, _NUMBER)
    safe = pc.if_else(is_number, arr, "0")
    decimal = pc.any(pc.match_substring(safe, ".")).as_py()
    numbers = pc.cast(safe, pa.float64() if decimal else pa.int64())
    return epoch_to_ns(numbers, unit), is_number.to_numpy(zero_copy_only=False)


def _first_value(arr: pa.Array) -> str:
    return next((v for v in arr.to_pylist()[:50] if v), "")


def text_to_ns(values: pa.Array | pa.ChunkedArray, tz: str | None, ts_format: str | None = None
               ) -> tuple[np.ndarray, np.ndarray]:
    """Timestamps given as text to UTC ns: ``ts_format`` s/ms/us/ns (epoch numbers), a
    strftime pattern, or None (auto from the first value: epoch digits, unit by magnitude,
    else ISO / day-first / compact layouts). Returns (ns, ok mask)."""
    arr = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
    arr = pc.utf8_trim_whitespace(pc.fill_null(arr.cast(pa.string()), ""))
    if ts_format in EPOCH_UNITS:
        return _epoch_text_to_ns(arr, ts_format)
    if ts_format:
        return _strftime_to_ns(arr, ts_format, tz)
    first = _first_value(arr)
    if len(first) >= 9 and first.lstrip("-").replace(".", "", 1).isdigit():
        return _epoch_text_to_ns(arr, None)
    return strings_to_ns(arr, tz, _sniff_kind(arr))
