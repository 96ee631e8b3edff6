"""Job endpoints, the same shape for backtests, sweeps and walk-forwards:
``POST`` queues (202), ``GET`` lists and shows (status, progress, metrics), artifacts
(trades, equity, results as JSON pages or Parquet; the HTML report), ``DELETE`` cancels."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any, Literal

import pyarrow as pa
from fastapi import APIRouter, Query, Response
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field, ValidationInfo, field_validator
from sqlalchemy import func, select

from tickforge.config import BacktestConfig, SweepConfig, WalkForwardConfig
from tickforge.errors import TickforgeError
from tickforge.service import lakeio
from tickforge.service.db.models import Job, User
from tickforge.service.deps import CurrentUser, ServiceState, State, Writer
from tickforge.service.jobs.queue import enqueue, request_cancel
from tickforge.service.problems import Problem, not_found
from tickforge.service.schemas import Id, JobAccepted, JobOut, Page, Paging

Status = Literal["queued", "running", "succeeded", "failed", "cancelled"]


class BacktestRequest(BacktestConfig):
    """A backtest on the service's lake (``lake`` is set by the server)."""

    lake: None = Field(None, description="Ignored: the service's lake is used.")
    symbols: tuple[str, ...] = Field(min_length=1, max_length=50)
    strategy: str = Field("sma_cross", min_length=1, max_length=60)
    options: dict[str, Any] = Field(default_factory=dict, max_length=0,
                                    description="Not accepted by the service.")

    @field_validator("end")
    @classmethod
    def _end_after_start(cls, end: datetime | None, info: ValidationInfo) -> datetime | None:
        start = info.data.get("start")
        if start and end and end <= start:
            raise ValueError(f"end ({end}) must be after start ({start})")
        return end


class SweepRequest(SweepConfig):
    base: BacktestRequest
    scheduler: None = Field(None, description="Set by the server (TICKFORGE_DASK_SCHEDULER).")
    top: int = Field(10, ge=1, le=1000)
    n_trials: int | None = Field(None, ge=1, le=100_000)


class WalkForwardRequest(WalkForwardConfig):
    sweep: SweepRequest
    train: str = Field("6M", pattern=r"^\d+[a-zA-Z]+$", max_length=10)
    test: str = Field("1M", pattern=r"^\d+[a-zA-Z]+$", max_length=10)


def check_backtest(state: ServiceState, req: BacktestRequest, prefix: str = "") -> dict[str, Any]:
    """Validate against the lake and the strategy registry; the stored config JSON."""
    lake = lakeio.require_lake(state.settings.lake)
    have = set(lake.symbols("quotes")) | set(lake.symbols("bars"))
    for i, sym in enumerate(req.symbols):
        if sym not in have:
            raise Problem(422, f"symbol '{sym}' is not in the lake", field=f"{prefix}symbols.{i}")
    check_strategy(req.strategy, dict(req.params), prefix)
    data = req.model_dump(mode="json")
    data["lake"] = state.settings.lake
    BacktestConfig.model_validate(data)
    return data


def check_strategy(name: str, params: dict[str, Any], prefix: str) -> None:
    from tickforge.strategies import get_strategy

    try:
        strategy = get_strategy(name)
    except (TickforgeError, KeyError, ValueError) as exc:
        raise Problem(422, str(exc), field=f"{prefix}strategy") from exc
    validate = getattr(strategy, "validate", None) or getattr(strategy, "resolve_params", None)
    if callable(validate):
        try:
            validate(params)
        except (TickforgeError, ValueError, TypeError) as exc:
            field = getattr(exc, "field", None) or "params"
            raise Problem(422, str(exc), field=f"{prefix}{field}") from exc


def backtest_config(state: ServiceState, req: BacktestRequest) -> dict[str, Any]:
    return check_backtest(state, req)


def sweep_config(state: ServiceState, req: SweepRequest) -> dict[str, Any]:
    data = req.model_dump(mode="json")
    data["base"] = check_backtest(state, req.base, "base.")
    return data


def walkforward_config(state: ServiceState, req: WalkForwardRequest) -> dict[str, Any]:
    data = req.model_dump(mode="json")
    data["sweep"] = sweep_config(state, req.sweep)
    return data


def job_out(job: Job) -> JobOut:
    result = job.result or None
    metrics = result.get("metrics") if isinstance(result, dict) else None
    return JobOut(id=job.id, kind=job.kind, status=job.status, progress=job.progress,
                  attempts=job.attempts, created_at=job.created_at, started_at=job.started_at,
                  finished_at=job.finished_at, config=job.config, result=result,
                  metrics=metrics, error=job.error, artifacts=sorted((job.artifacts or {}).keys()))


def owned_job(state: ServiceState, user: User, kind: str, job_id: Id) -> Job:
    with state.db.read() as session:
        job = session.scalar(select(Job).where(Job.id == job_id, Job.user_id == user.id,
                                               Job.kind == kind))
    if job is None:
        raise not_found(kind, job_id)
    return job


def artifact_key(job: Job, name: str) -> str:
    key = (job.artifacts or {}).get(name)
    if key is None:
        detail = (f"{job.kind} {job.id} has no {name} yet (status {job.status})"
                  if job.status != "succeeded" else f"{job.kind} {job.id} has no {name}")
        raise Problem(404, detail)
    return str(key)


def table_response(state: ServiceState, job: Job, name: str, fmt: str, page: Any) -> Any:
    key = artifact_key(job, name)
    if fmt == "parquet":
        return Response(state.store.get_bytes(key), media_type="application/vnd.apache.parquet",
                        headers={"Content-Disposition": f'attachment; filename="{name}.parquet"'})
    table: pa.Table = state.store.get_table(key)
    rows = table.slice(page.offset, page.limit).to_pylist()
    return Page.of(rows, table.num_rows, page).model_dump(mode="json")


Fmt = Annotated[Literal["json", "parquet"], Query(description="json pages or the Parquet file")]


def job_router(kind: str, path: str, model: type[BaseModel],
               to_config: Callable[[ServiceState, Any], dict[str, Any]],
               tables: tuple[str, ...]) -> APIRouter:
    router = APIRouter(prefix=f"/v1/{path}", tags=[path])

    @router.post("", status_code=202, response_model=JobAccepted,
                 summary=f"Queue a {kind}", operation_id=f"create_{kind}")
    def create(body: model, user: Writer, state: State, response: Response) -> JobAccepted:  # type: ignore[valid-type]
        config = to_config(state, body)
        with state.db.write() as session:
            job = enqueue(session, user, kind, config, state.settings.max_concurrent_jobs)
            out = JobAccepted(id=job.id, status=job.status)
        response.headers["Location"] = f"/v1/{path}/{out.id}"
        return out

    create.__annotations__["body"] = model  # a class, not a string FastAPI cannot resolve

    @router.get("", operation_id=f"list_{kind}s")
    def listing(user: CurrentUser, state: State, page: Paging,
                status: Status | None = None) -> Page[JobOut]:
        where = [Job.user_id == user.id, Job.kind == kind]
        if status:
            where.append(Job.status == status)
        with state.db.read() as session:
            total = session.scalar(select(func.count(Job.id)).where(*where)) or 0
            jobs = session.scalars(select(Job).where(*where).order_by(Job.id.desc())
                                   .limit(page.limit).offset(page.offset)).all()
        return Page.of([job_out(j) for j in jobs], total, page)

    @router.get("/{job_id}", operation_id=f"get_{kind}")
    def show(job_id: Id, user: CurrentUser, state: State) -> JobOut:
        return job_out(owned_job(state, user, kind, job_id))

    @router.delete("/{job_id}", status_code=202, operation_id=f"cancel_{kind}")
    def cancel(job_id: Id, user: Writer, state: State) -> JobOut:
        """Cancel: a queued job at once, a running one at its next progress step."""
        with state.db.write() as session:
            job = session.scalar(select(Job).where(Job.id == job_id, Job.user_id == user.id,
                                                   Job.kind == kind).with_for_update())
            if job is None:
                raise not_found(kind, job_id)
            request_cancel(session, job)
            return job_out(job)

    @router.get("/{job_id}/report", response_class=HTMLResponse, operation_id=f"{kind}_report")
    def report(job_id: Id, user: CurrentUser, state: State) -> HTMLResponse:
        job = owned_job(state, user, kind, job_id)
        return HTMLResponse(state.store.get_bytes(artifact_key(job, "report")))

    for name in tables:
        _add_table_route(router, kind, name)
    return router


def _add_table_route(router: APIRouter, kind: str, name: str) -> None:
    @router.get(f"/{{job_id}}/{name}", operation_id=f"{kind}_{name}",
                summary=f"The {name} of a finished {kind}")
    def table(job_id: Id, user: CurrentUser, state: State, page: Paging,
              format: Fmt = "json") -> Any:
        return table_response(state, owned_job(state, user, kind, job_id), name, format, page)


ROUTERS = [
    job_router("backtest", "backtests", BacktestRequest, backtest_config,
               ("trades", "equity", "orders")),
    job_router("sweep", "sweeps", SweepRequest, sweep_config, ("results",)),
    job_router("walkforward", "walkforwards", WalkForwardRequest, walkforward_config,
               ("equity",)),
]
