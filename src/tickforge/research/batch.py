"""Evaluate a batch of parameter sets in one worker: one row of metrics per set.

Every set runs through the engine's own entry point (``backtest_from_config`` with the
worker's cached data), so a row is *exactly* the single backtest with those parameters
(same fills, same ``Result.metrics``). Only the metrics leave the worker.
"""

from __future__ import annotations

from typing import Any

from tickforge.config import BacktestConfig, Scalar


def _row(params: dict[str, Scalar], result: Any) -> dict[str, Any]:
    row: dict[str, Any] = dict(params)
    row["final_equity"] = float(result.final_equity)
    for key, value in result.metrics.items():
        if isinstance(value, int | float) and key not in params:
            row[key] = float(value)
    return row


def evaluate_sets(base_json: str, data: Any,
                  batch: list[dict[str, Scalar]]) -> list[dict[str, Any]]:
    """Pure: the same base config, data and batch give the same rows, in batch order."""
    from tickforge.engine.run import backtest_from_config

    base = BacktestConfig.model_validate_json(base_json)
    rows = []
    for params in batch:
        config = base.model_copy(update={"params": {**base.params, **params}})
        rows.append(_row(params, backtest_from_config(config, data=data)))
    return rows
