"""Walk-forward analysis: optimise in-sample, evaluate out-of-sample, stitch the equity.

For every window (:mod:`tickforge.research.windows`) a sweep runs on the training slice
only; the best parameters by the objective then run as one backtest on the following test
slice, which starts flat (indicators warm up inside the test slice: no training data leaks
into it). The out-of-sample equity curves are chained (each scaled to start where the
previous ended) into one curve. Degradation compares in-sample and out-of-sample objective.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from tickforge.config import BacktestConfig, Scalar, SweepConfig, WalkForwardConfig
from tickforge.engine.data import lake_frame, to_pandas
from tickforge.errors import ConfigError
from tickforge.progress import ProgressFn, no_progress
from tickforge.research.data import slice_time, time_range
from tickforge.research.executors import Executor, InlineExecutor, make_executor
from tickforge.research.sweep import run_sweep
from tickforge.research.windows import Window, make_windows


@dataclass
class WalkForwardResult:
    windows: pd.DataFrame  # one row per window: bounds, best params, IS and OOS objective
    equity: pd.DataFrame  # stitched out-of-sample equity: ts, equity
    config: WalkForwardConfig
    seconds: float = 0.0
    oos_metrics: list[dict[str, float]] = field(default_factory=list)

    @property
    def objective(self) -> str:
        return self.config.sweep.objective

    def degradation(self) -> dict[str, float]:
        """Mean in-sample vs out-of-sample objective; efficiency = OOS / IS."""
        if self.windows.empty:
            return {"is_mean": 0.0, "oos_mean": 0.0, "efficiency": 0.0, "degradation": 0.0}
        is_mean = float(self.windows["is_objective"].mean())
        oos_mean = float(self.windows["oos_objective"].mean())
        eff = oos_mean / is_mean if is_mean != 0 else 0.0
        return {"is_mean": is_mean, "oos_mean": oos_mean, "efficiency": eff,
                "degradation": is_mean - oos_mean}

    def summary(self) -> dict[str, Any]:
        cash = self.config.sweep.base.cash
        final = float(self.equity["equity"].iloc[-1]) if len(self.equity) else cash
        rows = self.windows.to_dict("records")
        return {
            "strategy": self.config.sweep.base.strategy, "objective": self.objective,
            "train": self.config.train, "test": self.config.test,
            "anchored": self.config.anchored, "n_windows": len(self.windows),
            "oos_final_equity": final, "oos_total_return": final / cash - 1.0,
            **self.degradation(), "windows": [{k: _plain(v) for k, v in r.items()} for r in rows],
            "seconds": self.seconds,
        }


def _plain(value: Any) -> Any:
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    return value.item() if hasattr(value, "item") else value


def stitch_equity(curves: Sequence[pd.DataFrame], cash: float) -> pd.DataFrame:
    """Chain equity curves: each one rescaled to start at the previous one's last value."""
    parts, level = [], cash
    for curve in curves:
        if curve.empty:
            continue
        values = curve["equity"].to_numpy(dtype=np.float64)
        scaled = values * (level / values[0]) if values[0] != 0 else values
        parts.append(pd.DataFrame({"ts": curve["ts"].to_numpy(), "equity": scaled}))
        level = float(scaled[-1])
    if not parts:
        return pd.DataFrame({"ts": pd.Series([], dtype="datetime64[ns, UTC]"), "equity": []})
    return pd.concat(parts, ignore_index=True)


def _one_window(config: WalkForwardConfig, frame: pd.DataFrame, win: Window,
                executor: Executor) -> tuple[dict[str, Any], Any]:
    from tickforge.engine.run import backtest_from_config

    train = slice_time(frame, win.train_start, win.train_end)
    test = slice_time(frame, win.test_start, win.test_end)
    swept = run_sweep(config.sweep, train, executor)
    best = swept.best
    params: dict[str, Scalar] = {k: best[k] for k in swept.param_names}
    base = config.sweep.base
    oos = backtest_from_config(base.model_copy(update={"params": {**base.params, **params}}),
                               data=test)
    row = {**win.as_dict(), **params, "is_objective": float(best[config.sweep.objective]),
           "oos_objective": float(oos.metrics.get(config.sweep.objective, 0.0)),
           "train_rows": len(train), "test_rows": len(test), "n_sets": len(swept.table)}
    return row, oos


def run_walk_forward(config: WalkForwardConfig, data: Any = None,
                     executor: Executor | None = None,
                     progress: ProgressFn = no_progress) -> WalkForwardResult:
    t0 = time.perf_counter()
    frame = to_pandas(data) if data is not None else _lake_frame(config.sweep.base)
    first, last = time_range(frame)
    end = last + pd.Timedelta(1, "ns")  # windows are half-open; keep the last row
    windows = make_windows(first, end, config.train, config.test, config.anchored)
    if not windows:
        raise ConfigError(f"data from {first} to {last} is shorter than one training window "
                          f"({config.train})", field="train", hint="use a shorter --train")
    executor = executor or make_executor(config.sweep.scheduler)
    rows, curves, metrics = [], [], []
    for i, win in enumerate(windows):
        row, oos = _one_window(config, frame, win, executor)
        rows.append(row)
        curves.append(oos.equity)
        metrics.append(dict(oos.metrics))
        progress(float(i + 1), float(len(windows)))
    return WalkForwardResult(windows=pd.DataFrame(rows),
                             equity=stitch_equity(curves, config.sweep.base.cash), config=config,
                             seconds=time.perf_counter() - t0, oos_metrics=metrics)


def _lake_frame(base: BacktestConfig) -> pd.DataFrame:
    if base.lake is None:
        raise ConfigError("walk-forward needs data or a lake URI", field="lake")
    return lake_frame(base.lake, base.symbols, base.timeframe, base.start, base.end)


def walk_forward_from_config(config: WalkForwardConfig,
                             progress: ProgressFn = no_progress) -> WalkForwardResult:
    """What the CLI calls: data from the config's lake."""
    return run_walk_forward(config, None, None, progress)


def walk_forward(data: Any, strategy: str, grid: Mapping[str, Sequence[Scalar]],
                 train: str = "6M", test: str = "1M", anchored: bool = False,
                 objective: str = "sharpe", *, constraints: Sequence[str] = (),
                 maximize: bool = True, executor: Executor | None = None,
                 params: Mapping[str, Scalar] | None = None,
                 progress: ProgressFn = no_progress, **options: Any) -> WalkForwardResult:
    """Walk-forward of ``strategy`` over ``grid`` on ``data``; ``options`` are BacktestConfig
    fields. Runs the in-sample sweeps in this process unless an executor is given."""
    base = BacktestConfig(strategy=strategy, params=dict(params or {}), **options)
    sweep_config = SweepConfig(base=base, grid={k: tuple(v) for k, v in grid.items()},
                               constraints=tuple(constraints), objective=objective,
                               maximize=maximize)
    config = WalkForwardConfig(sweep=sweep_config, train=train, test=test, anchored=anchored)
    return run_walk_forward(config, data, executor or InlineExecutor(), progress)
