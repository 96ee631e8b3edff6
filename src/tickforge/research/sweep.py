"""Parameter sweeps: grid, random or Bayesian (optuna) search over a strategy's parameters.

Parameter sets are cut into batches; each batch runs in a worker (local process or Dask)
that holds the data once and returns one row of metrics per set (never equity curves), so
memory stays bounded whatever the grid. Rows are in a fixed order (grid order, draw order,
trial order), so the table is identical whichever executor ran it, and each row equals a
single ``backtest`` with the same parameters.
"""

from __future__ import annotations

import functools
import json
import math
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from tickforge.config import BacktestConfig, Scalar, SweepConfig
from tickforge.engine.data import to_pandas
from tickforge.errors import ConfigError
from tickforge.progress import ProgressFn, no_progress
from tickforge.research.batch import evaluate_sets
from tickforge.research.executors import DataRef, Executor, InlineExecutor, make_executor
from tickforge.research.space import (
    apply_constraints,
    grid_frame,
    random_frame,
    satisfies,
    to_param_sets,
)

OPTUNA_BATCH = 16  # asked per round; fixed so results do not depend on the executor
DEFAULT_TRIALS = 100


@dataclass
class SweepResult:
    """All parameter sets with their metrics (``table``), best first on request."""

    table: pd.DataFrame
    param_names: list[str]
    config: SweepConfig
    seconds: float = 0.0
    executor: str = ""
    data: Any = field(default=None, repr=False)  # for re-running top sets on request

    @property
    def objective(self) -> str:
        return self.config.objective

    def ranked(self) -> pd.DataFrame:
        """The table sorted by the objective (best first; ties keep sweep order)."""
        if self.table.empty:
            return self.table
        if self.objective not in self.table.columns:
            raise ConfigError(f"objective '{self.objective}' is not a metric of this sweep",
                              field="objective", hint=f"choose one of {self.metric_names}")
        return self.table.sort_values(self.objective, ascending=not self.config.maximize,
                                      kind="stable", na_position="last")

    @property
    def metric_names(self) -> list[str]:
        return [c for c in self.table.columns if c not in self.param_names]

    @property
    def best(self) -> dict[str, Any]:
        """Parameters and metrics of the best set."""
        ranked = self.ranked()
        if ranked.empty:
            return {}
        return _plain(ranked.head(1).to_dict("records")[0])  # keeps int params int

    @property
    def best_params(self) -> dict[str, Scalar]:
        return {k: v for k, v in self.best.items() if k in self.param_names}

    def top(self, n: int | None = None) -> list[dict[str, Any]]:
        rows = self.ranked().head(n or self.config.top)
        return [_plain(r) for r in rows.to_dict("records")]

    def top_json(self, n: int | None = None) -> str:
        return json.dumps(self.top(n), default=str)

    def summary(self) -> dict[str, Any]:
        """What ``tickforge sweep --json`` prints."""
        return {
            "strategy": self.config.base.strategy, "symbols": list(self.config.base.symbols),
            "method": self.config.method, "objective": self.objective,
            "maximize": self.config.maximize, "n_sets": len(self.table),
            "best_params": self.best_params, "best": self.best, "top": self.top(),
            "seconds": self.seconds, "executor": self.executor,
        }

    def to_parquet(self, path: str | Path) -> Path:
        """Every set (parameters + metrics) as one Parquet file, sweep metadata attached."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        table = pa.Table.from_pandas(self.table, preserve_index=False)
        meta = {b"tickforge.sweep": self.config.model_dump_json().encode(),
                b"tickforge.params": json.dumps(self.param_names).encode()}
        pq.write_table(table.replace_schema_metadata({**(table.schema.metadata or {}), **meta}),
                       path)
        return path

    def config_for(self, params: Mapping[str, Any]) -> BacktestConfig:
        return self.config.base.model_copy(update={"params": {**self.config.base.params, **params}})

    def rerun(self, params: Mapping[str, Any]) -> Any:
        """The full single backtest (equity, trades) of one parameter set."""
        from tickforge.engine.run import backtest_from_config

        return backtest_from_config(self.config_for(params), data=self.data)

    def equity(self, n: int = 1) -> list[pd.DataFrame]:
        """Equity curves of the top ``n`` sets, re-run on request (not kept by the sweep)."""
        return [self.rerun(_only(r, self.param_names)).equity for r in self.top(n)]

    def report(self, path: str | Path) -> Path:
        """Self-contained HTML: heatmaps, top table, deflated Sharpe, Monte Carlo of trades."""
        from tickforge.research.report import write_sweep_report

        return write_sweep_report(self, Path(path))


def _plain(row: Mapping[Any, Any]) -> dict[str, Any]:
    return {str(k): (v.item() if hasattr(v, "item") else v) for k, v in row.items()}


def _only(row: Mapping[str, Any], names: Sequence[str]) -> dict[str, Any]:
    return {k: row[k] for k in names}


# ---------------------------------------------------------------- running


MAX_BATCH = 2048  # parameter sets per task at most
MIN_BATCH = 16  # and at least (but the last), so that task overheads stay small
GUIDE = 2  # with several workers, a task takes 1 / (GUIDE x workers) of the sets left


def _batches(sets: list[dict[str, Scalar]], workers: int) -> list[list[dict[str, Scalar]]]:
    """Consecutive slices of ``sets``: 4 in one worker (progress steps; numba threads share
    each batch); with several workers, guided sizes: each batch a share of the sets still
    left, so batches shrink towards the end and workers finish together (the last ones are
    small: a worker waits at most for one of them, not for a whole share)."""
    if not sets:
        return []
    if workers <= 1:
        size = max(1, min(MAX_BATCH, math.ceil(len(sets) / 4)))
        return [sets[i:i + size] for i in range(0, len(sets), size)]
    out, i = [], 0
    while i < len(sets):
        size = min(MAX_BATCH, max(MIN_BATCH, math.ceil((len(sets) - i) / (GUIDE * workers))))
        out.append(sets[i:i + size])
        i += size
    return out


def _evaluate(config: SweepConfig, ref: DataRef, sets: list[dict[str, Scalar]],
              executor: Executor, progress: ProgressFn) -> list[dict[str, Any]]:
    task = functools.partial(evaluate_sets, config.base.model_dump_json())
    chunks = executor.map(task, ref, _batches(sets, executor.workers), progress)
    return [row for chunk in chunks for row in chunk]


def _strategy_schema(name: str) -> dict[str, Any]:
    """Parameter schema of a built-in strategy: name -> {type, default, ...}; {} if unknown."""
    try:
        from tickforge.strategies import get_strategy
    except ImportError:
        return {}
    schema = get_strategy(name).schema()
    params = schema.get("params", schema) if isinstance(schema, dict) else {}
    if isinstance(params, list):
        return {p["name"]: p for p in params}
    return dict(params)


def _is_integer(name: str, low: float, high: float, schema: Mapping[str, Any]) -> bool:
    kind = str(schema.get(name, {}).get("type", "")) if isinstance(schema.get(name), dict) else ""
    if kind:
        return kind.startswith("int")
    return float(low).is_integer() and float(high).is_integer() and isinstance(low, int)


def candidate_sets(config: SweepConfig) -> list[dict[str, Scalar]]:
    """Parameter sets of a grid or random sweep, constraints applied, in run order."""
    if config.method == "grid":
        if not config.grid:
            raise ConfigError("a grid sweep needs a grid", field="grid", hint="-g fast=5:50:5")
        frame = grid_frame(config.grid)
    elif config.grid and not config.space:
        n = config.n_trials or DEFAULT_TRIALS
        frame = grid_frame(config.grid).sample(frac=1.0, random_state=config.base.seed)
        frame = apply_constraints(frame.reset_index(drop=True), config.constraints).head(n)
        return to_param_sets(frame)
    else:
        schema = _strategy_schema(config.base.strategy)
        ints = {k: _is_integer(k, lo, hi, schema) for k, (lo, hi) in config.space.items()}
        n = config.n_trials or DEFAULT_TRIALS
        frame = random_frame(config.space, n, config.base.seed, ints)
    return to_param_sets(apply_constraints(frame, config.constraints))


def _check_objective(rows: list[dict[str, Any]], objective: str) -> None:
    if rows and objective not in rows[0]:
        names = sorted(k for k, v in rows[0].items() if isinstance(v, int | float))
        raise ConfigError(f"unknown objective '{objective}'", field="objective",
                          hint=f"choose a metric: {', '.join(names)}")


def _optuna_rows(config: SweepConfig, ref: DataRef, executor: Executor,
                 progress: ProgressFn) -> list[dict[str, Any]]:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    sampler = optuna.samplers.TPESampler(seed=config.base.seed)
    study = optuna.create_study(direction="maximize" if config.maximize else "minimize",
                                sampler=sampler)
    total = config.n_trials or DEFAULT_TRIALS
    schema = _strategy_schema(config.base.strategy)
    rows: list[dict[str, Any]] = []
    while len(study.trials) < total:
        trials = [study.ask() for _ in range(min(OPTUNA_BATCH, total - len(study.trials)))]
        sets = [_suggest(t, config, schema) for t in trials]
        ok = [i for i, s in enumerate(sets) if satisfies(s, config.constraints)]
        got = _evaluate(config, ref, [sets[i] for i in ok], executor, no_progress)
        _check_objective(got, config.objective)
        for i, row in zip(ok, got, strict=True):
            study.tell(trials[i], _finite(row[config.objective]))
            rows.append(row)
        for i in sorted(set(range(len(sets))) - set(ok)):
            study.tell(trials[i], state=optuna.trial.TrialState.PRUNED)
        progress(float(len(study.trials)), float(total))
    return rows


def _finite(value: Any) -> float:
    number = float(value)
    return number if math.isfinite(number) else 0.0


def _suggest(trial: Any, config: SweepConfig, schema: Mapping[str, Any]) -> dict[str, Scalar]:
    params: dict[str, Scalar] = {}
    for name, values in config.grid.items():
        params[name] = trial.suggest_categorical(name, list(values))
    for name, (low, high) in config.space.items():
        if _is_integer(name, low, high, schema):
            params[name] = trial.suggest_int(name, int(low), int(high))
        else:
            params[name] = trial.suggest_float(name, float(low), float(high))
    return params


def run_sweep(config: SweepConfig, data: Any = None, executor: Executor | None = None,
              progress: ProgressFn = no_progress) -> SweepResult:
    """Run a sweep on ``data`` (an in-memory table) or, if None, on the config's lake."""
    t0 = time.perf_counter()
    frame = to_pandas(data) if data is not None else None
    ref = _data_ref(config.base, frame)
    executor = executor or make_executor(config.scheduler)
    names = list(config.grid) + [k for k in config.space if k not in config.grid]
    if config.method == "optuna":
        rows = _optuna_rows(config, ref, executor, progress)
    else:
        sets = candidate_sets(config)
        rows = _evaluate(config, ref, sets, executor, progress)
        _check_objective(rows, config.objective)
    table = pd.DataFrame(rows, columns=_columns(rows, names))
    return SweepResult(table=table, param_names=names, config=config,
                       seconds=time.perf_counter() - t0, executor=type(executor).__name__,
                       data=frame)


def _columns(rows: list[dict[str, Any]], names: list[str]) -> list[str]:
    if not rows:
        return names
    return names + [k for k in rows[0] if k not in names]


def _data_ref(base: BacktestConfig, frame: pd.DataFrame | None) -> DataRef:
    if frame is not None:
        return DataRef(key=f"inline-{uuid.uuid4().hex}", inline=frame)
    if base.lake is None:
        raise ConfigError("no data: pass a table or a lake URI", field="lake",
                          hint="--lake PATH or TICKFORGE_LAKE")
    key = json.dumps([base.lake, list(base.symbols), base.timeframe, str(base.start),
                      str(base.end)])
    return DataRef(key=key, lake=base.lake, symbols=base.symbols, timeframe=base.timeframe,
                   start=base.start, end=base.end)


def sweep_from_config(config: SweepConfig, progress: ProgressFn = no_progress) -> SweepResult:
    """What the CLI and the service call: data from the config's lake."""
    return run_sweep(config, None, None, progress)


def sweep(data: Any, strategy: str, grid: Mapping[str, Sequence[Scalar]] | None = None,
          space: Mapping[str, tuple[float, float]] | None = None, objective: str = "sharpe",
          method: str = "grid", n_trials: int | None = None, executor: Executor | str | None = None,
          *, constraints: Sequence[str] = (), maximize: bool = True, top: int = 10,
          params: Mapping[str, Scalar] | None = None, progress: ProgressFn = no_progress,
          **options: Any) -> SweepResult:
    """Sweep ``strategy`` over ``grid`` (or ``space``) on ``data`` (a table; None: lake).

    ``executor``: None (in this process; numba uses every core), ``"local"`` (a process
    per core), a ``tcp://`` scheduler address, or an :class:`Executor`. ``options`` are
    BacktestConfig fields (cash, commission, timeframe, lake, symbols, ...)."""
    base = BacktestConfig(strategy=strategy, params=dict(params or {}), **options)
    config = SweepConfig(base=base, grid={k: tuple(v) for k, v in (grid or {}).items()},
                         space=dict(space or {}), constraints=tuple(constraints),
                         objective=objective, maximize=maximize, method=method,
                         n_trials=n_trials, top=top,
                         scheduler=executor if isinstance(executor, str) and "://" in executor
                         else None)
    return run_sweep(config, data, _executor(executor), progress)


def _executor(spec: Executor | str | None) -> Executor:
    if spec is None:
        return InlineExecutor()
    if isinstance(spec, str):
        return make_executor(spec if "://" in spec else None)
    return spec


__all__ = ["SweepResult", "candidate_sets", "run_sweep", "sweep", "sweep_from_config"]
