"""Coverage of the lake: per dataset / symbol / timeframe, the time range, row counts and
the *gaps*: missing trading periods longer than a threshold.

A gap is the time between two consecutive rows (after the end of the first bar) that the
market was open. For FX pairs and metals the weekly close, Friday 17:00 to Sunday 17:00
New York time, is not trading time (crypto and everything else trade around the clock).
Only the ``ts`` column is read, one partition at a time; results are cached per process
under the lake's footer summary of the symbol (rows, files, bytes, range), so they are
recomputed only when the data changes.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from tickforge.data.bars import parse_timeframe

NS = 1_000_000_000
NEW_YORK = ZoneInfo("America/New_York")
CURRENCIES = frozenset((
    "USD", "EUR", "JPY", "GBP", "CHF", "AUD", "NZD", "CAD", "SEK", "NOK", "DKK", "PLN", "CZK",
    "HUF", "TRY", "ZAR", "MXN", "SGD", "HKD", "CNH", "RUB", "ILS", "THB", "RON", "XAU", "XAG"))
MAX_LISTED = 100
_cache: dict[tuple[Any, ...], dict[str, Any]] = {}
_lock = threading.Lock()


def is_fx(symbol: str) -> bool:
    sym = "".join(c for c in symbol.upper() if c.isalpha())
    return len(sym) == 6 and sym[:3] in CURRENCIES and sym[3:] in CURRENCIES


def weekend_closures(t0: int, t1: int) -> list[tuple[int, int]]:
    """FX weekly closures (Fri 17:00 -> Sun 17:00 New York) overlapping ``(t0, t1)``, ns."""
    day = datetime.fromtimestamp(t0 / NS, NEW_YORK).date() - timedelta(days=7)
    end = datetime.fromtimestamp(t1 / NS, NEW_YORK).date() + timedelta(days=1)
    out = []
    friday = day + timedelta(days=(4 - day.weekday()) % 7)
    while friday <= end:
        close = datetime(friday.year, friday.month, friday.day, 17, tzinfo=NEW_YORK)
        sunday = friday + timedelta(days=2)
        reopen = datetime(sunday.year, sunday.month, sunday.day, 17, tzinfo=NEW_YORK)
        lo, hi = int(close.timestamp()) * NS, int(reopen.timestamp()) * NS
        if hi > t0 and lo < t1:
            out.append((lo, hi))
        friday += timedelta(days=7)
    return out


def open_time(t0: int, t1: int, fx: bool) -> int:
    """Nanoseconds of trading time in ``(t0, t1)``."""
    total = t1 - t0
    if fx:
        for lo, hi in weekend_closures(t0, t1):
            total -= min(hi, t1) - max(lo, t0)
    return max(total, 0)


def find_gaps(ts: np.ndarray, step: int, threshold: int, fx: bool) -> list[tuple[int, int, int]]:
    """(start, end, open ns) of each gap longer than ``threshold`` in sorted ``ts``."""
    if ts.size < 2:
        return []
    ends = ts[:-1] + step
    raw = ts[1:] - ends
    out = []
    for k in np.flatnonzero(raw > threshold):  # few candidates; the calendar is per gap
        missing = open_time(int(ends[k]), int(ts[k + 1]), fx)
        if missing > threshold:
            out.append((int(ends[k]), int(ts[k + 1]), missing))
    return out


def timestamps(lake: Any, dataset: str, symbol: str, timeframe: str | None) -> np.ndarray:
    """All ``ts`` of a symbol, sorted, ns (only that column is read)."""
    parts = []
    for path in lake.partitions(dataset, symbol, None, None, timeframe):
        for info in lake.data_files(path):
            col = pq.read_table(info.path, columns=["ts"], filesystem=lake.fs).column("ts")
            if pa.types.is_timestamp(col.type):
                col = col.cast(pa.timestamp("ns", tz="UTC")).cast(pa.int64())
            parts.append(np.asarray(col.to_numpy(), dtype=np.int64))
    ts = np.concatenate(parts) if parts else np.empty(0, np.int64)
    return np.sort(ts, kind="stable")


def _source(lake: Any, dataset: str, symbol: str, timeframe: str
            ) -> tuple[tuple[Any, str, str | None], int]:
    """Where to read timestamps from, and the bar width. Quotes use their 1-minute bars
    when present (minute resolution, ~1000x fewer rows than ticks)."""
    if dataset == "quotes" and "1min" in lake.timeframes(symbol):
        return ("bars", symbol, "1min"), 60 * NS
    if dataset == "bars":
        tf = parse_timeframe(timeframe)
        return (dataset, symbol, timeframe), tf.step_ns if tf.kind == "time" else 0
    return (dataset, symbol, None), 0


def iso(ns: int) -> str:
    return datetime.fromtimestamp(ns / NS, UTC).isoformat()


def gap_summary(lake: Any, dataset: str, key: str, entry: dict[str, Any],
                threshold_s: float) -> dict[str, Any]:
    """Gap figures of one lake info entry (cached while the entry is unchanged)."""
    symbol, _, timeframe = key.partition("/")
    cache_key = (lake.uri, dataset, key, threshold_s, tuple(sorted(
        (k, v) for k, v in entry.items() if not isinstance(v, dict | list))))
    with _lock:
        if cache_key in _cache:
            return _cache[cache_key]
    source, step = _source(lake, dataset, symbol, timeframe)
    ts = timestamps(lake, *source)
    gaps = find_gaps(ts, step, int(threshold_s * NS), is_fx(symbol))
    out = {"gaps": len(gaps), "gap_seconds": sum(g[2] for g in gaps) / NS,
           "gap_threshold_seconds": threshold_s, "weekends_excluded": is_fx(symbol),
           "gaps_from": "/".join(s for s in (source[0], source[2]) if s),
           "gap_list": [{"start": iso(a), "end": iso(b), "seconds": m / NS}
                        for a, b, m in gaps[:MAX_LISTED]]}
    with _lock:
        _cache[cache_key] = out
    return out


def coverage(lake: Any, threshold_s: float) -> list[dict[str, Any]]:
    """One flat row per (dataset, symbol[, timeframe]): range, rows, files, bytes, gaps."""
    info = lake.info()
    rows = []
    for dataset in ("quotes", "trades", "bars"):
        for key, entry in info["datasets"].get(dataset, {}).get("symbols", {}).items():
            symbol, _, timeframe = key.partition("/")
            gaps = gap_summary(lake, dataset, key, entry, threshold_s)
            rows.append({"dataset": dataset, "symbol": symbol, "timeframe": timeframe or None,
                         **{k: entry.get(k) for k in ("rows", "files", "bytes", "start", "end")},
                         **gaps})
    return rows
