"""Turn user data (pandas / Polars / Arrow tables, lake selections) into engine events.

Quotes: ``ts, bid, ask[, bid_size, ask_size]``; bars: ``ts, open, high, low, close[, volume]``
(backtesting.py-style ``Open/High/Low/Close`` with a DatetimeIndex is accepted too). Several
symbols via a ``symbol`` column. Events are sorted by time (stable, so same-time rows keep
their order) and carried as plain NumPy arrays; see :mod:`tickforge.engine.nb`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from tickforge.errors import ConfigError, DataFormatError

QUOTE_COLS = ("bid", "ask")
BAR_COLS = ("open", "high", "low", "close")


@dataclass
class Events:
    """Events of one run (or one chunk of it): parallel arrays, one row per event."""

    kind: str  # "quotes" or "bars"
    symbols: list[str]
    ts: np.ndarray  # int64 ns UTC
    sym: np.ndarray  # int64 index into symbols
    o: np.ndarray
    h: np.ndarray
    low: np.ndarray
    c: np.ndarray
    v: np.ndarray
    sp: np.ndarray

    def __len__(self) -> int:
        return int(self.ts.shape[0])

    def as_tuple(self) -> tuple[np.ndarray, ...]:
        return (self.ts, self.sym, self.o, self.h, self.low, self.c, self.v, self.sp)

    def price(self) -> np.ndarray:
        """Close for bars, mid for quotes: what indicators are computed on."""
        return self.c if self.kind == "bars" else self.c + 0.5 * self.sp

    def slice(self, start: int, stop: int) -> Events:
        cut = slice(start, stop)
        return Events(self.kind, self.symbols, self.ts[cut], self.sym[cut], self.o[cut],
                      self.h[cut], self.low[cut], self.c[cut], self.v[cut], self.sp[cut])

    @staticmethod
    def concat(parts: list[Events]) -> Events:
        """Events of ``parts`` one after the other (kind and symbols of the first)."""
        first = parts[0]
        cols = [np.concatenate([getattr(p, n) for p in parts])
                for n in ("ts", "sym", "o", "h", "low", "c", "v", "sp")]
        return Events(first.kind, first.symbols, *cols)


def to_pandas(data: Any) -> pd.DataFrame:
    """Accept pandas, Polars, Arrow (table or record batch reader) and objects with
    ``to_pandas()`` / ``to_arrow()`` (lake selections)."""
    if isinstance(data, pd.DataFrame):
        return data
    if isinstance(data, pa.Table | pa.RecordBatch):
        return data.to_pandas()
    if isinstance(data, pa.RecordBatchReader):
        return data.read_all().to_pandas()
    for attr in ("to_pandas", "to_arrow", "df"):
        fn = getattr(data, attr, None)
        if callable(fn):
            return to_pandas(fn())
    raise DataFormatError(f"cannot use data of type {type(data).__name__}",
                          hint="pass a pandas/Polars/Arrow table or a Lake selection")


def lake_frame(lake: str, symbols: tuple[str, ...] | list[str], timeframe: str,
               start: datetime | None, end: datetime | None) -> pd.DataFrame:
    """Bars of ``symbols`` at ``timeframe`` (quotes for ``'ticks'``) from the lake as one
    frame sorted by time (stable: same-time rows keep the symbols' order); a ``symbol``
    column when there are several symbols. The one reader of whole selections, for the
    engine (``run.lake_chunks``) and for research workers."""
    from tickforge.data.lake import Lake

    if not symbols:
        raise ConfigError("lake data needs at least one symbol", field="symbols",
                          hint="e.g. --symbol EURUSD")
    store = Lake(lake)
    frames = []
    for symbol in symbols:
        if timeframe == "ticks":
            table = store.quotes(symbol, start, end)
        else:
            table = store.bars(symbol, timeframe, start, end)
        frame = to_pandas(table)
        frames.append(frame.assign(symbol=symbol) if len(symbols) > 1 else frame)
    out = frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)
    if "ts" in out.columns and not out["ts"].is_monotonic_increasing:
        out = out.sort_values("ts", kind="stable").reset_index(drop=True)
    return out


def normalise_columns(df: pd.DataFrame) -> pd.DataFrame:
    """Lower-case names; a DatetimeIndex (backtesting.py style) becomes the ``ts`` column."""
    df = df.rename(columns={c: str(c).lower() for c in df.columns})
    if "ts" not in df.columns:
        for alt in ("timestamp", "time", "datetime", "date"):
            if alt in df.columns:
                return df.rename(columns={alt: "ts"})
        if isinstance(df.index, pd.DatetimeIndex):
            df = df.rename_axis("ts").reset_index()
    return df


def ts_ns(col: pd.Series) -> np.ndarray:
    """Timestamps as int64 ns UTC; naive timestamps are taken as UTC."""
    try:
        stamps = pd.to_datetime(col, utc=True)
    except (ValueError, TypeError) as exc:
        raise DataFormatError(f"timestamps not readable: {exc}", field="ts",
                              hint="use datetimes or ISO strings") from exc
    return np.asarray(pd.DatetimeIndex(stamps).as_unit("ns").asi8, dtype=np.int64)


def floats(df: pd.DataFrame, name: str) -> np.ndarray:
    col = df[name]
    if col.dtype == np.float64:
        values = col.to_numpy()
    else:
        values = pd.to_numeric(col, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    bad = np.flatnonzero(~np.isfinite(values))
    if bad.size:
        raise DataFormatError(f"{bad.size} missing or non-numeric values (first at row {bad[0]})",
                              field=name, hint="drop or fill those rows before the backtest")
    return values


def events_from_frame(data: Any, symbol: str | None = None) -> Events:
    """Build sorted events from a quotes or bars table."""
    if isinstance(data, pa.Table | pa.RecordBatch):
        fast = arrow_events(data, symbol)
        if fast is not None:
            return fast
    df = normalise_columns(to_pandas(data))
    if "ts" not in df.columns:
        raise DataFormatError("no timestamp column", field="ts",
                              hint="name it ts (or use a DatetimeIndex)")
    if all(c in df.columns for c in QUOTE_COLS):
        kind = "quotes"
    elif all(c in df.columns for c in BAR_COLS):
        kind = "bars"
    else:
        raise DataFormatError(f"columns {list(df.columns)} are neither quotes nor bars",
                              hint="quotes need ts,bid,ask; bars need ts,open,high,low,close")
    if len(df) == 0:
        raise DataFormatError("no rows to backtest", hint="check the symbol and the date range")
    names, sym = symbol_codes(df, symbol)
    ts = ts_ns(df["ts"])
    cols = quote_arrays(df) if kind == "quotes" else bar_arrays(df)
    if ts.size > 1 and not bool(np.all(ts[1:] >= ts[:-1])):
        order = np.argsort(ts, kind="stable")
        ts, sym = ts[order], sym[order]
        cols = tuple(a[order] for a in cols)
    else:  # already sorted: the same arrays, as copies (events never share the frame's memory)
        ts, cols = np.array(ts), tuple(np.array(a) for a in cols)
    o, h, lo, c, v, sp = cols
    return Events(kind, names, ts, sym, o, h, lo, c, v, sp)


def arrow_events(table: pa.Table | pa.RecordBatch, symbol: str | None) -> Events | None:
    """Direct decoding of a clean one-symbol Arrow table (the lake's partitions): a sorted
    timestamp ``ts``, float64 price columns without nulls, no ``symbol`` column; no pandas.
    None for anything else: the pandas path then handles it (and reports what is wrong)."""
    names = [str(n).lower() for n in table.schema.names]
    if len(set(names)) != len(names) or "ts" not in names or "symbol" in names:
        return None
    cols = dict(zip(names, table.columns, strict=True))
    kind = "quotes" if all(c in cols for c in QUOTE_COLS) else "bars"
    need = QUOTE_COLS if kind == "quotes" else BAR_COLS
    if not len(table) or not all(c in cols for c in need):
        return None
    ts = plain_ts(cols["ts"])
    maybe = [plain_floats(cols[c]) for c in need]
    prices = [p for p in maybe if p is not None]
    if ts is None or len(prices) != len(need):
        return None
    if ts.size > 1 and not bool(np.all(ts[1:] >= ts[:-1])):
        return None  # unsorted: the pandas path sorts
    extra = cols.get("ask_size" if kind == "quotes" else "volume")
    if extra is not None and not (pa.types.is_floating(extra.type)
                                  or pa.types.is_integer(extra.type)):
        return None  # sizes as text: pandas' to_numeric handles them
    if kind == "quotes":
        bid, ask = prices[0], prices[1]
        if bool((ask < bid).any()):
            return None
        o = h = lo = c = bid
        v, sp = filled_floats(extra, len(table)), ask - bid
    else:
        o, h, lo, c = prices
        if bool(((h < np.maximum(o, c)) | (lo > np.minimum(o, c))).any()):
            return None
        v, sp = filled_floats(extra, len(table)), np.zeros(len(table))
        if "spread" in cols:
            return None
    return Events(kind, [symbol or "ASSET"], ts, np.zeros(len(table), np.int64), o, h, lo, c, v,
                  sp)


def one_chunk(col: Any) -> Any:
    if isinstance(col, pa.ChunkedArray):
        return col.combine_chunks() if col.num_chunks != 1 else col.chunk(0)
    return col


def plain_floats(col: Any) -> np.ndarray | None:
    """A float64 column without nulls and non-finite values, as a (writable) NumPy array."""
    if col.type != pa.float64() or col.null_count:
        return None
    values = np.array(one_chunk(col).to_numpy(zero_copy_only=False), dtype=np.float64)
    return values if bool(np.isfinite(values).all()) else None


def filled_floats(col: Any, n: int) -> np.ndarray:
    """An optional numeric column with nulls and NaN as 0 (``fillna(0)``); zeros if absent."""
    if col is None:
        return np.zeros(n)
    values = np.array(one_chunk(col).to_numpy(zero_copy_only=False), dtype=np.float64)
    values[np.isnan(values)] = 0.0
    return values


def plain_ts(col: Any) -> np.ndarray | None:
    """A timestamp column without nulls as int64 ns UTC (the stored values; naive ones are
    taken as UTC, as the pandas path does)."""
    if not pa.types.is_timestamp(col.type) or col.null_count:
        return None
    try:
        col = one_chunk(col.cast(pa.timestamp("ns", tz=col.type.tz)))
    except pa.ArrowInvalid:
        return None
    return np.array(col.view(pa.int64()).to_numpy(zero_copy_only=False), dtype=np.int64)


def symbol_codes(df: pd.DataFrame, symbol: str | None) -> tuple[list[str], np.ndarray]:
    if "symbol" in df.columns:
        codes, uniques = pd.factorize(df["symbol"].astype(str), sort=True)
        return [str(u) for u in uniques], codes.astype(np.int64)
    return [symbol or "ASSET"], np.zeros(len(df), dtype=np.int64)


def quote_arrays(df: pd.DataFrame) -> tuple[np.ndarray, ...]:
    bid, ask = floats(df, "bid"), floats(df, "ask")
    crossed = np.flatnonzero(ask < bid)
    if crossed.size:
        raise DataFormatError(f"{crossed.size} quotes with ask < bid (first at row {crossed[0]})",
                              field="ask", hint="clean the data (the lake quarantines these)")
    size = np.zeros_like(bid)
    if "ask_size" in df.columns:
        size = pd.to_numeric(df["ask_size"], errors="coerce").fillna(0).to_numpy(np.float64)
    return bid, bid, bid, bid, size, ask - bid


def bar_arrays(df: pd.DataFrame) -> tuple[np.ndarray, ...]:
    o, h, lo, c = (floats(df, n) for n in BAR_COLS)
    bad = np.flatnonzero((h < np.maximum(o, c)) | (lo > np.minimum(o, c)))
    if bad.size:
        raise DataFormatError(f"{bad.size} bars with high/low not enclosing open/close "
                              f"(first at row {bad[0]})", field="high",
                              hint="fix the bars or rebuild them from ticks")
    v = np.zeros_like(o)
    if "volume" in df.columns:
        v = pd.to_numeric(df["volume"], errors="coerce").fillna(0).to_numpy(np.float64)
    sp = np.zeros_like(o)
    if "spread" in df.columns:
        sp = floats(df, "spread")
    return o, h, lo, c, v, sp
