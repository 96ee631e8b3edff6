"""Arrow tables decode straight to events (no pandas) with exactly the pandas path's result;
anything the fast path does not cover goes through the pandas path and its checks."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from tickforge.engine.data import Events, arrow_events, events_from_frame
from tickforge.errors import DataFormatError

FIELDS = ("ts", "sym", "o", "h", "low", "c", "v", "sp")


def quotes_table(n: int, unit: str = "ns", tz: str | None = "UTC") -> pa.Table:
    rng = np.random.default_rng(4)
    bid = 1.1 + np.cumsum(rng.normal(0, 1e-4, n))
    ask = bid + rng.uniform(1e-5, 2e-4, n)
    ts = np.int64(1_700_000_000_000_000) + np.cumsum(rng.integers(0, 5_000, n))  # us, ties
    size = pa.array([None if i % 7 == 0 else float(i) for i in range(n)], pa.float64())
    stamps = pa.array(ts, pa.timestamp("us", tz=tz)).cast(pa.timestamp(unit, tz=tz))
    return pa.table({"ts": stamps, "bid": bid, "ask": ask, "bid_size": size, "ask_size": size})


def bars_table(n: int) -> pa.Table:
    rng = np.random.default_rng(5)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 1e-3, n)))
    open_ = np.r_[close[0], close[:-1]]
    ts = pd.date_range("2024-01-01", periods=n, freq="1min", tz="UTC")
    return pa.table({"ts": ts, "open": open_, "high": np.maximum(open_, close) + 0.01,
                     "low": np.minimum(open_, close) - 0.01, "close": close,
                     "volume": np.arange(n, dtype=np.float64)})


def same(a: Events, b: Events) -> None:
    assert (a.kind, a.symbols) == (b.kind, b.symbols)
    for name in FIELDS:
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)


@pytest.mark.parametrize("table", [quotes_table(5_000), quotes_table(3_000, "us", None),
                                   bars_table(4_000),
                                   pa.Table.from_batches(bars_table(200).to_batches(max_chunksize=64))])
def test_arrow_decoding_equals_pandas_decoding(table: pa.Table) -> None:
    fast = arrow_events(table, "EURUSD")
    assert fast is not None
    same(fast, events_from_frame(table.to_pandas(), "EURUSD"))
    same(events_from_frame(table, "EURUSD"), fast)
    assert all(getattr(fast, n).flags.writeable for n in FIELDS)


def test_tables_the_fast_path_does_not_cover_take_the_pandas_path() -> None:
    table = quotes_table(1_000)
    backwards = table.take(np.arange(len(table))[::-1].copy())
    assert arrow_events(backwards, "X") is None
    same(events_from_frame(backwards, "X"), events_from_frame(backwards.to_pandas(), "X"))
    crossed = table.set_column(2, "ask", pa.array(table["bid"].to_numpy() - 1e-4))
    assert arrow_events(crossed, "X") is None
    with pytest.raises(DataFormatError, match="ask < bid"):
        events_from_frame(crossed, "X")
    holes = table.set_column(1, "bid", pa.array([None, *table["bid"].to_pylist()[1:]],
                                                pa.float64()))
    assert arrow_events(holes, "X") is None
    with pytest.raises(DataFormatError) as err:
        events_from_frame(holes, "X")
    assert err.value.field == "bid"
