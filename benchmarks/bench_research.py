"""Research benchmarks: SMA-crossover sweeps over one-minute bars vs vectorbt and backtesting.py.

Full size: 1,000 parameter sets (25 fast x 40 slow windows) over 200,000 bars through the batch
path (in this process, numba threads over both cores), wall and CPU seconds; 10,000 sets over
1,000,000 bars for peak memory (child process). Peers are timed on documented subsets of the
same grid in the same run and scaled linearly (said in each note). Quick mode measures fewer
sets and scales.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

AREA = "research"
FAST = tuple(range(2, 52, 2))  # 25
SLOW = tuple(range(60, 460, 10))  # 40 -> 1,000 sets, all fast < slow


def minute_bars(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    close = 1.1 * np.exp(np.cumsum(rng.normal(0, 2e-4, n)))
    open_ = np.concatenate([[close[0]], close[:-1]])
    wiggle = np.abs(rng.normal(0, 1e-4, n))
    return pd.DataFrame({"ts": pd.date_range("2024-01-01", periods=n, freq="1min", tz="UTC"),
                         "open": open_, "high": np.maximum(open_, close) + wiggle,
                         "low": np.minimum(open_, close) - wiggle, "close": close,
                         "volume": np.full(n, 1000.0)})


def grid(n_sets: int) -> dict[str, tuple[int, ...]]:
    """The first ``n_sets`` of the 1,000-set grid, as a grid of whole slow columns."""
    slow = SLOW[: max(1, n_sets // len(FAST))]
    return {"fast": FAST, "slow": slow}


def pairs(g: dict[str, tuple[int, ...]]) -> list[tuple[int, int]]:
    return [(f, s) for f in g["fast"] for s in g["slow"] if f < s]


def time_tickforge(data: pd.DataFrame, g: dict[str, tuple[int, ...]]) -> tuple[float, float, int]:
    """(wall s, CPU s of all threads, sets) of ``tf.sweep`` in this process."""
    import tickforge as tf

    tf.sweep(data.head(3000), "sma_cross", grid={"fast": (5,), "slow": (20,)})  # warm the JIT
    w0, c0 = time.perf_counter(), time.process_time()
    res = tf.sweep(data, "sma_cross", grid=g)
    return time.perf_counter() - w0, time.process_time() - c0, len(res.table)


def time_vectorbt(data: pd.DataFrame, sets: list[tuple[int, int]]) -> float:
    import vectorbt as vbt

    close = data.set_index("ts")["close"]
    warm = close.head(500)  # compile vectorbt's numba kernels outside the timing
    wf, ws = vbt.MA.run(warm, [5], short_name="fast"), vbt.MA.run(warm, [20], short_name="slow")
    pf = vbt.Portfolio.from_signals(warm, wf.ma_crossed_above(ws), wf.ma_crossed_below(ws))
    pf.sharpe_ratio()
    t0 = time.perf_counter()
    fast = vbt.MA.run(close, [f for f, _ in sets], short_name="fast")
    slow = vbt.MA.run(close, [s for _, s in sets], short_name="slow")
    pf = vbt.Portfolio.from_signals(close, fast.ma_crossed_above(slow),
                                    fast.ma_crossed_below(slow))
    pf.sharpe_ratio()
    return time.perf_counter() - t0


def time_backtesting(data: pd.DataFrame, sets: list[tuple[int, int]]) -> float:
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
    for f, s in sets:
        bt.run(fast=f, slow=s)
    return time.perf_counter() - t0


MEMORY_CHILD = """
import json, sys, time
sys.path.insert(0, {here!r})
from bench_research import minute_bars
import tickforge as tf
def hwm_mb():  # this process's peak RSS (ru_maxrss would include the forking parent's)
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
n_bars, n_fast, n_slow = {n_bars}, {n_fast}, {n_slow}
data = minute_bars(n_bars)
g = {{"fast": tuple(range(2, 2 + 2 * n_fast, 2)), "slow": tuple(range(300, 300 + 5 * n_slow, 5))}}
t0 = time.perf_counter()
res = tf.sweep(data, "sma_cross", grid=g)
print(json.dumps({{"sets": len(res.table), "seconds": time.perf_counter() - t0,
                  "cpu": time.process_time(),
                  "rss_mb": hwm_mb()}}))
"""


def memory_run(n_bars: int, n_fast: int, n_slow: int) -> dict[str, Any]:
    """Peak RSS of a sweep in a fresh process (data + means + per-thread books)."""
    code = MEMORY_CHILD.format(here=str(Path(__file__).parent), n_bars=n_bars, n_fast=n_fast,
                               n_slow=n_slow)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=3600)
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def sweep_rows(quick: bool) -> list[dict[str, Any]]:
    n_bars, n_sets = 200_000, 1_000
    data = minute_bars(n_bars)
    g = grid(200 if quick else n_sets)
    wall, cpu, got = time_tickforge(data, g)
    scale = n_sets / got
    ours, ours_cpu = wall * scale, cpu * scale
    note = (f"{got} sets x {n_bars:,} bars measured" + (f", scaled x{scale:g}" if scale != 1
                                                          else "")
            + f"; CPU {ours_cpu:.2f} s over all threads (machine shared: wall is noisy); batch"
            " path: shared SMAs, engine core + metrics kernels per set")
    rows: list[dict[str, Any]] = [{
        "area": AREA, "name": "sweep 1,000 SMA sets x 200k 1-min bars", "value": ours,
        "unit": "s", "target": "< 2 s", "ok": ours < 2.0, "note": note}]
    vbt_sets = pairs(grid(50 if quick else 200))
    peer = time_vectorbt(data, vbt_sets) * n_sets / len(vbt_sets)
    rows.append({"area": AREA, "name": "same sweep, vectorbt MA + from_signals", "value": ours,
                 "unit": "s", "peer": "vectorbt", "peer_value": peer, "ratio": peer / ours,
                 "note": f"vectorbt timed on {len(vbt_sets)} sets x {n_bars:,} bars, scaled"})
    bt_sets = pairs(grid(50))[:: 25 if quick else 10]
    bt_data = data.head(20_000)
    bt_peer = time_backtesting(bt_data, bt_sets) * n_sets / len(bt_sets) * n_bars / len(bt_data)
    rows.append({"area": AREA, "name": "same sweep, backtesting.py optimize-equivalent",
                 "value": ours, "unit": "s", "peer": "backtesting.py", "peer_value": bt_peer,
                 "ratio": bt_peer / ours,
                 "note": f"backtesting.py: {len(bt_sets)} runs x {len(bt_data):,} bars, scaled "
                         "linearly to 1,000 x 200k"})
    return rows


def memory_rows(quick: bool) -> list[dict[str, Any]]:
    n_fast, n_slow = (25, 40) if quick else (100, 100)
    got = memory_run(1_000_000, n_fast, n_slow)
    return [{"area": AREA, "name": f"{got['sets']:,} sets x 1M bars: peak RSS",
             "value": got["rss_mb"], "unit": "MB", "target": "< 2048 MB (10,000 sets)",
             "ok": got["rss_mb"] < 2048,
             "note": f"{got['seconds']:.0f} s wall, {got['cpu']:.0f} s CPU; memory does not "
                     "grow with the number of sets (per-thread books, bounded SMA pool)"
                     + ("; quick: 1,000 sets" if quick else "")}]


def run(quick: bool) -> list[dict[str, Any]]:
    rows = sweep_rows(quick)
    rows += memory_rows(quick)
    rows.append({"area": AREA, "name": "peak RSS of this benchmark process (incl. vectorbt)",
                 "value": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                 "unit": "MB"})
    return rows
