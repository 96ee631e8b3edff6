"""What a job does, by kind. Each runner takes the stored config JSON, a progress
callback and the artifact store, and returns ``(result, artifacts)``: a JSON summary
for the job row and the artifact keys it wrote (deterministic per job, so a rerun
overwrites them)."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa

from tickforge.progress import ProgressFn
from tickforge.service.artifacts import ArtifactStore
from tickforge.service.settings import ServiceSettings

Outcome = tuple[dict[str, Any], dict[str, str]]


@dataclass
class JobContext:
    job_id: int
    store: ArtifactStore
    settings: ServiceSettings
    progress: ProgressFn


def _frame_to_table(frame: Any) -> pa.Table:
    frame = frame.copy()
    for col in frame.columns:  # Timedelta columns (trade duration) -> seconds
        if str(frame[col].dtype).startswith("timedelta"):
            frame[col] = frame[col].dt.total_seconds()
    return pa.Table.from_pandas(frame, preserve_index=False)


def _put_report(ctx: JobContext, write: Callable[[Path], Any], keys: dict[str, str]) -> None:
    """Store the HTML report under ``keys["report"]`` (skipped when plotting is unavailable)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "report.html"
        try:
            write(path)
        except (ImportError, NotImplementedError):
            return
        keys["report"] = ctx.store.put_file(ctx.store.key(ctx.job_id, "report.html"), path)


def expected_events(config: Any) -> int:
    """Rows a backtest will read, from the Parquet footers of the partitions in its range
    (edge partitions count whole, so this is an upper bound)."""
    from tickforge.data.lake import Lake, to_ns

    lake = Lake(config.lake)
    ticks = config.timeframe == "ticks"
    start, end = to_ns(config.start), to_ns(config.end)
    rows = 0
    for symbol in config.symbols:
        timeframe = None if ticks else config.timeframe
        for path in lake.partitions("quotes" if ticks else "bars", symbol, start, end,
                                    timeframe):
            rows += sum(lake.file_meta(info).rows for info in lake.data_files(path))
    return rows


def estimated(progress: ProgressFn, expected: float) -> ProgressFn:
    """A progress callback that divides by ``expected`` when the engine gives no total
    (it streams a tick backtest partition by partition); at most 0.99 until the end."""
    def update(done: float, total: float | None) -> None:
        if total:
            progress(done, total)
        elif expected > 0:
            progress(min(float(done), 0.99 * expected), expected)
        else:
            progress(done, None)
    return update


def run_backtest(config_json: dict[str, Any], ctx: JobContext) -> Outcome:
    from tickforge.config import BacktestConfig
    from tickforge.engine.run import backtest_from_config

    config = BacktestConfig.model_validate(config_json)
    progress = estimated(ctx.progress, expected_events(config) if config.lake else 0)
    result = backtest_from_config(config, progress=progress)
    keys = {}
    for name in ("trades", "equity", "orders"):
        frame = getattr(result, name)
        keys[name] = ctx.store.put_table(ctx.store.key(ctx.job_id, f"{name}.parquet"),
                                         _frame_to_table(frame))
    _put_report(ctx, result.report, keys)
    return result.summary(), keys


def run_sweep(config_json: dict[str, Any], ctx: JobContext) -> Outcome:
    from tickforge.config import SweepConfig
    from tickforge.research.sweep import sweep_from_config

    config = SweepConfig.model_validate(config_json)
    if config.scheduler is None and ctx.settings.dask_scheduler:
        config = config.model_copy(update={"scheduler": ctx.settings.dask_scheduler})
    result = sweep_from_config(config, progress=ctx.progress)
    keys = {}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "results.parquet"
        result.to_parquet(path)
        keys["results"] = ctx.store.put_file(ctx.store.key(ctx.job_id, "results.parquet"), path)
    _put_report(ctx, result.report, keys)
    return result.summary(), keys


def run_walkforward(config_json: dict[str, Any], ctx: JobContext) -> Outcome:
    from tickforge.config import WalkForwardConfig
    from tickforge.research.walkforward import walk_forward_from_config

    config = WalkForwardConfig.model_validate(config_json)
    result = walk_forward_from_config(config, progress=ctx.progress)
    keys: dict[str, str] = {}
    equity = getattr(result, "equity", None)
    if equity is not None:
        keys["equity"] = ctx.store.put_table(ctx.store.key(ctx.job_id, "equity.parquet"),
                                             _frame_to_table(equity))
    return result.summary(), keys


def run_ingest(config_json: dict[str, Any], ctx: JobContext) -> Outcome:
    from tickforge.data.ingest import ingest_files
    from tickforge.data.sources.base import ReadOptions

    lake = ctx.settings.lake
    if not lake:
        raise ValueError("the service has no lake configured (TICKFORGE_LAKE)")
    options = ReadOptions(symbol=config_json["symbol"], point=config_json.get("point"),
                          tz=config_json.get("tz"))
    paths = [Path(p) for p in config_json["paths"]]
    report = ingest_files(paths, config_json["format"], options, lake,
                          on_overlap=config_json.get("on_overlap", "refuse"),
                          progress=ctx.progress)
    return report.as_dict(), {}


RUNNERS: dict[str, Callable[[dict[str, Any], JobContext], Outcome]] = {
    "backtest": run_backtest,
    "sweep": run_sweep,
    "walkforward": run_walkforward,
    "ingest": run_ingest,
}
