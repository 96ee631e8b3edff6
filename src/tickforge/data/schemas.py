"""Canonical Arrow schemas of the lake.

All timestamps are int64 nanoseconds since the Unix epoch, UTC (``ts``).
Bars are labelled by their *open* time.
"""

from __future__ import annotations

import pyarrow as pa

TS = pa.timestamp("ns", tz="UTC")

QUOTES = pa.schema(
    [
        pa.field("ts", TS, nullable=False),
        pa.field("bid", pa.float64(), nullable=False),
        pa.field("ask", pa.float64(), nullable=False),
        pa.field("bid_size", pa.float64()),
        pa.field("ask_size", pa.float64()),
    ]
)

TRADES = pa.schema(
    [
        pa.field("ts", TS, nullable=False),
        pa.field("price", pa.float64(), nullable=False),
        pa.field("size", pa.float64()),
        # +1 buyer-initiated (taker buy), -1 seller-initiated, 0 unknown
        pa.field("side", pa.int8()),
        pa.field("trade_id", pa.string()),
    ]
)

BARS = pa.schema(
    [
        pa.field("ts", TS, nullable=False),
        pa.field("open", pa.float64(), nullable=False),
        pa.field("high", pa.float64(), nullable=False),
        pa.field("low", pa.float64(), nullable=False),
        pa.field("close", pa.float64(), nullable=False),
        pa.field("volume", pa.float64()),
        pa.field("tick_count", pa.int64()),
    ]
)

QUARANTINE = pa.schema(
    [
        pa.field("source_file", pa.string(), nullable=False),
        pa.field("line", pa.int64(), nullable=False),
        pa.field("raw", pa.string()),
        pa.field("reason", pa.string(), nullable=False),
        pa.field("dataset", pa.string()),
        pa.field("symbol", pa.string()),
        pa.field("ingested_at", TS),
    ]
)

DATASETS: dict[str, pa.Schema] = {"quotes": QUOTES, "trades": TRADES, "bars": BARS}

# Name of the column readers add to carry the 1-based source line (or record) number
# of each row until validation; it is never written to the lake.
LINE = "_line"
