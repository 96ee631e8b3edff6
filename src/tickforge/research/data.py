"""Data for sweeps: slice by time (walk-forward). Lake data is read by the engine's own
reader, :func:`tickforge.engine.data.lake_frame`, in the worker that needs it."""

from __future__ import annotations

import pandas as pd

from tickforge.errors import ConfigError


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
