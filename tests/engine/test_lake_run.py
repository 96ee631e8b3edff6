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


def two_symbol_quotes() -> dict[str, pd.DataFrame]:
    """Two symbols over several days, on grids that share every minute (same-time ties)."""
    eur = random_quotes(15_000, seed=3)
    eur["ts"] = pd.date_range("2024-01-01", periods=len(eur), freq="20s", tz="UTC")
    jpy = random_quotes(10_000, seed=4)
    jpy[["bid", "ask"]] *= 100.0
    jpy["ts"] = pd.date_range("2024-01-01 00:00:40", periods=len(jpy), freq="30s", tz="UTC")
    return {"USDJPY": jpy, "EURUSD": eur}


def test_two_symbol_lake_run_streams_and_equals_dataframe_run(lake_dir: Path) -> None:
    from tickforge.data.lake import Lake
    from tickforge.engine.run import lake_chunks

    data = two_symbol_quotes()
    for symbol, frame in data.items():
        table = pa.Table.from_pandas(frame.assign(bid_size=None, ask_size=None),
                                     preserve_index=False)
        Lake(str(lake_dir)).write("quotes", symbol, table)
    config = BacktestConfig(lake=str(lake_dir), symbols=("USDJPY", "EURUSD"),
                            strategy="sma_cross", params={"fast": 20, "slow": 80},
                            options={"size": 0.45})  # both symbols fit in the margin
    chunks, total = lake_chunks(config)
    sizes = [len(c) for c in chunks]
    assert total is None and len(sizes) >= 3  # day by day, never the whole selection
    assert max(sizes) < len(data["EURUSD"]) + len(data["USDJPY"])
    frame = pd.concat([f.assign(symbol=s) for s, f in data.items()], ignore_index=True)
    from_lake = backtest_from_config(config)
    in_memory = backtest_from_config(config, data=frame)
    assert set(from_lake.trades["symbol"]) == {"EURUSD", "USDJPY"}
    pd.testing.assert_frame_equal(from_lake.trades, in_memory.trades)
    pd.testing.assert_frame_equal(from_lake.equity, in_memory.equity)
