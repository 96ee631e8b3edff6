"""Row validation with quarantine, stateful across the chunks of one source file.

:class:`Validator` takes the reader's chunks of one file in order and splits every row into
exactly one of: *good* (returned for the lake), *quarantined* (returned as a
:data:`~tickforge.data.schemas.QUARANTINE` table with source file, line, raw text and
reason) or *duplicate* (counted only). So per file
``rows_read = rows_written + rows_quarantined + duplicates``; rows the reader could not parse
(``chunk.rejects``) are quarantined with the reader's reason.

Rules, in this order (a row gets the first reason that applies):

1. ``missing <field>``: a required field is null (quotes ts/bid/ask, trades ts/price,
   bars ts/open/high/low/close).
2. ``<field> is NaN or infinite`` / ``<field> is not positive``: any price column.
3. ``negative <size>``: sizes and volume may be null but not negative.
4. ``crossed quote (bid > ask)``: bid == ask is allowed (locked markets happen).
5. ``impossible bar: ...``: high < low, high < max(open, close), low > min(open, close).
6. *duplicate*: a row identical in every field to the previous row that passed 1-5
   (across chunk boundaries). Counted in ``duplicates``, not quarantined.
7. ``timestamp out of order``: a row earlier than the latest row kept so far in the file.
   Rows with the same timestamp are all kept, in file order.
8. ``spike``: quotes (mid price) and trades (price) only; judged on log returns, not on the
   price level. Price ``p[i]`` is a spike when its return from the last kept price and the
   return to the next price both exceed ``k * scale`` in absolute value, have opposite signs
   and cancel to within half (a one-tick excursion that comes straight back). ``scale`` is
   an EWMA (``alpha``) of absolute returns each clipped at ``k * scale`` (so spikes do not
   inflate it), floored at ``floor``; nothing is flagged during the first ``warmup``
   returns. Defaults: ``k=12, alpha=0.02, warmup=50, floor=2e-5`` (0.2 pip on EURUSD). A
   level shift (no return) or a trend is never a spike. Because the verdict on a row needs
   the next row, the last candidate row of each chunk is held back and returned with the
   next chunk (or by :meth:`Validator.finish`).

Everything is vectorised NumPy except the spike scan (a numba kernel in
:mod:`tickforge.data.validate_nb`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from tickforge.data.schemas import LINE, QUARANTINE
from tickforge.data.sources.base import Chunk, Dataset
from tickforge.data.validate_nb import spike_flags

REQUIRED: dict[str, tuple[str, ...]] = {
    "quotes": ("ts", "bid", "ask"),
    "trades": ("ts", "price"),
    "bars": ("ts", "open", "high", "low", "close"),
}
PRICES: dict[str, tuple[str, ...]] = {
    "quotes": ("bid", "ask"),
    "trades": ("price",),
    "bars": ("open", "high", "low", "close"),
}
SIZES: dict[str, tuple[str, ...]] = {
    "quotes": ("bid_size", "ask_size"),
    "trades": ("size",),
    "bars": ("volume",),
}


@dataclass(frozen=True)
class SpikeParams:
    """Spike rule parameters (see the module docstring)."""

    k: float = 12.0
    alpha: float = 0.02
    warmup: int = 50
    floor: float = 2e-5


@dataclass
class Pending:
    """The last candidate row of a chunk, waiting for the next price to be judged."""

    row: pa.Table
    line: int
    raw: str


Rule = tuple[np.ndarray, str]


def column_float(table: pa.Table, name: str) -> np.ndarray:
    """A float column as float64 NumPy (nulls -> NaN); absent -> all NaN."""
    if name not in table.column_names:
        return np.full(table.num_rows, np.nan)
    col = table.column(name)
    if not pa.types.is_floating(col.type):
        col = pc.cast(col, pa.float64())
    return np.asarray(col.to_numpy(), dtype=np.float64)


def column_values(table: pa.Table, name: str) -> np.ndarray:
    """Any column as NumPy for equality tests (timestamps as int64, nulls kept apart)."""
    col = table.column(name)
    if pa.types.is_timestamp(col.type):
        return ts_int64(col)
    if pa.types.is_floating(col.type):
        return np.asarray(col.to_numpy(), dtype=np.float64)
    if col.null_count == 0 and (pa.types.is_integer(col.type) or pa.types.is_boolean(col.type)):
        return np.asarray(col.to_numpy())
    return np.asarray(col.to_numpy(zero_copy_only=False), dtype=object)


def ts_int64(col: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """Timestamps as int64 ns (nulls -> 0; check nulls separately)."""
    if col.null_count:
        col = pc.fill_null(col, pa.scalar(0, col.type))
    return np.asarray(col.to_numpy()).view(np.int64)


def equal_to_previous(values: np.ndarray, last: object, has_last: bool) -> np.ndarray:
    """``values[i] == values[i-1]`` (``last`` before the first); NaN equals NaN."""
    prev = np.empty_like(values)
    prev[1:] = values[:-1]
    if values.size:
        prev[0] = last if has_last else values[0]
    same = np.asarray(values == prev, dtype=bool)
    if values.dtype.kind == "f":
        same |= np.isnan(values) & np.isnan(prev)
    if values.size and not has_last:
        same[0] = False
    return same


class Validator:
    """Validate the chunks of ONE source file in order; see the module docstring."""

    def __init__(self, dataset: Dataset, source_file: str, symbol: str | None = None,
                 spikes: SpikeParams | None = SpikeParams()) -> None:
        self.dataset = dataset
        self.source_file = source_file
        self.symbol = symbol
        self.spikes = spikes if dataset in ("quotes", "trades") else None
        self.last_ts = np.iinfo(np.int64).min
        self.last_row: dict[str, object] | None = None
        self.spike_state = np.array([np.nan, 0.0, 0.0])
        self.pending: Pending | None = None
        self.schema: pa.Schema | None = None
        self.rows_read = self.rows_good = self.rows_quarantined = self.duplicates = 0
        self.ingested_at = datetime.now(UTC)

    # ------------------------------------------------------------ public

    def validate(self, chunk: Chunk) -> tuple[pa.Table, pa.Table, int]:
        """Split a chunk into (good rows, quarantine rows, number of duplicates)."""
        table = chunk.table
        n = table.num_rows
        if self.schema is None:
            self.schema = self.canonical(table.slice(0, 0)).schema
        self.rows_read += n + chunk.rejects.num_rows
        codes, reasons = self.field_checks(table)
        valid_idx = np.flatnonzero(codes == 0)
        cols = {name: column_values(table, name) for name in table.column_names if name != LINE}
        dup = self.duplicates_among(cols, valid_idx)
        cand_idx = valid_idx[~dup]
        ts = cols["ts"][cand_idx]
        early = ts < self.running_max_before(ts)
        bad_idx = np.flatnonzero(codes)
        bad_reasons = [reasons[c - 1] for c in codes[bad_idx]]
        ooo_idx = cand_idx[early]
        cand_idx = cand_idx[~early]
        if cand_idx.size:
            self.last_ts = max(self.last_ts, int(cols["ts"][cand_idx].max()))
        good, spike_tables = self.judge_spikes(table, chunk, cand_idx)
        lines = table.column(LINE).to_numpy() if n else np.zeros(0, np.int64)
        quarantine = self.quarantine_table(
            chunk, lines,
            [(bad_idx, bad_reasons), (ooo_idx, ["timestamp out of order"] * ooo_idx.size)],
            spike_tables,
        )
        n_dup = int(dup.sum())
        self.count(good.num_rows, quarantine.num_rows, n_dup)
        return good, quarantine, n_dup

    def finish(self) -> tuple[pa.Table, pa.Table]:
        """End of file: the held-back row is good (nothing follows it to make it a spike)."""
        good = self.canonical(self.pending.row) if self.pending else self.empty_good()
        self.pending = None
        self.count(good.num_rows, 0, 0)
        return good, QUARANTINE.empty_table()

    def check_accounting(self) -> bool:
        """True when every row read so far is accounted for (pending rows included)."""
        held = 1 if self.pending else 0
        total = self.rows_good + self.rows_quarantined + self.duplicates + held
        return total == self.rows_read

    # ------------------------------------------------------------ rules

    def field_checks(self, table: pa.Table) -> tuple[np.ndarray, list[str]]:
        """Per-row code of the first failing rule (0 = passes) and the reason texts."""
        rules = self.missing_rules(table) + self.price_rules(table)
        codes = np.zeros(table.num_rows, np.int16)
        reasons = []
        for mask, reason in rules:
            reasons.append(reason)
            codes[(codes == 0) & mask] = len(reasons)
        return codes, reasons

    def missing_rules(self, table: pa.Table) -> list[Rule]:
        rules = []
        for name in REQUIRED[self.dataset]:
            if name not in table.column_names:
                rules.append((np.ones(table.num_rows, bool), f"missing {name}"))
            elif table.column(name).null_count:
                mask = np.asarray(pc.is_null(table.column(name)).to_numpy(zero_copy_only=False))
                rules.append((mask, f"missing {name}"))
        return rules

    def price_rules(self, table: pa.Table) -> list[Rule]:
        prices = {name: column_float(table, name) for name in PRICES[self.dataset]}
        rules: list[Rule] = []
        for name, x in prices.items():
            rules.append((~np.isfinite(x), f"{name} is NaN or infinite"))
            rules.append((x <= 0, f"{name} is not positive"))
        for name in SIZES[self.dataset]:
            if name in table.column_names:
                rules.append((column_float(table, name) < 0, f"negative {name}"))
        if self.dataset == "quotes":
            rules.append((prices["bid"] > prices["ask"], "crossed quote (bid > ask)"))
        if self.dataset == "bars":
            rules += bar_rules(prices["open"], prices["high"], prices["low"], prices["close"])
        return rules

    def duplicates_among(self, cols: dict[str, np.ndarray], valid_idx: np.ndarray) -> np.ndarray:
        """Rows (of the valid ones) identical to the previous valid row; updates the state."""
        every = valid_idx.size == next(iter(cols.values())).size
        same = np.ones(valid_idx.size, bool)
        last = self.last_row
        for name, values in cols.items():
            v = values if every else values[valid_idx]
            has_last = last is not None and name in last
            same &= equal_to_previous(v, last.get(name) if last else None, has_last)
        if valid_idx.size:
            i = valid_idx[-1]
            self.last_row = {name: values[i] for name, values in cols.items()}
        return same

    def running_max_before(self, ts: np.ndarray) -> np.ndarray:
        """For each row, the latest timestamp among the rows kept before it."""
        if not ts.size or (ts[0] >= self.last_ts and bool(np.all(ts[1:] >= ts[:-1]))):
            return np.full(ts.size, np.iinfo(np.int64).min)
        before = np.empty_like(ts)
        before[0] = self.last_ts
        before[1:] = ts[:-1]
        return np.maximum.accumulate(before)

    def judge_spikes(self, table: pa.Table, chunk: Chunk,
                     cand_idx: np.ndarray) -> tuple[pa.Table, list[pa.Table]]:
        """Good rows of the chunk (with the previous held-back row first) and spike rows."""
        if self.spikes is None:
            return self.canonical(take(table, cand_idx)), []
        price = self.spike_price(table, cand_idx)
        pending = self.pending
        seq = price if pending is None else np.concatenate([[self.pending_price()], price])
        p = self.spikes
        flags = spike_flags(seq, self.spike_state, p.k, p.alpha, p.warmup, p.floor)
        goods: list[pa.Table] = []
        spikes: list[pa.Table] = []
        if pending is not None and cand_idx.size:
            if flags[0]:
                spikes.append(self.rows_table([pending.line], [pending.raw], ["spike"]))
            else:
                goods.append(self.canonical(pending.row))
            flags = flags[1:]
        if cand_idx.size:
            keep = cand_idx[:-1][~flags]
            spike_idx = cand_idx[:-1][flags]
            goods.append(self.canonical(take(table, keep)))
            if spike_idx.size:
                lines = table.column(LINE).to_numpy()[spike_idx]
                raw = chunk.raw_lines(lines)
                spikes.append(self.rows_table(lines, raw, ["spike"] * lines.size))
            self.hold_back(table, chunk, int(cand_idx[-1]))
        good = pa.concat_tables(goods) if goods else self.empty_good()
        return good, spikes

    # ------------------------------------------------------------ helpers

    def spike_price(self, table: pa.Table, idx: np.ndarray) -> np.ndarray:
        if self.dataset == "quotes":
            return (column_float(table, "bid")[idx] + column_float(table, "ask")[idx]) * 0.5
        return column_float(table, "price")[idx]

    def pending_price(self) -> float:
        assert self.pending is not None
        return float(self.spike_price(self.pending.row, np.array([0]))[0])

    def hold_back(self, table: pa.Table, chunk: Chunk, i: int) -> None:
        line = int(table.column(LINE)[i].as_py())
        raw = chunk.raw_lines(np.array([line], np.int64))
        self.pending = Pending(table.take([i]), line, raw[0] if raw else "")

    def canonical(self, table: pa.Table) -> pa.Table:
        return table.drop_columns([LINE]) if LINE in table.column_names else table

    def empty_good(self) -> pa.Table:
        from tickforge.data.schemas import DATASETS

        return (self.schema or DATASETS[self.dataset]).empty_table()

    def count(self, good: int, quarantined: int, duplicates: int) -> None:
        self.rows_good += good
        self.rows_quarantined += quarantined
        self.duplicates += duplicates

    def quarantine_table(self, chunk: Chunk, lines: np.ndarray,
                         groups: list[tuple[np.ndarray, list[str]]],
                         extra: list[pa.Table]) -> pa.Table:
        tables = list(extra)
        rej = chunk.rejects
        if rej.num_rows:
            tables.append(self.rows_table(rej.column("line").to_numpy(),
                                          rej.column("raw").to_pylist(),
                                          rej.column("reason").to_pylist()))
        for idx, reasons in groups:
            if idx.size:
                sel = lines[idx]
                tables.append(self.rows_table(sel, chunk.raw_lines(sel), reasons))
        if not tables:
            return QUARANTINE.empty_table()
        out = pa.concat_tables(tables)
        return out.take(pc.sort_indices(out, [("line", "ascending")]))

    def rows_table(self, lines: np.ndarray | list[int], raw: list[str] | list[str | None],
                   reasons: list[str]) -> pa.Table:
        n = len(reasons)
        return pa.table({
            "source_file": pa.array([self.source_file] * n, pa.string()),
            "line": pa.array(np.asarray(lines, np.int64)),
            "raw": pa.array(list(raw), pa.string()),
            "reason": pa.array(reasons, pa.string()),
            "dataset": pa.array([self.dataset] * n, pa.string()),
            "symbol": pa.array([self.symbol] * n, pa.string()),
            "ingested_at": pa.array([self.ingested_at] * n, QUARANTINE.field("ingested_at").type),
        }, schema=QUARANTINE)


def bar_rules(o: np.ndarray, h: np.ndarray, low: np.ndarray, c: np.ndarray) -> list[Rule]:
    return [
        (h < low, "impossible bar: high below low"),
        (h < np.maximum(o, c), "impossible bar: high below open/close"),
        (low > np.minimum(o, c), "impossible bar: low above open/close"),
    ]


def take(table: pa.Table, idx: np.ndarray) -> pa.Table:
    """Rows ``idx`` (sorted); a zero-copy slice when they are contiguous."""
    if idx.size == 0:
        return table.slice(0, 0)
    if idx[-1] - idx[0] + 1 == idx.size:
        return table.slice(int(idx[0]), int(idx.size))
    return table.take(idx)
