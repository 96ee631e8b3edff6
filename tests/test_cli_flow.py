"""The command line end to end, as a user runs it: synth -> ingest -> bars -> sql -> backtest
(report, save) -> report -> sweep -> walkforward, each with ``--json`` (last line one object)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

EXE = str(Path(sys.executable).with_name("tickforge"))


def run(*args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([EXE, *args], capture_output=True, text=True, timeout=600)
    if ok:
        assert proc.returncode == 0, proc.stderr
    return proc


def last_json(proc: subprocess.CompletedProcess[str]) -> dict:
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> str:
    root = tmp_path_factory.mktemp("flow")
    made = last_json(
        run(
            "synth",
            "--symbol",
            "EURUSD",
            "--start",
            "2024-03-04",
            "--days",
            "3",
            "--format",
            "histdata",
            "--out",
            str(root / "raw"),
            "--seed",
            "3",
            "--json",
        )
    )
    assert made["count"] >= 1
    lake = str(root / "lake")
    ing = last_json(
        run(
            "ingest",
            "--format",
            "histdata",
            "--symbol",
            "EURUSD",
            "--lake",
            lake,
            *made["files"],
            "--json",
        )
    )
    assert ing["rows_read"] == ing["rows_written"] + ing["rows_quarantined"] + ing["duplicates"]
    assert ing["rows_written"] > 10_000
    bars = last_json(
        run("bars", "--lake", lake, "--symbol", "EURUSD", "--timeframe", "1min", "--json")
    )
    assert bars["bars_written"] > 1000
    return lake


def test_sql_and_info_agree(lake: str) -> None:
    out = run("sql", "--lake", lake, "SELECT count(*) AS n FROM quotes", "--format", "json")
    rows = json.loads(out.stdout)
    info = last_json(run("lake", "info", "--lake", lake, "--json"))
    assert rows[0]["n"] > 10_000
    assert str(rows[0]["n"]) in json.dumps(info)


def test_backtest_report_save_and_reload(lake: str, tmp_path: Path) -> None:
    html, saved = tmp_path / "r.html", tmp_path / "run"
    res = last_json(
        run(
            "backtest",
            "--lake",
            lake,
            "-s",
            "EURUSD",
            "--strategy",
            "sma_cross",
            "-p",
            "fast=10",
            "-p",
            "slow=40",
            "--timeframe",
            "1min",
            "--commission",
            "per_million=25",
            "--report",
            str(html),
            "--save",
            str(saved),
            "--json",
        )
    )
    assert res["trades"] > 0 and res["final_equity"] > 0
    assert set(res["metrics"]) >= {"sharpe", "max_drawdown", "total_return"}
    assert "<html" in html.read_text()[:2000].lower()
    trades = pd.read_parquet(saved / "trades.parquet")
    assert len(trades) == res["trades"]
    again = tmp_path / "again.html"
    run("report", str(saved), "--out", str(again))
    assert again.stat().st_size > 100_000


def test_backtest_unknown_strategy_is_one_line(lake: str) -> None:
    proc = run("backtest", "--lake", lake, "-s", "EURUSD", "--strategy", "nope", ok=False)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr and "nope" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_sweep_and_walkforward(lake: str, tmp_path: Path) -> None:
    table = tmp_path / "sweep.parquet"
    res = last_json(
        run(
            "sweep",
            "--lake",
            lake,
            "-s",
            "EURUSD",
            "--strategy",
            "sma_cross",
            "-g",
            "fast=5:15:5",
            "-g",
            "slow=20,40",
            "--constraint",
            "fast<slow",
            "--timeframe",
            "1min",
            "--out",
            str(table),
            "--json",
        )
    )
    frame = pd.read_parquet(table)
    assert len(frame) == 6 == res["n_sets"]
    assert (frame["fast"] < frame["slow"]).all()
    assert res["best"]["sharpe"] == frame["sharpe"].max()
    wf = last_json(
        run(
            "walkforward",
            "--lake",
            lake,
            "-s",
            "EURUSD",
            "--strategy",
            "sma_cross",
            "-g",
            "fast=5,10",
            "-g",
            "slow=30",
            "--timeframe",
            "1min",
            "--train",
            "1D",
            "--test",
            "12h",
            "--json",
        )
    )
    assert wf["n_windows"] == len(wf["windows"]) >= 2
    for window in wf["windows"]:
        assert window["train_end"] <= window["test_start"] < window["test_end"]
        assert window["fast"] in (5, 10)
