"""Evaluate a batch of parameter sets in one worker: one row of metrics per set.

Built-in strategies run through the batch kernels of :mod:`tickforge.research.nb`: the
single backtest's loop (``engine.nb.run_targets``) and metrics kernel
(``metrics_nb.book_metrics``) per set, sets in parallel (numba ``prange``), only metrics
returned. Targets come from the single path's own code: ``TargetRunner.targets`` chunk by
chunk, or for ``sma_cross`` (equity / units sizing, one symbol) from rolling means computed
once per distinct window and ``cross_step``, the built-in's per-event functions. A row is
therefore *exactly* the single backtest with those parameters (tested). Anything else
(custom strategies) runs set by set through ``backtest_from_config``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numba
import numpy as np

from tickforge.config import BacktestConfig, Scalar
from tickforge.engine import nb as core
from tickforge.engine.broker import Book
from tickforge.engine.data import Events
from tickforge.engine.metrics import METRIC_INFO, book_bench, check_ppy, safe_values
from tickforge.strategies import BuiltinStrategy

MEAN_BUDGET = 512 * 2**20  # bytes of shared rolling means held at once
TARGET_BUDGET = 256 * 2**20  # bytes of target rows per generic kernel call
KEYS = list(METRIC_INFO)


def _row(params: dict[str, Scalar], result: Any) -> dict[str, Any]:
    row: dict[str, Any] = dict(params)
    row["final_equity"] = float(result.final_equity)
    for key, value in result.metrics.items():
        if isinstance(value, int | float) and key not in params:
            row[key] = float(value)
    return row


def _metric_row(params: dict[str, Scalar], values: np.ndarray) -> dict[str, Any]:
    """The row ``_row`` builds from a single backtest, from one row of ``safe_values``."""
    metrics = dict(zip(KEYS, values.tolist(), strict=True))
    row: dict[str, Any] = dict(params)
    row["final_equity"] = metrics["final_equity"]
    row.update({k: v for k, v in metrics.items() if k not in params})
    return row


# ---------------------------------------------------------------- prepared data


class MeanPool:
    """Rolling means of the prices, one row per window, computed once and reused across
    the groups and batches of a sweep; at most ``capacity`` rows (older ones are evicted)."""

    def __init__(self, x: np.ndarray) -> None:
        self.x = x
        self.capacity = int(max(2, min(4096, MEAN_BUDGET // max(8 * len(x), 1))))
        self.pool = np.empty((self.capacity, len(x)))
        self.row_of: dict[int, int] = {}

    def rows(self, windows: set[int]) -> dict[int, int]:
        missing = sorted(w for w in windows if w not in self.row_of)
        if not missing:
            return self.row_of
        taken = set(self.row_of.values())
        if self.capacity - len(taken) < len(missing):
            self.row_of = {w: r for w, r in self.row_of.items() if w in windows}
            taken = set(self.row_of.values())
        free = [r for r in range(self.capacity) if r not in taken][: len(missing)]
        from tickforge.research import nb as rnb

        rnb.fill_means(self.x, np.array(missing, np.int64), np.array(free, np.int64), self.pool)
        self.row_of.update(zip(missing, free, strict=True))
        return self.row_of


@dataclass
class Plan:
    """Everything the sets of one sweep share: events, a prototype book, periods per year."""

    base: BacktestConfig
    strategy: BuiltinStrategy
    events: Events
    proto: tuple[np.ndarray, ...]
    n_eq: int
    ppy: float
    bench: np.ndarray
    has_bench: bool
    bench_stats: np.ndarray
    means: MeanPool | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ev(self) -> tuple[np.ndarray, ...]:
        return self.events.as_tuple()


_PLAN: list[tuple[Any, str, Plan]] = []  # (data, base json, plan): the last one only


def make_plan(base: BacktestConfig, data: Any) -> Plan | None:
    """Prepare ``data`` for the batch kernels; None when they do not apply."""
    from tickforge.engine.run import event_chunks, periods_per_year
    from tickforge.research import nb as rnb
    from tickforge.strategies import REGISTRY

    strategy = REGISTRY.get(base.strategy)
    if strategy is None or data is None:
        return None
    chunks, _ = event_chunks(base, data)
    parts = [c for c in chunks if len(c)]
    if not parts:
        return None
    events = parts[0] if len(parts) == 1 else Events.concat(parts)
    book = Book.create(base, events.kind, list(events.symbols), capacity=64, equity_rows=64)
    proto = book.arrays
    flat = rnb.flat_run(events.as_tuple(), proto, len(events) + 64)
    rows = int(flat[0][core.A_NEQ])
    if rows == 0:
        return None
    bench, ok, stats = book_bench(flat[8], rows)
    ppy = check_ppy(periods_per_year(base, flat[9][:rows]))
    return Plan(base, strategy, events, proto, rows + core.ROOM + 2 * len(events.symbols) + 8,
                ppy, bench, ok, stats)


def plan_for(base: BacktestConfig, data: Any) -> Plan | None:
    """The cached plan of this data and base config (sweeps call us batch after batch)."""
    key = base.model_copy(update={"params": {}}).model_dump_json()
    for cached_data, cached_key, plan in _PLAN:
        if cached_data is data and cached_key == key:
            return plan
    fresh = make_plan(base, data)
    _PLAN.clear()
    if fresh is not None:
        _PLAN.append((data, key, fresh))
    return fresh


# ---------------------------------------------------------------- batch paths


def sma_rows(plan: Plan, sets: list[dict[str, Any]]) -> np.ndarray:
    """Metrics of ``sma_cross`` sets from shared means (equity / units sizing)."""
    from tickforge.engine.sizing import size_mode
    from tickforge.research import nb as rnb

    mode, size = size_mode(plan.base.options)
    tmode = core.TM_UNITS if mode == "units" else core.TM_EQUITY
    if plan.means is None:
        plan.means = MeanPool(plan.events.price())
    out = np.zeros((len(sets), len(KEYS)))
    for group in sma_groups(sets, plan.means.capacity):
        windows = {int(sets[j][k]) for j in group for k in ("fast", "slow")}
        row_of = plan.means.rows(windows)
        fi = np.array([row_of[int(sets[j]["fast"])] for j in group], np.int64)
        si = np.array([row_of[int(sets[j]["slow"])] for j in group], np.int64)
        short = bool(sets[group[0]]["allow_short"])
        out[group] = rnb.sma_sets(plan.ev, plan.means.pool, fi, si, short, size, tmode,
                                  plan.proto, plan.n_eq, plan.ppy, 0.0, plan.bench,
                                  plan.has_bench, plan.bench_stats, numba.get_num_threads())
    return out


def sma_groups(sets: list[dict[str, Any]], capacity: int) -> list[list[int]]:
    """Sets grouped so each group needs at most ``capacity`` windows and one ``allow_short``:
    sorted by (short, block of slow windows, fast) so neighbours share windows."""
    slows = sorted({int(s["slow"]) for s in sets})
    per_block = max(1, capacity // 2)
    block = {w: i // per_block for i, w in enumerate(slows)}
    order = sorted(range(len(sets)), key=lambda j: (bool(sets[j]["allow_short"]),
                                                    block[int(sets[j]["slow"])],
                                                    int(sets[j]["fast"]), int(sets[j]["slow"])))
    groups: list[list[int]] = []
    current: list[int] = []
    windows: set[int] = set()
    for j in order:
        need = {int(sets[j]["fast"]), int(sets[j]["slow"])}
        short_changes = current and sets[current[0]]["allow_short"] != sets[j]["allow_short"]
        if current and (short_changes or len(windows | need) > capacity):
            groups.append(current)
            current, windows = [], set()
        current.append(j)
        windows |= need
    if current:
        groups.append(current)
    return groups


def generic_rows(plan: Plan, sets: list[dict[str, Any]]) -> np.ndarray:
    """Metrics of any built-in's sets: targets from ``TargetRunner.targets`` (the single
    path's code, chunk by chunk), executed by the batch kernel in groups."""
    from tickforge.engine.run import CHUNK, TargetRunner, split
    from tickforge.research import nb as rnb

    n = len(plan.events)
    per_call = int(max(1, min(len(sets), TARGET_BUDGET // max(8 * n, 1))))
    out = np.zeros((len(sets), len(KEYS)))
    for start in range(0, len(sets), per_call):
        group = sets[start:start + per_call]
        targets = np.empty((len(group), n))
        tmode = core.TM_EQUITY
        for g, params in enumerate(group):
            config = plan.base.model_copy(update={"params": params})
            runner = TargetRunner(config, plan.strategy, params)
            at = 0
            for chunk in split(plan.events, CHUNK):
                t, tmode = runner.targets(chunk)
                targets[g, at:at + len(chunk)] = t
                at += len(chunk)
        out[start:start + len(group)] = rnb.target_sets(
            plan.ev, targets, tmode, plan.proto, plan.n_eq, plan.ppy, 0.0, plan.bench,
            plan.has_bench, plan.bench_stats, numba.get_num_threads())
    return out


def use_sma_path(plan: Plan) -> bool:
    mode = str(plan.base.options.get("size_mode", "equity"))
    return (plan.strategy.name == "sma_cross" and mode in ("equity", "units")
            and len(plan.events.symbols) == 1)


def batch_rows(plan: Plan, batch: list[dict[str, Scalar]]) -> list[dict[str, Any]]:
    sets = [plan.strategy.validate({**plan.base.params, **p}) for p in batch]
    raw = sma_rows(plan, sets) if use_sma_path(plan) else generic_rows(plan, sets)
    values = safe_values(raw)
    return [_metric_row(params, values[j]) for j, params in enumerate(batch)]


def evaluate_sets(base_json: str, data: Any,
                  batch: list[dict[str, Scalar]]) -> list[dict[str, Any]]:
    """Pure: the same base config, data and batch give the same rows, in batch order."""
    from tickforge.engine.run import backtest_from_config

    base = BacktestConfig.model_validate_json(base_json)
    plan = plan_for(base, data)
    if plan is not None:
        return batch_rows(plan, batch)
    rows = []
    for params in batch:
        config = base.model_copy(update={"params": {**base.params, **params}})
        rows.append(_row(params, backtest_from_config(config, data=data)))
    return rows
