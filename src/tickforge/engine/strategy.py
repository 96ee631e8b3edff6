"""User strategies: a Python :class:`Strategy` class (callbacks, order methods) and
``@compiled_strategy`` for numba functions. Both drive the same core as the built-ins.

Python path, per event: the core processes the event (fills of earlier orders at this event's
prices, marks, margin), then ``on_bar`` / ``on_quote`` sees it and may place orders, which act
from the next event (or at this bar's close with ``fill_on="close"``); ``on_fill`` is called
for every fill, after the core processed the event.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any, ClassVar, NamedTuple

import numpy as np
from numba import njit, typeof

from tickforge.config import BacktestConfig
from tickforge.engine import nb
from tickforge.engine.broker import TIFS, Book
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

    def __init__(self, **params: Any) -> None:
        self.params = {**self.defaults, **params}
        self._book: Book | None = None
        self._ts = 0
        self._sym = 0

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
        if self._book is None:
            raise ConfigError("the strategy is not running", hint="call it through backtest()")
        return self._book

    def _s(self, symbol: str | None) -> int:
        if symbol is None:
            return self._sym
        try:
            return self.book.symbols.index(symbol)
        except ValueError:
            raise ConfigError(f"unknown symbol '{symbol}'", field="symbol",
                              hint=f"one of {self.book.symbols}") from None

    def position(self, symbol: str | None = None) -> float:
        return float(self.book.pos[self._s(symbol), nb.P_QTY])

    @property
    def equity(self) -> float:
        return self.book.equity()

    @property
    def cash(self) -> float:
        return float(self.book.acct[nb.A_CASH])

    # ------------------------------------------------------------ orders

    def _submit(self, kind: int, size: float, symbol: str | None, limit: float = math.nan,
                stop: float = math.nan, trail: float = math.nan, tif: str = "GTC",
                parent: int = -1, oco: int = -1) -> int:
        if not size or not math.isfinite(size):
            raise ConfigError(f"order size must be a non-zero number, got {size}", field="size")
        if tif not in TIFS:
            raise ConfigError(f"unknown time in force '{tif}'", field="tif",
                              hint=f"one of {', '.join(TIFS)}")
        self._room()
        return int(nb.submit(self.book.arrays, self._s(symbol), kind, math.copysign(1.0, size),
                             abs(size), limit, stop, trail, TIFS.index(tif), parent, oco, 0,
                             self._ts))

    def _room(self) -> None:
        while not nb.has_room(self.book.arrays):
            self.book.grow()

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
        self._room()
        tmode = nb.TM_UNITS if mode == "units" else nb.TM_EQUITY
        return int(nb.submit_target(self.book.arrays, self._s(symbol), float(value), tmode,
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
    runner = make_runner(config, strategy)
    done = 0
    for events in chunks:
        if len(events):
            runner.chunk(events)
            done += len(events)
            progress(done, total)
    return finish_result(config, runner.book, done, time.perf_counter() - t0, runner.kind)


def make_runner(config: BacktestConfig, strategy: Any) -> Any:
    if isinstance(strategy, CompiledStrategy):
        return CompiledRunner(config, strategy)
    if isinstance(strategy, type) and issubclass(strategy, Strategy):
        strategy = strategy(**config.params)
    if isinstance(strategy, Strategy):
        return PythonRunner(config, strategy)
    raise ConfigError(f"cannot run strategy {strategy!r}", field="strategy",
                      hint="a built-in name, a Strategy subclass or a @compiled_strategy")


class CompiledRunner:
    def __init__(self, config: BacktestConfig, strategy: CompiledStrategy) -> None:
        self.config = config
        self.strategy = strategy
        self.book: Book | None = None
        self.kind = "bars"
        values = [float(v) for v in config.params.values()]
        self.params = np.array(values, dtype=np.float64)

    def chunk(self, events: Events) -> None:
        from tickforge.engine.run import execute

        if self.book is None:
            self.kind = events.kind
            self.book = Book.create(self.config, events.kind, list(events.symbols))
        book, fn, ev = self.book, self.strategy.fn, events.as_tuple()
        execute(book, events, lambda i0, i1: nb.run_callback(
            book.arrays, ev, fn, self.params, self.strategy.target_mode, i0, i1))


def entry_point(dispatcher: Any, *args: Any) -> Callable[..., Any]:
    """The compiled function for these argument types, called without the dispatcher's
    per-call type resolution (about 2/3 of a call's cost with a book of 12 arrays)."""
    return dispatcher.compile(tuple(typeof(a) for a in args))


BLOCK = 65_536  # events per batch of Bar / Quote rows built at once


class PythonRunner:
    def __init__(self, config: BacktestConfig, strategy: Strategy) -> None:
        self.config = config
        self.strategy = strategy
        self.book: Book | None = None
        self.kind = "bars"
        self.close_fill = config.fill_on == "close"
        self.seen_fills = 0.0
        self.filled: dict[int, tuple[float, float]] = {}
        self.low = 0

    def chunk(self, events: Events) -> None:
        if self.book is None:
            self.kind = events.kind
            self.book = Book.create(self.config, events.kind, list(events.symbols))
            self.strategy._book = self.book
            self.strategy.on_start()
        book, strat, ev = self.book, self.strategy, events.as_tuple()
        callback: Callable[[Any], None] = strat.on_bar if events.kind == "bars" else strat.on_quote
        py_step = entry_point(nb.py_step, book.arrays, ev, 0)
        new = tuple.__new__
        make: Any = Bar if events.kind == "bars" else Quote
        for start in range(0, len(events), BLOCK):
            rows, codes = self.rows(events, start, start + BLOCK)
            for i, row in enumerate(rows, start):
                low, fills = py_step(book.arrays, ev, i)
                while low < 0:
                    book.grow()
                    low, fills = py_step(book.arrays, ev, i)
                self.low = int(low)
                ts = row[0]
                if fills != self.seen_fills:
                    self.report_fills(ts)
                strat._ts = ts
                strat._sym = codes[i - start]
                callback(new(make, row))
                if self.close_fill:
                    self.fill_at_close(ev, i, ts)

    def fill_at_close(self, ev: tuple[np.ndarray, ...], i: int, ts: int) -> None:
        assert self.book is not None
        nb.close_fill(self.book.arrays, ev, i)
        if self.book.acct[nb.A_NFILL] != self.seen_fills:
            self.report_fills(ts)

    @staticmethod
    def rows(e: Events, a: int, b: int) -> tuple[list[tuple[Any, ...]], list[int]]:
        """Fields of the Bar / Quote of events a..b as Python values (lists built once per
        block, no NumPy scalar per field), and the symbol codes."""
        cut = slice(a, b)
        codes = e.sym[cut].tolist()
        names = [e.symbols[s] for s in codes]
        index = range(a, a + len(codes))
        if e.kind == "bars":
            return list(zip(e.ts[cut].tolist(), names, e.o[cut].tolist(), e.h[cut].tolist(),
                            e.low[cut].tolist(), e.c[cut].tolist(), e.v[cut].tolist(), index,
                            strict=True)), codes
        return list(zip(e.ts[cut].tolist(), names, e.c[cut].tolist(),
                        (e.c[cut] + e.sp[cut]).tolist(), index, strict=True)), codes

    def report_fills(self, ts: int) -> None:
        """Call ``on_fill`` for every order whose filled size grew."""
        assert self.book is not None
        book = self.book
        self.seen_fills = float(book.acct[nb.A_NFILL])
        orders = book.arrays[4]
        n = int(book.acct[nb.A_NORD])
        low = min(self.low, int(book.acct[nb.A_LOW]))
        done = orders[low:n, nb.O_FILLED]
        for j in np.flatnonzero(done > 0):
            k = int(j) + low
            before, avg_before = self.filled.get(k, (0.0, 0.0))
            now, avg = float(orders[k, nb.O_FILLED]), float(orders[k, nb.O_AVG])
            if now > before:
                self.filled[k] = (now, avg)
                price = (avg * now - avg_before * before) / (now - before)
                side = orders[k, nb.O_SIDE]
                fill = Fill(k, book.symbols[int(orders[k, nb.O_SYM])], float(side * (now - before)),
                            price, ts)
                self.strategy.on_fill(fill)
