"""Bars: ticks -> time, tick and volume bars; bars -> coarser bars; bars into the lake.

Conventions (the contract every reader of ``bars`` relies on):

* **Open-time labels.** A bar's ``ts`` is the start of its interval, in UTC. Intervals
  are left-closed, right-open: a tick at exactly 10:01:00.000 belongs to the 10:01 bar.
* **Alignment.** Time bars are aligned on UTC midnight (plus an optional ``offset``, e.g.
  ``timedelta(hours=22)`` for FX days starting at 22:00 UTC); a timeframe must divide a
  day, so "7min" is refused while "1s".."1d" (1s, 5s, 1min, 5min, 15min, 1h, 4h, 1d...) are
  accepted. "1min" and pandas' "1T" mean one minute; "1m"/"1M" are refused as ambiguous
  (minute or month?).
* **Empty intervals produce no bar** (no forward-filled rows).
* **Quote bars**: ``open..close`` are the OHLC of the mid ``(bid + ask) / 2``, plus
  ``bid_open..bid_close`` and ``ask_open..ask_close``; ``volume`` is the sum of
  ``bid_size + ask_size`` (missing sizes count as 0); ``tick_count`` the number of quotes.
* **Trade bars**: OHLC of ``price``, ``volume`` = sum of ``size``, ``tick_count``.
* **Tick bars** ("1000t"): every N ticks; **volume bars** ("1e6v"): a bar closes on the
  tick whose volume brings its total to at least the threshold (ticks are never split).
  Both are labelled with the time of their first tick.
* Results equal ``pandas.resample(tf, label="left", closed="left").agg(first, max, min,
  last, sum, count)`` with empty bins dropped (sums to float rounding: pandas uses
  compensated summation).
* **Streaming.** :class:`BarBuilder` takes chunks (e.g. one lake partition at a time) and
  carries the open bar over chunk boundaries; the bars it yields are identical, bit for
  bit, to a one-shot pass over the concatenated ticks.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import numpy as np
import pyarrow as pa

from tickforge.data import nb
from tickforge.data.schemas import BARS, TS
from tickforge.errors import ConfigError, LakeError, TickforgeError
from tickforge.progress import ProgressFn, no_progress

NS = 1_000_000_000
DAY_NS = 86_400 * NS
SIDE_COLUMNS = [f"{side}_{p}" for side in ("bid", "ask") for p in ("open", "high", "low", "close")]
QUOTE_BARS = pa.schema(
    list(BARS) + [pa.field(name, pa.float64(), nullable=False) for name in SIDE_COLUMNS]
)
ACCEPTED = (
    "seconds '1s', '5s', '30s'; minutes '1min', '5min' (or pandas '1T'); hours '1h', '4h'; "
    "'1d'; tick bars '1000t'; volume bars '1e6v'"
)
_UNITS = {"s": NS, "sec": NS, "min": 60 * NS, "t": 60 * NS, "h": 3600 * NS, "d": DAY_NS}
_TIME_RE = re.compile(r"^(\d+)\s*(s|sec|min|t|h|d)$")
Kind = Literal["time", "tick", "volume"]
Source = Literal["quotes", "trades", "bars"]


# ---------------------------------------------------------------- timeframes


@dataclass(frozen=True)
class Timeframe:
    """A parsed timeframe. ``name`` is canonical ("60s" -> "1min") and names lake partitions."""

    kind: Kind
    name: str
    step_ns: int = 0  # time bars
    ticks: int = 0  # tick bars
    volume: float = 0.0  # volume bars

    @property
    def pandas_freq(self) -> str:
        """The pandas offset alias of a time bar ("1min", "4h", "1D")."""
        if self.kind != "time":
            raise ConfigError(f"'{self.name}' is not a time timeframe", field="timeframe")
        return self.name.upper() if self.name.endswith("d") else self.name


def parse_timeframe(text: str) -> Timeframe:
    """Parse "1s".."1d", "1000t" (tick bars) or "1e6v" (volume bars)."""
    raw = text.strip()
    low = raw.lower()
    if low.endswith("m") and low[:-1].isdigit():
        raise ConfigError(f"timeframe '{text}' is ambiguous (minute or month?)", field="timeframe",
                          hint=f"use '{low[:-1]}min' for minutes; accepted: {ACCEPTED}")
    if raw.endswith("t") and raw[:-1].isdigit() and int(raw[:-1]) > 0:
        return Timeframe("tick", f"{int(raw[:-1])}t", ticks=int(raw[:-1]))
    if low.endswith("v"):
        return _parse_volume(text, low[:-1])
    match = _TIME_RE.match(low)
    if not match or int(match.group(1)) == 0:
        raise ConfigError(f"timeframe '{text}' is not understood", field="timeframe",
                          hint=f"accepted: {ACCEPTED}")
    step = int(match.group(1)) * _UNITS[match.group(2)]
    if step > DAY_NS or DAY_NS % step:
        raise ConfigError(f"timeframe '{text}' does not divide a day evenly", field="timeframe",
                          hint="bars are aligned on UTC midnight; use e.g. 1s, 5s, 1min, 5min, "
                               "15min, 1h, 4h or 1d")
    return Timeframe("time", _canonical(step), step_ns=step)


def _parse_volume(text: str, number: str) -> Timeframe:
    try:
        threshold = float(number)
    except ValueError:
        threshold = -1.0
    if not threshold > 0 or not np.isfinite(threshold):
        raise ConfigError(f"timeframe '{text}' is not a positive volume", field="timeframe",
                          hint="volume bars look like '1e6v' or '500v'")
    return Timeframe("volume", f"{threshold:g}v", volume=threshold)


def _canonical(step: int) -> str:
    for unit, size in (("d", DAY_NS), ("h", 3600 * NS), ("min", 60 * NS)):
        if step % size == 0:
            return f"{step // size}{unit}"
    return f"{step // NS}s"


# ---------------------------------------------------------------- arrays of a chunk


@dataclass
class _Arrays:
    """A chunk as the kernel's inputs: (k, n) OHLC series, (1, n) sums, counts. Quotes
    come as ``quotes`` = (bid, ask) instead, their k = 3 series (mid, bid, ask) derived
    by ``nb.quote_rollup`` as it reads them."""

    ts: np.ndarray
    first: np.ndarray
    high: np.ndarray
    low: np.ndarray
    last: np.ndarray
    sums: np.ndarray
    counts: np.ndarray
    quotes: tuple[np.ndarray, np.ndarray] | None = None

    @property
    def k(self) -> int:
        return 3 if self.quotes is not None else self.first.shape[0]


def detect_source(table: pa.Table) -> Source:
    """quotes (bid, ask), trades (price) or bars (open, high, low, close)."""
    names = set(table.column_names)
    if {"bid", "ask"} <= names:
        return "quotes"
    if "price" in names:
        return "trades"
    if {"open", "high", "low", "close"} <= names:
        return "bars"
    raise TickforgeError(f"cannot build bars from columns {sorted(names)}", field="columns",
                         hint="give quotes (ts, bid, ask), trades (ts, price) or bars "
                              "(ts, open..close)")


def _f64(table: pa.Table, name: str, fill: float | None = None) -> np.ndarray:
    if name not in table.column_names:
        return np.zeros(table.num_rows) if fill is not None else _missing(name)
    column = table.column(name)
    if fill is not None and column.null_count:
        column = column.fill_null(fill)
    return np.ascontiguousarray(column.to_numpy(), dtype=np.float64)


def _missing(name: str) -> np.ndarray:
    raise TickforgeError(f"column '{name}' is missing", field=name)


def _ts(table: pa.Table) -> np.ndarray:
    column = table.column("ts")
    if pa.types.is_timestamp(column.type):
        column = column.cast(pa.timestamp("ns", tz="UTC")).cast(pa.int64())
    return np.ascontiguousarray(column.to_numpy(), dtype=np.int64)


def _arrays(table: pa.Table, source: Source) -> _Arrays:
    ts = _ts(table)
    empty = np.empty(0, np.int64)
    if source == "quotes":
        volume = _f64(table, "bid_size", 0.0) + _f64(table, "ask_size", 0.0)
        derived = np.empty((3, 0))  # mid, bid, ask: made by the kernel from ``quotes``
        return _Arrays(ts, derived, derived, derived, derived, volume[None, :], empty,
                       (_f64(table, "bid"), _f64(table, "ask")))
    if source == "trades":
        price = _f64(table, "price")[None, :]
        return _Arrays(ts, price, price, price, price, _f64(table, "size", 0.0)[None, :], empty)
    sides = [""] + (["bid_", "ask_"] if "bid_open" in table.column_names else [])
    o, h, lo, c = (np.stack([_f64(table, f"{s}{p}") for s in sides])
                   for p in ("open", "high", "low", "close"))
    counts = (np.ascontiguousarray(table.column("tick_count").fill_null(0).to_numpy(), np.int64)
              if "tick_count" in table.column_names else np.ones(table.num_rows, np.int64))
    return _Arrays(ts, o, h, lo, c, _f64(table, "volume", 0.0)[None, :], counts)


def _sorted(a: _Arrays) -> _Arrays:
    if a.ts.size < 2 or bool(np.all(a.ts[1:] >= a.ts[:-1])):
        return a
    order = np.argsort(a.ts, kind="stable")

    def take(x: np.ndarray) -> np.ndarray:
        return x[..., order] if x.size else x

    quotes = (take(a.quotes[0]), take(a.quotes[1])) if a.quotes is not None else None
    return _Arrays(take(a.ts), take(a.first), take(a.high), take(a.low), take(a.last),
                   take(a.sums), take(a.counts), quotes)


# ---------------------------------------------------------------- streaming builder


@dataclass
class _Open:
    """The last bar of the previous chunk, not known to be complete yet."""

    label: int
    column: np.ndarray  # (4k + s,) as produced by nb.rollup
    count: int
    volume_acc: float = 0.0  # volume bars: running total of the open bar


class BarBuilder:
    """Builds bars chunk by chunk; ``push`` returns completed bars, ``finish`` the rest.

    ``source`` is detected from the first chunk's columns when not given. ``offset``
    shifts the alignment of time bars (e.g. ``timedelta(hours=22)``).
    """

    def __init__(self, timeframe: str | Timeframe, source: Source | None = None,
                 offset: timedelta = timedelta(0)) -> None:
        self.timeframe = parse_timeframe(timeframe) if isinstance(timeframe, str) else timeframe
        if source == "bars" and self.timeframe.kind != "time":
            raise ConfigError("bars can only be rolled up into time bars", field="timeframe",
                              hint=f"got '{self.timeframe.name}'; use e.g. 1h or 1d")
        self.source = source
        self.offset_ns = int(offset.total_seconds() * NS)
        self._open: _Open | None = None
        self._last_ts: int | None = None
        self.ticks_read = 0

    @property
    def schema(self) -> pa.Schema:
        return QUOTE_BARS if self._k == 3 else BARS

    _k = 1

    def push(self, table: pa.Table) -> pa.Table:
        """Add a chunk; return the bars completed so far (possibly none)."""
        if self.source is None:
            self.source = detect_source(table)
            if self.source == "bars" and self.timeframe.kind != "time":
                raise ConfigError("bars can only be rolled up into time bars", field="timeframe")
        arrays = _sorted(_arrays(table, self.source))
        self._k = arrays.k
        self.ticks_read += int(arrays.ts.size)
        if arrays.ts.size == 0:
            return self.schema.empty_table()
        self._check_order(arrays.ts)
        self._check_volume(arrays)
        return self._bars(arrays)

    def finish(self) -> pa.Table:
        """The last, open bar (if any). The builder is then empty."""
        done, self._open = self._open, None
        if done is None:
            return self.schema.empty_table()
        return self._table(np.array([done.label]), done.column[:, None], np.array([done.count]))

    def _check_order(self, ts: np.ndarray) -> None:
        if self._last_ts is not None and ts[0] < self._last_ts:
            raise TickforgeError(
                "chunks are not in time order: a chunk starts at "
                f"{np.datetime64(int(ts[0]), 'ns')} before the previous chunk ended "
                f"({np.datetime64(self._last_ts, 'ns')})", field="ts",
                hint="give partitions in time order")
        self._last_ts = int(ts[-1])

    def _check_volume(self, a: _Arrays) -> None:
        if self.timeframe.kind == "volume" and not np.nansum(a.sums[0]) > 0:
            raise TickforgeError(f"volume bars '{self.timeframe.name}' need volumes, but this data "
                                 "has none (e.g. HistData ticks carry no size)", field="volume",
                                 hint="use tick bars such as '1000t' or time bars")

    def _bars(self, a: _Arrays) -> pa.Table:
        starts, labels, acc, closed = self._segments(a)
        cont = self._open is not None and labels[0] == self._open.label
        before = self.finish() if (self._open is not None and not cont) else None
        carry = self._open.column if cont and self._open else np.zeros(4 * self._k + 1)
        carry_count = self._open.count if cont and self._open else 0
        if a.quotes is not None:
            out, counts = nb.quote_rollup(starts, *a.quotes, a.sums[0], carry, carry_count)
        else:
            out, counts = nb.rollup(starts, a.first, a.high, a.low, a.last, a.sums, a.counts,
                                    carry, carry_count)
        keep = out.shape[1] if self._last_complete(counts, closed) else out.shape[1] - 1
        self._open = None if keep == out.shape[1] else _Open(
            int(labels[-1]), out[:, -1].copy(), int(counts[-1]), acc)
        done = self._table(labels[:keep], out[:, :keep], counts[:keep])
        return pa.concat_tables([before, done]) if before is not None else done

    def _segments(self, a: _Arrays) -> tuple[np.ndarray, np.ndarray, float, bool]:
        tf, n = self.timeframe, a.ts.size
        if tf.kind == "time":
            starts = nb.time_starts(a.ts, tf.step_ns, self.offset_ns)
            labels = (a.ts[starts] - self.offset_ns) // tf.step_ns * tf.step_ns + self.offset_ns
            return starts, labels, 0.0, False
        if tf.kind == "tick":
            room = tf.ticks - self._open.count if self._open else tf.ticks
            starts = np.concatenate([[0], np.arange(room, n, tf.ticks)]).astype(np.int64)
            acc, closed = 0.0, False
        else:
            carried = self._open.volume_acc if self._open else 0.0
            starts, acc, closed = nb.volume_starts(a.sums[0], tf.volume, carried)
        labels = a.ts[starts].copy()
        if self._open is not None:
            labels[0] = self._open.label  # tick/volume bars continue the open bar
        return starts, labels, acc, closed

    def _last_complete(self, counts: np.ndarray, closed: bool) -> bool:
        if self.timeframe.kind == "tick":
            return bool(counts[-1] >= self.timeframe.ticks)
        return self.timeframe.kind == "volume" and closed

    def _table(self, labels: np.ndarray, out: np.ndarray, counts: np.ndarray) -> pa.Table:
        k = (out.shape[0] - 1) // 4
        columns: dict[str, Any] = {"ts": pa.array(labels.astype(np.int64), pa.int64()).cast(TS)}
        for i, name in enumerate(("open", "high", "low", "close")):
            columns[name] = out[i]
        columns["volume"] = out[4 * k]
        columns["tick_count"] = counts.astype(np.int64)
        if k == 3:
            for i, name in enumerate(SIDE_COLUMNS):
                columns[name] = out[4 + i]
        return pa.table(columns, schema=QUOTE_BARS if k == 3 else BARS)


# ---------------------------------------------------------------- one-shot API


def build_bars(chunks: Iterable[pa.Table], timeframe: str | Timeframe, source: Source | None = None,
               offset: timedelta = timedelta(0)) -> Iterator[pa.Table]:
    """Stream bars from a stream of chunks (completed bars as soon as they are known)."""
    builder = BarBuilder(timeframe, source, offset)
    for chunk in chunks:
        done = builder.push(chunk)
        if done.num_rows:
            yield done
    last = builder.finish()
    if last.num_rows:
        yield last


def bars_from_ticks(ticks: pa.Table, timeframe: str | Timeframe,
                    offset: timedelta = timedelta(0)) -> pa.Table:
    """Quotes or trades -> bars (see the module docstring for the conventions)."""
    return _collect(build_bars([ticks], timeframe, None, offset), ticks, timeframe)


def resample_bars(bars: pa.Table, timeframe: str | Timeframe,
                  offset: timedelta = timedelta(0)) -> pa.Table:
    """Bars -> coarser time bars (equal to building the coarser bars from the ticks when
    the source bars are aligned inside the target bars, e.g. 1min -> 1h)."""
    return _collect(build_bars([bars], timeframe, "bars", offset), bars, timeframe)


def _collect(parts: Iterator[pa.Table], source: pa.Table, timeframe: str | Timeframe) -> pa.Table:
    tables = list(parts)
    if tables:
        return pa.concat_tables(tables)
    side = "bid" in source.column_names or "bid_open" in source.column_names
    return (QUOTE_BARS if side else BARS).empty_table()


# ---------------------------------------------------------------- lake


def materialize_bars(lake_uri: str, symbol: str, timeframe: str, start: datetime | None = None,
                     end: datetime | None = None,
                     progress: ProgressFn = no_progress) -> dict[str, Any]:
    """Read a symbol's quotes (or trades) from the lake partition by partition, build bars
    and write them to the lake under ``bars/symbol=…/timeframe=…``."""
    from tickforge.data.lake import Lake

    t0 = time.perf_counter()
    tf = parse_timeframe(timeframe)
    lake = Lake(lake_uri)
    dataset = _dataset_of(lake, symbol)
    lo, hi = _bar_edges(tf, _utc(start), _utc(end))
    builder = BarBuilder(tf, dataset)
    pending: list[pa.Table] = []
    written = 0
    for chunk in _iter_ticks(lake, dataset, symbol, lo, hi):
        pending.append(builder.push(chunk))
        progress(builder.ticks_read, None)
        if sum(t.num_rows for t in pending) >= WRITE_BATCH:
            written += _write(lake, symbol, tf, pending)
    pending.append(builder.finish())
    written += _write(lake, symbol, tf, pending)
    return {"symbol": symbol, "timeframe": tf.name, "dataset": dataset,
            "bars_written": written, "ticks_read": builder.ticks_read,
            "seconds": round(time.perf_counter() - t0, 3)}


WRITE_BATCH = 1 << 20  # bars held in memory before they are written


def _write(lake: Any, symbol: str, tf: Timeframe, pending: list[pa.Table]) -> int:
    bars = pa.concat_tables(pending)
    pending.clear()
    if bars.num_rows:
        lake.write_bars(symbol, tf.name, bars)
    return int(bars.num_rows)


def _bar_edges(tf: Timeframe, start: datetime | None,
               end: datetime | None) -> tuple[datetime | None, datetime | None]:
    """Widen [start, end) to whole time bars, so that no partial bar replaces a full one."""
    if tf.kind != "time":
        return start, end
    step = timedelta(microseconds=tf.step_ns // 1000)
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    lo = epoch + (start - epoch) // step * step if start else None
    hi = epoch - (epoch - end) // step * step if end else None
    return lo, hi


def _dataset_of(lake: Any, symbol: str) -> Source:
    datasets: tuple[Source, ...] = ("quotes", "trades")
    for dataset in datasets:
        if symbol in lake.symbols(dataset):
            return dataset
    raise LakeError(f"no quotes or trades for symbol '{symbol}' in the lake", field="symbol",
                    hint="ingest ticks first (tickforge ingest) or check `tickforge lake info`")


def _iter_ticks(lake: Any, dataset: Source, symbol: str, start: datetime | None,
                end: datetime | None) -> Iterator[pa.Table]:
    method = getattr(lake, f"iter_{dataset}", None)
    if method is not None:
        yield from method(symbol, start, end)
        return
    yield getattr(lake, dataset)(symbol, start, end).table


def _utc(when: datetime | None) -> datetime | None:
    if when is None or when.tzinfo is not None:
        return when
    return when.replace(tzinfo=UTC)
