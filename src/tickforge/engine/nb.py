"""The one execution and accounting core (numba).

Every way of writing a strategy (target arrays, a compiled user function, a Python
``Strategy`` class) drives the same functions here, so the same decisions give the same
fills. All state lives in NumPy arrays (the *book*), so a run can stop at any event and be
resumed with the next chunk of data.

Events: ``ev = (ts, sym, o, h, l, c, v, sp)``. Prices ``o, h, l, c`` are the *bid* side;
``sp`` is the spread (ask = bid + sp). A quote is an event with ``o = h = l = c = bid``;
a bar without quotes has ``sp = 0``. ``mode`` (cfg) tells quotes (0) from bars (1).

Book: ``(acct, acct_t, pos, pos_t, orders, orders_t, trades, trades_t, eq, eq_t, cfg, inst)``;
float tables with the column constants below and int64 companions for timestamps.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

# The core never allocates: compiled without the runtime's reference counting (``_nrt=False``),
# whose atomic increments on every call would cost more than the work itself.

# ---------------------------------------------------------------- layout
# acct (float64)
A_CASH, A_NORD, A_NTRD, A_NEQ, A_LOW, A_NACT, A_SEQ, A_FEES, A_STOP, A_SWAP, A_NFILL = range(11)
N_ACCT = 11
# acct_t (int64)
AT_LASTTS, AT_BUCKET, AT_DAY, AT_STARTED, AT_NEXTB, AT_NEXTDAY = range(6)
N_ACCT_T = 6
# pos (float64, one row per symbol)
(P_QTY, P_AVG, P_OFEES, P_MAE, P_MFE, P_BID, P_ASK, P_PREV, P_VOL, P_VUSED, P_LTGT, P_SEEN,
 P_TGTORD) = range(13)
N_POS = 13
# pos_t (int64)
PT_ENTRY, PT_VSEQ = range(2)
N_POS_T = 2
# orders (float64)
(O_SYM, O_KIND, O_SIDE, O_QTY, O_FILLED, O_AVG, O_LIMIT, O_STOP, O_TRAIL, O_REF, O_TIF, O_STATUS,
 O_FEES, O_PARENT, O_OCO, O_TMODE, O_FRESH, O_SEQ, O_TRIG, O_SIZE0) = range(20)
N_ORD = 20
# orders_t (int64)
OT_CREATED, OT_UPDATED, OT_ACTIVE = range(3)
N_ORD_T = 3
# trades (float64)
T_SYM, T_DIR, T_SIZE, T_ENTRY, T_EXIT, T_PNL, T_FEES, T_MAE, T_MFE, T_REASON, T_NOTIONAL = range(11)
N_TRD = 11
TT_ENTRY, TT_EXIT = range(2)
N_TRD_T = 2
# equity rows
E_EQ, E_CASH, E_POSVAL, E_BENCH = range(4)
N_EQ = 4
# cfg (float64)
(C_MODE, C_CLOSEFILL, C_STOPFIRST, C_LATENCY, C_VOLCAP, C_PER_ORDER, C_PER_UNIT, C_BPS,
 C_PER_MILLION, C_MAKER_BPS, C_SLIP_MODEL, C_SLIP, C_LEVERAGE, C_MCLEVEL, C_SAMPLE, C_VOLALPHA,
 C_NSYM) = range(17)
N_CFG = 17
# inst (float64, one row per symbol)
I_LOT, I_MULT, I_SWAP_LONG, I_SWAP_SHORT, I_CONV_MODE, I_CONV_SYM, I_CONV_CONST = range(7)
N_INST = 7

# enums
K_MARKET, K_LIMIT, K_STOP, K_STOP_LIMIT, K_TRAIL, K_TARGET = range(6)
TIF_GTC, TIF_DAY, TIF_IOC = range(3)
S_PENDING, S_ACTIVE, S_PARTIAL, S_FILLED, S_CANCELLED, S_EXPIRED, S_REJECTED = range(7)
R_SIGNAL, R_TP, R_SL, R_STOP, R_MARGIN, R_OPEN, R_LIMIT = range(7)
TM_UNITS, TM_EQUITY = range(2)
SLIP_VOLATILITY = 3.0  # cfg[C_SLIP_MODEL] of the volatility-scaled model (broker.SLIP_MODELS)
Book = tuple[np.ndarray, ...]
Events = tuple[np.ndarray, ...]
DAY_NS = 86_400_000_000_000
ROOM = 16  # free rows needed in every output table before an event is processed


# ---------------------------------------------------------------- inlining

# The fill chain (fill_target -> fill_order -> apply_fill -> record_trade, ...) passes the
# book, twelve arrays flattened to ~100 scalar arguments, on every call: inlined, a position
# flip costs a third. Inlined everywhere, compilation takes minutes; so the chain is inlined
# only into :func:`target_event` (the event after a target order, where a built-in strategy's
# fills happen) and the target-order submission of the two target run loops, and called as
# usual from everywhere else.
FILL_HOSTS = ("target_event", "run_targets", "run_sma_cross")


def in_fill_host(expr: Any, caller: Any, callee: Any) -> bool:
    """Numba inline cost model: inline at call sites inside a :data:`FILL_HOSTS` function."""
    return bool(caller.func_id.func_name in FILL_HOSTS)


# ---------------------------------------------------------------- small helpers


@njit(cache=True, _nrt=False, inline="always")
def conv_of(mode: float, const: float, seen: float, bid: float, ask: float) -> float:
    """Quote -> account currency rate given the converting symbol's marks (scalar form)."""
    if mode == 0.0 or seen == 0.0:
        return const
    mid = 0.5 * (bid + ask)
    return mid if mode == 1.0 else 1.0 / mid


@njit(cache=True, _nrt=False, inline="always")
def conv_rate(pos: np.ndarray, inst: np.ndarray, s: int) -> float:
    """Quote currency -> account currency for symbol ``s`` at the latest marks."""
    mode = inst[s, I_CONV_MODE]
    if mode == 0.0:
        return inst[s, I_CONV_CONST]
    k = int(inst[s, I_CONV_SYM])
    return conv_of(mode, inst[s, I_CONV_CONST], pos[k, P_SEEN], pos[k, P_BID], pos[k, P_ASK])


@njit(cache=True, _nrt=False, inline="always")
def mark_of(q: float, bid: float, ask: float) -> float:
    return bid if q > 0 else ask


@njit(cache=True, _nrt=False, inline="always")
def mark(pos: np.ndarray, s: int) -> float:
    """Price an open position would be closed at now (bid for longs, ask for shorts)."""
    return mark_of(pos[s, P_QTY], pos[s, P_BID], pos[s, P_ASK])


@njit(cache=True, _nrt=False, inline="always")
def upnl(q: float, px: float, avg: float, mult: float, conv: float) -> float:
    """Unrealised P&L of ``q`` units bought/sold at ``avg``, marked at ``px``."""
    return q * (px - avg) * mult * conv


@njit(cache=True, _nrt=False, inline="always")
def value_of(q: float, px: float, mult: float, conv: float) -> float:
    """Gross value of a position in account currency."""
    return abs(q) * px * mult * conv


@njit(cache=True, _nrt=False, inline="always")
def equity_now(acct: np.ndarray, pos: np.ndarray, inst: np.ndarray) -> float:
    eq = acct[A_CASH]
    for s in range(pos.shape[0]):
        q = pos[s, P_QTY]
        if q != 0.0:
            eq += upnl(q, mark(pos, s), pos[s, P_AVG], inst[s, I_MULT], conv_rate(pos, inst, s))
    return eq


@njit(cache=True, _nrt=False, inline="always")
def gross_value(pos: np.ndarray, inst: np.ndarray) -> float:
    total = 0.0
    for s in range(pos.shape[0]):
        q = pos[s, P_QTY]
        if q != 0.0:
            total += value_of(q, mark(pos, s), inst[s, I_MULT], conv_rate(pos, inst, s))
    return total


@njit(cache=True, _nrt=False, inline="always")
def margin_safe(eq: float, gross: float, cfg: np.ndarray) -> bool:
    """No margin call: nothing used, or equity above the call level (and positive)."""
    used = gross / cfg[C_LEVERAGE]
    return used <= 0.0 or (eq >= cfg[C_MCLEVEL] * used and eq > 0.0)


@njit(cache=True, _nrt=False, inline="always")
def ewma_vol(vol: float, alpha: float, c: float, prev: float) -> float:
    return (1.0 - alpha) * vol + alpha * abs(c - prev)



@njit(cache=True, _nrt=False, inline="always")
def worst_best(q: float, h: float, lo: float, sp: float, avg: float,
               mc: float) -> tuple[float, float]:
    """Worst and best unrealised P&L within an event (for MAE / MFE)."""
    worst = lo if q > 0 else h + sp
    best = h if q > 0 else lo + sp
    return q * (worst - avg) * mc, q * (best - avg) * mc


@njit(cache=True, _nrt=False, inline=in_fill_host)
def fee_for(cfg: np.ndarray, qty: float, notional: float, maker: bool) -> float:
    bps = cfg[C_BPS]
    if maker and not math.isnan(cfg[C_MAKER_BPS]):
        bps = cfg[C_MAKER_BPS]
    return (cfg[C_PER_ORDER] + cfg[C_PER_UNIT] * qty + notional * bps * 1e-4
            + notional * cfg[C_PER_MILLION] * 1e-6)


@njit(cache=True, _nrt=False, inline=in_fill_host)
def slippage(cfg: np.ndarray, pos: np.ndarray, s: int, sp: float) -> float:
    model = cfg[C_SLIP_MODEL]
    if model == 1.0:
        return cfg[C_SLIP]
    if model == 2.0:
        return cfg[C_SLIP] * sp
    if model == SLIP_VOLATILITY:
        return cfg[C_SLIP] * pos[s, P_VOL]
    return 0.0


@intrinsic
def fma(typingctx: Any, a: Any, b: Any, c: Any) -> Any:
    """``a * b + c`` rounded once (LLVM's ``llvm.fma.f64``: the FMA instruction here)."""
    sig = types.float64(types.float64, types.float64, types.float64)

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        dbl = args[0].type
        fnty = ir.FunctionType(dbl, [dbl, dbl, dbl])
        return builder.call(cgutils.get_or_insert_function(builder.module, fnty, "llvm.fma.f64"),
                            args)

    return sig, codegen


@intrinsic
def prefetch(typingctx: Any, arr: Any, idx: Any) -> Any:
    """Ask the CPU to bring ``arr[idx]``'s cache line in (LLVM's ``llvm.prefetch``, read,
    high locality): no load waits for it and no bound is checked (a prefetch never faults).
    For data read far apart, which the hardware prefetcher does not foresee."""
    sig = types.void(arr, idx)

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        aryty = signature.args[0]
        ary = context.make_array(aryty)(context, builder, args[0])
        ptr = cgutils.get_item_pointer(context, builder, aryty, ary, [args[1]],
                                       wraparound=False)
        i8p = ir.IntType(8).as_pointer()
        i32 = ir.IntType(32)
        fnty = ir.FunctionType(ir.VoidType(), [i8p, i32, i32, i32])
        fn = cgutils.get_or_insert_function(builder.module, fnty, "llvm.prefetch.p0i8")
        builder.call(fn, [builder.bitcast(ptr, i8p), ir.Constant(i32, 0), ir.Constant(i32, 3),
                          ir.Constant(i32, 1)])
        return context.get_dummy_value()

    return sig, codegen


@njit(cache=True, _nrt=False, inline="always")
def prefetch_step(ev: Events, i: int) -> None:
    """:func:`prefetch` what :func:`step` reads of event ``i`` and the quiet stretches
    never do (symbol, open, volume): called when a decision is known ahead of its fill."""
    prefetch(ev[1], i)
    prefetch(ev[2], i)
    prefetch(ev[6], i)


@njit(cache=True, _nrt=False, inline="always")
def floor_div(a: float, b: float) -> float:
    """Python's ``a // b`` for floats (the floor of the exact quotient) without its
    ``fmod`` call, which costs about 22 ns of latency here against 6 for this. ``floor(a /
    b)`` is that floor or, when the division rounded up to the next integer, one more; the
    sign of ``a - q * b``, exact with one rounding (FMA), tells which. A quotient that is
    not finite (``b`` zero, ``a`` infinite or NaN, overflow) or an infinite ``b`` (``-5 //
    inf`` is -1) take ``//`` itself."""
    q = np.floor(a / b)  # a float (math.floor gives an int)
    if not (math.isfinite(q) and math.isfinite(b)):
        return a // b
    r = fma(-q, b, a)
    if (r < 0.0) if b > 0.0 else (r > 0.0):
        q -= 1.0
    return q


@njit(cache=True, _nrt=False, inline=in_fill_host)
def floor_lot(units: float, lot: float) -> float:
    if lot <= 0.0:
        return units
    return math.floor(units / lot + 1e-9) * lot


@njit(cache=True, _nrt=False, inline=in_fill_host)
def set_status(acct: np.ndarray, orders: np.ndarray, k: int, status: int) -> None:
    old = orders[k, O_STATUS]
    was_active = S_ACTIVE <= old <= S_PARTIAL
    now_active = S_ACTIVE <= status <= S_PARTIAL
    if was_active and not now_active:
        acct[A_NACT] -= 1.0
    elif now_active and not was_active:
        acct[A_NACT] += 1.0
    orders[k, O_STATUS] = status


# ---------------------------------------------------------------- orders


@njit(cache=True, _nrt=False, inline=in_fill_host)
def submit(book: Book, s: int, kind: int, side: float, qty: float, limit: float, stop: float,
           trail: float, tif: int, parent: int, oco: int, tmode: int, ts: int) -> int:
    """Append an order; returns its id (row) or -1 if the table is full."""
    acct, pos, orders, orders_t, cfg = book[0], book[2], book[4], book[5], book[10]
    k = int(acct[A_NORD])
    if k >= orders.shape[0]:
        return -1
    row = orders[k]
    row[:] = np.nan
    row[O_SYM] = s
    row[O_KIND] = kind
    row[O_SIDE] = side
    row[O_QTY] = qty
    row[O_FILLED] = 0.0
    row[O_AVG] = 0.0
    row[O_LIMIT] = limit
    row[O_STOP] = stop
    row[O_TRAIL] = trail
    row[O_REF] = np.nan
    if kind == K_TRAIL:
        row[O_REF] = pos[s, P_BID] if side < 0 else pos[s, P_ASK]
    row[O_TIF] = tif
    row[O_STATUS] = S_PENDING
    row[O_FEES] = 0.0
    row[O_PARENT] = parent
    row[O_OCO] = oco
    row[O_TMODE] = tmode
    row[O_FRESH] = 1.0
    row[O_SEQ] = acct[A_SEQ]
    row[O_TRIG] = 0.0
    row[O_SIZE0] = qty
    orders_t[k, OT_CREATED] = ts
    orders_t[k, OT_UPDATED] = ts
    orders_t[k, OT_ACTIVE] = ts + np.int64(cfg[C_LATENCY])
    acct[A_NORD] = k + 1
    if acct[A_STOP] != 0.0:
        orders[k, O_STATUS] = S_REJECTED
    elif parent < 0:
        set_status(acct, orders, k, S_ACTIVE)
    return k


@njit(cache=True, _nrt=False)
def cancel(book: Book, k: int, ts: int) -> bool:
    """Cancel an active or waiting order and its waiting children."""
    acct, orders, orders_t = book[0], book[4], book[5]
    st = orders[k, O_STATUS]
    if st > S_PARTIAL:
        return False
    set_status(acct, orders, k, S_CANCELLED)
    orders_t[k, OT_UPDATED] = ts
    for j in range(k + 1, int(acct[A_NORD])):
        if orders[j, O_PARENT] == k and orders[j, O_STATUS] == S_PENDING:
            set_status(acct, orders, j, S_CANCELLED)
            orders_t[j, OT_UPDATED] = ts
    return True


@njit(cache=True, _nrt=False)
def replace(book: Book, k: int, qty: float, limit: float, stop: float, ts: int) -> bool:
    """Change size / limit / stop of a live order (NaN keeps the old value)."""
    orders, orders_t = book[4], book[5]
    st = orders[k, O_STATUS]
    if st > S_PARTIAL:
        return False
    if not math.isnan(qty):
        orders[k, O_QTY] = max(qty, orders[k, O_FILLED])
    if not math.isnan(limit):
        orders[k, O_LIMIT] = limit
    if not math.isnan(stop):
        orders[k, O_STOP] = stop
    orders_t[k, OT_UPDATED] = ts
    return True


@njit(cache=True, _nrt=False, inline=in_fill_host)
def submit_target(book: Book, s: int, target: float, tmode: int, ts: int) -> int:
    """Replace the symbol's pending target order with a new one (no-op if unchanged)."""
    pos, orders = book[2], book[4]
    if pos[s, P_LTGT] == target:
        return -1
    pos[s, P_LTGT] = target
    prev = int(pos[s, P_TGTORD])
    if prev >= 0 and orders[prev, O_STATUS] == S_ACTIVE:
        cancel(book, prev, ts)
    k = submit(book, s, K_TARGET, 1.0, target, np.nan, np.nan, np.nan, TIF_GTC, -1, -1, tmode, ts)
    pos[s, P_TGTORD] = k
    return k


# ---------------------------------------------------------------- fills and accounting


@njit(cache=True, _nrt=False, inline=in_fill_host)
def record_trade(book: Book, s: int, r: float, price: float, pnl: float, fees: float,
                 frac: float, reason: int, ts: int) -> None:
    acct, pos, pos_t, trades, trades_t = book[0], book[2], book[3], book[6], book[7]
    n = int(acct[A_NTRD])
    if n >= trades.shape[0]:
        return
    q = pos[s, P_QTY]
    trades[n, T_SYM] = s
    trades[n, T_DIR] = 1.0 if q > 0 else -1.0
    trades[n, T_SIZE] = r
    trades[n, T_ENTRY] = pos[s, P_AVG]
    trades[n, T_EXIT] = price
    trades[n, T_PNL] = pnl - fees
    trades[n, T_FEES] = fees
    trades[n, T_MAE] = min(pos[s, P_MAE] * frac, 0.0)
    trades[n, T_MFE] = max(pos[s, P_MFE] * frac, 0.0)
    trades[n, T_REASON] = reason
    trades[n, T_NOTIONAL] = r * pos[s, P_AVG] * book[11][s, I_MULT] * conv_rate(pos, book[11], s)
    trades_t[n, TT_ENTRY] = pos_t[s, PT_ENTRY]
    trades_t[n, TT_EXIT] = ts
    acct[A_NTRD] = n + 1


@njit(cache=True, _nrt=False, inline=in_fill_host)
def apply_fill(book: Book, s: int, q: float, price: float, fee: float, reason: int,
               ts: int) -> None:
    """Move position ``s`` by signed ``q`` units at ``price``; book P&L, fees and trades."""
    acct, pos, pos_t, inst = book[0], book[2], book[3], book[11]
    P = pos[s, P_QTY]
    acct[A_CASH] -= fee
    acct[A_FEES] += fee
    if P == 0.0 or (P > 0) == (q > 0):
        open_part(pos, pos_t, s, P, q, price, fee, ts)
        return
    r = min(abs(q), abs(P))
    mult_conv = inst[s, I_MULT] * conv_rate(pos, inst, s)
    pnl = r * (price - pos[s, P_AVG]) * mult_conv * (1.0 if P > 0 else -1.0)
    acct[A_CASH] += pnl
    frac = r / abs(P)
    fee_close = fee * r / abs(q)
    open_fees = pos[s, P_OFEES] * frac
    record_trade(book, s, r, price, pnl, open_fees + fee_close, frac, reason, ts)
    pos[s, P_OFEES] -= open_fees
    pos[s, P_MAE] *= 1.0 - frac
    pos[s, P_MFE] *= 1.0 - frac
    rest = abs(q) - r
    if r == abs(P):
        pos[s, P_QTY] = 0.0
        pos[s, P_AVG] = 0.0
        pos[s, P_OFEES] = 0.0
    else:
        pos[s, P_QTY] = P - math.copysign(r, P)
    if rest > 0.0:
        open_part(pos, pos_t, s, 0.0, math.copysign(rest, q), price, fee - fee_close, ts)


@njit(cache=True, _nrt=False, inline=in_fill_host)
def open_part(pos: np.ndarray, pos_t: np.ndarray, s: int, P: float, q: float, price: float,
              fee: float, ts: int) -> None:
    if P == 0.0:
        pos[s, P_AVG] = price
        pos[s, P_OFEES] = fee
        pos[s, P_MAE] = 0.0
        pos[s, P_MFE] = 0.0
        pos_t[s, PT_ENTRY] = ts
        pos[s, P_QTY] = q
        return
    new = P + q
    pos[s, P_AVG] = (pos[s, P_AVG] * abs(P) + price * abs(q)) / abs(new)
    pos[s, P_OFEES] += fee
    pos[s, P_QTY] = new


@njit(cache=True, _nrt=False, inline=in_fill_host)
def capped_qty(book: Book, s: int, want: float, v: float) -> float:
    """Volume cap: at most ``volcap * volume`` units per bar and symbol."""
    cfg, pos, inst = book[10], book[2], book[11]
    cap = cfg[C_VOLCAP]
    if cap <= 0.0 or not v > 0.0:
        return want
    room = max(cap * v - pos[s, P_VUSED], 0.0)
    return min(want, floor_lot(room, inst[s, I_LOT]))


@njit(cache=True, _nrt=False, inline=in_fill_host)
def margin_ok(book: Book, s: int, q: float, price: float) -> bool:
    """Would the position after this fill stay within equity * leverage?"""
    acct, pos, cfg, inst = book[0], book[2], book[10], book[11]
    P = pos[s, P_QTY]
    if P != 0.0 and (P > 0) != (q > 0) and abs(q) <= abs(P):
        return True  # reducing never needs margin
    eq = equity_now(acct, pos, inst)
    mc = inst[s, I_MULT] * conv_rate(pos, inst, s)
    gross = gross_value(pos, inst)
    if P != 0.0:
        gross -= abs(P) * mark(pos, s) * mc
    need = gross + abs(P + q) * price * mc
    return need <= eq * cfg[C_LEVERAGE] * (1.0 + 1e-12)


@njit(cache=True, _nrt=False, inline=in_fill_host)
def fill_order(book: Book, k: int, q: float, price: float, maker: bool, v: float, ts: int) -> float:
    """Fill up to ``q`` (signed) of order ``k``; returns the signed quantity filled."""
    acct, pos, orders, orders_t, cfg, inst = book[0], book[2], book[4], book[5], book[10], book[11]
    s = int(orders[k, O_SYM])
    qty = capped_qty(book, s, abs(q), v)
    if qty <= 0.0:
        return 0.0
    q = math.copysign(qty, q)
    if not margin_ok(book, s, q, price):
        if orders[k, O_FILLED] == 0.0:
            set_status(acct, orders, k, S_REJECTED)
        orders_t[k, OT_UPDATED] = ts
        return 0.0
    notional = qty * price * inst[s, I_MULT] * conv_rate(pos, inst, s)
    fee = fee_for(cfg, qty, notional, maker)
    reason = R_SIGNAL
    kind = orders[k, O_KIND]
    if kind == K_LIMIT and orders[k, O_PARENT] >= 0:
        reason = R_TP
    elif orders[k, O_PARENT] >= 0:
        reason = R_SL
    elif K_STOP <= kind <= K_TRAIL:
        reason = R_STOP
    elif kind == K_LIMIT:
        reason = R_LIMIT
    apply_fill(book, s, q, price, fee, reason, ts)
    acct[A_NFILL] += 1.0
    pos[s, P_VUSED] += qty
    done = orders[k, O_FILLED]
    orders[k, O_AVG] = (orders[k, O_AVG] * done + price * qty) / (done + qty)
    orders[k, O_FILLED] = done + qty
    orders[k, O_FEES] += fee
    orders_t[k, OT_UPDATED] = ts
    return q


@njit(cache=True, _nrt=False)
def finish_order(book: Book, k: int, ts: int) -> None:
    """After fills: set filled / partial status, activate children, cancel OCO siblings."""
    acct, orders = book[0], book[4]
    filled = orders[k, O_FILLED]
    if filled <= 0.0:
        return
    if filled >= orders[k, O_QTY] - 1e-12:
        set_status(acct, orders, k, S_FILLED)
    else:
        set_status(acct, orders, k, S_PARTIAL)
    n = int(acct[A_NORD])
    for j in range(k + 1, n):
        if orders[j, O_PARENT] == k and orders[j, O_STATUS] == S_PENDING:
            orders[j, O_QTY] = filled
            orders[j, O_SEQ] = acct[A_SEQ]
            book[5][j, OT_ACTIVE] = ts
            set_status(acct, orders, j, S_ACTIVE)
        elif orders[j, O_PARENT] == k and orders[j, O_STATUS] == S_ACTIVE:
            orders[j, O_QTY] = filled
    oco = orders[k, O_OCO]
    if oco >= 0 and orders[k, O_STATUS] == S_FILLED:
        for j in range(int(acct[A_LOW]), n):
            if j != k and orders[j, O_OCO] == oco:
                cancel(book, j, ts)


# ---------------------------------------------------------------- order matching per event


@njit(cache=True, _nrt=False, inline=in_fill_host)
def taker_price(book: Book, s: int, side: float, bid: float, sp: float) -> float:
    slip = slippage(book[10], book[2], s, sp)
    return bid + sp + slip if side > 0 else bid - slip


@njit(cache=True, _nrt=False, inline=in_fill_host)
def fill_target(book: Book, k: int, bid: float, sp: float, v: float, ts: int) -> None:
    """Target-position order: close an opposite position first, then size and open."""
    acct, pos, orders, inst = book[0], book[2], book[4], book[11]
    s = int(orders[k, O_SYM])
    target = orders[k, O_SIZE0]
    P = pos[s, P_QTY]
    if P != 0.0 and (target == 0.0 or (P > 0) != (target > 0)):
        fill_order(book, k, -P, taker_price(book, s, -P, bid, sp), False, v, ts)
        P = pos[s, P_QTY]
        if P != 0.0:  # volume-capped: finish later
            orders[k, O_QTY] = orders[k, O_FILLED] + 1.0
            set_status(book[0], orders, k, S_PARTIAL)
            return
    want = target
    if orders[k, O_TMODE] == TM_EQUITY and target != 0.0:
        want = units_for_fraction(book, s, target, bid, sp)
    want = math.copysign(floor_lot(abs(want), inst[s, I_LOT]), want)
    delta = want - P
    if delta != 0.0:
        fill_order(book, k, delta, taker_price(book, s, delta, bid, sp), False, v, ts)
        orders[k, O_SIDE] = 1.0 if delta > 0 else -1.0
    if orders[k, O_STATUS] == S_REJECTED:
        return
    left = want - pos[s, P_QTY]
    if left != 0.0 and abs(left) < abs(delta):  # partially filled by the volume cap
        orders[k, O_KIND] = K_MARKET
        orders[k, O_QTY] = orders[k, O_FILLED] + abs(left)
        set_status(acct, orders, k, S_PARTIAL)
        return
    orders[k, O_QTY] = orders[k, O_FILLED]
    set_status(acct, orders, k, S_FILLED if orders[k, O_FILLED] > 0 else S_CANCELLED)


@njit(cache=True, _nrt=False, inline=in_fill_host)
def units_for_fraction(book: Book, s: int, frac: float, bid: float, sp: float) -> float:
    """Units worth ``frac`` of equity (times leverage), costs of the fill included."""
    acct, pos, cfg, inst = book[0], book[2], book[10], book[11]
    side = 1.0 if frac > 0 else -1.0
    price = taker_price(book, s, side, bid, sp)
    mc = inst[s, I_MULT] * conv_rate(pos, inst, s)
    a = abs(frac)
    per_unit = (price * mc * (cfg[C_BPS] * 1e-4 + cfg[C_PER_MILLION] * 1e-6) + cfg[C_PER_UNIT])
    denom = price * mc + (cfg[C_PER_ORDER] + a * per_unit) / a
    budget = equity_now(acct, pos, inst) * cfg[C_LEVERAGE] * a
    if budget <= 0.0:
        return 0.0
    lot = inst[s, I_LOT]
    units = floor_div(budget, denom) if lot == 1.0 else floor_lot(budget / denom, lot)
    return side * units


@njit(cache=True, _nrt=False)
def match_market(book: Book, k: int, bid: float, sp: float, v: float, ts: int) -> None:
    orders = book[4]
    side = orders[k, O_SIDE]
    left = orders[k, O_QTY] - orders[k, O_FILLED]
    s = int(orders[k, O_SYM])
    fill_order(book, k, side * left, taker_price(book, s, side, bid, sp), False, v, ts)
    finish_order(book, k, ts)


@njit(cache=True, _nrt=False)
def match_limit(book: Book, k: int, o: float, h: float, lo: float, sp: float, v: float,
                ts: int) -> None:
    """Buy limit fills when the ask reaches it, sell limit when the bid does; at the limit,
    or at the open when the order was already marketable on its first event."""
    orders = book[4]
    side = orders[k, O_SIDE]
    lim = orders[k, O_LIMIT]
    left = orders[k, O_QTY] - orders[k, O_FILLED]
    fresh = orders[k, O_FRESH] == 1.0
    if side > 0:
        if lo + sp > lim:
            return
        price = o + sp if fresh and o + sp <= lim else lim
    else:
        if h < lim:
            return
        price = o if fresh and o >= lim else lim
    fill_order(book, k, side * left, price, not fresh, v, ts)
    finish_order(book, k, ts)


@njit(cache=True, _nrt=False)
def stop_level(orders: np.ndarray, k: int) -> float:
    if orders[k, O_KIND] == K_TRAIL:
        return orders[k, O_REF] - orders[k, O_TRAIL] * orders[k, O_SIDE] * -1.0
    return orders[k, O_STOP]


@njit(cache=True, _nrt=False)
def match_stop(book: Book, k: int, o: float, h: float, lo: float, sp: float, v: float,
               ts: int) -> None:
    """Stops trigger when the price crosses them. On bars they fill in the same bar at the
    stop or the open if it gapped beyond (worse); on quotes at the next quote."""
    orders, cfg = book[4], book[10]
    side = orders[k, O_SIDE]
    s = int(orders[k, O_SYM])
    if orders[k, O_TRIG] == 1.0:  # quotes: triggered on an earlier quote
        match_market(book, k, o, sp, v, ts)
        return
    stop = stop_level(orders, k)
    hit = h + sp >= stop if side > 0 else lo <= stop
    if orders[k, O_KIND] == K_TRAIL:
        update_trail(orders, k, h, lo, sp)
    if not hit:
        return
    if orders[k, O_KIND] == K_STOP_LIMIT:
        trigger_stop_limit(book, k, o, sp, stop, v, ts)
        return
    if cfg[C_MODE] == 0.0:
        orders[k, O_TRIG] = 1.0
        return
    slip = slippage(cfg, book[2], s, sp)
    price = max(o + sp, stop) + slip if side > 0 else min(o, stop) - slip
    left = orders[k, O_QTY] - orders[k, O_FILLED]
    fill_order(book, k, side * left, price, False, v, ts)
    finish_order(book, k, ts)


@njit(cache=True, _nrt=False)
def update_trail(orders: np.ndarray, k: int, h: float, lo: float, sp: float) -> None:
    if orders[k, O_SIDE] < 0:
        orders[k, O_REF] = max(orders[k, O_REF], h) if not math.isnan(orders[k, O_REF]) else h
    else:
        ask_low = lo + sp
        ref = orders[k, O_REF]
        orders[k, O_REF] = min(ref, ask_low) if not math.isnan(ref) else ask_low


@njit(cache=True, _nrt=False)
def trigger_stop_limit(book: Book, k: int, o: float, sp: float, stop: float, v: float,
                       ts: int) -> None:
    """The stop of a stop-limit was hit: it becomes a limit order. On bars it fills in this bar
    only if the trigger price (stop, or the open if gapped) is within the limit."""
    orders, cfg = book[4], book[10]
    orders[k, O_KIND] = K_LIMIT
    if cfg[C_MODE] == 0.0:
        orders[k, O_FRESH] = 3.0  # quotes: a fresh limit from the next quote
        return
    orders[k, O_FRESH] = 2.0  # bars: rests at its limit from the next bar
    side = orders[k, O_SIDE]
    lim = orders[k, O_LIMIT]
    price = max(o + sp, stop) if side > 0 else min(o, stop)
    if (side > 0 and price <= lim) or (side < 0 and price >= lim):
        left = orders[k, O_QTY] - orders[k, O_FILLED]
        fill_order(book, k, side * left, price, False, v, ts)
        finish_order(book, k, ts)


@njit(cache=True, _nrt=False, inline=in_fill_host)
def eligible(acct: np.ndarray, orders: np.ndarray, orders_t: np.ndarray, k: int, s: int,
             ts: int) -> bool:
    st = orders[k, O_STATUS]
    if not S_ACTIVE <= st <= S_PARTIAL:
        return False
    if int(orders[k, O_SYM]) != s or orders[k, O_SEQ] >= acct[A_SEQ]:
        return False
    return ts >= orders_t[k, OT_ACTIVE]


@njit(cache=True, _nrt=False)
def is_stop_kind(kind: float) -> bool:
    return K_STOP <= kind <= K_TRAIL


@njit(cache=True, _nrt=False)
def match_orders(book: Book, s: int, o: float, h: float, lo: float, sp: float, v: float,
                 ts: int) -> None:
    """Market and target orders first (at the open), then stops and limits in the
    configured intrabar order (stop first by default: pessimistic)."""
    acct, orders, orders_t, cfg = book[0], book[4], book[5], book[10]
    low = int(acct[A_LOW])
    stop_pass = 1 if cfg[C_STOPFIRST] == 1.0 else 2
    limit_pass = 3 - stop_pass
    for pas in range(3):
        for k in range(low, int(acct[A_NORD])):
            if not eligible(acct, orders, orders_t, k, s, ts):
                continue
            kind = orders[k, O_KIND]
            if pas == 0:
                if kind == K_TARGET:
                    fill_target(book, k, o, sp, v, ts)
                elif kind == K_MARKET:
                    match_market(book, k, o, sp, v, ts)
            elif is_stop_kind(kind) and pas == stop_pass:
                match_stop(book, k, o, h, lo, sp, v, ts)
            elif kind == K_LIMIT and pas == limit_pass:
                match_limit(book, k, o, h, lo, sp, v, ts)
    end_of_event_orders(book, s, ts)


@njit(cache=True, _nrt=False, inline=in_fill_host)
def end_of_event_orders(book: Book, s: int, ts: int) -> None:
    """IOC remainders are cancelled; orders lose their 'fresh' flag; advance the low mark."""
    acct, orders, orders_t = book[0], book[4], book[5]
    n = int(acct[A_NORD])
    for k in range(int(acct[A_LOW]), n):
        if not eligible(acct, orders, orders_t, k, s, ts):
            continue
        if orders[k, O_TIF] == TIF_IOC and orders[k, O_KIND] != K_TARGET:
            set_status(acct, orders, k, S_CANCELLED)
            orders_t[k, OT_UPDATED] = ts
        elif orders[k, O_FRESH] == 3.0:
            orders[k, O_FRESH] = 1.0
        elif orders[k, O_FRESH] != 0.0:
            orders[k, O_FRESH] = 0.0
    low = int(acct[A_LOW])
    while low < n and orders[low, O_STATUS] >= S_FILLED:
        low += 1
    acct[A_LOW] = low


# ---------------------------------------------------------------- per-event bookkeeping


@njit(cache=True, _nrt=False)
def record_equity(book: Book) -> None:
    acct, acct_t, pos, eq, eq_t, inst = book[0], book[1], book[2], book[8], book[9], book[11]
    n = int(acct[A_NEQ])
    if n >= eq.shape[0]:
        return
    eq[n, E_EQ] = equity_now(acct, pos, inst)
    eq[n, E_CASH] = acct[A_CASH]
    eq[n, E_POSVAL] = gross_value(pos, inst)
    eq[n, E_BENCH] = 0.5 * (pos[0, P_BID] + pos[0, P_ASK])
    eq_t[n] = acct_t[AT_LASTTS]
    acct[A_NEQ] = n + 1


@njit(cache=True, _nrt=False)
def new_day(book: Book, day: int, ts: int) -> None:
    """Day roll: expire DAY orders, charge overnight financing (annual rate / 365 per day)."""
    acct, acct_t, pos, inst = book[0], book[1], book[2], book[11]
    orders, orders_t = book[4], book[5]
    days = day - acct_t[AT_DAY]
    for k in range(int(acct[A_LOW]), int(acct[A_NORD])):
        st = orders[k, O_STATUS]
        live = st <= S_PARTIAL
        if live and orders[k, O_TIF] == TIF_DAY and orders_t[k, OT_CREATED] // DAY_NS < day:
            set_status(acct, orders, k, S_EXPIRED)
            orders_t[k, OT_UPDATED] = ts
    for s in range(pos.shape[0]):
        q = pos[s, P_QTY]
        if q == 0.0:
            continue
        rate = inst[s, I_SWAP_LONG] if q > 0 else inst[s, I_SWAP_SHORT]
        value = abs(q) * mark(pos, s) * inst[s, I_MULT] * conv_rate(pos, inst, s)
        amount = value * rate / 365.0 * days
        acct[A_CASH] += amount
        acct[A_SWAP] += amount
    acct_t[AT_DAY] = day


@njit(cache=True, _nrt=False, inline="always")
def update_marks(book: Book, s: int, h: float, lo: float, c: float, sp: float) -> None:
    pos, cfg, inst = book[2], book[10], book[11]
    prev = pos[s, P_PREV]
    pos[s, P_BID] = c
    pos[s, P_ASK] = c + sp
    alpha = cfg[C_VOLALPHA]  # NaN unless the volatility slippage model reads the estimate
    if pos[s, P_SEEN] != 0.0 and alpha == alpha:
        pos[s, P_VOL] = ewma_vol(pos[s, P_VOL], alpha, c, prev)
    pos[s, P_SEEN] = 1.0
    q = pos[s, P_QTY]
    if q != 0.0:
        mc = inst[s, I_MULT] * conv_rate(pos, inst, s)
        worst, best = worst_best(q, h, lo, sp, pos[s, P_AVG], mc)
        pos[s, P_MAE] = min(pos[s, P_MAE], worst)
        pos[s, P_MFE] = max(pos[s, P_MFE], best)


@njit(cache=True, _nrt=False, inline="always")
def check_margin(book: Book, ts: int) -> None:
    """Margin call: liquidate everything at current marks when equity falls below
    ``margin_call_level`` x used margin; stop trading when equity <= 0."""
    acct, pos, cfg, inst = book[0], book[2], book[10], book[11]
    if margin_safe(equity_now(acct, pos, inst), gross_value(pos, inst), cfg):
        return
    liquidate(book, R_MARGIN, ts)
    if equity_now(acct, pos, inst) <= 0.0:
        acct[A_STOP] = 1.0
        for k in range(int(acct[A_LOW]), int(acct[A_NORD])):
            cancel(book, k, ts)


@njit(cache=True, _nrt=False)
def liquidate(book: Book, reason: int, ts: int) -> None:
    pos, cfg, inst = book[2], book[10], book[11]
    for s in range(pos.shape[0]):
        q = pos[s, P_QTY]
        if q == 0.0:
            continue
        price = mark(pos, s)
        notional = abs(q) * price * inst[s, I_MULT] * conv_rate(pos, inst, s)
        apply_fill(book, s, -q, price, fee_for(cfg, abs(q), notional, False), reason, ts)


@njit(cache=True, _nrt=False)
def next_bucket(ts: int, sample: int) -> int:
    """First time stamp of the next equity sampling bucket (every event when sample is 0)."""
    if sample <= 0:
        return ts + 1
    return (ts // sample + 1) * sample


@njit(cache=True, _nrt=False, inline="always")
def step(book: Book, ev: Events, i: int) -> None:
    """Process event ``i``: equity sampling, day roll, order matching, marks, margin."""
    step_matching(book, ev, i, False)


@njit(cache=True, _nrt=False, inline="always")
def target_event(book: Book, ev: Events, i: int) -> None:
    """:func:`step` with the fill chain inlined (:data:`FILL_HOSTS`) for an event whose only
    working order is an eligible target order (:func:`lone_target`); any other event takes
    :func:`match_orders` as in :func:`step`."""
    step_matching(book, ev, i, True)


@njit(cache=True, _nrt=False, inline="always")
def lone_target(book: Book, s: int, ts: int) -> int:
    """The order to fill when the only working order is a target order eligible now (then
    :func:`match_orders` would do exactly ``fill_target`` and ``end_of_event_orders``), else -1."""
    acct, orders, orders_t = book[0], book[4], book[5]
    if acct[A_NACT] != 1.0:
        return -1
    for k in range(int(acct[A_LOW]), int(acct[A_NORD])):
        if S_ACTIVE <= orders[k, O_STATUS] <= S_PARTIAL:
            if orders[k, O_KIND] == K_TARGET and eligible(acct, orders, orders_t, k, s, ts):
                return k
            return -1
    return -1


@njit(cache=True, _nrt=False, inline="always")
def step_matching(book: Book, ev: Events, i: int, lone: bool) -> None:
    """:func:`step`'s body; ``lone``: try :func:`lone_target` before :func:`match_orders`."""
    acct, acct_t, pos, cfg = book[0], book[1], book[2], book[10]
    ts_a, sym_a, o_a, h_a, l_a, c_a, v_a, sp_a = ev
    ts = ts_a[i]
    s = sym_a[i]
    if acct_t[AT_STARTED] == 0:
        acct_t[AT_STARTED] = 1
        acct_t[AT_DAY] = ts // DAY_NS
        acct_t[AT_NEXTDAY] = (acct_t[AT_DAY] + 1) * DAY_NS
        acct_t[AT_NEXTB] = next_bucket(ts, np.int64(cfg[C_SAMPLE]))
    elif ts >= acct_t[AT_NEXTB]:  # equity sampling without a division per event
        record_equity(book)
        acct_t[AT_NEXTB] = next_bucket(ts, np.int64(cfg[C_SAMPLE]))
    if ts >= acct_t[AT_NEXTDAY]:
        day = ts // DAY_NS
        new_day(book, day, ts)
        acct_t[AT_NEXTDAY] = (day + 1) * DAY_NS
    acct[A_SEQ] += 1.0
    if pos[s, P_SEEN] != 0.0:
        pos[s, P_PREV] = pos[s, P_BID]
    pos[s, P_BID] = o_a[i]  # fills, sizing and conversion at this event see its open
    pos[s, P_ASK] = o_a[i] + sp_a[i]
    pos[s, P_VUSED] = 0.0
    if acct[A_NACT] > 0.0:
        k = lone_target(book, s, ts) if lone else -1
        if k >= 0:
            fill_target(book, k, o_a[i], sp_a[i], v_a[i], ts)
            end_of_event_orders(book, s, ts)
        else:
            match_orders(book, s, o_a[i], h_a[i], l_a[i], sp_a[i], v_a[i], ts)
    update_marks(book, s, h_a[i], l_a[i], c_a[i], sp_a[i])
    acct_t[AT_LASTTS] = ts
    if pos[s, P_QTY] != 0.0:
        check_margin(book, ts)


@njit(cache=True, _nrt=False, inline="always")
def quiet_ok(book: Book) -> bool:
    """The fast path applies: one symbol, started, trading, no working order, room left."""
    return (book[2].shape[0] == 1 and book[1][AT_STARTED] == 1 and book[0][A_NACT] == 0.0
            and book[0][A_STOP] == 0.0 and has_room(book))


# Quiet state (one symbol, no working order) kept in locals by the fast paths:
# (cash, seq, n_eq, next bucket, last ts, bid, ask, prev, vol, seen, mae, mfe) and the
# constants of a quiet stretch: (q, avg, mult, conv mode, conv const, sample, vol alpha,
# next day, last usable equity row, margin band low, margin band high).
QState = tuple[float, float, int, int, int, float, float, float, float, float, float, float]
QConst = tuple[float, float, float, float, float, int, float, int, int, float, float]


@njit(cache=True, _nrt=False, inline="always")
def margin_band(cash: float, q: float, avg: float, mc: float, cfg: np.ndarray,
                const_conv: bool) -> tuple[float, float]:
    """Marks between which :func:`margin_safe` surely holds for a position ``q`` (constant
    conversion rate, so equity and gross value are linear in the mark), narrowed by 1e-9
    relative so rounding never matters; an empty band when that does not apply (every event
    then gets the exact test). Only a shortcut: outside the band :func:`step` decides."""
    if q == 0.0:
        return -math.inf, math.inf
    k = cfg[C_MCLEVEL] / cfg[C_LEVERAGE]
    if not (const_conv and mc > 0.0 and 0.0 <= k < 0.99 and cash > 0.0):
        return math.inf, -math.inf
    a = abs(q)
    scale = avg + cash / (a * mc)
    if q > 0:
        lo = max((q * avg * mc - cash) / (a * mc * (1.0 - k)), avg - cash / (a * mc))
        return lo + 1e-9 * (abs(lo) + scale), math.inf
    hi = min((cash + a * avg * mc) / (a * mc * (1.0 + k)), avg + cash / (a * mc))
    return -math.inf, hi - 1e-9 * (abs(hi) + scale)


@njit(cache=True, _nrt=False, inline="always")
def quiet_load(book: Book) -> tuple[QState, QConst]:
    acct, acct_t, pos, eq, cfg, inst = book[0], book[1], book[2], book[8], book[10], book[11]
    qs = (acct[A_CASH], acct[A_SEQ], int(acct[A_NEQ]), acct_t[AT_NEXTB], acct_t[AT_LASTTS],
          pos[0, P_BID], pos[0, P_ASK], pos[0, P_PREV], pos[0, P_VOL], pos[0, P_SEEN],
          pos[0, P_MAE], pos[0, P_MFE])
    q, avg, mult, mode, const = (pos[0, P_QTY], pos[0, P_AVG], inst[0, I_MULT],
                                 inst[0, I_CONV_MODE], inst[0, I_CONV_CONST])
    lo, hi = margin_band(acct[A_CASH], q, avg, mult * const, cfg, mode == 0.0)
    qc = (q, avg, mult, mode, const, np.int64(cfg[C_SAMPLE]), cfg[C_VOLALPHA],
          acct_t[AT_NEXTDAY], eq.shape[0] - (ROOM + 2), lo, hi)
    return qs, qc


@njit(cache=True, _nrt=False, inline="always")
def quiet_store(book: Book, qs: QState) -> None:
    acct, acct_t, pos = book[0], book[1], book[2]
    _cash, seq, n_eq, nextb, lastts, bid, ask, prev, vol, seen, mae, mfe = qs
    acct[A_SEQ], acct[A_NEQ] = seq, n_eq
    acct_t[AT_NEXTB], acct_t[AT_LASTTS] = nextb, lastts
    pos[0, P_BID], pos[0, P_ASK], pos[0, P_PREV], pos[0, P_VOL] = bid, ask, prev, vol
    pos[0, P_SEEN], pos[0, P_MAE], pos[0, P_MFE], pos[0, P_VUSED] = seen, mae, mfe, 0.0


@njit(cache=True, _nrt=False, inline="always")
def quiet_blocked(qs: QState, qc: QConst, ts: int) -> bool:
    """A day roll or a full equity table: :func:`step` handles the event."""
    return ts >= qc[7] or qs[2] > qc[8]


@njit(cache=True, _nrt=False, inline="always")
def quiet_margin_ok(cash: float, qc: QConst, cfg: np.ndarray, c: float, sp: float) -> bool:
    """No margin call at this event's close (else :func:`step` handles it): the mark in
    the sure band (:func:`margin_band`), else the exact test."""
    q, avg, mult, mode, const = qc[0], qc[1], qc[2], qc[3], qc[4]
    if q == 0.0:
        return True
    mk = c if q > 0 else c + sp
    if qc[9] <= mk <= qc[10]:
        return True
    conv = conv_of(mode, const, 1.0, c, c + sp)
    px = mark_of(q, c, c + sp)
    return margin_safe(cash + upnl(q, px, avg, mult, conv), 0.0 + value_of(q, px, mult, conv),
                       cfg)


@njit(cache=True, _nrt=False, inline="always")
def sample_row(eq: np.ndarray, eq_t: np.ndarray, n: int, cash: float, q: float, avg: float,
               mult: float, conv: float, bid: float, ask: float, ts: int) -> None:
    """Equity row ``n`` of a quiet stretch at the marks ``bid`` / ``ask`` of time ``ts``:
    :func:`record_equity`'s values for one symbol."""
    eq[n, E_EQ] = cash
    eq[n, E_POSVAL] = 0.0
    if q != 0.0:
        px = mark_of(q, bid, ask)
        eq[n, E_EQ] = cash + upnl(q, px, avg, mult, conv)
        eq[n, E_POSVAL] = 0.0 + value_of(q, px, mult, conv)
    eq[n, E_CASH] = cash
    eq[n, E_BENCH] = 0.5 * (bid + ask)
    eq_t[n] = ts


@njit(cache=True, _nrt=False, inline="always")
def quiet_event(qs: QState, qc: QConst, eq: np.ndarray, eq_t: np.ndarray, ts: int, h: float,
                lo: float, c: float, sp: float) -> QState:
    """:func:`step` on a quiet event (equity sample, marks, volatility, MAE / MFE) with the
    same per-event functions, so the state is bit for bit what :func:`step` leaves."""
    cash, seq, n_eq, nextb, lastts, bid, ask, prev, vol, seen, mae, mfe = qs
    q, avg, mult, mode, const, sample, alpha = qc[0], qc[1], qc[2], qc[3], qc[4], qc[5], qc[6]
    new_prev = bid if seen != 0.0 else prev
    if ts >= nextb:
        sample_row(eq, eq_t, n_eq, cash, q, avg, mult, conv_of(mode, const, seen, bid, ask),
                   bid, ask, lastts)
        n_eq += 1
        nextb = next_bucket(ts, sample)
    if seen != 0.0 and alpha == alpha:
        vol = ewma_vol(vol, alpha, c, new_prev)
    if q != 0.0:
        conv = conv_of(mode, const, 1.0, c, c + sp)
        worst, best = worst_best(q, h, lo, sp, avg, mult * conv)
        mae = min(mae, worst)
        mfe = max(mfe, best)
    return (cash, seq + 1.0, n_eq, nextb, ts, c, c + sp, new_prev, vol, 1.0, mae, mfe)


# Lean quiet state, for stretches without a volatility estimate and with a constant
# conversion rate (:func:`lean_ok`): (equity rows used, next sample time, last event's time,
# bid and ask, and the price extremes MAE / MFE come from: min low, max high, min low + spread,
# max high + spread). For a fixed position ``q * (x - avg) * mc`` is monotone in ``x``
# (IEEE rounding is monotone), so the extreme price gives exactly the extreme of the
# per-event values: :func:`lean_done` leaves the book bit for bit as :func:`quiet_event`
# would, with no multiply per event.
Lean = tuple[int, int, int, float, float, float, float, float, float]
# Its last four values, the price extremes (min low, max high, min low + spread, max high +
# spread).
Extremes = tuple[float, float, float, float]


@njit(cache=True, _nrt=False, inline="always")
def lean_ok(qc: QConst) -> bool:
    return math.isnan(qc[6]) and qc[3] == 0.0 and qc[2] * qc[4] > 0.0


@njit(cache=True, _nrt=False, inline="always")
def lean_start(qs: QState) -> Lean:
    return (qs[2], qs[3], qs[4], qs[5], qs[6], math.inf, -math.inf, math.inf, -math.inf)


@njit(cache=True, _nrt=False, inline="always")
def lean_blocked(ln: Lean, qc: QConst, ts: int) -> bool:
    """:func:`quiet_blocked` on lean state."""
    return ts >= qc[7] or ln[0] > qc[8]


@njit(cache=True, _nrt=False, inline="always")
def lean_event(ln: Lean, qs: QState, qc: QConst, eq: np.ndarray, eq_t: np.ndarray, ts: int,
               h: float, lo: float, c: float, sp: float) -> Lean:
    """:func:`quiet_event` on lean state: the equity sample (same arithmetic, conversion
    rate ``const``), then the extremes."""
    n_eq, nextb, lastts, bid, ask = ln[0], ln[1], ln[2], ln[3], ln[4]
    if ts >= nextb:
        sample_row(eq, eq_t, n_eq, qs[0], qc[0], qc[1], qc[2], qc[4], bid, ask, lastts)
        n_eq += 1
        nextb = next_bucket(ts, qc[5])
    return (n_eq, nextb, ts, c, c + sp, *widen(ln[5:], h, lo, sp))


@njit(cache=True, _nrt=False, inline="always")
def widen(ext: Extremes, h: float, lo: float, sp: float) -> Extremes:
    """The price extremes ``ext`` (:data:`Extremes`) with one more event's high, low and
    spread: what :func:`lean_event` and :func:`extremes` take per event."""
    lo_min, h_max, ls_min, hs_max = ext
    return min(lo_min, lo), max(h_max, h), min(ls_min, lo + sp), max(hs_max, h + sp)


@njit(cache=True, _nrt=False, inline="always")
def lean_done(qs: QState, qc: QConst, ln: Lean, count: int, prev: float) -> QState:
    """The quiet state after ``count`` lean events (``prev``: the bid before the last one).
    One symbol has started, so its marks were seen: every event moves ``prev``."""
    if count == 0:
        return qs
    cash, seq, _n, _b, _t, _bid, _ask, _prev, vol, _seen, mae, mfe = qs
    n_eq, nextb, lastts, bid, ask, lo_min, h_max, ls_min, hs_max = ln
    q, avg, mc = qc[0], qc[1], qc[2] * qc[4]
    if q > 0.0:
        mae = min(mae, q * (lo_min - avg) * mc)
        mfe = max(mfe, q * (h_max - avg) * mc)
    elif q < 0.0:
        mae = min(mae, q * (hs_max - avg) * mc)
        mfe = max(mfe, q * (ls_min - avg) * mc)
    return (cash, seq + count, n_eq, nextb, lastts, bid, ask, prev, vol, 1.0, mae, mfe)


# Events a lean stretch takes in one go (its signal pass, then its extremes and bookkeeping
# passes): the arrays of a block stay in L1 between the passes.
LEAN_BLOCK = 2048


@njit(cache=True, _nrt=False, inline="always")
def lean_reach(ln: Lean, qc: QConst, i0: int, i1: int) -> int:
    """End of the events from ``i0`` (at most :data:`LEAN_BLOCK` of them) before the equity
    table could fill (each event adds at most one row). The day roll is the scan's own stop
    (a test per event on times it loads anyway: finding it here read a time up to a block
    ahead, a cache miss every time a scan started)."""
    return min(i1, i0 + LEAN_BLOCK, i0 + qc[8] - ln[0] + 1)


@njit(cache=True, _nrt=False, inline="always")
def first_at(ts_a: np.ndarray, t: int, i1: int, when: int) -> int:
    """The first event from ``t`` to ``i1`` whose time is >= ``when`` (``i1`` if none):
    galloping then bisection over the time-ordered events, so far-apart samples cost a
    few probes, not a pass."""
    if t >= i1 or ts_a[t] >= when:
        return t
    lo, step = t, 1  # ts_a[lo] < when
    while lo + step < i1 and ts_a[lo + step] < when:
        lo += step
        step *= 2
    hi = min(lo + step, i1)  # the answer is in (lo, hi]
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if ts_a[mid] < when:
            lo = mid
        else:
            hi = mid
    return hi


@njit(cache=True, _nrt=False, inline="always")
def extremes(ev: Events, i0: int, i1: int, ext: Extremes) -> Extremes:
    """``ext`` (:data:`Extremes`) widened by the events ``i0 .. i1 - 1``, in order, as
    :func:`lean_event` widens it event by event."""
    h_a, l_a, sp_a = ev[3], ev[4], ev[7]
    for i in range(i0, i1):
        ext = widen(ext, h_a[i], l_a[i], sp_a[i])
    return ext


@njit(cache=True, _nrt=False, inline="always")
def lean_span(ln: Lean, qs: QState, qc: QConst, eq: np.ndarray, eq_t: np.ndarray, ev: Events,
              i0: int, i1: int, ext: Extremes) -> Lean:
    """:func:`lean_event` over the events ``i0 .. i1 - 1`` (all quiet, checked by the caller)
    whose price extremes ``ext`` the caller already took: the same samples, with the marks
    of the event before each sample read back from the events instead of carried. Between
    samples only a few times are read (:func:`first_at`)."""
    if i1 <= i0:
        return ln
    ts_a, c_a, sp_a = ev[0], ev[5], ev[7]
    n_eq, nextb, lastts, bid, ask = ln[0], ln[1], ln[2], ln[3], ln[4]
    t = i0
    while True:
        t = first_at(ts_a, t, i1, nextb)
        if t == i1:
            break
        if t > i0:
            lastts, bid, ask = ts_a[t - 1], c_a[t - 1], c_a[t - 1] + sp_a[t - 1]
        sample_row(eq, eq_t, n_eq, qs[0], qc[0], qc[1], qc[2], qc[4], bid, ask, lastts)
        n_eq += 1
        nextb = next_bucket(ts_a[t], qc[5])
        t += 1
    t = i1 - 1
    return (n_eq, nextb, ts_a[t], c_a[t], c_a[t] + sp_a[t], ext[0], ext[1], ext[2], ext[3])


@njit(cache=True, _nrt=False, inline="always")
def lean_run(book: Book, ev: Events, targets: np.ndarray, qs: QState, qc: QConst, i0: int,
             i1: int) -> tuple[int, QState]:
    """:func:`quiet_run`'s loop on lean state. One pass: unlike the fused SMA loop
    (``strategies.nb.steady_lean_loop``), nothing here waits on a long dependency chain, so
    a separate decision pass would only add loads."""
    cfg, eq, eq_t = book[10], book[8], book[9]
    ts_a, h_a, l_a, c_a, sp_a = ev[0], ev[3], ev[4], ev[5], ev[7]
    ln = lean_start(qs)
    i = i0
    while i < i1:
        ts = ts_a[i]
        if lean_blocked(ln, qc, ts) or not quiet_margin_ok(qs[0], qc, cfg, c_a[i], sp_a[i]):
            break
        ln = lean_event(ln, qs, qc, eq, eq_t, ts, h_a[i], l_a[i], c_a[i], sp_a[i])
        i += 1
        if not math.isnan(targets[i - 1]):
            break
    return i, lean_done(qs, qc, ln, i - i0, lean_prev(c_a, qs, i0, i))


@njit(cache=True, _nrt=False, inline="always")
def lean_prev(c_a: np.ndarray, qs: QState, i0: int, i: int) -> float:
    """The bid before the last of the lean events ``i0 .. i - 1`` (:func:`lean_done`)."""
    return c_a[i - 2] if i - 2 >= i0 else qs[5]


@njit(cache=True, _nrt=False, inline="always")
def quiet_run(book: Book, ev: Events, targets: np.ndarray, i0: int, i1: int) -> int:
    """Fast path of :func:`step` for events where nothing can happen: one symbol, no working
    order, no day roll, no margin call; it stops after the first event with a decision (the
    caller then submits it: the event itself is quiet, its order acts from the next one).
    The state lives in locals (:func:`quiet_load`) and goes back to the book at the end; the
    arithmetic is :func:`step`'s own per-event functions, so the book is bit for bit what
    :func:`step` would leave. Returns the first event it did not process (the caller runs
    :func:`step` on it)."""
    if not quiet_ok(book):
        return i0
    cfg, eq, eq_t = book[10], book[8], book[9]
    ts_a, h_a, l_a, c_a, sp_a = ev[0], ev[3], ev[4], ev[5], ev[7]
    qs, qc = quiet_load(book)
    if lean_ok(qc):
        i, qs = lean_run(book, ev, targets, qs, qc, i0, i1)
        if i > i0:
            quiet_store(book, qs)
        return i
    i = i0
    while i < i1:
        ts = ts_a[i]
        if quiet_blocked(qs, qc, ts) or not quiet_margin_ok(qs[0], qc, cfg, c_a[i], sp_a[i]):
            break  # a day roll, a full table or a margin call: step() handles this event
        qs = quiet_event(qs, qc, eq, eq_t, ts, h_a[i], l_a[i], c_a[i], sp_a[i])
        i += 1
        if not math.isnan(targets[i - 1]):
            break  # a decision: the caller submits it
    if i > i0:
        quiet_store(book, qs)
    return i


@njit(cache=True, _nrt=False)
def close_fill(book: Book, ev: Events, i: int) -> None:
    """``fill_on="close"``: market/target orders placed on this event fill at its close."""
    acct, orders, orders_t = book[0], book[4], book[5]
    ts_a, sym_a, c_a, v_a, sp_a = ev[0], ev[1], ev[5], ev[6], ev[7]
    s = sym_a[i]
    ts = ts_a[i]
    if acct[A_NACT] == 0.0:
        return
    for k in range(int(acct[A_LOW]), int(acct[A_NORD])):
        st = orders[k, O_STATUS]
        if not S_ACTIVE <= st <= S_PARTIAL or int(orders[k, O_SYM]) != s:
            continue
        if orders[k, O_SEQ] != acct[A_SEQ] or orders_t[k, OT_ACTIVE] > ts:
            continue
        if orders[k, O_KIND] == K_TARGET:
            fill_target(book, k, c_a[i], sp_a[i], v_a[i], ts)
        elif orders[k, O_KIND] == K_MARKET:
            match_market(book, k, c_a[i], sp_a[i], v_a[i], ts)


@njit(cache=True, _nrt=False, inline="always")
def has_room(book: Book) -> bool:
    acct, orders, trades, eq = book[0], book[4], book[6], book[8]
    n_sym = book[2].shape[0]
    need = ROOM + 2 * n_sym
    return (orders.shape[0] - acct[A_NORD] >= need and trades.shape[0] - acct[A_NTRD] >= need
            and eq.shape[0] - acct[A_NEQ] >= need)


# ---------------------------------------------------------------- run loops


@njit(cache=True, _nrt=False, inline="always")
def decide(book: Book, ev: Events, i: int, target: float, tmode: int,
           close_fill_on: bool) -> None:
    """After event ``i``: submit its target (NaN: no decision), then, with
    ``fill_on="close"``, fill market and target orders at its close."""
    if not math.isnan(target):
        submit_target(book, ev[1][i], target, tmode, ev[0][i])
    if close_fill_on:
        close_fill(book, ev, i)


@njit(cache=True, _nrt=False)
def run_targets(book: Book, ev: Events, targets: np.ndarray, tmode: int, i0: int, i1: int) -> int:
    """Compiled path over an array of target positions (NaN = no decision on that event).
    Quiet stretches go through :func:`quiet_run`, the rest through :func:`step`.
    Returns the index of the first event not processed (< i1 when a table needs room)."""
    cfg = book[10]
    close_fill_on = cfg[C_CLOSEFILL] == 1.0
    i = i0
    while i < i1:
        j = quiet_run(book, ev, targets, i, i1)
        if j > i and not math.isnan(targets[j - 1]):  # a decision on a quiet event
            decide(book, ev, j - 1, targets[j - 1], tmode, close_fill_on)
            i = j
            continue
        i = j
        if i >= i1:
            break
        if not has_room(book):
            return i
        target_event(book, ev, i)
        decide(book, ev, i, targets[i], tmode, close_fill_on)
        i += 1
    return i1


@njit(cache=True, _nrt=False)
def run_steps(book: Book, ev: Events, i0: int, i1: int) -> int:
    """Process events without decisions (used between Python callbacks and for warm-up)."""
    for i in range(i0, i1):
        if not has_room(book):
            return i
        step(book, ev, i)
    return i1


@njit(cache=True)
def run_callback(book: Book, ev: Events, fn, params: np.ndarray, tmode: int, i0: int,
                 i1: int) -> int:
    """Compiled path over a user's numba function ``fn(i, ev, book, params) -> target``
    (NaN = no new target); ``fn`` may also place orders with :func:`submit`."""
    close_fill_on = book[10][C_CLOSEFILL] == 1.0
    for i in range(i0, i1):
        if not has_room(book):
            return i
        step(book, ev, i)
        decide(book, ev, i, fn(i, ev, book, params), tmode, close_fill_on)
    return i1


@njit(cache=True, _nrt=False)
def finish(book: Book) -> None:
    """End of data: record the last equity row."""
    if book[1][AT_STARTED] == 1:
        record_equity(book)


@njit(cache=True, _nrt=False)
def bare_loop(bid: np.ndarray, ask: np.ndarray, fast: int, slow: int) -> float:
    """Reference for benchmarks: the simplest possible SMA-cross P&L loop over quotes."""
    mid0 = 0.5 * (bid[0] + ask[0])
    sf = 0.0
    ss = 0.0
    pos = 0.0
    entry = 0.0
    pnl = 0.0
    prev = 0.0
    for i in range(bid.shape[0]):
        m = 0.5 * (bid[i] + ask[i]) - mid0
        sf += m
        ss += m
        if i >= fast:
            sf -= 0.5 * (bid[i - fast] + ask[i - fast]) - mid0
        if i >= slow:
            ss -= 0.5 * (bid[i - slow] + ask[i - slow]) - mid0
        d = sf / fast - ss / slow if i >= slow - 1 else 0.0
        if prev <= 0.0 < d and pos <= 0.0:
            pnl += pos * (ask[i] - entry)
            pos = 1.0
            entry = ask[i]
        elif prev >= 0.0 > d and pos >= 0.0:
            pnl += pos * (bid[i] - entry)
            pos = -1.0
            entry = bid[i]
        prev = d
    return pnl


@njit(cache=True, _nrt=False)
def py_step(book: Book, ev: Events, i: int) -> tuple[float, float]:
    """The Python path's one call per event: :func:`step` on event ``i`` when the tables
    have room. Returns (the order-table low mark before the step, fills so far), or
    (-1, -1) without stepping when a table must grow first."""
    if not has_room(book):
        return -1.0, -1.0
    low = book[0][A_LOW]
    step(book, ev, i)
    return low, book[0][A_NFILL]
