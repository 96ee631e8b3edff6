"""Fast path for fixed-layout delimited text (HistData, TrueFX, quotes CSV, Dukascopy CSV).

The numba kernel (:mod:`.nb`) parses whole blocks; the few lines it flags are re-parsed
here in Python, which either recovers them (e.g. 17-digit numbers, ``NaN``) or turns them
into rejects with a reason naming the field.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa

from tickforge.data import schemas
from tickforge.data.sources import nb
from tickforge.data.sources.base import REJECT_SCHEMA, Chunk, Dataset, ReadOptions
from tickforge.data.sources.blocks import Piece, iter_pieces
from tickforge.data.sources.timeutil import fixed_offset_ns, local_to_utc

_FLOAT = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$|^[+-]?(nan|inf|infinity)$",
                    re.IGNORECASE)
TRUNCATED = "truncated last line (no newline at end of file)"


@dataclass(frozen=True)
class Field:
    name: str  # as the format's description names it (used in reasons)
    kind: int  # nb.K_*
    targets: tuple[str, ...] = ()  # canonical columns this numeric field fills


@dataclass(frozen=True)
class LineSpec:
    dataset: Dataset
    fields: tuple[Field, ...]
    delim: str = ","
    default_offset_ns: int = 0  # naive timestamps are wall time at this UTC offset
    ts_hint: str = ""  # e.g. "YYYYMMDD HHMMSSfff", shown in reasons
    zero_is_null: tuple[str, ...] = ()  # optional columns where 0 means "not given"

    @property
    def kinds(self) -> np.ndarray:
        return np.array([f.kind for f in self.fields], np.int64)

    @property
    def value_fields(self) -> list[int]:
        return [i for i, f in enumerate(self.fields) if f.kind in (nb.K_NUM, nb.K_NUM_OPT)]

    @property
    def slots(self) -> np.ndarray:
        values = self.value_fields
        return np.array([values.index(i) if i in values else -1
                         for i in range(len(self.fields))], np.int64)


def py_float(text: str) -> float | None:
    """Python's exact float of ``text`` if it is a plain number, else None."""
    text = text.strip().strip('"')
    return float(text) if _FLOAT.match(text) else None


def _field_problem(spec: LineSpec, parts: list[str], slot_values: list[float]
                   ) -> tuple[str | None, int, int]:
    """Re-parse a line's fields: (reason or None, ts ns, ts status)."""
    if len(parts) != len(spec.fields):
        return f"expected {len(spec.fields)} fields, got {len(parts)}", 0, 0
    ts, status = 0, nb.TS_NAIVE
    for f, text in zip(spec.fields, parts, strict=True):
        if f.kind in (nb.K_NUM, nb.K_NUM_OPT):
            value = py_float(text) if text.strip() or f.kind == nb.K_NUM else np.nan
            if value is None:
                return f"field '{f.name}': '{text}' is not a number", 0, 0
            slot_values.append(value)
        elif f.kind >= nb.K_TS_HIST:
            raw = np.frombuffer(text.encode("utf-8", "replace"), np.uint8)
            ts, status = nb.parse_ts(raw, 0, len(raw), f.kind, nb.new_memo())
            if status == nb.TS_BAD:
                return f"field '{f.name}': '{text}' is not a timestamp like {spec.ts_hint}", 0, 0
    return None, ts, status


def recheck(piece: Piece, spec: LineSpec, parsed: tuple[np.ndarray, ...],
            bad: np.ndarray) -> list[tuple[int, str, str]]:
    """Retry flagged lines in Python; fix recovered ones in place, return the rejects."""
    ts, vals, lines, starts, err, naive = parsed
    rejects: list[tuple[int, str, str]] = []
    for k in bad:
        text = piece.line_text(int(starts[k]))
        values: list[float] = []
        clean = text.lstrip("\ufeff") if lines[k] == 1 else text
        reason, t, status = _field_problem(spec, clean.split(spec.delim), values)
        if reason is None:
            vals[:, k] = values
            ts[k], naive[k], err[k] = t, status == nb.TS_NAIVE, 0
            continue
        if piece.is_truncated_at(int(starts[k])):
            reason = f"{TRUNCATED}: {reason}"
        rejects.append((int(lines[k]), text, reason))
    return rejects


def rejects_table(rows: list[tuple[int, str, str]]) -> pa.Table:
    return pa.table({"line": pa.array([r[0] for r in rows], pa.int64()),
                     "raw": pa.array([r[1] for r in rows], pa.string()),
                     "reason": pa.array([r[2] for r in rows], pa.string())}, schema=REJECT_SCHEMA)


def raw_lines_of(piece: Piece, lines: np.ndarray, starts: np.ndarray):
    """A ``Chunk.raw_lines`` function for the given entries of ``piece``."""

    def raw_lines(wanted: np.ndarray) -> list[str]:
        wanted = np.asarray(wanted, np.int64)
        idx = np.minimum(np.searchsorted(lines, wanted), max(len(lines) - 1, 0))
        return [piece.line_text(int(starts[i])) if len(lines) and lines[i] == w else ""
                for i, w in zip(idx, wanted, strict=True)]

    return raw_lines


_NULLS = [pa.nulls(0, pa.float64())]  # one all-null float64 array, sliced (grown on demand)


def null_floats(n: int) -> pa.Array:
    """``n`` null float64 values: a zero-copy slice of a cached all-null array, so chunks
    whose optional column is empty (HistData volume) allocate no zeroed buffer."""
    cached = _NULLS[0]
    if len(cached) < n:
        cached = _NULLS[0] = pa.nulls(max(n, 2 * len(cached)), pa.float64())
    return cached.slice(0, n)


def _column(values: np.ndarray, null_zero: bool) -> pa.Array:
    if null_zero and not np.count_nonzero(values):  # all zero (HistData volume): one pass
        return null_floats(len(values))
    mask = np.isnan(values)
    if null_zero:
        mask |= values == 0
    if mask.all():
        return null_floats(len(values))
    return pa.array(values, pa.float64(), mask=mask if mask.any() else None)


def build_table(spec: LineSpec, ts: np.ndarray, vals: np.ndarray, lines: np.ndarray) -> pa.Table:
    """Canonical table (+ ``_line``) from parsed arrays (all rows valid)."""
    schema = schemas.DATASETS[spec.dataset]
    cols: dict[str, pa.Array] = {"ts": pa.array(ts, schemas.TS)}  # zero-copy (a cast copies)
    for slot, i in enumerate(spec.value_fields):
        optional: dict[bool, pa.Array] = {}  # one array per null rule for a field's targets
        for target in spec.fields[i].targets:
            if not schema.field(target).nullable:
                cols[target] = pa.array(vals[slot], pa.float64())
                continue
            null_zero = target in spec.zero_is_null
            if null_zero not in optional:
                optional[null_zero] = _column(vals[slot], null_zero)
            cols[target] = optional[null_zero]
    arrays = [cols.get(f.name, pa.nulls(len(ts), f.type)) for f in schema]
    arrays.append(pa.array(lines, pa.int64()))
    return pa.Table.from_arrays(arrays, schema=schema.append(pa.field(schemas.LINE, pa.int64())))


def _to_utc(spec: LineSpec, options: ReadOptions, ts: np.ndarray, naive: np.ndarray
            ) -> tuple[np.ndarray, np.ndarray | None]:
    if not naive.any():
        return ts, None
    if naive.all():
        offset = spec.default_offset_ns if options.tz is None else fixed_offset_ns(options.tz)
        if offset is None:
            return local_to_utc(ts, options.tz, spec.default_offset_ns)
        ts -= offset  # in place: the block's own array
        return ts, None
    out = ts.copy()
    sel = naive.astype(bool)
    converted, bad = local_to_utc(ts[sel], options.tz, spec.default_offset_ns)
    out[sel] = converted
    full_bad = None
    if bad is not None:
        full_bad = np.zeros(len(ts), bool)
        full_bad[np.flatnonzero(sel)[bad]] = True
    return out, full_bad


def parse_piece(piece: Piece, spec: LineSpec, options: ReadOptions) -> Chunk:
    """Parse one block into a chunk."""
    kinds = spec.kinds
    *parsed, counts = nb.parse_lines(piece.data, piece.first_line, ord(spec.delim), kinds,
                                     spec.slots, len(spec.value_fields), piece.newlines)
    ts, vals, lines, starts, err, naive = parsed
    bad = np.flatnonzero(err) if counts[1] else np.empty(0, np.int64)
    rejects = recheck(piece, spec, (ts, vals, lines, starts, err, naive), bad) if len(bad) else []
    ts, tz_bad = _to_utc(spec, options, ts, naive)
    if tz_bad is not None:
        for k in np.flatnonzero(tz_bad & (err == 0)):
            text = piece.line_text(int(starts[k]))
            rejects.append((int(lines[k]), text, f"timestamp of '{text}' does not exist or is "
                                                 f"ambiguous in time zone {options.tz}"))
            err[k] = 1
        rejects.sort()
    if rejects:
        keep = err == 0
        ts, vals, kept_lines = ts[keep], vals[:, keep], lines[keep]
    else:
        kept_lines = lines
    table = build_table(spec, ts, vals, kept_lines)
    return Chunk(dataset=spec.dataset, table=table, rejects=rejects_table(rejects),
                 raw_lines=raw_lines_of(piece, lines, starts), lines_read=len(lines))


def looks_like_header(line: str) -> bool:
    """A first line made of names only (no digits) is a header, not data."""
    return bool(line.strip()) and not any(c.isdigit() for c in line)


def read_lines(path: Path, options: ReadOptions, spec: LineSpec, skip_lines: int = 0
               ) -> Iterator[Chunk]:
    """Stream ``path`` block by block through the fast parser."""
    for piece in iter_pieces(path, options.block_bytes, skip_lines, reuse=True):
        chunk = parse_piece(piece, spec, options)
        if chunk.lines_read:
            yield chunk


TS_KINDS = (nb.K_TS_ISO, nb.K_TS_DMY, nb.K_TS_COMPACT, nb.K_TS_HIST)
TS_HINTS = {nb.K_TS_ISO: "YYYY-MM-DD HH:MM:SS.fff[+HH:MM]", nb.K_TS_DMY: "DD.MM.YYYY HH:MM:SS.fff",
            nb.K_TS_COMPACT: "YYYYMMDD HH:MM:SS.fff", nb.K_TS_HIST: "YYYYMMDD HHMMSSfff"}


def sniff_ts_kind(text: str) -> int | None:
    """The timestamp layout of ``text`` among the fast ones, or None."""
    raw = np.frombuffer(text.encode("utf-8", "replace"), np.uint8)
    for kind in TS_KINDS:
        if nb.parse_ts(raw, 0, len(raw), kind, nb.new_memo())[1] != nb.TS_BAD:
            return kind
    return None


def sniff_delim(header: str) -> str:
    """The delimiter of a header line: comma unless only ';' or tab appear."""
    for delim in (",", ";", "\t", "|"):
        if delim in header:
            return delim
    return ","
