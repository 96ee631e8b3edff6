"""Against a REAL Dask cluster: a scheduler and two worker processes started by the test."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pandas as pd
import pytest

pytest.importorskip("tickforge.engine.run", reason="engine entry point not available yet")

import tickforge as tf
from tickforge.errors import ConfigError
from tickforge.research.executors import DaskExecutor, DataRef

from .conftest import Cluster, minute_bars

pytestmark = [pytest.mark.dask, pytest.mark.slow]

GRID = {"fast": tuple(range(4, 40, 3)), "slow": tuple(range(20, 120, 10))}


def test_dask_table_equals_local_table(dask_cluster: Cluster) -> None:
    data = minute_bars(8_000, seed=5)
    local = tf.sweep(data, "sma_cross", grid=GRID, constraints=["fast<slow"])
    remote = tf.sweep(data, "sma_cross", grid=GRID, constraints=["fast<slow"],
                      executor=DaskExecutor(dask_cluster.address))
    assert remote.executor == "DaskExecutor"
    pd.testing.assert_frame_equal(local.table, remote.table)


def test_killing_a_worker_mid_sweep_still_gives_every_row(dask_cluster: Cluster) -> None:
    data = minute_bars(12_000, seed=6)
    killed: list[int] = []
    seen: list[float] = []

    def progress(done: float, total: float | None) -> None:
        seen.append(done)
        if not killed and total and done < total:  # first finished batch: kill a worker
            victim = dask_cluster.workers[0]
            os.kill(victim.pid, signal.SIGKILL)
            killed.append(victim.pid)

    remote = tf.sweep(data, "sma_cross", grid=GRID, constraints=["fast<slow"],
                      executor=DaskExecutor(dask_cluster.address), progress=progress)
    assert killed and dask_cluster.workers[0].wait(timeout=10) == -signal.SIGKILL
    assert seen[-1] == len(remote.table)
    local = tf.sweep(data, "sma_cross", grid=GRID, constraints=["fast<slow"])
    pd.testing.assert_frame_equal(local.table, remote.table)


def test_lake_sweep_reads_data_once_per_worker(dask_cluster: Cluster, tmp_path: Path) -> None:
    """Workers read the lake themselves, once each whatever the number of batches; the
    table equals the in-process sweep of the same bars."""
    import pyarrow as pa
    from distributed import Client

    from tickforge.data.lake import Lake
    from tickforge.research.executors import data_loads

    data = minute_bars(8_000, seed=7)
    Lake(str(tmp_path / "lake")).write_bars("EURUSD", "1min",
                                            pa.Table.from_pandas(data, preserve_index=False))
    options = {"lake": str(tmp_path / "lake"), "symbols": ("EURUSD",), "timeframe": "1min"}
    executor = DaskExecutor(dask_cluster.address)
    assert executor.workers == 2
    remote = tf.sweep(None, "sma_cross", grid=GRID, constraints=["fast<slow"],
                      executor=executor, **options)
    local = tf.sweep(data, "sma_cross", grid=GRID, constraints=["fast<slow"])
    pd.testing.assert_frame_equal(local.table, remote.table)
    with Client(dask_cluster.address) as client:
        loads = client.run(data_loads)
    assert sorted(loads.values()) == [1, 1]


def test_unreachable_scheduler_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="cannot reach Dask scheduler"):
        DaskExecutor("tcp://127.0.0.1:9", timeout=2).map(len, DataRef("k", inline=[1]), [[{}]])
