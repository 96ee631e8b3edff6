"""Kernels of the Python-callback path: the core runs *ahead* of the callbacks.

A callback can change the run only by placing, cancelling or replacing an order, and it can
read the run's state. So the core (:func:`tickforge.engine.nb.step`, event by event, exactly as
for one call per event) processes a span of events at once, and the callbacks of that span are
called afterwards. The span ends after the first event that changes what a callback may read
without asking for the exact book (a position, cash, the fill or trade count, trading stopped):
before it, those values are the ones saved at the start of the span. When a callback asks for
the exact book (an order method, ``equity``, ``book``), :func:`run_ahead` with ``rewind``
restores the saved state and processes the span again only up to that callback's event, so the
book is exactly what one call per event would have left.

``snap = (acct, acct_t, pos, pos_t, orders, orders_t)``: copies of the book's state; for the
order tables only the rows from the low mark to the last order (the only rows the core
changes: it never adds orders) at the top of ``orders`` / ``orders_t``; see
:func:`tickforge.engine.strategy.snapshot_for`.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from tickforge.engine import nb

Snap = tuple[np.ndarray, ...]


@njit(cache=True, _nrt=False)
def copy_rows(dst: np.ndarray, d0: int, src: np.ndarray, s0: int, n: int) -> None:
    """``dst[d0:d0 + n] = src[s0:s0 + n]`` for 1-D or 2-D arrays (an element loop: array
    assignment would need numba's runtime, which the core is compiled without)."""
    a, b = dst.reshape((dst.shape[0], -1)), src.reshape((src.shape[0], -1))
    for r in range(n):
        for c in range(a.shape[1]):
            a[d0 + r, c] = b[s0 + r, c]


@njit(cache=True, _nrt=False)
def save(book: nb.Book, snap: Snap, orders: bool) -> bool:
    """Copy the state the core changes into ``snap`` (the live order rows only if
    ``orders``); False (order rows not copied) when they do not fit in it."""
    copy_rows(snap[0], 0, book[0], 0, book[0].shape[0])
    copy_rows(snap[1], 0, book[1], 0, book[1].shape[0])
    copy_rows(snap[2], 0, book[2], 0, book[2].shape[0])
    copy_rows(snap[3], 0, book[3], 0, book[3].shape[0])
    low, n = int(book[0][nb.A_LOW]), int(book[0][nb.A_NORD])
    if not orders or n - low > snap[4].shape[0]:
        return False
    copy_rows(snap[4], 0, book[4], low, n - low)
    copy_rows(snap[5], 0, book[5], low, n - low)
    return True


@njit(cache=True, _nrt=False)
def restore(book: nb.Book, snap: Snap) -> None:
    """Put the state saved by :func:`save` back into the book."""
    copy_rows(book[0], 0, snap[0], 0, snap[0].shape[0])
    copy_rows(book[1], 0, snap[1], 0, snap[1].shape[0])
    copy_rows(book[2], 0, snap[2], 0, snap[2].shape[0])
    copy_rows(book[3], 0, snap[3], 0, snap[3].shape[0])
    low, n = int(snap[0][nb.A_LOW]), int(snap[0][nb.A_NORD])
    copy_rows(book[4], low, snap[4], 0, n - low)
    copy_rows(book[5], low, snap[5], 0, n - low)


@njit(cache=True, _nrt=False)
def moved(acct: np.ndarray, before: tuple[float, float, float, float], q_before: float,
          q_after: float) -> bool:
    """Did the event change a position, cash, the fill or trade count, or stop trading?"""
    return (acct[nb.A_NFILL] != before[0] or acct[nb.A_NTRD] != before[1]
            or acct[nb.A_CASH] != before[2] or acct[nb.A_STOP] != before[3]
            or q_after != q_before)


@njit(cache=True, _nrt=False)
def advance(book: nb.Book, ev: nb.Events, i0: int, i1: int) -> int:
    """:func:`nb.step` over events ``i0..`` until one :func:`moved` (that one included), or
    ``i1``, or a table needs room. Returns the first event not processed. (A margin call
    moves cash and records trades; a position of another symbol only moves with those.)"""
    acct, pos, sym_a = book[0], book[2], ev[1]
    for i in range(i0, i1):
        if not nb.has_room(book):
            return i
        s = sym_a[i]
        before = (acct[nb.A_NFILL], acct[nb.A_NTRD], acct[nb.A_CASH], acct[nb.A_STOP])
        q = pos[s, nb.P_QTY]
        nb.step(book, ev, i)
        if moved(acct, before, q, pos[s, nb.P_QTY]):
            return i + 1
    return i1


@njit(cache=True, _nrt=False)
def run_ahead(book: nb.Book, ev: nb.Events, snap: Snap, i0: int, i1: int, rewind: bool) -> int:
    """Save the state, then :func:`advance` over ``i0..i1`` (one event only when the live
    orders do not fit in ``snap``: a span of one event never needs a rewind, nor the order
    rows saved). With ``rewind``: restore the state saved at ``i0`` and advance again up to
    ``i1`` (the same steps on the same state, so the book is bit for bit what the first pass
    left after event ``i1 - 1``)."""
    if rewind:
        restore(book, snap)
    elif not save(book, snap, i1 - i0 > 1):
        i1 = min(i1, i0 + 1)
    return advance(book, ev, i0, i1)
