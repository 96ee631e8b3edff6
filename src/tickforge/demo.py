"""``tickforge demo``: the whole path on embedded defaults, no server needed.

synthetic FX ticks written in a vendor format (HistData) -> ingest with validation ->
1-minute bars -> SMA-crossover backtest on bid/ask ticks and on bars -> offline HTML report.
"""

from __future__ import annotations

import shutil
import time
from datetime import date
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from tickforge.config import BacktestConfig, CommissionConfig
from tickforge.errors import TickforgeError

SYMBOL = "EURUSD"
START = date(2024, 1, 1)


def run_demo(workdir: Path, days: int = 20, console: Console | None = None) -> dict[str, Any]:
    """Run the demo in ``workdir`` (recreated) and return the summary."""
    from tickforge.data.bars import materialize_bars
    from tickforge.data.ingest import ingest_files
    from tickforge.data.sources.base import ReadOptions
    from tickforge.data.synth import write_synthetic
    from tickforge.engine.run import backtest_from_config

    console = console or Console(stderr=True)
    clear_workdir(workdir)
    raw, lake = workdir / "raw", str(workdir / "lake")
    t0 = time.perf_counter()
    step(console, f"writing {days} days of synthetic {SYMBOL} ticks (HistData format)")
    files = write_synthetic(SYMBOL, START, days, "histdata", raw, seed=7)
    step(console, f"ingesting {len(files)} file(s) into {lake}")
    ingest = ingest_files(files, "histdata", ReadOptions(symbol=SYMBOL), lake).as_dict()
    step(console, "building 1-minute bars")
    bars = materialize_bars(lake, SYMBOL, "1min", None, None)
    step(console, "backtesting sma_cross on bid/ask ticks and on 1-minute bars")
    base = {
        "lake": lake,
        "symbols": (SYMBOL,),
        "strategy": "sma_cross",
        "commission": CommissionConfig(per_million=25.0),
    }
    ticks = backtest_from_config(
        BacktestConfig(**base, timeframe="ticks", params={"fast": 500, "slow": 3000})
    )
    minute = backtest_from_config(
        BacktestConfig(**base, timeframe="1min", params={"fast": 20, "slow": 120})
    )
    report = minute.report(workdir / "report.html")
    ticks.report(workdir / "report-ticks.html")
    summary = {
        "ingest": ingest,
        "bars": bars,
        "backtest_ticks": ticks.summary(),
        "backtest_1min": minute.summary(),
        "report": str(report),
        "seconds": round(time.perf_counter() - t0, 2),
    }
    print_summary(console, summary)
    return summary


DEMO_ENTRIES = {"raw", "lake", "report.html", "report-ticks.html"}


def clear_workdir(workdir: Path) -> None:
    """Remove an earlier demo's output; refuse any other non-empty folder."""
    if not workdir.exists():
        return
    entries = {p.name for p in workdir.iterdir()} if workdir.is_dir() else {workdir.name}
    if not workdir.is_dir() or not entries <= DEMO_ENTRIES:
        raise TickforgeError(
            f"{workdir} exists and is not a demo folder; the demo would replace it",
            hint="pass an empty or new folder with --dir",
        )
    shutil.rmtree(workdir)


def step(console: Console, text: str) -> None:
    console.print(f"[bold cyan]»[/] {text}")


def print_summary(console: Console, summary: dict[str, Any]) -> None:
    table = Table(title="tickforge demo", show_header=True)
    table.add_column("what")
    table.add_column("value", justify="right")
    ing = summary["ingest"]
    table.add_row("ticks read / written", f"{ing['rows_read']:,} / {ing['rows_written']:,}")
    table.add_row(
        "quarantined / duplicates", f"{ing['rows_quarantined']:,} / {ing['duplicates']:,}"
    )
    table.add_row("1-minute bars", f"{summary['bars'].get('bars_written', 0):,}")
    for key, label in (("backtest_ticks", "ticks"), ("backtest_1min", "1min")):
        m = summary[key]["metrics"]
        table.add_row(f"{label}: trades", f"{summary[key]['trades']:,}")
        table.add_row(f"{label}: total return", f"{m.get('total_return', 0.0):.2%}")
        table.add_row(
            f"{label}: sharpe / max drawdown",
            f"{m.get('sharpe', 0.0):.2f} / {m.get('max_drawdown', 0.0):.2%}",
        )
    table.add_row("report", summary["report"])
    table.add_row("seconds", f"{summary['seconds']}")
    console.print(table)
