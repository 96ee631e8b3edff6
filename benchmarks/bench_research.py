"""Research benchmarks: SMA-crossover sweep over one-minute bars vs vectorbt and backtesting.py.

Full size is 1,000 parameter sets over 200,000 bars. Peers are slow, so each is timed on a
documented subset of the same grid and scaled linearly to the full grid (said in the note).
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pandas as pd

AREA = "research"


def minute_bars(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    close = 1.1 * np.exp(np.cumsum(rng.normal(0, 2e-4, n)))
    open_ = np.concatenate([[close[0]], close[:-1]])
    wiggle = np.abs(rng.normal(0, 1e-4, n))
    return pd.DataFrame({"ts": pd.date_range("2024-01-01", periods=n, freq="1min", tz="UTC"),
                         "open": open_, "high": np.maximum(open_, close) + wiggle,
                         "low": np.minimum(open_, close) - wiggle, "close": close,
                         "volume": np.full(n, 1000.0)})


def grid_pairs(n_sets: int) -> list[tuple[int, int]]:
    """``n_sets`` (fast, slow) pairs with fast < slow: fast 5..., slow 20..., like the issue."""
    pairs = [(f, s) for f in range(2, 200) for s in range(10, 400, 5) if f < s]
    step = max(1, len(pairs) // n_sets)
    return pairs[::step][:n_sets]


def time_tickforge(data: pd.DataFrame, pairs: list[tuple[int, int]]) -> float:
    import tickforge as tf
    from tickforge.research.executors import LocalExecutor

    fast = tuple(sorted({f for f, _ in pairs}))
    slow = tuple(sorted({s for _, s in pairs}))
    grid = {"fast": fast, "slow": slow}
    tf.sweep(data.head(2000), "sma_cross", grid={"fast": (5,), "slow": (20,)})  # warm the JIT
    t0 = time.perf_counter()
    res = tf.sweep(data, "sma_cross", grid=grid, constraints=["fast<slow"],
                   executor=LocalExecutor())
    seconds = time.perf_counter() - t0
    return seconds / max(len(res.table), 1) * len(pairs)  # per-set time x requested sets


def time_vectorbt(data: pd.DataFrame, pairs: list[tuple[int, int]]) -> float:
    import vectorbt as vbt

    close = data.set_index("ts")["close"]
    warm = close.head(500)  # compile vectorbt's numba kernels outside the timing
    wf, ws = vbt.MA.run(warm, [5], short_name="fast"), vbt.MA.run(warm, [20], short_name="slow")
    pf = vbt.Portfolio.from_signals(warm, wf.ma_crossed_above(ws), wf.ma_crossed_below(ws))
    pf.sharpe_ratio()
    t0 = time.perf_counter()
    fast = vbt.MA.run(close, [f for f, _ in pairs], short_name="fast")
    slow = vbt.MA.run(close, [s for _, s in pairs], short_name="slow")
    entries = fast.ma_crossed_above(slow)
    exits = fast.ma_crossed_below(slow)
    pf = vbt.Portfolio.from_signals(close, entries, exits)
    pf.sharpe_ratio()
    return time.perf_counter() - t0


def time_backtesting(data: pd.DataFrame, pairs: list[tuple[int, int]]) -> float:
    from backtesting import Backtest, Strategy
    from backtesting.lib import crossover
    from backtesting.test import SMA

    class SmaCross(Strategy):  # type: ignore[misc]
        fast = 10
        slow = 30

        def init(self) -> None:
            self.f = self.I(SMA, self.data.Close, self.fast)
            self.s = self.I(SMA, self.data.Close, self.slow)

        def next(self) -> None:
            if crossover(self.f, self.s):
                self.buy()
            elif crossover(self.s, self.f):
                self.position.close()

    frame = data.set_index("ts").rename(columns=str.capitalize)
    bt = Backtest(frame, SmaCross, cash=100_000, finalize_trades=True)
    t0 = time.perf_counter()
    for f, s in pairs:
        bt.run(fast=f, slow=s)
    return time.perf_counter() - t0


def run(quick: bool) -> list[dict[str, Any]]:
    n_bars, n_sets = 200_000, 1_000
    data = minute_bars(n_bars if not quick else 50_000)
    tf_sets = 6 if quick else 40
    pairs = grid_pairs(n_sets)
    sub = pairs[:: max(1, n_sets // tf_sets)][:tf_sets]
    scale_bars = n_bars / len(data)
    ours = time_tickforge(data, sub) * (n_sets / len(sub)) * scale_bars
    rows: list[dict[str, Any]] = [{
        "area": AREA, "name": "sweep 1,000 SMA sets x 200k 1-min bars", "value": ours, "unit": "s",
        "target": "< 2 s", "ok": ours < 2.0,
        "note": f"measured {len(sub)} sets x {len(data):,} bars on local processes, scaled "
                "linearly; every set is a full engine backtest + compute_metrics"}]
    vbt_sets = 20 if quick else 100
    vbt_pairs = pairs[:: max(1, n_sets // vbt_sets)][:vbt_sets]
    peer = time_vectorbt(data, vbt_pairs) * (n_sets / len(vbt_pairs)) * scale_bars
    rows.append({"area": AREA, "name": "same sweep, vectorbt from_signals", "value": ours,
                 "unit": "s", "peer": "vectorbt", "peer_value": peer, "ratio": peer / ours,
                 "note": f"vectorbt timed on {len(vbt_pairs)} sets, scaled linearly"})
    bt_pairs = pairs[:: max(1, n_sets // 3)][:3]
    bt_data = data.head(20_000)
    bt_seconds = time_backtesting(bt_data, bt_pairs)
    bt_peer = bt_seconds * (n_sets / len(bt_pairs)) * (n_bars / len(bt_data))
    rows.append({"area": AREA, "name": "same sweep, backtesting.py optimize-equivalent",
                 "value": ours, "unit": "s", "peer": "backtesting.py", "peer_value": bt_peer,
                 "ratio": bt_peer / ours,
                 "note": f"backtesting.py: {len(bt_pairs)} runs x {len(bt_data):,} bars, scaled"})
    rows.append({"area": AREA, "name": "10,000 sets x 1M bars peak memory; Dask 2 vs 1 workers",
                 "note": "not measured yet (see docs/research.md)"})
    return rows
