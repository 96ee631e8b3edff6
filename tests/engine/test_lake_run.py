"""backtest_from_config on lake data (streamed partition by partition) equals the in-memory run."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa

from tests.engine.test_paths import random_quotes
from tickforge.config import BacktestConfig
from tickforge.engine.run import backtest_from_config


def test_lake_quotes_run_equals_dataframe_run(lake_dir: Path) -> None:
    from tickforge.data.lake import Lake

    data = random_quotes(20_000)
    data["ts"] = pd.date_range("2024-01-01", periods=len(data), freq="20s", tz="UTC")
    table = pa.Table.from_pandas(data.assign(bid_size=None, ask_size=None), preserve_index=False)
    Lake(str(lake_dir)).write("quotes", "EURUSD", table)
    config = BacktestConfig(lake=str(lake_dir), symbols=("EURUSD",), strategy="sma_cross",
                            params={"fast": 20, "slow": 80})
    from_lake = backtest_from_config(config)
    in_memory = backtest_from_config(config, data=data)
    assert len(from_lake.trades) > 5
    pd.testing.assert_frame_equal(from_lake.trades, in_memory.trades)
    pd.testing.assert_frame_equal(from_lake.equity, in_memory.equity)
