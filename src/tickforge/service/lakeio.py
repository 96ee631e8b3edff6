"""Thin access to the lake for the service (``tickforge.data.lake.Lake``)."""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from typing import Any

import pyarrow as pa

from tickforge.service.problems import Problem


@lru_cache(maxsize=4)
def open_lake(uri: str) -> Any:
    from tickforge.data.lake import Lake

    return Lake(uri)


def require_lake(uri: str | None) -> Any:
    if not uri:
        raise Problem(409, "the service has no lake configured", field="TICKFORGE_LAKE")
    return open_lake(uri)


def symbols(uri: str | None, dataset: str) -> list[str]:
    return sorted(require_lake(uri).symbols(dataset))


def bars(uri: str | None, symbol: str, timeframe: str, start: datetime | None,
         end: datetime | None) -> pa.Table:
    table: pa.Table = require_lake(uri).bars(symbol, timeframe, start, end).to_arrow()
    return table


def quotes(uri: str | None, symbol: str, start: datetime | None,
           end: datetime | None) -> pa.Table:
    table: pa.Table = require_lake(uri).quotes(symbol, start, end).to_arrow()
    return table


def info(uri: str | None) -> dict[str, Any]:
    result: dict[str, Any] = require_lake(uri).info()
    return result
