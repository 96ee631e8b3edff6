"""The ``tickforge`` command line: one Typer app.

Commands are thin: they parse arguments into the shared config objects, call the
library, and print. With ``--json`` the last line of stdout is one JSON object;
progress bars and messages go to stderr. A :class:`TickforgeError` prints one line
(what, where, how to fix) and exits with code 2; it never shows a traceback.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeRemainingColumn

from tickforge.errors import ConfigError, TickforgeError

app = typer.Typer(
    name="tickforge",
    help="Market data to trustworthy backtests: ingest, bars, sql, backtest, sweep, serve.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
lake_app = typer.Typer(help="Inspect the lake.", no_args_is_help=True)
users_app = typer.Typer(help="Manage service users.", no_args_is_help=True)
app.add_typer(lake_app, name="lake")
app.add_typer(users_app, name="users")

err = Console(stderr=True)
out = Console(soft_wrap=True)

LakeOpt = Annotated[
    str,
    typer.Option("--lake", envvar="TICKFORGE_LAKE", help="Lake root: path or s3://bucket/prefix"),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object as the last line.")]
SymbolsOpt = Annotated[list[str], typer.Option("--symbol", "-s")]
StrategyOpt = Annotated[str, typer.Option("--strategy")]
TimeframeOpt = Annotated[str, typer.Option("--timeframe", "-t")]
GridOpt = Annotated[
    list[str] | None, typer.Option("--grid", "-g", help="fast=5:50:5 or fast=5,10,20")
]
ConstraintOpt = Annotated[list[str] | None, typer.Option("--constraint", help="e.g. 'fast<slow'")]
SchedulerOpt = Annotated[
    str | None, typer.Option(envvar="TICKFORGE_DASK_SCHEDULER", help="tcp://host:8786")
]

ProgressFn = Callable[[float, float | None], None]


@contextmanager
def progress_bar(description: str, enabled: bool = True) -> Iterator[ProgressFn]:
    """A rich progress bar on stderr; yields ``update(done, total)``."""
    if not enabled or not err.is_terminal:
        yield lambda done, total: None
        return
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=err, transient=True) as bar:
        task = bar.add_task(description, total=None)

        def update(done: float, total: float | None) -> None:
            bar.update(task, completed=done, total=total)

        yield update


def emit(result: dict[str, Any], as_json: bool, human: Callable[[], None] | None = None) -> None:
    if as_json:
        sys.stdout.write(json.dumps(result, default=str) + "\n")
    elif human is not None:
        human()
    else:
        for key, value in result.items():
            out.print(f"[bold]{key}[/]: {value}")


def parse_scalar(text: str) -> int | float | bool | str:
    low = text.lower()
    if low in ("true", "false"):
        return low == "true"
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return text


def parse_params(items: list[str] | None) -> dict[str, int | float | bool | str]:
    params: dict[str, int | float | bool | str] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ConfigError(f"parameter '{item}' is not key=value", hint="e.g. -p fast=10")
        params[key.strip()] = parse_scalar(value.strip())
    return params


def parse_grid(items: list[str] | None) -> dict[str, tuple[int | float | bool | str, ...]]:
    """``fast=5:50:5`` (start:stop:step, stop included) or ``fast=5,10,20``."""
    grid: dict[str, tuple[int | float | bool | str, ...]] = {}
    for key, value in parse_params_raw(items).items():
        if ":" in value:
            grid[key] = expand_range(key, value)
        else:
            grid[key] = tuple(parse_scalar(v) for v in value.split(","))
    return grid


def parse_params_raw(items: list[str] | None) -> dict[str, str]:
    raw: dict[str, str] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key or not value:
            raise ConfigError(
                f"grid '{item}' is not key=start:stop:step or key=a,b,c", hint="e.g. -g fast=5:50:5"
            )
        raw[key.strip()] = value.strip()
    return raw


def expand_range(key: str, spec: str) -> tuple[int | float, ...]:
    parts = [parse_scalar(p) for p in spec.split(":")]
    if len(parts) not in (2, 3) or not all(
        isinstance(p, int | float) and not isinstance(p, bool) for p in parts
    ):
        raise ConfigError(f"grid '{key}={spec}' is not start:stop[:step] of numbers", field=key)
    start, stop = parts[0], parts[1]
    step = parts[2] if len(parts) == 3 else 1
    if (
        not isinstance(start, int | float)
        or not isinstance(stop, int | float)
        or not isinstance(step, int | float)
    ):
        raise ConfigError(f"grid '{key}={spec}' is not numeric", field=key)
    if step <= 0 or stop < start:
        raise ConfigError(f"grid '{key}={spec}' needs start <= stop and step > 0", field=key)
    n = round((stop - start) / step) + 1
    values = [start + i * step for i in range(n) if start + i * step <= stop + 1e-12]
    if all(isinstance(p, int) for p in parts):
        return tuple(values)
    return tuple(round(v, 12) for v in values)


def parse_when(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError as exc:
        raise ConfigError(
            f"'{text}' is not a date or ISO timestamp", hint="e.g. 2020-01-31 or 2020-01-31T12:00"
        ) from exc


# ---------------------------------------------------------------- ETL


@app.command()
def ingest(
    paths: Annotated[list[Path], typer.Argument(help="Files or folders to ingest.")],
    fmt: Annotated[
        str, typer.Option("--format", "-f", help="Vendor format, e.g. histdata, dukascopy, truefx.")
    ],
    symbol: Annotated[
        str, typer.Option("--symbol", "-s", help="Symbol the rows belong to, e.g. EURUSD.")
    ],
    lake: LakeOpt,
    point: Annotated[float | None, typer.Option(help="Price point (Dukascopy), e.g. 1e-5.")] = None,
    tz: Annotated[
        str | None, typer.Option(help="Source time zone override, e.g. America/New_York.")
    ] = None,
    columns: Annotated[
        str | None, typer.Option(help="Generic csv column mapping: ts=Time,bid=Bid,ask=Ask")
    ] = None,
    ts_format: Annotated[
        str | None,
        typer.Option(help="Generic csv timestamp format (strftime), or 'ms'/'us'/'ns'/'s'."),
    ] = None,
    dataset: Annotated[
        str | None, typer.Option(help="Generic csv dataset: quotes, trades or bars.")
    ] = None,
    on_overlap: Annotated[
        str, typer.Option(help="Data overlapping the lake: refuse, skip or replace.")
    ] = "refuse",
    as_json: JsonOpt = False,
) -> None:
    """Read vendor files, validate every row, write the lake (bad rows quarantined)."""
    from tickforge.data.ingest import ingest_files
    from tickforge.data.sources.base import ReadOptions

    mapping = dict(parse_params_raw(columns.split(","))) if columns else None
    if dataset not in (None, "quotes", "trades", "bars"):
        raise ConfigError(f"--dataset '{dataset}' is not one of quotes, trades, bars")
    options = ReadOptions(
        symbol=symbol,
        point=point,
        tz=tz,
        columns=mapping,
        ts_format=ts_format,
        dataset=dataset,  # type: ignore[arg-type]  # checked just above
    )
    with progress_bar(f"ingest {symbol}") as update:
        report = ingest_files(paths, fmt, options, lake, on_overlap=on_overlap, progress=update)
    emit(report.as_dict(), as_json)


@app.command()
def bars(
    lake: LakeOpt,
    symbol: Annotated[str, typer.Option("--symbol", "-s")],
    timeframe: Annotated[
        str,
        typer.Option(
            "--timeframe", "-t", help="1s..1d, e.g. 1min, 1h, 1d; or 1000t (ticks) / 1e6v (volume)."
        ),
    ] = "1min",
    start: Annotated[str | None, typer.Option(help="Start date or timestamp (UTC).")] = None,
    end: Annotated[str | None, typer.Option(help="End date or timestamp (UTC), exclusive.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Materialise bars of a symbol into the lake."""
    from tickforge.data.bars import materialize_bars

    with progress_bar(f"bars {symbol} {timeframe}") as update:
        report = materialize_bars(
            lake, symbol, timeframe, parse_when(start), parse_when(end), progress=update
        )
    emit(report, as_json)


@app.command()
def sql(
    query: Annotated[
        str, typer.Argument(help="DuckDB SQL over views quotes, trades, bars, quarantine.")
    ],
    lake: LakeOpt,
    fmt: Annotated[str, typer.Option("--format", help="table, csv or json")] = "table",
) -> None:
    """Run DuckDB SQL over the lake's datasets."""
    from tickforge.data.sql import format_table, run_sql

    table = run_sql(lake, query)
    sys.stdout.write(format_table(table, fmt))


@app.command()
def synth(
    symbol: Annotated[str, typer.Option("--symbol", "-s")] = "EURUSD",
    start: Annotated[str, typer.Option(help="First day, YYYY-MM-DD.")] = "2024-01-01",
    days: Annotated[int, typer.Option(min=1)] = 5,
    fmt: Annotated[
        str, typer.Option("--format", help="Vendor format to write: histdata, truefx, dukascopy.")
    ] = "histdata",
    out_dir: Annotated[Path, typer.Option("--out")] = Path("data/synth"),
    seed: Annotated[int, typer.Option(min=0)] = 42,
    as_json: JsonOpt = False,
) -> None:
    """Write realistic synthetic FX quote ticks in a vendor format (deterministic by seed)."""
    from tickforge.data.synth import write_synthetic

    day = parse_when(start)
    assert day is not None
    files = write_synthetic(symbol, day.date(), days, fmt, out_dir, seed=seed)
    emit({"files": [str(f) for f in files], "count": len(files)}, as_json)


@lake_app.command("info")
def lake_info(lake: LakeOpt, as_json: JsonOpt = False) -> None:
    """Datasets, symbols, row counts, time ranges, bytes."""
    from tickforge.data.lake import Lake

    info = Lake(lake).info()
    emit(info, as_json)


# ---------------------------------------------------------------- backtests and research


@app.command()
def backtest(
    lake: LakeOpt,
    symbol: SymbolsOpt,
    strategy: StrategyOpt = "sma_cross",
    param: Annotated[
        list[str] | None, typer.Option("--param", "-p", help="Strategy parameter key=value.")
    ] = None,
    timeframe: TimeframeOpt = "ticks",
    start: Annotated[str | None, typer.Option()] = None,
    end: Annotated[str | None, typer.Option()] = None,
    cash: Annotated[float, typer.Option()] = 100_000.0,
    commission: Annotated[
        str | None, typer.Option(help="e.g. bps=0.5 or per_million=25,per_order=1")
    ] = None,
    slippage: Annotated[str | None, typer.Option(help="e.g. spread=0.5 or fixed=0.0001")] = None,
    config_file: Annotated[
        Path | None, typer.Option("--config", help="BacktestConfig as JSON.")
    ] = None,
    report: Annotated[Path | None, typer.Option(help="Write the HTML report here.")] = None,
    save: Annotated[
        Path | None, typer.Option(help="Save the result (Parquet + JSON) in this folder.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Run one backtest on lake data."""
    config = build_backtest_config(
        lake,
        symbol,
        strategy,
        param,
        timeframe,
        start,
        end,
        cash,
        commission,
        slippage,
        config_file,
    )
    from tickforge.engine.run import backtest_from_config

    with progress_bar(f"backtest {strategy}") as update:
        result = backtest_from_config(config, progress=update)
    if report is not None:
        result.report(report)
    if save is not None:
        result.save(save)
    emit(result.summary(), as_json)


def build_backtest_config(
    lake: str,
    symbols: list[str],
    strategy: str,
    params: list[str] | None,
    timeframe: str,
    start: str | None,
    end: str | None,
    cash: float,
    commission: str | None,
    slippage: str | None,
    config_file: Path | None,
) -> Any:
    from pydantic import ValidationError

    from tickforge.config import BacktestConfig, CommissionConfig, SlippageConfig

    base: dict[str, Any] = {}
    if config_file is not None:
        base = json.loads(config_file.read_text())
    base.update(
        lake=lake, symbols=tuple(symbols), strategy=strategy, timeframe=timeframe, cash=cash
    )
    base["params"] = {**base.get("params", {}), **parse_params(params)}
    if start:
        base["start"] = parse_when(start)
    if end:
        base["end"] = parse_when(end)
    try:
        if commission:
            base["commission"] = CommissionConfig(**parse_params(commission.split(",")))
        if slippage:
            model, _, value = slippage.partition("=")
            base["slippage"] = SlippageConfig(model=model, value=float(value or 0))
        return BacktestConfig(**base)
    except (ValidationError, ValueError, TypeError) as exc:
        raise ConfigError(one_line_validation(exc)) from exc


def one_line_validation(exc: Exception) -> str:
    from pydantic import ValidationError

    if isinstance(exc, ValidationError):
        first = exc.errors()[0]
        loc = ".".join(str(p) for p in first["loc"])
        return f"invalid {loc}: {first['msg']}" if loc else first["msg"]
    return str(exc)


@app.command()
def sweep(
    lake: LakeOpt,
    symbol: SymbolsOpt,
    strategy: StrategyOpt = "sma_cross",
    grid: GridOpt = None,
    param: Annotated[
        list[str] | None, typer.Option("--param", "-p", help="Fixed parameter key=value.")
    ] = None,
    constraint: ConstraintOpt = None,
    objective: Annotated[str, typer.Option()] = "sharpe",
    minimize: Annotated[bool, typer.Option("--minimize")] = False,
    method: Annotated[str, typer.Option()] = "grid",
    n_trials: Annotated[int | None, typer.Option("--n-trials")] = None,
    timeframe: TimeframeOpt = "1min",
    start: Annotated[str | None, typer.Option()] = None,
    end: Annotated[str | None, typer.Option()] = None,
    scheduler: SchedulerOpt = None,
    out_file: Annotated[Path | None, typer.Option("--out", help="All results as Parquet.")] = None,
    top: Annotated[int, typer.Option()] = 10,
    report: Annotated[Path | None, typer.Option()] = None,
    as_json: JsonOpt = False,
) -> None:
    """Parameter sweep (grid, random or optuna) on local cores or a Dask cluster."""
    config = build_sweep_config(
        lake,
        symbol,
        strategy,
        grid,
        param,
        constraint,
        objective,
        minimize,
        method,
        n_trials,
        timeframe,
        start,
        end,
        scheduler,
        top,
    )
    from tickforge.research.sweep import sweep_from_config

    with progress_bar(f"sweep {strategy}") as update:
        result = sweep_from_config(config, progress=update)
    if out_file is not None:
        result.to_parquet(out_file)
    if report is not None:
        result.report(report)
    emit(result.summary(), as_json)


def build_sweep_config(
    lake: str,
    symbols: list[str],
    strategy: str,
    grid: list[str] | None,
    params: list[str] | None,
    constraints: list[str] | None,
    objective: str,
    minimize: bool,
    method: str,
    n_trials: int | None,
    timeframe: str,
    start: str | None,
    end: str | None,
    scheduler: str | None,
    top: int,
) -> Any:
    from pydantic import ValidationError

    from tickforge.config import SweepConfig

    base = build_backtest_config(
        lake, symbols, strategy, params, timeframe, start, end, 100_000.0, None, None, None
    )
    try:
        return SweepConfig(
            base=base,
            grid=parse_grid(grid),
            constraints=tuple(constraints or ()),
            objective=objective,
            maximize=not minimize,
            method=method,
            n_trials=n_trials,
            scheduler=scheduler,
            top=top,
        )
    except (ValidationError, ValueError) as exc:
        raise ConfigError(one_line_validation(exc)) from exc


@app.command()
def walkforward(
    lake: LakeOpt,
    symbol: SymbolsOpt,
    strategy: StrategyOpt = "sma_cross",
    grid: GridOpt = None,
    constraint: ConstraintOpt = None,
    objective: Annotated[str, typer.Option()] = "sharpe",
    timeframe: TimeframeOpt = "1min",
    train: Annotated[str, typer.Option(help="Training window, e.g. 6M, 30D.")] = "6M",
    test: Annotated[str, typer.Option(help="Test window, e.g. 1M.")] = "1M",
    anchored: Annotated[bool, typer.Option("--anchored")] = False,
    scheduler: SchedulerOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Walk-forward: optimise in-sample, evaluate out-of-sample, stitch the equity."""
    from tickforge.config import WalkForwardConfig
    from tickforge.research.walkforward import walk_forward_from_config

    sweep_config = build_sweep_config(
        lake=lake, symbols=symbol, strategy=strategy, grid=grid, params=None,
        constraints=constraint, objective=objective, minimize=False, method="grid",
        n_trials=None, timeframe=timeframe, start=None, end=None, scheduler=scheduler, top=10,
    )
    try:
        config = WalkForwardConfig(sweep=sweep_config, train=train, test=test, anchored=anchored)
    except ValueError as exc:  # pydantic's ValidationError is a ValueError
        raise ConfigError(one_line_validation(exc)) from exc
    with progress_bar("walk-forward") as update:
        result = walk_forward_from_config(config, progress=update)
    emit(result.summary(), as_json)


@app.command()
def report(
    run_dir: Annotated[Path, typer.Argument(help="A saved backtest result folder (Result.save).")],
    out_file: Annotated[Path, typer.Option("--out", help="HTML file to write.")] = Path(
        "report.html"
    ),
) -> None:
    """Write the self-contained HTML report of a saved backtest result."""
    from tickforge.engine.result import Result

    Result.load(run_dir).report(out_file)
    err.print(f"report written to {out_file}")


# ---------------------------------------------------------------- service


@app.command()
def serve(
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    port: Annotated[int, typer.Option()] = 8000,
    lake: Annotated[str | None, typer.Option("--lake", envvar="TICKFORGE_LAKE")] = None,
    workers: Annotated[int, typer.Option(help="Embedded job workers.")] = 1,
) -> None:
    """Start the REST API (and the web UI) with an embedded worker pool."""
    from tickforge.service.app import serve as run_server

    run_server(host=host, port=port, lake=lake, workers=workers)


@app.command()
def worker(
    lake: Annotated[str | None, typer.Option("--lake", envvar="TICKFORGE_LAKE")] = None,
    concurrency: Annotated[int, typer.Option()] = 1,
) -> None:
    """Run job workers against the service database (DATABASE_URL)."""
    from tickforge.service.jobs.worker import run_worker

    run_worker(lake=lake, concurrency=concurrency)


@users_app.command("create")
def users_create(
    name: Annotated[str, typer.Argument()],
    admin: Annotated[bool, typer.Option("--admin")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Create a user; prints the API key once (only its hash is stored)."""
    from tickforge.service.users import create_user_cli

    emit(create_user_cli(name, admin), as_json)


@app.command()
def demo(
    workdir: Annotated[Path, typer.Option("--dir", help="Where data, lake and report go.")] = Path(
        "demo"
    ),
    days: Annotated[int, typer.Option()] = 20,
    as_json: JsonOpt = False,
) -> None:
    """Synthetic data -> ingest -> bars -> backtest -> report, then a summary."""
    from tickforge.demo import run_demo

    summary = run_demo(workdir, days=days, console=err)
    if as_json:
        emit(summary, as_json)


def main() -> None:
    """Entry point: Typer handles usage errors; user errors become one line, exit 2."""
    try:
        app()
    except TickforgeError as exc:
        err.print(f"[red]error:[/] {exc}", highlight=False, soft_wrap=True, markup=True)
        sys.exit(exc.exit_code)
    except (FileNotFoundError, IsADirectoryError, PermissionError) as exc:
        err.print(
            f"[red]error:[/] {exc.strerror or exc}: {exc.filename}", highlight=False, soft_wrap=True
        )
        sys.exit(2)
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
