"""Walk-forward through the real engine: windows, out-of-sample runs, stitched equity."""

from __future__ import annotations

import pandas as pd
import pytest

pytest.importorskip("tickforge.engine.run", reason="engine entry point not available yet")

import tickforge as tf
from tickforge.errors import ConfigError

from .conftest import minute_bars

GRID = {"fast": (5, 10), "slow": (20, 40)}


@pytest.fixture(scope="module")
def week_bars() -> pd.DataFrame:
    return minute_bars(7 * 1440, seed=3)  # 7 days of minute bars


def test_rolling_walk_forward_runs_oos_with_in_sample_best(week_bars: pd.DataFrame) -> None:
    wf = tf.walk_forward(week_bars, "sma_cross", GRID, train="2D", test="1D",
                         constraints=["fast<slow"], objective="total_return")
    assert len(wf.windows) == 5  # test days 3..7
    for row in wf.windows.to_dict("records"):
        train = week_bars[(week_bars.ts >= row["train_start"]) & (week_bars.ts < row["train_end"])]
        best = tf.sweep(train, "sma_cross", grid=GRID, constraints=["fast<slow"],
                        objective="total_return").best
        assert (row["fast"], row["slow"]) == (best["fast"], best["slow"])
        assert row["is_objective"] == best["total_return"]
        assert pd.Timestamp(row["train_end"]) <= pd.Timestamp(row["test_start"])
    assert wf.windows["test_rows"].sum() == 5 * 1440


def test_stitched_equity_chains_the_oos_runs(week_bars: pd.DataFrame) -> None:
    wf = tf.walk_forward(week_bars, "sma_cross", GRID, train="3D", test="2D", anchored=True,
                         constraints=["fast<slow"], cash=1_000.0)
    total = 1.0
    for metrics in wf.oos_metrics:
        total *= 1.0 + metrics["total_return"]
    final = float(wf.equity["equity"].iloc[-1])
    assert final == pytest.approx(1_000.0 * total, rel=1e-12)
    assert wf.equity["ts"].is_monotonic_increasing
    summary = wf.summary()
    assert summary["n_windows"] == 2 and {"is_mean", "oos_mean", "efficiency"} <= set(summary)
    assert summary["oos_total_return"] == pytest.approx(total - 1.0, rel=1e-9)


def test_too_little_data_for_one_window(week_bars: pd.DataFrame) -> None:
    with pytest.raises(ConfigError, match="shorter than one training window"):
        tf.walk_forward(week_bars, "sma_cross", GRID, train="6M", test="1M")
