"""Data endpoints: datasets, symbols, bars, strategies (with parameter schemas),
and admin-only ingest (queued as a durable job)."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, Field

from tickforge.data.bars import parse_timeframe
from tickforge.errors import TickforgeError
from tickforge.service import lakeio
from tickforge.service.coverage import coverage
from tickforge.service.deps import AdminUser, CurrentUser, State
from tickforge.service.downsample import downsample
from tickforge.service.jobs.queue import enqueue
from tickforge.service.problems import Problem
from tickforge.service.routes.jobs import job_out, owned_job
from tickforge.service.schemas import MAX_PAGE, Id, JobAccepted, JobOut

router = APIRouter(prefix="/v1", tags=["data"])
Dataset = Literal["quotes", "trades", "bars"]


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


GapMinutes = Annotated[float, Query(gt=0, le=10_080, description=(
    "Report missing trading periods longer than this (FX weekends excluded)."))]


@router.get("/datasets")
def datasets(_user: CurrentUser, state: State, gap_minutes: GapMinutes = 60) -> dict[str, Any]:
    """What the lake holds: datasets, symbols, row counts, time ranges, bytes, and per
    symbol (and timeframe) the number and total length of gaps (``/v1/coverage`` lists
    them)."""
    lake = lakeio.require_lake(state.settings.lake)
    info = lake.info()
    for row in coverage(lake, gap_minutes * 60):
        key = row["symbol"] + (f"/{row['timeframe']}" if row["timeframe"] else "")
        entry = info["datasets"][row["dataset"]]["symbols"][key]
        entry.update({k: v for k, v in row.items() if k in GAP_FIELDS})
    return dict(_jsonable(info))


GAP_FIELDS = ("gaps", "gap_seconds", "gap_threshold_seconds", "weekends_excluded")


@router.get("/coverage")
def lake_coverage(_user: CurrentUser, state: State, gap_minutes: GapMinutes = 60,
                  dataset: Dataset | None = None,
                  symbol: Annotated[str | None, Query(max_length=40)] = None
                  ) -> dict[str, Any]:
    """One row per dataset / symbol / timeframe: range, rows, files, bytes and gaps (the
    first 100 listed with start, end and trading seconds missing)."""
    rows = coverage(lakeio.require_lake(state.settings.lake), gap_minutes * 60)
    rows = [r for r in rows if (dataset is None or r["dataset"] == dataset)
            and (symbol is None or r["symbol"] == symbol)]
    return {"gap_minutes": gap_minutes, "items": _jsonable(rows)}


@router.get("/symbols")
def symbols(_user: CurrentUser, state: State,
            dataset: Annotated[Dataset, Query()] = "quotes") -> dict[str, Any]:
    return {"dataset": dataset, "symbols": lakeio.symbols(state.settings.lake, dataset)}


def check_range(start: datetime | None, end: datetime | None) -> None:
    if start and end and end <= start:
        raise Problem(422, f"end ({end}) must be after start ({start})", field="end")


def known_symbol(state: State, symbol: str, dataset: str, field: str = "symbol") -> None:
    have = lakeio.symbols(state.settings.lake, dataset)
    if symbol not in have:
        raise Problem(422, f"symbol '{symbol}' has no {dataset} in the lake "
                           f"(available: {', '.join(have[:20]) or 'none'})", field=field)


@router.get("/bars")
def bars(
    _user: CurrentUser, state: State,
    symbol: Annotated[str, Query(min_length=1, max_length=40)],
    timeframe: Annotated[str, Query(min_length=1, max_length=10)] = "1min",
    start: datetime | None = None, end: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE * 20)] = 1000,
    max_points: Annotated[int, Query(ge=0, le=100_000, description=(
        "Aggregate to a coarser width when the range holds more bars (0: never)."))] = 5000,
) -> dict[str, Any]:
    """Bars of a symbol (open-time labels, UTC), at most ``limit`` rows from ``start``.
    Wide ranges are downsampled on the server to at most ``max_points`` bars (OHLCV
    aggregated); ``timeframe`` in the answer is the effective width."""
    check_range(start, end)
    known_symbol(state, symbol, "bars")
    have = lakeio.require_lake(state.settings.lake).timeframes(symbol)
    if timeframe not in have:
        raise Problem(422, f"no {timeframe} bars for {symbol} (present: {', '.join(have)})",
                      field="timeframe")
    try:
        table = lakeio.bars(state.settings.lake, symbol, timeframe, start, end)
        table, effective = downsample(table, parse_timeframe(timeframe), max_points)
    except TickforgeError as exc:
        raise Problem(422, exc.message, field=exc.field or "timeframe") from exc
    rows = table.slice(0, limit).to_pylist()
    return {"symbol": symbol, "timeframe": effective, "source_timeframe": timeframe,
            "downsampled": effective != timeframe, "count": len(rows),
            "total": table.num_rows, "bars": _jsonable(rows)}


@router.get("/strategies")
def strategies(_user: CurrentUser) -> dict[str, Any]:
    """Built-in strategies with their parameter schemas (names, types, ranges, defaults)."""
    from tickforge.strategies import get_strategy, list_strategies

    names = list_strategies()
    names = [n if isinstance(n, str) else getattr(n, "name", str(n)) for n in names]
    return {"strategies": [{"name": n, **_schema(get_strategy(n))} for n in sorted(names)]}


def _schema(strategy: Any) -> dict[str, Any]:
    schema = strategy.schema() if callable(getattr(strategy, "schema", None)) else {}
    return dict(_jsonable(schema if isinstance(schema, dict) else {"params": schema}))


class IngestRequest(BaseModel):
    paths: list[str] = Field(min_length=1, description="Files or folders on the server.")
    format: str = Field(min_length=1, max_length=40)
    symbol: str = Field(min_length=1, max_length=40)
    point: float | None = Field(None, gt=0)
    tz: str | None = None
    on_overlap: Literal["refuse", "skip", "replace"] = "refuse"


def check_ingest(body: IngestRequest) -> None:
    """Refuse at once what the job would fail on: an unknown format, a missing path."""
    from tickforge.data.sources import FORMATS

    if body.format not in FORMATS:
        raise Problem(422, f"unknown format '{body.format}'; valid: {', '.join(FORMATS)}",
                      field="format")
    for i, path in enumerate(body.paths):
        if not Path(path).exists():
            raise Problem(422, f"'{path}' does not exist on the server", field=f"paths.{i}")


@router.post("/ingest", status_code=202)
def ingest(body: IngestRequest, admin: AdminUser, state: State,
           response: Response) -> JobAccepted:
    """Queue an ingest of server-side files into the lake (admin only)."""
    lakeio.require_lake(state.settings.lake)
    check_ingest(body)
    with state.db.write() as session:
        job = enqueue(session, admin, "ingest", body.model_dump(),
                      state.settings.max_concurrent_jobs)
        out = JobAccepted(id=job.id, status=job.status)
    response.headers["Location"] = f"/v1/ingest/{out.id}"
    return out


@router.get("/ingest/{job_id}")
def ingest_status(job_id: Id, admin: AdminUser, state: State) -> JobOut:
    """Status, progress and report of an ingest job (admin only)."""
    return job_out(owned_job(state, admin, "ingest", job_id))
