"""Sweep batch kernels: many parameter sets through the one engine core, in parallel.

Nothing here re-implements execution or metrics: each parameter set builds a fresh book,
runs ``engine.nb.run_targets`` (the single backtest's loop) and ``engine.nb.finish``, and
its metrics come from ``engine.metrics_nb.book_metrics`` (what ``Result.metrics`` uses).
SMA crossover targets come from shared rolling means (``strategies.nb.rolling_mean_into``)
and ``strategies.nb.cross_of`` (``cross_step`` on scalars), the per-event functions of the
built-in ``sma_cross``.
So a sweep row equals the single backtest bit for bit, by construction.

Parallelism: ``prange`` over worker slots; each slot reuses its book tables and its block
of targets across the sets it runs (static interleaved assignment; results are independent
of the thread count).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from tickforge.engine import metrics_nb as mk
from tickforge.engine import nb as core
from tickforge.strategies import nb as snb

Book = tuple[np.ndarray, ...]
Events = tuple[np.ndarray, ...]


# ---------------------------------------------------------------- books


@njit(cache=True)
def new_book(proto: Book, n_orders: int, n_trades: int, n_eq: int) -> Book:
    """A fresh book like ``proto`` (``Book.create``'s arrays) with room for the tables."""
    return (proto[0].copy(), proto[1].copy(), proto[2].copy(), proto[3].copy(),
            np.empty((n_orders, core.N_ORD)), np.empty((n_orders, core.N_ORD_T), np.int64),
            np.empty((n_trades, core.N_TRD)), np.empty((n_trades, core.N_TRD_T), np.int64),
            np.empty((n_eq, core.N_EQ)), np.empty(n_eq, np.int64),
            proto[10].copy(), proto[11].copy())


@njit(cache=True)
def grown2(table: np.ndarray, used: int, need: int) -> np.ndarray:
    if table.shape[0] - used >= need:
        return table
    out = np.empty((2 * table.shape[0] + need, table.shape[1]), table.dtype)
    out[:used] = table[:used]
    return out


@njit(cache=True)
def grown1(table: np.ndarray, used: int, need: int) -> np.ndarray:
    if table.shape[0] - used >= need:
        return table
    out = np.empty(2 * table.shape[0] + need, table.dtype)
    out[:used] = table[:used]
    return out


@njit(cache=True)
def grow(book: Book) -> Book:
    """Double every output table short of room (as ``broker.Book.grow``)."""
    acct = book[0]
    need = core.ROOM + 2 * book[2].shape[0]
    n_ord, n_trd, n_eq = int(acct[core.A_NORD]), int(acct[core.A_NTRD]), int(acct[core.A_NEQ])
    return (book[0], book[1], book[2], book[3],
            grown2(book[4], n_ord, need), grown2(book[5], n_ord, need),
            grown2(book[6], n_trd, need), grown2(book[7], n_trd, need),
            grown2(book[8], n_eq, need), grown1(book[9], n_eq, need), book[10], book[11])


@njit(cache=True)
def reuse_book(proto: Book, work: Book) -> Book:
    """A fresh book (state copied from ``proto``) writing into ``work``'s tables: every row
    is written before it is read, so a slot reuses its tables from set to set."""
    return (proto[0].copy(), proto[1].copy(), proto[2].copy(), proto[3].copy(), work[4],
            work[5], work[6], work[7], work[8], work[9], proto[10].copy(), proto[11].copy())


@njit(cache=True)
def run_book(ev: Events, targets: np.ndarray, tmode: int, proto: Book, work: Book) -> Book:
    """One parameter set: the single backtest's loop on a fresh book in ``work``'s tables;
    returns the finished (maybe grown) book, whose tables the slot reuses."""
    book = run_span(ev, targets, tmode, reuse_book(proto, work))
    core.finish(book)
    return book


@njit(cache=True)
def run_span(ev: Events, targets: np.ndarray, tmode: int, book: Book) -> Book:
    """``engine.nb.run_targets`` over all of ``ev`` (one target per event), growing the
    tables when they fill; returns the (maybe grown) book."""
    n = targets.shape[0]
    i = 0
    while i < n:
        i = core.run_targets(book, ev, targets, tmode, i, n)
        if i < n:
            book = grow(book)
    return book


@njit(cache=True)
def book_result(book: Book, ppy: float, risk_free: float, bench: np.ndarray,
                has_bench: bool, b_stats: np.ndarray, scratch: np.ndarray) -> np.ndarray:
    """The single backtest's metrics kernel on a finished book. Kept a separate function
    from the run loop: compiled together with it, LLVM once produced a last-bit different
    standard deviation (see docs/research.md); the exact-equality test guards this."""
    acct = book[0]
    return mk.book_metrics(book[8], book[9], int(acct[core.A_NEQ]), book[6], book[7],
                           int(acct[core.A_NTRD]), acct[core.A_FEES], ppy, risk_free, bench,
                           has_bench, b_stats, scratch)


# ---------------------------------------------------------------- batches


@njit(cache=True, parallel=True)
def fill_means(x: np.ndarray, windows: np.ndarray, rows: np.ndarray, pool: np.ndarray) -> None:
    """``pool[rows[k]] = rolling(windows[k]).mean()`` of ``x``, windows in parallel."""
    for k in prange(windows.shape[0]):
        snb.rolling_mean_into(x, windows[k], pool[rows[k]])


# Events per block of an SMA set (:func:`run_sma_book`): its targets stay in L1 / L2 instead
# of a whole-run array written and read back per set.
SMA_BLOCK = 4096


@njit(cache=True)
def sma_targets(fast: np.ndarray, slow: np.ndarray, short: bool, size: float,
                st: np.ndarray, out: np.ndarray, i0: int, ev: Events) -> None:
    """Targets of ``sma_cross`` for the events ``i0 .. i0 + len(out) - 1`` from precomputed
    means: ``cross_of`` x size, as ``sizing.targets_from_signals`` does for the equity and
    units modes; ``st`` carries the last pair of means from block to block (in locals
    here: stored and reloaded every event, it was a sixth of the run). A decision's order
    fills at the next event, whose symbol, open and volume the quiet stretches never read:
    their lines are prefetched now, up to a block ahead, instead of missed then."""
    pf, ps = st[0], st[1]
    for k in range(out.shape[0]):
        f, s = fast[i0 + k], slow[i0 + k]
        sig = snb.cross_of(pf, ps, f, s, short)
        pf, ps = f, s
        if not math.isnan(sig):
            core.prefetch_step(ev, i0 + k + 1)
        out[k] = sig * size
    st[0], st[1] = pf, ps


@njit(cache=True, inline="always")
def events_slice(ev: Events, i0: int, i1: int) -> Events:
    return (ev[0][i0:i1], ev[1][i0:i1], ev[2][i0:i1], ev[3][i0:i1], ev[4][i0:i1],
            ev[5][i0:i1], ev[6][i0:i1], ev[7][i0:i1])


@njit(cache=True)
def run_sma_book(ev: Events, fast: np.ndarray, slow: np.ndarray, short: bool, size: float,
                 tmode: int, proto: Book, work: Book, buf: np.ndarray) -> Book:
    """:func:`run_book` of one SMA set, block by block (``buf``: :data:`SMA_BLOCK` targets):
    the events of a block go through ``engine.nb.run_targets`` as a chunk of a streamed
    backtest does, so the book is the one the whole-array run gives."""
    book = reuse_book(proto, work)
    st = np.full(2, math.nan)
    n = ev[0].shape[0]
    b0 = 0
    while b0 < n:
        b1 = min(n, b0 + buf.shape[0])
        targets = buf[:b1 - b0]
        sma_targets(fast, slow, short, size, st, targets, b0, ev)
        book = run_span(events_slice(ev, b0, b1), targets, tmode, book)
        b0 = b1
    core.finish(book)
    return book


@njit(cache=True, parallel=True)
def sma_sets(ev: Events, means: np.ndarray, fi: np.ndarray, si: np.ndarray, short: bool,
             size: float, tmode: int, proto: Book, n_eq: int, ppy: float, risk_free: float,
             bench: np.ndarray, has_bench: bool, b_stats: np.ndarray,
             threads: int) -> np.ndarray:
    """Metrics (``metrics_nb.KEYS`` order) of SMA-cross sets ``(means[fi[j]], means[si[j]])``;
    ``threads`` worker slots (numba.get_num_threads())."""
    n_sets = fi.shape[0]
    out = np.zeros((n_sets, mk.N_KEYS))
    slots = max(min(threads, n_sets), 1)
    n = ev[0].shape[0]
    for t in prange(slots):
        buf = np.empty(min(n, SMA_BLOCK))
        work = new_book(proto, 1024, 1024, n_eq)
        scratch = mk.curve_scratch(n_eq)
        for j in range(t, n_sets, slots):
            work = run_sma_book(ev, means[fi[j]], means[si[j]], short, size, tmode, proto,
                                work, buf)
            out[j] = book_result(work, ppy, risk_free, bench, has_bench, b_stats, scratch)
    return out


@njit(cache=True, parallel=True)
def target_sets(ev: Events, targets: np.ndarray, tmode: int, proto: Book, n_eq: int,
                ppy: float, risk_free: float, bench: np.ndarray, has_bench: bool,
                b_stats: np.ndarray, threads: int) -> np.ndarray:
    """Metrics of parameter sets given as rows of target positions (any built-in)."""
    n_sets = targets.shape[0]
    out = np.zeros((n_sets, mk.N_KEYS))
    slots = max(min(threads, n_sets), 1)
    for t in prange(slots):
        work = new_book(proto, 1024, 1024, n_eq)
        scratch = mk.curve_scratch(n_eq)
        for j in range(t, n_sets, slots):
            work = run_book(ev, targets[j], tmode, proto, work)
            out[j] = book_result(work, ppy, risk_free, bench, has_bench, b_stats, scratch)
    return out


@njit(cache=True)
def flat_run(ev: Events, proto: Book, n_eq: int) -> Book:
    """A run without decisions. Its equity timestamps and benchmark column are those of
    every set of a sweep (they depend on the data and sampling, never on decisions): the
    sweep infers periods per year and the benchmark returns from them once."""
    book = new_book(proto, 64, 64, n_eq)
    n = ev[0].shape[0]
    i = 0
    while i < n:
        i = core.run_steps(book, ev, i, n)
        if i < n:
            book = grow(book)
    core.finish(book)
    return book
