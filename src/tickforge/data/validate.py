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

Speed: rules 2-8 run in ONE numba pass over the chunk's column arrays
(:func:`tickforge.data.validate_nb.check_rows`), which writes a ``uint8`` reason code per
row into a buffer reused from chunk to chunk. Columns reach the kernel zero-copy; good rows
leave as zero-copy slices of the chunk (a copy only when bad rows split them into many
runs); only the few bad rows become Python objects (quarantine records).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from tickforge.data import validate_nb as vnb
from tickforge.data.schemas import DATASETS, LINE, QUARANTINE
from tickforge.data.sources.base import Chunk, Dataset

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
RULES = {"quotes": vnb.RULE_CROSSED, "trades": vnb.RULE_NONE, "bars": vnb.RULE_BARS}
SPIKE_MODES = {"quotes": 2, "trades": 1, "bars": 0}  # mid price, price, no spike rule
MAX_RUNS = 32  # good rows split into more runs than this are copied (take), not sliced
INT64_MIN = np.iinfo(np.int64).min


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


def reason_texts(dataset: str) -> dict[int, str]:
    """Field-rule code -> reason text (the numbering :func:`check_rows` uses)."""
    texts = [f"missing {name}" for name in REQUIRED[dataset]]
    for name in PRICES[dataset]:
        texts += [f"{name} is NaN or infinite", f"{name} is not positive"]
    texts += [f"negative {name}" for name in SIZES[dataset]]
    if dataset == "quotes":
        texts.append("crossed quote (bid > ask)")
    if dataset == "bars":
        texts += ["impossible bar: high below low", "impossible bar: high below open/close",
                  "impossible bar: low above open/close"]
    out = {code: text for code, text in enumerate(texts, start=1)}
    out[vnb.OUT_OF_ORDER] = "timestamp out of order"
    out[vnb.SPIKE] = "spike"
    return out


def read_only(values: np.ndarray) -> np.ndarray:
    """A read-only view (so every kernel argument has one numba type)."""
    view = values.view()
    view.flags.writeable = False
    return view


def ts_int64(col: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """Timestamps as int64 ns, zero-copy when possible (nulls -> 0; check nulls apart)."""
    if col.type != pa.timestamp("ns", tz="UTC") and col.type != pa.timestamp("ns"):
        col = pc.cast(col, pa.timestamp("ns", tz="UTC"))
    if col.null_count:
        col = pc.fill_null(col, pa.scalar(0, col.type))
    return np.ascontiguousarray(np.asarray(col.to_numpy()).view(np.int64))


class Buffers:
    """Per-row scratch arrays reused from chunk to chunk (fresh big buffers are slow)."""

    def __init__(self) -> None:
        self.codes = np.zeros(0, np.uint8)
        self.nan = np.zeros(0)

    def reserve(self, n: int) -> None:
        if n > self.codes.size:
            size = max(n, self.codes.size * 5 // 4)
            self.codes = np.zeros(size, np.uint8)
            self.nan = np.full(size, np.nan)
            self.nan.flags.writeable = False

    def float_column(self, table: pa.Table, name: str) -> np.ndarray:
        """A float column as float64 NumPy (nulls -> NaN), zero-copy when it has no nulls."""
        n = table.num_rows
        if name not in table.column_names:
            return self.nan[:n]
        col = table.column(name)
        if col.null_count == n:
            return self.nan[:n]
        if not pa.types.is_float64(col.type):
            col = pc.cast(col, pa.float64())
        return read_only(np.ascontiguousarray(col.to_numpy(), dtype=np.float64))


class Validator:
    """Validate the chunks of ONE source file in order; see the module docstring."""

    def __init__(self, dataset: Dataset, source_file: str, symbol: str | None = None,
                 spikes: SpikeParams | None = SpikeParams()) -> None:
        self.dataset = dataset
        self.source_file = source_file
        self.symbol = symbol
        self.reasons = reason_texts(dataset)
        self.spike_mode = SPIKE_MODES[dataset] if spikes is not None else 0
        p = spikes or SpikeParams()
        self.params = np.array([p.k, p.alpha, p.warmup, p.floor], np.float64)
        self.istate = np.array([0, 0, INT64_MIN, 0], np.int64)
        self.fstate = np.array([np.nan, 0.0, 0.0, np.nan])
        self.last_vals = np.full(6, np.nan)
        self.last_keys: dict[str, object] = {}
        self.last_key_codes = np.zeros(0, np.int64)
        self.out = np.zeros(8, np.int64)
        self.buffers = Buffers()
        self.pending: Pending | None = None
        self.schema: pa.Schema | None = None
        self.rows_read = self.rows_good = self.rows_quarantined = self.duplicates = 0
        self.ingested_at = datetime.now(UTC)

    # ------------------------------------------------------------ public

    def validate(self, chunk: Chunk) -> tuple[pa.Table, pa.Table, int]:
        """Split a chunk into (good rows, quarantine rows, number of duplicates)."""
        table = chunk.table
        if self.schema is None:
            self.schema = self.canonical(table.slice(0, 0)).schema
        self.rows_read += table.num_rows + chunk.rejects.num_rows
        codes = self.check(table)
        out = self.out
        goods: list[pa.Table] = []
        extra: list[pa.Table] = []
        if self.pending is not None and out[vnb.O_VERDICT] != vnb.NO_VERDICT:
            self.resolve_pending(bool(out[vnb.O_VERDICT]), goods, extra)
        if out[vnb.O_GOOD]:
            goods.append(kept_rows(table, codes, out))
        if out[vnb.O_HELD] >= 0:
            self.hold_back(table, chunk, int(out[vnb.O_HELD]))
        good = self.joined(goods)
        quarantine = self.quarantine_table(chunk, table, codes, extra)
        n_dup = int(out[vnb.O_DUP])
        self.count(good.num_rows, quarantine.num_rows, n_dup)
        return good, quarantine, n_dup

    def finish(self) -> tuple[pa.Table, pa.Table]:
        """End of file: the held-back row is good (nothing follows it to make it a spike)."""
        good = self.canonical(self.pending.row) if self.pending else self.empty_good()
        self.pending = None
        self.istate[vnb.I_PENDING] = 0
        self.count(good.num_rows, 0, 0)
        return good, QUARANTINE.empty_table()

    def check_accounting(self) -> bool:
        """True when every row read so far is accounted for (pending rows included)."""
        held = 1 if self.pending else 0
        total = self.rows_good + self.rows_quarantined + self.duplicates + held
        return total == self.rows_read

    # ------------------------------------------------------------ the kernel

    def check(self, table: pa.Table) -> np.ndarray:
        """Run :func:`check_rows` over the chunk; returns the per-row codes."""
        n = table.num_rows
        self.buffers.reserve(n)
        codes = self.buffers.codes[:n]
        self.preset_missing(table, codes)
        ts = read_only(ts_int64(table.column("ts")) if "ts" in table.column_names
                       else np.zeros(n, np.int64))
        prices = [self.buffers.float_column(table, name) for name in PRICES[self.dataset]]
        sizes = [self.buffers.float_column(table, name) for name in SIZES[self.dataset]]
        names = self.key_names(table)
        keys = self.key_arrays(table, names)
        p, s = padded(prices, 4), padded(sizes, 2)
        vnb.check_rows(ts, p[0], p[1], p[2], p[3], len(prices), s[0], s[1], len(sizes),
                       keys, self.last_key_codes, codes, RULES[self.dataset],
                       len(REQUIRED[self.dataset]) + 1, self.spike_mode, self.params,
                       self.istate, self.fstate, self.last_vals, self.out)
        last_valid = int(self.out[vnb.O_LAST_VALID])
        if names and last_valid >= 0:
            self.last_keys = {name: table.column(name)[last_valid].as_py() for name in names}
        return codes

    def preset_missing(self, table: pa.Table, codes: np.ndarray) -> None:
        """``missing <field>`` codes (rule 1); every other row starts at 0."""
        codes[:] = vnb.GOOD
        for code, name in enumerate(REQUIRED[self.dataset], start=1):
            if name not in table.column_names:
                codes[codes == vnb.GOOD] = code
            elif table.column(name).null_count:
                mask = np.asarray(pc.is_null(table.column(name)).to_numpy(zero_copy_only=False))
                codes[(codes == vnb.GOOD) & mask] = code

    def key_names(self, table: pa.Table) -> list[str]:
        """Columns compared for duplicates besides ts, prices and sizes (e.g. trade_id)."""
        floats = {"ts", LINE, *PRICES[self.dataset], *SIZES[self.dataset]}
        return [name for name in table.column_names if name not in floats]

    def key_arrays(self, table: pa.Table, names: list[str]) -> np.ndarray:
        """Equality keys (dictionary indices, nulls encoded too) of the extra columns; sets
        :attr:`last_key_codes` to the previous chunk's last valid row in the same key space
        (-1: not in this chunk)."""
        keys = np.zeros((len(names), table.num_rows), np.int64)
        self.last_key_codes = np.full(len(names), -1, np.int64)
        for j, name in enumerate(names):
            encoded = pc.dictionary_encode(table.column(name).combine_chunks(),
                                           null_encoding="encode")
            keys[j] = np.asarray(encoded.indices.to_numpy(zero_copy_only=False), np.int64)
            if name in self.last_keys:
                self.last_key_codes[j] = index_of(encoded.dictionary, self.last_keys[name])
        return keys

    # ------------------------------------------------------------ held-back row

    def resolve_pending(self, spike: bool, goods: list[pa.Table],
                        extra: list[pa.Table]) -> None:
        pending = self.pending
        assert pending is not None
        if spike:
            extra.append(self.rows_table([pending.line], [pending.raw], ["spike"]))
        else:
            goods.append(pending.row)
        self.pending = None

    def hold_back(self, table: pa.Table, chunk: Chunk, i: int) -> None:
        line = int(table.column(LINE)[i].as_py())
        raw = chunk.raw_lines(np.array([line], np.int64))
        self.pending = Pending(table.slice(i, 1), line, raw[0] if raw else "")

    # ------------------------------------------------------------ helpers

    def joined(self, goods: list[pa.Table]) -> pa.Table:
        if not goods:
            return self.empty_good()
        return self.canonical(goods[0] if len(goods) == 1 else pa.concat_tables(goods))

    def canonical(self, table: pa.Table) -> pa.Table:
        return table.drop_columns([LINE]) if LINE in table.column_names else table

    def empty_good(self) -> pa.Table:
        return (self.schema or DATASETS[self.dataset]).empty_table()

    def count(self, good: int, quarantined: int, duplicates: int) -> None:
        self.rows_good += good
        self.rows_quarantined += quarantined
        self.duplicates += duplicates

    def quarantine_table(self, chunk: Chunk, table: pa.Table, codes: np.ndarray,
                         extra: list[pa.Table]) -> pa.Table:
        tables = list(extra)
        rej = chunk.rejects
        if rej.num_rows:
            tables.append(self.rows_table(rej.column("line").to_numpy(),
                                          rej.column("raw").to_pylist(),
                                          rej.column("reason").to_pylist()))
        if self.out[vnb.O_BAD]:
            bad = np.flatnonzero((codes != vnb.GOOD) & (codes != vnb.DUP) & (codes != vnb.HELD))
            lines = table.column(LINE).to_numpy()[bad]
            reasons = [self.reasons[int(c)] for c in codes[bad]]
            tables.append(self.rows_table(lines, chunk.raw_lines(lines), reasons))
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


def padded(columns: list[np.ndarray], size: int) -> list[np.ndarray]:
    """``columns`` repeated up to ``size`` entries (the kernel's unused slots)."""
    return columns + [columns[0]] * (size - len(columns))


def index_of(dictionary: pa.Array, value: object) -> int:
    """Position of ``value`` (None: the null entry) in a dictionary, -1 when absent."""
    if value is None:
        nulls = np.flatnonzero(dictionary.is_null().to_numpy(zero_copy_only=False))
        return int(nulls[0]) if nulls.size else -1
    found = pc.index(dictionary, pa.scalar(value, dictionary.type))
    return int(found.as_py())


def kept_rows(table: pa.Table, codes: np.ndarray, out: np.ndarray) -> pa.Table:
    """The rows coded GOOD: one zero-copy slice when they are contiguous (the usual case)."""
    n_good, first = int(out[vnb.O_GOOD]), int(out[vnb.O_FIRST])
    if int(out[vnb.O_LAST]) - first + 1 == n_good:
        return table.slice(first, n_good)
    return take(table, np.flatnonzero(codes == vnb.GOOD))


def take(table: pa.Table, idx: np.ndarray) -> pa.Table:
    """Rows ``idx`` (sorted): zero-copy slices of their runs when there are few runs."""
    if idx.size == 0:
        return table.slice(0, 0)
    cuts = np.flatnonzero(np.diff(idx) != 1) + 1
    if cuts.size >= MAX_RUNS:
        return table.take(idx)
    bounds = [0, *cuts.tolist(), idx.size]
    return pa.concat_tables([table.slice(int(idx[lo]), hi - lo)
                             for lo, hi in itertools.pairwise(bounds)])
