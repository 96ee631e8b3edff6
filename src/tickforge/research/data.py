"""Data for sweeps: load from the lake (in a worker) and slice by time (walk-forward)."""

from __future__ import annotations

from datetime import datetime

import pandas as pd

from tickforge.engine.data import lake_frame
from tickforge.errors import ConfigError


def load_lake_data(lake: str, symbols: tuple[str, ...], timeframe: str,
                   start: datetime | None, end: datetime | None) -> pd.DataFrame:
    """The sweep's data, read in a worker: the engine's own lake reader (one frame, sorted by
    time; a ``symbol`` column when there are several symbols)."""
    return lake_frame(lake, symbols, timeframe, start, end)


def ts_column(frame: pd.DataFrame) -> pd.Series:
    if "ts" in frame.columns:
        ts = pd.to_datetime(frame["ts"], utc=True)
        return ts
    if isinstance(frame.index, pd.DatetimeIndex):
        return pd.Series(frame.index.tz_localize("UTC") if frame.index.tz is None
                         else frame.index.tz_convert("UTC"), index=frame.index)
    raise ConfigError("market data has no 'ts' column", field="ts",
                      hint="name the timestamp column ts (UTC)")


def time_range(frame: pd.DataFrame) -> tuple[pd.Timestamp, pd.Timestamp]:
    ts = ts_column(frame)
    if len(ts) == 0:
        raise ConfigError("market data is empty", field="data")
    return ts.iloc[0], ts.iloc[-1]


def slice_time(frame: pd.DataFrame, start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
    """Rows with ``start <= ts < end``."""
    ts = ts_column(frame)
    mask = ((ts >= start) & (ts < end)).to_numpy()
    return frame[mask].reset_index(drop=True)
