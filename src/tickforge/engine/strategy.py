"""User strategies: a Python :class:`Strategy` class (callbacks, order methods) and
``@compiled_strategy`` for numba functions. Both drive the same core as the built-ins.

Python path, per event: the core processes the event (fills of earlier orders at this event's
prices, marks, margin), then ``on_bar`` / ``on_quote`` sees it and may place orders, which act
from the next event (or at this bar's close with ``fill_on="close"``); ``on_fill`` is called
for every fill, after the core processed the event.

That is what every callback sees, but the core does not stop after each event: it runs ahead
over spans of events (:class:`PythonRunner`, :mod:`tickforge.engine.callback_nb`). Within a
span no position, cash or fill changes except at its last event, so ``position()`` and
``cash`` are exact without stopping; an order method, ``equity`` or ``book`` rewinds the core
to the callback's event (exact, but it ends the span: a strategy that does so on every event
runs at one core call per event, as before).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from itertools import chain, islice, repeat
from typing import Any, ClassVar, NamedTuple

import numpy as np
from numba import njit, typeof

from tickforge.config import BacktestConfig
from tickforge.engine import callback_nb, nb
from tickforge.engine.broker import TIFS, Book, book_for_chunk
from tickforge.engine.data import Events
from tickforge.engine.result import Result
from tickforge.errors import ConfigError
from tickforge.progress import ProgressFn


class Bar(NamedTuple):
    ts: int  # ns UTC
    symbol: str
    open: float
    high: float
    low: float
    close: float
    volume: float
    i: int  # event index in the run


class Quote(NamedTuple):
    ts: int
    symbol: str
    bid: float
    ask: float
    i: int


class Fill(NamedTuple):
    order_id: int
    symbol: str
    size: float  # signed units filled by this fill
    price: float  # average price of this fill
    ts: int


class Strategy:
    """Subclass and override ``on_start``, ``on_bar`` (bars) / ``on_quote`` (quotes) and
    ``on_fill``. Sizes are units (signed: + buy, - sell) unless a method says otherwise;
    ``symbol`` defaults to the event's symbol. Parameters passed to ``backtest(..., params)``
    are in ``self.params``."""

    name = "custom"
    defaults: ClassVar[dict[str, Any]] = {}

    # run state, set by the runner (class defaults, so a subclass's __init__ need not call ours)
    _book: Book | None = None
    _now: tuple[Any, ...] | None = None  # the Bar / Quote being handled
    _state: tuple[np.ndarray, ...] | None = None  # arrays position() and cash read
    _runner: Any = None
    _index: dict[str, int] | None = None  # symbol name -> index in the book, once per run

    def __init__(self, **params: Any) -> None:
        self.params = {**self.defaults, **params}

    # ------------------------------------------------------------ callbacks

    def on_start(self) -> None:
        """Called once before the first event."""

    def on_bar(self, bar: Bar) -> None:
        """Called after each bar is processed."""

    def on_quote(self, quote: Quote) -> None:
        """Called after each quote is processed."""

    def on_fill(self, fill: Fill) -> None:
        """Called for each fill."""

    # ------------------------------------------------------------ state

    @property
    def book(self) -> Book:
        """The run's arrays, exactly as after the current event."""
        self._sync()
        return self._live()

    def _live(self) -> Book:
        if self._book is None:
            raise ConfigError("the strategy is not running", hint="call it through backtest()")
        return self._book

    def _sync(self) -> None:
        """Bring the book to the current event (the core may have run ahead)."""
        if self._runner is not None:
            self._runner.sync()

    @property
    def _ts(self) -> int:
        return 0 if self._now is None else int(self._now[0])

    def _symbols(self) -> dict[str, int]:
        """Symbol name -> index in the book. The runner sets it when the run starts, so order
        methods look a name up instead of searching the symbol list; made here otherwise."""
        index = self._index = symbol_index(self._live().symbols)
        return index

    @property
    def _sym(self) -> int:
        """Index of the current event's symbol (0 before the first event)."""
        return self._s(None)

    def _s(self, symbol: str | None) -> int:
        index = self._index or self._symbols()
        if symbol is None:
            now = self._now
            return 0 if now is None or len(index) == 1 else index[now[1]]
        try:
            return index[symbol]
        except KeyError:
            raise ConfigError(f"unknown symbol '{symbol}'", field="symbol",
                              hint=f"one of {list(index)}") from None

    def _arrays(self) -> tuple[np.ndarray, ...]:
        return self._live().arrays if self._state is None else self._state

    def position(self, symbol: str | None = None) -> float:
        return float(self._arrays()[2][self._s(symbol), nb.P_QTY])

    @property
    def equity(self) -> float:
        return self.book.equity()

    @property
    def cash(self) -> float:
        return float(self._arrays()[0][nb.A_CASH])

    # ------------------------------------------------------------ orders

    def _submit(self, kind: int, size: float, symbol: str | None, limit: float = math.nan,
                stop: float = math.nan, trail: float = math.nan, tif: str = "GTC",
                parent: int = -1, oco: int = -1) -> int:
        if not size or not math.isfinite(size):
            raise ConfigError(f"order size must be a non-zero number, got {size}", field="size")
        if tif not in TIFS:
            raise ConfigError(f"unknown time in force '{tif}'", field="tif",
                              hint=f"one of {', '.join(TIFS)}")
        return int(nb.submit(self._room().arrays, self._s(symbol), kind, math.copysign(1.0, size),
                             abs(size), limit, stop, trail, TIFS.index(tif), parent, oco, 0,
                             self._ts))

    def _room(self) -> Book:
        """The exact book, with room for new orders."""
        book = self.book
        while not nb.has_room(book.arrays):
            book.grow()
        return book

    def buy(self, size: float, symbol: str | None = None, tif: str = "GTC") -> int:
        return self._submit(nb.K_MARKET, abs(size), symbol, tif=tif)

    def sell(self, size: float, symbol: str | None = None, tif: str = "GTC") -> int:
        return self._submit(nb.K_MARKET, -abs(size), symbol, tif=tif)

    def market(self, size: float, symbol: str | None = None, tif: str = "GTC") -> int:
        return self._submit(nb.K_MARKET, size, symbol, tif=tif)

    def limit(self, size: float, price: float, symbol: str | None = None,
              tif: str = "GTC") -> int:
        return self._submit(nb.K_LIMIT, size, symbol, limit=price, tif=tif)

    def stop(self, size: float, price: float, symbol: str | None = None,
             tif: str = "GTC") -> int:
        return self._submit(nb.K_STOP, size, symbol, stop=price, tif=tif)

    def stop_limit(self, size: float, stop: float, limit: float, symbol: str | None = None,
                   tif: str = "GTC") -> int:
        return self._submit(nb.K_STOP_LIMIT, size, symbol, limit=limit, stop=stop, tif=tif)

    def trailing_stop(self, size: float, distance: float, symbol: str | None = None,
                      tif: str = "GTC") -> int:
        return self._submit(nb.K_TRAIL, size, symbol, trail=distance, tif=tif)

    def bracket(self, size: float, take_profit: float, stop_loss: float,
                limit: float | None = None, symbol: str | None = None) -> int:
        """Entry (market, or limit if given) with a take-profit limit and a stop-loss stop
        that become active once the entry fills, as one-cancels-other."""
        kind = nb.K_MARKET if limit is None else nb.K_LIMIT
        entry = self._submit(kind, size, symbol, limit=math.nan if limit is None else limit)
        self._submit(nb.K_LIMIT, -size, symbol, limit=take_profit, parent=entry, oco=entry)
        self._submit(nb.K_STOP, -size, symbol, stop=stop_loss, parent=entry, oco=entry)
        return entry

    def target(self, value: float, mode: str = "units", symbol: str | None = None) -> int:
        """Target position: ``value`` units, or with ``mode="equity"`` a signed fraction of
        equity (x leverage). Same orders as the built-in strategies place."""
        if mode not in ("units", "equity"):
            raise ConfigError(f"unknown target mode '{mode}'", field="mode",
                              hint="units or equity")
        tmode = nb.TM_UNITS if mode == "units" else nb.TM_EQUITY
        return int(nb.submit_target(self._room().arrays, self._s(symbol), float(value), tmode,
                                    self._ts))

    def close(self, symbol: str | None = None) -> int:
        return self.target(0.0, "units", symbol)

    def cancel(self, order_id: int) -> bool:
        return bool(nb.cancel(self.book.arrays, order_id, self._ts))

    def replace(self, order_id: int, size: float | None = None, limit: float | None = None,
                stop: float | None = None) -> bool:
        nan = math.nan
        return bool(nb.replace(self.book.arrays, order_id, nan if size is None else abs(size),
                               nan if limit is None else limit, nan if stop is None else stop,
                               self._ts))


def symbol_index(symbols: list[str]) -> dict[str, int]:
    return {name: k for k, name in enumerate(symbols)}


# ---------------------------------------------------------------- compiled user functions


class CompiledStrategy:
    """A numba function ``fn(i, ev, book, params) -> target`` (NaN: no new target) run by the
    core loop itself; ``ev`` = (ts, sym, open, high, low, close, volume, spread) arrays,
    ``params`` a float64 array. ``target_mode`` is "units" or "equity"."""

    def __init__(self, fn: Callable[..., float], target_mode: str = "units",
                 name: str | None = None) -> None:
        self.fn = fn if hasattr(fn, "py_func") else njit(fn)
        self.target_mode = nb.TM_UNITS if target_mode == "units" else nb.TM_EQUITY
        self.name = name or getattr(fn, "__name__", "compiled")


def compiled_strategy(fn: Callable[..., float] | None = None, *, target_mode: str = "units",
                      name: str | None = None) -> Any:
    """Decorator: ``@compiled_strategy`` or ``@compiled_strategy(target_mode="equity")``."""
    if fn is None:
        return lambda f: CompiledStrategy(f, target_mode, name)
    return CompiledStrategy(fn, target_mode, name)


# ---------------------------------------------------------------- running them


def run_custom(config: BacktestConfig, strategy: Any, data: Any,
               progress: ProgressFn) -> Result:
    from tickforge.engine.run import event_chunks, finish_result

    chunks, total = event_chunks(config, data)
    t0 = time.perf_counter()
    runner = make_runner(config, strategy, total)
    done = 0
    for events in chunks:
        if len(events):
            runner.chunk(events)
            done += len(events)
            progress(done, total)
    return finish_result(config, runner.book, done, time.perf_counter() - t0, runner.kind)


def make_runner(config: BacktestConfig, strategy: Any, total: int | None = None) -> Any:
    if isinstance(strategy, CompiledStrategy):
        return CompiledRunner(config, strategy, total)
    if isinstance(strategy, type) and issubclass(strategy, Strategy):
        strategy = strategy(**config.params)
    if isinstance(strategy, Strategy):
        return PythonRunner(config, strategy, total)
    raise ConfigError(f"cannot run strategy {strategy!r}", field="strategy",
                      hint="a built-in name, a Strategy subclass or a @compiled_strategy")


class CompiledRunner:
    def __init__(self, config: BacktestConfig, strategy: CompiledStrategy,
                 total: int | None = None) -> None:
        self.config = config
        self.strategy = strategy
        self.total = total
        self.book: Book | None = None
        self.kind = "bars"
        values = [float(v) for v in config.params.values()]
        self.params = np.array(values, dtype=np.float64)

    def chunk(self, events: Events) -> None:
        from tickforge.engine.run import execute

        if self.book is None:
            self.kind = events.kind
        self.book = book = book_for_chunk(self.book, self.config, events, self.total)
        fn, ev = self.strategy.fn, events.as_tuple()
        execute(book, events, lambda i0, i1: nb.run_callback(
            book.arrays, ev, fn, self.params, self.strategy.target_mode, i0, i1))


def snapshot_for(book: tuple[np.ndarray, ...]) -> callback_nb.Snap:
    """Buffers for :func:`callback_nb.save` sized for ``book`` (as many order rows as its
    tables)."""
    return tuple(np.empty_like(book[x]) for x in range(6))


def entry_point(dispatcher: Any, *args: Any) -> Callable[..., Any]:
    """The compiled function for these argument types, called without the dispatcher's
    per-call type resolution (about 2/3 of a call's cost with a book of 12 arrays)."""
    return dispatcher.compile(tuple(typeof(a) for a in args))


PIECE = 2_048  # events whose Bar / Quote fields are made Python values at once
SPAN_MAX = 8_192  # most events the core runs ahead of the callbacks


class PythonRunner:
    """Runs a :class:`Strategy`. The core runs ahead of the callbacks over spans of events
    (:mod:`tickforge.engine.callback_nb`); a callback that asks for the exact book (an order
    method, ``equity``, ``book``) rewinds it to its event and ends the span there, so every
    callback sees what one core call per event would show.

    Span length: the larger of the events since the last such request and half the usual
    distance between requests, so a strategy that asks rarely gets long spans and one that
    asks every event or two runs one event at a time (``nb.py_step``), without saves or
    rewinds."""

    def __init__(self, config: BacktestConfig, strategy: Strategy,
                 total: int | None = None) -> None:
        self.config = config
        self.strategy = strategy
        self.total = total
        self.book: Book | None = None
        self.kind = "bars"
        self.close_fill = config.fill_on == "close"
        self.seen_fills = 0.0
        self.filled: dict[int, tuple[float, float]] = {}
        self.callback: Callable[[Any], None] = strategy.on_bar
        self.ev: tuple[np.ndarray, ...] = ()
        self.snap: callback_nb.Snap = ()
        self.kernel: Callable[..., int] = callback_nb.run_ahead
        self.step: Callable[..., tuple[float, float]] = nb.py_step
        self.span = 1
        self.last_sync = -1  # run-wide index of the last event whose callback synced
        self.gap = 64.0  # running mean of the events between syncs
        self.ahead = False  # the book is past the event whose callback runs
        self.start = 0  # first event of the span: where the saved state stands
        self.offset = 0  # events in earlier chunks

    def chunk(self, events: Events) -> None:
        if self.book is None:
            self.begin(events)
        self.book = book_for_chunk(self.book, self.config, events, self.total)
        self.ev = ev = events.as_tuple()
        self.kernel = entry_point(callback_nb.run_ahead, self.book.arrays, ev, self.snap, 0, 0,
                                  False)
        self.step = entry_point(nb.py_step, self.book.arrays, ev, 0)
        items, i, n = self.items(events), 0, len(events)
        while i < n:
            if self.span == 1:
                i = self.one_by_one(items, i, n)
            else:
                j = self.advance(i, min(i + self.span, n))
                i = self.callbacks(items, i, j) if j > i else self.grow(i)
            self.span = self.span_at(i)
        self.offset += n

    def span_at(self, i: int) -> int:
        quiet = i + self.offset - self.last_sync - 1  # events since the last sync
        return max(1, min(max(quiet, int(self.gap / 2)), SPAN_MAX))

    def begin(self, events: Events) -> None:
        self.kind = events.kind
        self.book = book_for_chunk(None, self.config, events, self.total)
        self.snap = snapshot_for(self.book.arrays)
        strat = self.strategy
        self.callback = strat.on_bar if events.kind == "bars" else strat.on_quote
        strat._book, strat._runner, strat._now, strat._state = self.book, self, None, None
        strat._index = symbol_index(self.book.symbols)
        strat.on_start()

    def one_by_one(self, items: Iterator[Any], i: int, n: int) -> int:
        """Events one at a time (the core, fills, the callback), while callbacks ask for the
        book at least every other event (while :meth:`span_at` stays 1)."""
        assert self.book is not None
        book, ev, step, strat, call = self.book, self.ev, self.step, self.strategy, self.callback
        while i < n:
            low, fills = step(book.arrays, ev, i)
            if low < 0:
                book.grow()
                continue
            item = next(items)
            if fills != self.seen_fills:
                self.report_fills(item[0], int(low))
            strat._now = item
            call(item)
            if self.close_fill:
                self.fill_at_close(i, item[0])
            i += 1
            if item[-1] - self.last_sync > 1 or self.gap >= 4:  # span_at(i) > 1
                break
        return i

    def advance(self, i: int, i1: int) -> int:
        """The core over events ``i..`` (at most ``i1``), the state at ``i`` saved."""
        assert self.book is not None
        arrays = self.book.arrays
        if self.snap[4].shape[0] != arrays[4].shape[0]:  # the orders table grew
            self.snap = snapshot_for(arrays)
        self.start = i
        return int(self.kernel(arrays, self.ev, self.snap, i, i1, False))

    def grow(self, i: int) -> int:
        assert self.book is not None
        self.book.grow()
        return i

    def callbacks(self, items: Iterator[Any], i: int, j: int) -> int:
        """Callbacks of events ``i..j-1``, which the core has processed; returns the next
        event for the core. Before the last event, position and cash are the saved ones."""
        strat, call = self.strategy, self.callback
        if j - i > 1:
            self.ahead = True
            strat._state = self.snap
            for item in islice(items, j - 1 - i):
                strat._now = item
                call(item)
                if not self.ahead:  # it synced: the book is now after this event
                    return self.after(item)
            self.ahead = False
            strat._state = None
        item = next(items)
        self.report_new_fills(item[0])
        strat._now = item
        call(item)
        return self.after(item)

    def sync(self) -> None:
        """A callback needs the exact book: the core again from the span's start up to the
        callback's event."""
        now = self.strategy._now
        if now is None:
            return
        if now[-1] != self.last_sync:
            self.gap += (now[-1] - self.last_sync - self.gap) / 4
            self.last_sync = now[-1]
        if self.ahead:
            assert self.book is not None
            self.ahead = False
            self.strategy._state = None
            k = int(now[-1]) - self.offset + 1
            done = self.kernel(self.book.arrays, self.ev, self.snap, self.start, k, True)
            assert done == k, "the rewound core did not reach the callback's event"

    def after(self, item: tuple[Any, ...]) -> int:
        """After an event's callback: fills at its close if asked; the next event."""
        i = int(item[-1]) - self.offset
        if self.close_fill:
            self.fill_at_close(i, item[0])
        return i + 1

    def report_new_fills(self, ts: int) -> None:
        """Report fills of the span's last event (the low mark: the span's start)."""
        assert self.book is not None
        if self.book.acct[nb.A_NFILL] != self.seen_fills:
            self.report_fills(ts, int(self.snap[0][nb.A_LOW]))

    def fill_at_close(self, i: int, ts: int) -> None:
        assert self.book is not None
        low = int(self.book.acct[nb.A_LOW])
        nb.close_fill(self.book.arrays, self.ev, i)
        if self.book.acct[nb.A_NFILL] != self.seen_fills:
            self.report_fills(ts, low)

    def items(self, e: Events) -> Iterator[Any]:
        """The chunk's Bar / Quote objects, made one at a time (none kept alive: no
        garbage-collector passes over them) from Python values made :data:`PIECE` events at
        a time (lists that stay in the CPU cache)."""
        make = Bar if e.kind == "bars" else Quote
        rows = chain.from_iterable(self.rows(e, a, min(a + PIECE, len(e)))
                                   for a in range(0, len(e), PIECE))
        return map(tuple.__new__, repeat(make), rows)

    def rows(self, e: Events, a: int, b: int) -> Iterator[tuple[Any, ...]]:
        """Fields of the Bar / Quote of events ``a..b`` as Python values."""
        cut = slice(a, b)
        if len(e.symbols) == 1:
            names = [e.symbols[0]] * (b - a)
        else:
            names = np.asarray(e.symbols, dtype=object)[e.sym[cut]].tolist()
        index = range(self.offset + a, self.offset + b)
        if e.kind == "bars":
            return zip(e.ts[cut].tolist(), names, e.o[cut].tolist(), e.h[cut].tolist(),
                       e.low[cut].tolist(), e.c[cut].tolist(), e.v[cut].tolist(), index,
                       strict=True)
        return zip(e.ts[cut].tolist(), names, e.c[cut].tolist(),
                   (e.c[cut] + e.sp[cut]).tolist(), index, strict=True)

    def report_fills(self, ts: int, low: int) -> None:
        """Call ``on_fill`` for every order whose filled size grew (orders from ``low``, the
        low mark before the events just processed: no earlier one has an unreported fill)."""
        assert self.book is not None
        book = self.book
        acct, orders = book.arrays[0], book.arrays[4]
        self.seen_fills = float(acct[nb.A_NFILL])
        for j in np.flatnonzero(orders[low:int(acct[nb.A_NORD]), nb.O_FILLED]).tolist():
            k = low + j
            before, avg_before = self.filled.get(k, (0.0, 0.0))
            row = orders[k].tolist()
            now, avg = row[nb.O_FILLED], row[nb.O_AVG]
            if now > before:
                self.filled[k] = (now, avg)
                price = (avg * now - avg_before * before) / (now - before)
                self.strategy.on_fill(Fill(k, book.symbols[int(row[nb.O_SYM])],
                                           row[nb.O_SIDE] * (now - before), price, ts))
