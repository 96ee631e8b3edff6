"""The fused SMA-cross kernel (signals computed inside the execution pass) and the two-pass
path (signals -> targets -> ``run_targets``, quiet stretches on the fast paths) leave the very
book that ``step`` on every event leaves, bit for bit, and its
division-free compare and scalar state give pandas' means and the step-by-step signals."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from numba import njit

from tickforge.engine import nb as core
from tickforge.engine.broker import Book
from tickforge.engine.data import Events
from tickforge.engine.run import execute, make_config
from tickforge.strategies import _sma_state, get_strategy, nb


def quotes(n: int, seed: int, step: float = 2e-5) -> Events:
    rng = np.random.default_rng(seed)
    bid = np.round(1.1 + np.cumsum(rng.normal(0, step, n)), 5)  # ties and equal runs
    sp = np.round(rng.uniform(0.5e-4, 2e-4, n), 5)
    ts = np.int64(1_600_000_000 * 10**9) + np.cumsum(rng.integers(1, 4 * 10**9, n))
    return Events("quotes", ["EURUSD"], ts, np.zeros(n, np.int64), bid, bid, bid, bid,
                  np.zeros(n), sp)


@njit(cache=True)
def target_at(i: int, ev: tuple, book: tuple, targets: np.ndarray) -> float:
    return targets[i]


def two_pass(ev: Events, options: dict[str, object], params: dict[str, object],
             stepwise: bool = False) -> Book:
    """Signals, then targets through ``run_targets`` (quiet stretches on the fast paths) or,
    ``stepwise``, through ``run_callback``: :func:`step` on every event, the reference."""
    config = make_config("sma_cross", params, options)
    strat = get_strategy("sma_cross")
    p = strat.validate(params)
    book = Book.create(config, ev.kind, ev.symbols, capacity=8, equity_rows=8)
    x = ev.price()
    st = _sma_state(p)
    sig = nb.sma_cross_ref(x, p["fast"], p["slow"], p["allow_short"], st["st"], st["rf"],
                           st["rs"])
    size = float(options.get("size", 1.0))  # type: ignore[arg-type]
    tmode = core.TM_UNITS if options.get("size_mode") == "units" else core.TM_EQUITY
    tup = ev.as_tuple()
    targets = sig * size
    if stepwise:
        execute(book, ev, lambda i0, i1: core.run_callback(book.arrays, tup, target_at, targets,
                                                           tmode, i0, i1))
    else:
        execute(book, ev, lambda i0, i1: core.run_targets(book.arrays, tup, targets, tmode,
                                                          i0, i1))
    core.finish(book.arrays)
    return book


def fused(ev: Events, options: dict[str, object], params: dict[str, object],
          chunk: int) -> Book:
    config = make_config("sma_cross", params, options)
    strat = get_strategy("sma_cross")
    p = strat.validate(params)
    book = Book.create(config, ev.kind, ev.symbols, capacity=8, equity_rows=8)
    state = strat.new_state(p)
    size = float(options.get("size", 1.0))  # type: ignore[arg-type]
    tmode = core.TM_UNITS if options.get("size_mode") == "units" else core.TM_EQUITY
    assert strat.fused_fn is not None
    for a in range(0, len(ev), chunk):
        part = ev.slice(a, a + chunk)
        tup = part.as_tuple()
        execute(book, part, lambda i0, i1, t=tup: strat.fused_fn(
            book.arrays, t, 0.5, p, state, size, tmode, i0, i1))
    core.finish(book.arrays)
    return book


def used(book: Book) -> list[np.ndarray]:
    acct = book.arrays[0]
    n_ord, n_trd, n_eq = int(acct[core.A_NORD]), int(acct[core.A_NTRD]), int(acct[core.A_NEQ])
    a = book.arrays
    return [a[0], a[1], a[2], a[3], a[4][:n_ord], a[5][:n_ord], a[6][:n_trd], a[7][:n_trd],
            a[8][:n_eq], a[9][:n_eq]]


@pytest.mark.parametrize(("options", "params", "chunk"), [
    ({}, {"fast": 5, "slow": 20}, 1_000),
    ({"equity_every": "1s", "leverage": 30.0, "margin_call_level": 0.5}, {"fast": 3, "slow": 9},
     777),
    ({"slippage": {"model": "volatility", "value": 0.5}}, {"fast": 12, "slow": 30}, 2_500),
    ({"size_mode": "units", "size": 50_000.0, "commission": {"per_million": 20.0},
      "fill_on": "close"},
     {"fast": 8, "slow": 40, "allow_short": False}, 4_000),
])
def test_fused_book_equals_two_pass(options: dict[str, object], params: dict[str, object],
                                    chunk: int) -> None:
    ev = quotes(12_000, seed=len(options))
    ref = two_pass(ev, options, params, stepwise=True)
    assert int(ref.acct[core.A_NTRD]) > 50  # many flips, tables grown many times
    for got in (two_pass(ev, options, params), fused(ev, options, params, chunk)):
        for a, b in zip(used(ref), used(got), strict=True):
            np.testing.assert_array_equal(a, b)


def test_scalar_kernel_equals_step_by_step_and_pandas() -> None:
    rng = np.random.default_rng(5)
    walks = [np.round(1.1 + np.cumsum(rng.normal(0, 2e-5, 30_000)), 5),
             np.r_[np.full(300, 1.5), -np.ones(200), rng.normal(0, 1, 2_000), np.zeros(100)]]
    for x in walks:
        for fast, slow in ((1, 2), (5, 20), (50, 200)):
            p = {"fast": fast, "slow": slow}
            a, b = _sma_state(p), _sma_state(p)
            parts = np.concatenate([nb.sma_cross(x[i:i + 333], fast, slow, True, a["st"],
                                                 a["rf"], a["rs"]) for i in range(0, len(x), 333)])
            ref = nb.sma_cross_ref(x, fast, slow, True, b["st"], b["rf"], b["rs"])
            np.testing.assert_array_equal(parts, ref)
            np.testing.assert_array_equal(a["st"], b["st"])
            expected = pd.Series(x).rolling(slow).mean().to_numpy()
            np.testing.assert_array_equal(nb.rolling_mean(x, slow), expected)


def awkward(n: int, seed: int) -> Events:
    """Prices through zero (negative values stop the scan pass), long runs of one price (the
    exact path of the means), day rolls every few events, bursts of ticks in one second."""
    rng = np.random.default_rng(seed)
    bid = np.round(0.02 + np.cumsum(rng.normal(0, 2e-3, n)), 3)
    for a in rng.integers(0, n - 300, 6):
        bid[a:a + rng.integers(20, 250)] = bid[a]
    sp = np.round(rng.uniform(1e-3, 3e-3, n), 3)
    gaps = np.where(rng.random(n) < 0.02, 6 * 3600 * 10**9, rng.integers(1, 2 * 10**9, n))
    ts = np.int64(1_600_000_000 * 10**9) + np.cumsum(gaps)
    return Events("quotes", ["X"], ts, np.zeros(n, np.int64), bid, bid, bid, bid, np.zeros(n), sp)


@pytest.mark.parametrize(("params", "chunk"), [({"fast": 2, "slow": 5}, 333),
                                               ({"fast": 7, "slow": 31}, 5_000)])
def test_fused_equals_step_on_awkward_prices(params: dict[str, object], chunk: int) -> None:
    ev = awkward(8_000, seed=chunk)
    assert (ev.c < 0).any() and (ev.c > 0).any()
    options = {"size_mode": "units", "size": 10.0, "equity_every": "1s"}
    ref = two_pass(ev, options, params, stepwise=True)
    assert int(ref.acct[core.A_NTRD]) > 50
    for got in (two_pass(ev, options, params), fused(ev, options, params, chunk)):
        for a, b in zip(used(ref), used(got), strict=True):
            np.testing.assert_array_equal(a, b)
