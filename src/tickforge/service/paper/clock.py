"""The replay clock: feed time = start + (wall time - anchor) * speed, kept in the
``feed_state`` row so API processes and tests agree on it."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

from tickforge.service.db.models import FeedState
from tickforge.service.db.session import Database, as_utc
from tickforge.service.paper.feed import to_datetime, to_ns


class ReplayClock:
    def __init__(self, db: Database, default_start: datetime | None, speed: float,
                 cache_seconds: float = 0.5) -> None:
        self.db, self.default_start, self.default_speed = db, default_start, speed
        self.cache_seconds = cache_seconds
        self._cached: tuple[float, int, float, float] | None = None  # at, start_ns, speed, anchor
        self._lock = threading.Lock()

    def _load(self) -> tuple[int, float, float] | None:
        with self.db.read() as session:
            row = session.get(FeedState, 1)
            if row is None:
                return None
            start, anchor = as_utc(row.start), as_utc(row.anchor)
            assert start is not None and anchor is not None
            return to_ns(start), row.speed, anchor.timestamp()

    def set(self, start: datetime, speed: float) -> None:
        with self.db.write() as session:
            row = session.get(FeedState, 1)
            anchor = datetime.now(UTC)
            if row is None:
                session.add(FeedState(id=1, start=start, speed=speed, anchor=anchor))
            else:
                row.start, row.speed, row.anchor = start, speed, anchor
        with self._lock:
            self._cached = None

    def state(self) -> tuple[int, float, float] | None:
        with self._lock:
            cached = self._cached
        if cached and time.monotonic() - cached[0] < self.cache_seconds:
            return cached[1], cached[2], cached[3]
        loaded = self._load()
        if loaded is None and self.default_start is not None:
            self.set(self.default_start, self.default_speed)
            loaded = self._load()
        if loaded is not None:
            with self._lock:
                self._cached = (time.monotonic(), *loaded)
        return loaded

    def now_ns(self) -> int | None:
        state = self.state()
        if state is None:
            return None
        start_ns, speed, anchor = state
        return start_ns + int((time.time() - anchor) * speed * 1e9)

    def now(self) -> datetime | None:
        ns = self.now_ns()
        return None if ns is None else to_datetime(ns)
