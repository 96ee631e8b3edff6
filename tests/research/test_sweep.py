"""Sweeps through the real engine: each row is exactly a single backtest."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

pytest.importorskip("tickforge.engine.run", reason="engine entry point not available yet")

import tickforge as tf
from tickforge.errors import ConfigError
from tickforge.research.executors import LocalExecutor

GRID = {"fast": (5, 10, 20), "slow": (10, 30, 60)}


def test_each_row_equals_a_single_backtest_exactly(bars: pd.DataFrame) -> None:
    result = tf.sweep(bars, "sma_cross", grid=GRID, constraints=["fast<slow"], cash=10_000.0)
    assert len(result.table) == 7  # 9 pairs minus (10,10), (20,10)
    assert (result.table["fast"] < result.table["slow"]).all()
    for row in result.table.to_dict("records"):
        single = tf.backtest(bars, "sma_cross", {"fast": row["fast"], "slow": row["slow"]},
                             cash=10_000.0)
        assert row["final_equity"] == single.final_equity
        assert row["num_trades"] == len(single.trades[single.trades["exit_reason"] != "open"])
        for key, value in single.metrics.items():
            assert row[key] == value, key  # exact, not approximate


def test_best_is_the_top_of_the_objective(bars: pd.DataFrame) -> None:
    result = tf.sweep(bars, "sma_cross", grid=GRID, constraints=["fast<slow"],
                      objective="total_return")
    assert result.best["total_return"] == result.table["total_return"].max()
    low = tf.sweep(bars, "sma_cross", grid=GRID, constraints=["fast<slow"],
                   objective="max_drawdown", maximize=False)
    assert low.best["max_drawdown"] == low.table["max_drawdown"].min()
    top = json.loads(result.top_json(3))
    assert [t["total_return"] for t in top] == sorted(result.table["total_return"],
                                                      reverse=True)[:3]


def test_unknown_objective_is_a_config_error(bars: pd.DataFrame) -> None:
    with pytest.raises(ConfigError, match="unknown objective 'sharp'"):
        tf.sweep(bars, "sma_cross", grid={"fast": (5,), "slow": (30,)}, objective="sharp")


def test_process_pool_gives_the_same_table(bars: pd.DataFrame) -> None:
    inline = tf.sweep(bars, "sma_cross", grid=GRID, constraints=["fast<slow"])
    pooled = tf.sweep(bars, "sma_cross", grid=GRID, constraints=["fast<slow"],
                      executor=LocalExecutor(2))
    pd.testing.assert_frame_equal(inline.table, pooled.table)


def test_random_and_optuna_are_deterministic(bars: pd.DataFrame) -> None:
    space = {"fast": (3, 20), "slow": (25, 80)}
    a = tf.sweep(bars, "sma_cross", space=space, method="random", n_trials=6)
    b = tf.sweep(bars, "sma_cross", space=space, method="random", n_trials=6)
    pd.testing.assert_frame_equal(a.table, b.table)
    assert len(a.table) == 6 and a.table["fast"].between(3, 20).all()
    o1 = tf.sweep(bars, "sma_cross", space=space, method="optuna", n_trials=20)
    o2 = tf.sweep(bars, "sma_cross", space=space, method="optuna", n_trials=20)
    assert len(o1.table) == 20
    pd.testing.assert_frame_equal(o1.table, o2.table)


def test_outputs_parquet_json_and_offline_report(bars: pd.DataFrame, tmp_path: Path) -> None:
    result = tf.sweep(bars, "sma_cross", grid=GRID, constraints=["fast<slow"], top=3)
    path = result.to_parquet(tmp_path / "sweep.parquet")
    back = pq.read_table(path)
    assert back.num_rows == len(result.table)
    assert json.loads(back.schema.metadata[b"tickforge.params"]) == ["fast", "slow"]
    report = result.report(tmp_path / "sweep.html").read_text()
    assert "sharpe by fast and slow" in report  # the 2-D heatmap
    assert "<td>dsr</td>" in report and "<td>final_equity_p50</td>" in report
    tags = re.findall(r"<(?:script|link)\b[^>]*>", report)
    assert tags and not [t for t in tags if "src=" in t or "href=" in t]  # offline
    summary = result.summary()
    assert summary["n_sets"] == 7 and len(summary["top"]) == 3
    assert summary["best_params"] == {k: result.best[k] for k in ("fast", "slow")}


def test_equity_of_top_sets_on_request(bars: pd.DataFrame) -> None:
    result = tf.sweep(bars, "sma_cross", grid=GRID, constraints=["fast<slow"])
    (curve,) = result.equity(1)
    assert float(curve["equity"].iloc[-1]) == result.best["final_equity"]


@pytest.mark.parametrize(("strategy", "grid", "options"), [
    ("ema_cross", {"fast": (5, 12), "slow": (26, 50)}, {"size_mode": "vol_target", "size": 0.1}),
    ("sma_cross", {"fast": (5, 12), "slow": (26,), "allow_short": (True, False)},
     {"size_mode": "units", "size": 1000.0}),
])
def test_batch_paths_equal_single_backtests(bars: pd.DataFrame, strategy: str,
                                            grid: dict[str, tuple], options: dict) -> None:
    """Generic built-in path (targets from the single path's code) and the shared-SMA path
    with other sizing and allow_short groups: every metric equal, bit for bit."""
    result = tf.sweep(bars, strategy, grid=grid, commission={"bps": 1.0}, options=options)
    assert len(result.table) == 4
    for row in result.table.to_dict("records"):
        params = {k: row[k] for k in grid}
        single = tf.backtest(bars, strategy, params, commission={"bps": 1.0}, **options)
        assert single.metrics["num_trades"] > 0
        assert {k: row[k] for k in single.metrics} == single.metrics
