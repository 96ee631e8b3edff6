"""Market feeds for paper trading.

A feed answers "what was the quote of SYMBOL at feed time t" and "which quotes came
between t0 and t1". :class:`ReplayFeed` replays the lake: feed time runs from a chosen
``start`` at a chosen ``speed`` (``speed`` 0 freezes it; an admin moves it, which makes
tests deterministic). The clock lives in the database (``feed_state``) so every API
process agrees. A live source only has to implement :class:`Feed`.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

import numpy as np
import pyarrow as pa

from tickforge.service import lakeio

DAY_NS = 86_400 * 1_000_000_000
MAX_SCAN_DAYS = 7


@dataclass(frozen=True)
class Quote:
    symbol: str
    ts: int  # ns UTC
    bid: float
    ask: float

    @property
    def mid(self) -> float:
        return 0.5 * (self.bid + self.ask)

    def as_dict(self) -> dict[str, object]:
        return {"symbol": self.symbol, "ts": to_datetime(self.ts).isoformat(), "bid": self.bid,
                "ask": self.ask}


Arrays = tuple[np.ndarray, np.ndarray, np.ndarray]


class Feed(Protocol):
    def symbols(self) -> list[str]: ...

    def quote(self, symbol: str, at_ns: int) -> Quote | None: ...

    def between(self, symbol: str, after_ns: int, upto_ns: int) -> Arrays: ...


def to_ns(value: datetime) -> int:
    value = value if value.tzinfo else value.replace(tzinfo=UTC)
    delta = value - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1000


def to_datetime(ns: int) -> datetime:
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=ns // 1000)


def _arrays(table: pa.Table) -> Arrays:
    ts = table.column("ts").cast(pa.timestamp("ns", tz="UTC")).cast(pa.int64())
    return (np.asarray(ts.to_numpy()), np.asarray(table.column("bid").to_numpy(), dtype=float),
            np.asarray(table.column("ask").to_numpy(), dtype=float))


EMPTY: Arrays = (np.empty(0, np.int64), np.empty(0), np.empty(0))


class ReplayFeed:
    """Quotes from the lake, loaded one UTC day per symbol at a time (LRU cached)."""

    def __init__(self, lake: str, cache_days: int = 64) -> None:
        self.lake = lake
        self.cache_days = cache_days
        self._days: OrderedDict[tuple[str, int], Arrays] = OrderedDict()
        self._lock = threading.Lock()
        self._symbols: list[str] | None = None

    def symbols(self) -> list[str]:
        if self._symbols is None:
            self._symbols = lakeio.symbols(self.lake, "quotes")
        return self._symbols

    def day(self, symbol: str, day: int) -> Arrays:
        """One UTC day of quotes (the event loop and worker threads share the cache)."""
        key = (symbol, day)
        with self._lock:
            if key in self._days:
                self._days.move_to_end(key)
                return self._days[key]
        start = to_datetime(day * DAY_NS)
        arrays = _arrays(lakeio.quotes(self.lake, symbol, start, start + timedelta(days=1)))
        with self._lock:
            self._days[key] = arrays
            if len(self._days) > self.cache_days:
                self._days.popitem(last=False)
        return arrays

    def quote(self, symbol: str, at_ns: int) -> Quote | None:
        """The last quote at or before ``at_ns`` (today or yesterday), else None."""
        day = at_ns // DAY_NS
        for d in (day, day - 1):
            ts, bid, ask = self.day(symbol, d)
            i = int(np.searchsorted(ts, at_ns, side="right")) - 1
            if i >= 0:
                return Quote(symbol, int(ts[i]), float(bid[i]), float(ask[i]))
        return None

    def between(self, symbol: str, after_ns: int, upto_ns: int) -> Arrays:
        """Quotes with after_ns < ts <= upto_ns (at most the last MAX_SCAN_DAYS days)."""
        if upto_ns <= after_ns:
            return EMPTY
        first = max(after_ns // DAY_NS, upto_ns // DAY_NS - MAX_SCAN_DAYS + 1)
        parts = [self.day(symbol, d) for d in range(first, upto_ns // DAY_NS + 1)]
        ts = np.concatenate([p[0] for p in parts])
        lo = int(np.searchsorted(ts, after_ns, side="right"))
        hi = int(np.searchsorted(ts, upto_ns, side="right"))
        bid = np.concatenate([p[1] for p in parts])
        ask = np.concatenate([p[2] for p in parts])
        return ts[lo:hi], bid[lo:hi], ask[lo:hi]

    def first_ts(self) -> int | None:
        """Earliest quote of the first symbol (reads the ts column of one partition only)."""
        lake = lakeio.require_lake(self.lake)
        for symbol in self.symbols():
            for table in lake.iter_quotes(symbol, None, None, columns=["ts"]):
                if table.num_rows:
                    ts = table.column("ts").slice(0, 1).cast(pa.timestamp("ns", tz="UTC"))
                    return int(ts.cast(pa.int64())[0].as_py())
        return None
