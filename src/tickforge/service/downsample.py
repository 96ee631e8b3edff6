"""Server-side downsampling of bars for wide chart ranges.

When a range holds more than ``max_points`` bars, they are aggregated to the finest
coarser width of :data:`LADDER` (a multiple of the stored width) that fits: buckets are
aligned on the Unix epoch (``floor(ts / width)``, as pandas' ``resample(origin="epoch")``),
labelled by their start; ``*open`` columns take the first value, ``*close`` the last,
``*high`` the max, ``*low`` the min, ``volume`` and ``tick_count`` the sum. Tick and volume
bars have no time width: every ``k`` consecutive bars are merged instead. Vectorised NumPy
(``ufunc.reduceat``), one pass per column.
"""

from __future__ import annotations

import math

import numpy as np
import pyarrow as pa

from tickforge.data.bars import Timeframe

S = 1_000_000_000
LADDER = tuple(n * S for n in (
    1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 14400, 21600,
    28800, 43200, 86400, 2 * 86400, 7 * 86400, 14 * 86400, 28 * 86400, 91 * 86400,
    364 * 86400))
SUMMED = ("volume", "tick_count")


def width_name(width: int) -> str:
    for unit, size in (("d", 86400 * S), ("h", 3600 * S), ("min", 60 * S)):
        if width % size == 0:
            return f"{width // size}{unit}"
    return f"{width // S}s"


def bucket_count(ts: np.ndarray, width: int) -> int:
    if ts.size == 0:
        return 0
    keys = ts // width
    return int(np.count_nonzero(np.diff(keys))) + 1


def choose_width(ts: np.ndarray, base: int, max_points: int) -> int:
    """The finest ladder width (a multiple of ``base``) giving at most ``max_points`` bars."""
    for width in LADDER:
        if width > base and width % base == 0 and bucket_count(ts, width) <= max_points:
            return width
    return LADDER[-1]


def _reduce(name: str, values: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    if name.endswith("open"):
        return values[starts]
    if name.endswith("close"):
        return values[ends - 1]
    if name.endswith("high"):
        return np.maximum.reduceat(values, starts)
    if name.endswith("low"):
        return np.minimum.reduceat(values, starts)
    if name in SUMMED:
        return np.add.reduceat(values, starts)
    return values[ends - 1]


def aggregate(table: pa.Table, starts: np.ndarray, labels: np.ndarray) -> pa.Table:
    """Merge rows ``starts[k]:starts[k+1]`` of ``table`` into one bar each, labelled."""
    ends = np.append(starts[1:], table.num_rows)
    stamps = pa.array(labels, pa.int64()).cast(pa.timestamp("ns", tz="UTC"))
    columns = {"ts": stamps.cast(table.schema.field("ts").type)}
    for name in table.column_names:
        if name == "ts":
            continue
        col = table.column(name)
        values = col.to_numpy(zero_copy_only=False)
        if col.null_count:
            values = np.nan_to_num(values.astype(float))
        columns[name] = pa.array(_reduce(name, values, starts, ends), col.type)
    return pa.table(columns)


def downsample(table: pa.Table, timeframe: Timeframe, max_points: int) -> tuple[pa.Table, str]:
    """(bars, effective timeframe name): ``table`` itself when it has at most
    ``max_points`` rows."""
    if max_points <= 0 or table.num_rows <= max_points:
        return table, timeframe.name
    ts = table.column("ts").cast(pa.timestamp("ns", tz="UTC")).cast(pa.int64()).to_numpy()
    if timeframe.kind != "time":
        k = math.ceil(table.num_rows / max_points)
        starts = np.arange(0, table.num_rows, k)
        name = f"{timeframe.ticks * k}t" if timeframe.kind == "tick" else f"{k}x{timeframe.name}"
        return aggregate(table, starts, ts[starts]), name
    width = choose_width(ts, timeframe.step_ns, max_points)
    keys = ts // width
    starts = np.concatenate([[0], np.flatnonzero(np.diff(keys)) + 1])
    return aggregate(table, starts, keys[starts] * width), width_name(width)
