"""Entry points: ``tickforge.backtest(data, strategy, params, **options)`` and
``backtest_from_config(config, progress=None, data=None)``.

Data is cut into chunks; each chunk's signals are computed by the strategy (state carried
over) and executed by the numba core (book carried over), so a run over the lake reads one
partition at a time and holds only the book and one chunk in memory.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np
import pandas as pd
from pydantic import ValidationError

from tickforge.config import BacktestConfig
from tickforge.engine import nb
from tickforge.engine.broker import Book, book_for_chunk, repeat_label
from tickforge.engine.data import Events, events_from_frame, lake_frame
from tickforge.engine.result import Result
from tickforge.engine.sizing import size_mode, targets_from_signals
from tickforge.engine.stream import merge_streams
from tickforge.errors import ConfigError, DataFormatError
from tickforge.progress import ProgressFn, no_progress
from tickforge.strategies import BuiltinStrategy, State, get_strategy

CHUNK = 4_000_000
FIELDS = set(BacktestConfig.model_fields)


# ---------------------------------------------------------------- public API


def backtest(data: Any, strategy: Any = "sma_cross", params: dict[str, Any] | None = None,
             progress: ProgressFn | None = None, **options: Any) -> Result:
    """Backtest ``strategy`` (a built-in name, a :class:`~tickforge.engine.strategy.Strategy`
    subclass or a ``@compiled_strategy``) on ``data`` (pandas / Polars / Arrow table or a
    Lake selection). ``options`` are :class:`BacktestConfig` fields (cash, commission, ...);
    anything else goes to ``BacktestConfig.options`` (size_mode, size, equity_every, ...)."""
    name = strategy if isinstance(strategy, str) else getattr(strategy, "name", "custom")
    config = make_config(str(name), params or {}, options)
    if isinstance(strategy, str):
        return backtest_from_config(config, progress=progress, data=data)
    from tickforge.engine.strategy import run_custom

    return run_custom(config, strategy, data, progress or no_progress)


def make_config(name: str, params: dict[str, Any], options: dict[str, Any]) -> BacktestConfig:
    known = {k: v for k, v in options.items() if k in FIELDS}
    extra = {k: v for k, v in options.items() if k not in FIELDS}
    known["options"] = {**known.get("options", {}), **extra}
    try:
        return BacktestConfig(strategy=name, params=params, **known)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join(str(p) for p in first["loc"])
        raise ConfigError(first["msg"], field=loc or None,
                          hint="see BacktestConfig for valid options") from exc


def backtest_from_config(config: BacktestConfig, progress: ProgressFn | None = None,
                         data: Any = None) -> Result:
    """Run a built-in strategy as described by ``config`` on ``data`` or the lake."""
    strategy = get_strategy(config.strategy)
    params = strategy.validate(config.params)
    chunks, total = event_chunks(config, data)
    runner = TargetRunner(config, strategy, params)
    return runner.run(chunks, total, progress or no_progress)


# ---------------------------------------------------------------- data


def event_chunks(config: BacktestConfig, data: Any) -> tuple[Iterator[Events], int | None]:
    """Chunks of events (time-sorted) and the total count if known."""
    if data is None:
        return lake_chunks(config)
    if isinstance(data, Events):
        events = data
    else:
        symbol = config.symbols[0] if len(config.symbols) == 1 else None
        events = events_from_frame(data, symbol)
    events = clip(events, config)
    return split(events, CHUNK), len(events)


def clip(events: Events, config: BacktestConfig) -> Events:
    lo, hi = 0, len(events)
    if config.start is not None:
        lo = int(np.searchsorted(events.ts, to_ns(config.start), side="left"))
    if config.end is not None:
        hi = int(np.searchsorted(events.ts, to_ns(config.end), side="left"))
    return events.slice(lo, hi) if (lo, hi) != (0, len(events)) else events


def to_ns(when: Any) -> int:
    stamp = pd.Timestamp(when)
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    return int(stamp.value)


def split(events: Events, size: int) -> Iterator[Events]:
    for start in range(0, max(len(events), 1), size):
        yield events.slice(start, start + size)


def lake_chunks(config: BacktestConfig) -> tuple[Iterator[Events], int | None]:
    """Read the lake one partition at a time: one symbol's quotes as they are, several
    symbols merged in time order (:mod:`tickforge.engine.stream`); one symbol's bars (a few
    rows per partition-year) all at once."""
    if not config.lake or not config.symbols:
        raise ConfigError("no data: give data or a lake and at least one symbol",
                          field="lake" if not config.lake else "symbols",
                          hint="e.g. --lake lake/ --symbol EURUSD")
    from tickforge.data.lake import Lake

    lake = Lake(config.lake)
    if len(config.symbols) > 1:
        names = sorted(config.symbols)  # as for a table with a symbol column
        streams = [symbol_events(lake, config, s) for s in config.symbols]
        codes = [names.index(s) for s in config.symbols]
        return prefetch(first_or_fail(merge_streams(streams, codes, names))), None
    if config.timeframe == "ticks":
        return prefetch(symbol_events(lake, config, config.symbols[0])), None
    frame = lake_frame(config.lake, config.symbols, config.timeframe, config.start, config.end)
    events = events_from_frame(frame, config.symbols[0])
    return split(events, CHUNK), len(events)


def symbol_events(lake: Any, config: BacktestConfig, symbol: str) -> Iterator[Events]:
    """One symbol's events from the lake, one partition at a time."""
    if config.timeframe == "ticks":
        parts = lake.iter_quotes(symbol, config.start, config.end,
                                 columns=["ts", "bid", "ask", "ask_size"])  # bid_size unused
    else:
        parts = lake.iter_bars(symbol, config.timeframe, config.start, config.end)
    return (events_from_frame(p, symbol) for p in parts if len(p))


def first_or_fail(chunks: Iterator[Events]) -> Iterator[Events]:
    """``chunks``, or the one-line error of an empty selection."""
    first = next(chunks, None)
    if first is None:
        raise DataFormatError("no rows to backtest", hint="check the symbols and the date range")
    yield first
    yield from chunks


def prefetch(items: Iterator[Events], depth: int = 1) -> Iterator[Events]:
    """Produce the next items (read + decode a lake partition) in a background thread while
    the caller runs the kernel on the current one; at most ``depth`` items wait (bounded
    memory). Errors reach the caller in order."""
    import queue
    import threading

    box: queue.Queue[tuple[bool, Any]] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def produce() -> None:
        try:
            for item in items:
                if stop.is_set():
                    return
                box.put((True, item))
            box.put((False, None))
        except BaseException as exc:  # handed to the consumer, raised there
            box.put((False, exc))

    threading.Thread(target=produce, daemon=True, name="tickforge-prefetch").start()
    try:
        while True:
            ok, item = box.get()
            if not ok:
                if item is not None:
                    raise item
                return
            yield item
    finally:
        stop.set()


# ---------------------------------------------------------------- the run


class TargetRunner:
    """Built-in strategy: signals per chunk -> targets -> ``nb.run_targets``."""

    def __init__(self, config: BacktestConfig, strategy: BuiltinStrategy,
                 params: dict[str, Any]) -> None:
        self.config = config
        self.strategy = strategy
        self.params = params
        self.book: Book | None = None
        self.states: dict[int, State] = {}
        self.kind = "bars"

    def run(self, chunks: Iterable[Events], total: int | None, progress: ProgressFn) -> Result:
        t0 = time.perf_counter()
        done = 0
        for events in chunks:
            if not len(events):
                continue
            book = self.book_for(events, total)
            execute(book, events, self.kernel(book, events), done, total)
            done += len(events)
            progress(done, total)
        return finish_result(self.config, self.book, done, time.perf_counter() - t0, self.kind)

    def kernel(self, book: Book, events: Events) -> Any:
        """``(i0, i1) -> next event`` over this chunk: the strategy's fused kernel (signals
        computed inside the execution pass) when it has one and the targets are signal x size,
        else targets for the chunk then ``nb.run_targets``."""
        ev = events.as_tuple()
        fused = self.strategy.fused_fn
        mode, size = size_mode(self.config.options)
        if fused is not None and len(events.symbols) == 1 and mode in ("equity", "units"):
            tmode = nb.TM_UNITS if mode == "units" else nb.TM_EQUITY
            half = 0.0 if events.kind == "bars" else 0.5
            state = self.state(0)
            return lambda i0, i1: fused(book.arrays, ev, half, self.params, state, size, tmode,
                                        i0, i1)
        targets, tmode = self.targets(events)
        return lambda i0, i1: nb.run_targets(book.arrays, ev, targets, tmode, i0, i1)

    def book_for(self, events: Events, total: int | None) -> Book:
        if self.book is None:
            self.kind = events.kind
        self.book = book_for_chunk(self.book, self.config, events, total)
        return self.book

    def targets(self, events: Events) -> tuple[np.ndarray, int]:
        price = events.price()
        ppy = self.config.periods_per_year or 252.0
        if len(events.symbols) == 1:
            sig = self.strategy.signals(price, self.params, self.state(0))
            return targets_from_signals(sig, price, self.config.options, ppy)
        out = np.full(len(events), np.nan)
        tmode = nb.TM_EQUITY
        for s in range(len(events.symbols)):
            idx = np.flatnonzero(events.sym == s)
            sig = self.strategy.signals(price[idx], self.params, self.state(s))
            out[idx], tmode = targets_from_signals(sig, price[idx], self.config.options, ppy)
        return out, tmode

    def state(self, s: int) -> State:
        if s not in self.states:
            self.states[s] = self.strategy.new_state(self.params)
        return self.states[s]


def execute(book: Book, events: Events, kernel: Any, done: int = 0,
            total: int | None = None) -> None:
    """Call ``kernel(i0, i1)`` until the chunk is done, growing tables when they fill (to the
    run's projected need: ``done`` events before this chunk, ``total`` in the run if known)."""
    i, n = 0, len(events)
    total = max(total or 0, done + n)
    while i < n:
        i = int(kernel(i, n))
        if i < n:
            book.grow((done + i) / total)


def finish_result(config: BacktestConfig, book: Book | None, events: int, seconds: float,
                  kind: str) -> Result:
    """Frames and metrics of a finished run."""
    if book is None:
        raise ConfigError("no data in the selected range", field="start",
                          hint="check the symbols and the start/end dates")
    nb.finish(book.arrays)
    metrics = run_metrics(config, book)
    meta = {"events": events, "seconds": round(seconds, 6), "mode": kind,
            "events_per_second": events / seconds if seconds > 0 else 0.0,
            "fees": float(book.acct[nb.A_FEES]), "swap": float(book.acct[nb.A_SWAP]),
            "open_positions": int(np.count_nonzero(book.pos[:, nb.P_QTY]))}
    return Result(config=config, metrics=metrics, meta=meta, source=BookFrames(book))


class BookFrames:
    """A finished book's frames, each built when ``Result`` first asks for it."""

    def __init__(self, book: Book) -> None:
        self.book = book

    def frame(self, name: str, result: Result) -> pd.DataFrame:
        book = self.book
        if name == "equity":
            return book.equity_frame()
        if name == "trades":
            return book.trades_frame()
        if name == "orders":
            return book.orders_frame()
        equity = result.equity  # prices: the benchmark series on the equity rows
        bench = book.arrays[8][: len(equity), nb.E_BENCH].copy()
        return pd.DataFrame({"ts": equity["ts"], "symbol": repeat_label(book.symbols[0],
                                                                         len(equity)),
                             "price": bench}, copy=False)  # ts shared with equity (CoW)


def periods_per_year(config: BacktestConfig, equity_ns: np.ndarray) -> float:
    """The run's annualisation factor: configured, else inferred from the equity rows."""
    from tickforge.engine.metrics import infer_periods_per_year

    if config.periods_per_year is not None:
        return float(config.periods_per_year)
    return infer_periods_per_year(equity_ns)


def run_metrics(config: BacktestConfig, book: Book) -> dict[str, float]:
    """``Result.metrics`` from the book (closed trades only), through the same kernel as the
    sweep batch path (``metrics_nb.book_metrics``)."""
    from tickforge.engine import metrics

    n = int(book.acct[nb.A_NEQ])
    if n == 0:
        return {}
    metrics.check_start(book.arrays[8][:n, nb.E_EQ])
    ppy = metrics.check_ppy(periods_per_year(config, book.arrays[9][:n]))
    return metrics.as_dict(metrics.safe_values(metrics.book_metrics(book.arrays, ppy)))
