"""Data for sweeps: load from the lake (in a worker) and slice by time (walk-forward)."""

from __future__ import annotations

from datetime import datetime

import pandas as pd

from tickforge.engine.data import to_pandas  # re-exported for sweep / walkforward
from tickforge.errors import ConfigError


def load_lake_data(lake: str, symbols: tuple[str, ...], timeframe: str,
                   start: datetime | None, end: datetime | None) -> pd.DataFrame:
    """Bars (or quotes for ``timeframe='ticks'``) of ``symbols`` from the lake as one frame;
    a ``symbol`` column when there are several symbols."""
    from tickforge.data.lake import Lake

    if not symbols:
        raise ConfigError("a sweep on lake data needs at least one symbol", field="symbols",
                          hint="pass --symbol EURUSD")
    store = Lake(lake)
    frames = []
    for symbol in symbols:
        if timeframe == "ticks":
            table = store.quotes(symbol, start, end)
        else:
            table = store.bars(symbol, timeframe, start, end)
        frame = to_pandas(table)
        if len(symbols) > 1:
            frame = frame.assign(symbol=symbol)
        frames.append(frame)
    out = frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)
    return out.sort_values("ts", kind="stable").reset_index(drop=True)


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
