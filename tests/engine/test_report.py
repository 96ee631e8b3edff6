"""HTML report: offline, complete, small, built from a hand-made Result (result.py contract)."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest
from plotly.offline import get_plotlyjs

from tickforge.config import BacktestConfig
from tickforge.engine.metrics import compute_metrics
from tickforge.engine.report import (
    MAX_MARKERS,
    MAX_POINTS,
    Section,
    downsample_indices,
    monthly_returns,
    write_html,
    write_report,
)
from tickforge.engine.result import Result
from tickforge.errors import TickforgeError

TRADE_COLUMNS = ["symbol", "direction", "size", "entry_time", "entry_price", "exit_time",
                 "exit_price", "pnl", "return_pct", "fees", "mae", "mfe", "duration",
                 "exit_reason"]
ORDER_COLUMNS = ["order_id", "symbol", "created", "kind", "side", "size", "limit_price",
                 "stop_price", "tif", "status", "filled_size", "avg_fill_price", "fees",
                 "updated", "parent_id"]
SECTIONS = {"summary": "Summary", "equity-and-drawdown": "Equity and drawdown",
            "price-and-trades": "Price and trades", "monthly-returns": "Monthly returns",
            "trade-p-l-distribution": "Trade P&amp;L distribution", "metrics": "Metrics",
            "trades": "Trades", "configuration": "Configuration"}
ONLINE = re.compile(r"<(?:script|link|img|iframe|source)\b[^>]*\b(?:src|href)\s*=\s*[\"']?"
                    r"(?:https?:)?//", re.IGNORECASE)
CSS_ONLINE = re.compile(r"(?:@import|url\()\s*[\"']?(?:https?:)?//", re.IGNORECASE)


def make_result(n: int = 600, n_trades: int = 12, freq: str = "1h",
                seed: int = 1) -> Result:
    """A long-only SMA-like run on a random walk, built by hand per the result.py contract."""
    rng = np.random.default_rng(seed)
    ts = pd.date_range("2023-01-02", periods=n, freq=freq, tz="UTC")
    price = 1.10 * np.exp(np.cumsum(rng.normal(0, 0.002, n)))
    position = np.zeros(n)
    rows = []
    if n_trades:
        edges = np.linspace(0, n - 1, 2 * n_trades + 1).astype(int)[:-1]
        for entry, exit_ in zip(edges[0::2], edges[1::2], strict=True):
            size = 50_000.0
            position[entry:exit_] = size
            pnl = size * (price[exit_] - price[entry]) - 2.0
            rows.append(["EURUSD", 1, size, ts[entry], price[entry], ts[exit_], price[exit_],
                         pnl, pnl / (size * price[entry]), 2.0, min(pnl, 0.0), max(pnl, 0.0),
                         ts[exit_] - ts[entry], "signal"])
    trades = pd.DataFrame(rows, columns=TRADE_COLUMNS)
    pnl_path = np.concatenate([[0.0], np.cumsum(position[:-1] * np.diff(price))])
    fees_so_far = 2.0 * np.searchsorted(pd.DatetimeIndex(trades["exit_time"]), ts, side="right")
    equity_values = 100_000.0 + pnl_path - fees_so_far
    equity = pd.DataFrame({
        "ts": ts, "equity": equity_values, "cash": equity_values - position * price,
        "position_value": position * price,
        "drawdown": equity_values / np.maximum.accumulate(equity_values) - 1,
        "exposure": position * price / equity_values})
    prices = pd.DataFrame({"ts": ts, "symbol": "EURUSD", "price": price})
    config = BacktestConfig(symbols=("EURUSD",), strategy="sma_cross", timeframe=freq,
                            params={"fast": 10, "slow": 30})
    metrics = compute_metrics(equity, trades, benchmark=price)
    return Result(config=config, equity=equity, trades=trades,
                  orders=pd.DataFrame(columns=ORDER_COLUMNS), metrics=metrics, prices=prices,
                  meta={"events": n, "seconds": 0.01})


def assert_offline(page: str) -> None:
    assert not ONLINE.search(page), ONLINE.search(page)
    assert not CSS_ONLINE.search(page)
    assert page.count(get_plotlyjs()[:200]) == 1  # plotly.js inlined exactly once
    # the only CDN mention is plotly.js's own default topojson URL (geo maps, unused here)
    assert page.count("cdn.plot.ly") == get_plotlyjs().count("cdn.plot.ly")


def test_report_is_offline_and_has_every_section(tmp_path: Path) -> None:
    result = make_result()
    path = write_report(result, tmp_path / "report.html")
    page = path.read_text(encoding="utf-8")
    assert_offline(page)
    for anchor, title in SECTIONS.items():
        assert f'<section id="{anchor}">' in page, anchor
        assert f'href="#{anchor}">{title}</a>' in page, anchor
    assert page.count('class="plotly-graph-div"') == 4  # equity, price, monthly, P&L
    assert "Sharpe ratio" in page and f"{result.metrics['sharpe']:,.3f}" in page
    assert "param fast" in page and "<code>30</code>" in page
    assert "Long entry" in page and "Winning exit" in page and "Buy &amp; hold" in page


def test_zero_trade_result_still_renders(tmp_path: Path) -> None:
    base = make_result(n=300, n_trades=0)
    for trades in (base.trades, pd.DataFrame()):
        result = Result(config=base.config, equity=base.equity, trades=trades,
                        orders=base.orders, metrics={}, prices=base.prices)
        page = write_report(result, tmp_path / "empty.html").read_text(encoding="utf-8")
        assert_offline(page)
        assert page.count("No trades.") == 2  # P&L distribution and trades table
        assert "Win rate" in page  # metrics computed on the fly when the result has none
        for anchor in SECTIONS:
            assert f'<section id="{anchor}">' in page


def test_result_without_prices_or_equity_rows_renders(tmp_path: Path) -> None:
    base = make_result(n=50, n_trades=2)
    bare = Result(config=base.config, equity=base.equity.iloc[0:0], trades=base.trades.iloc[0:0],
                  orders=base.orders, metrics={})
    page = bare.report(tmp_path / "bare.html").read_text(encoding="utf-8")
    assert "No equity rows." in page and "No price series" in page


def test_one_million_points_stay_under_5_mb(tmp_path: Path) -> None:
    result = make_result(n=1_000_000, n_trades=5_000, freq="1min")
    path = write_report(result, tmp_path / "big.html")
    size = path.stat().st_size
    assert size < 5_000_000, size
    page = path.read_text(encoding="utf-8")
    assert f"at most {MAX_POINTS:,} points" in page
    assert f"even sample of at most {MAX_MARKERS:,}" in page
    assert_offline(page)


def test_many_symbols_share_the_size_budget(tmp_path: Path) -> None:
    base = make_result(n=200_000, n_trades=3_000, freq="1min")
    symbols = [f"S{i}" for i in range(8)]
    prices = pd.concat([base.prices.assign(symbol=s, price=base.prices["price"] * (i + 1))
                        for i, s in enumerate(symbols)], ignore_index=True)
    trades = base.trades.assign(symbol=np.resize(symbols, len(base.trades)))
    result = Result(config=base.config, equity=base.equity, trades=trades, orders=base.orders,
                    metrics=base.metrics, prices=prices)
    path = write_report(result, tmp_path / "many.html")
    assert path.stat().st_size < 5_000_000
    page = path.read_text(encoding="utf-8")
    assert "first 6 of 8 symbols" in page


def test_downsample_keeps_first_last_and_extremes() -> None:
    rng = np.random.default_rng(5)
    values = np.cumsum(rng.normal(size=123_457))
    values[777] = 1e6
    values[99_999] = -1e6
    keep = downsample_indices(values, MAX_POINTS)
    assert len(keep) <= MAX_POINTS
    assert np.all(np.diff(keep) > 0)
    assert {0, 777, 99_999, len(values) - 1} <= set(keep.tolist())
    short = np.arange(10.0)
    assert downsample_indices(short, MAX_POINTS).tolist() == list(range(10))


def test_monthly_returns_hand_computed() -> None:
    equity = pd.DataFrame({
        "ts": pd.to_datetime(["2022-12-20", "2023-01-15", "2023-01-31", "2023-02-28",
                              "2023-03-10", "2023-03-31"], utc=True),
        "equity": [100.0, 105.0, 110.0, 99.0, 120.0, 108.9]})
    table = monthly_returns(equity)
    assert table.loc[2022, 12] == pytest.approx(0.0)
    assert table.loc[2023, 1] == pytest.approx(0.10)
    assert table.loc[2023, 2] == pytest.approx(-0.10)
    assert table.loc[2023, 3] == pytest.approx(0.10)
    assert np.isnan(table.loc[2023, 4])


def test_extra_sections_and_builder(tmp_path: Path) -> None:
    heat = go.Figure(go.Heatmap(z=[[1.0, 2.0], [3.0, 4.0]], x=["5", "10"], y=["20", "40"]))
    extra = [Section("Parameter heatmap", heat, "sharpe by fast x slow"),
             Section("Parameter heatmap", "<p>second <b>copy</b></p>")]
    page = write_report(make_result(n=200), tmp_path / "r.html",
                        extra_sections=extra).read_text(encoding="utf-8")
    assert '<section id="parameter-heatmap">' in page
    assert '<section id="parameter-heatmap-2">' in page
    assert "sharpe by fast x slow" in page and "<p>second <b>copy</b></p>" in page
    alone = write_html([Section("Only <this>", heat)], tmp_path / "sweep.html", "Sweep & co")
    text = alone.read_text(encoding="utf-8")
    assert_offline(text)
    assert "<title>Sweep &amp; co</title>" in text and "Only &lt;this&gt;" in text


def test_figures_carry_binary_downsampled_data(tmp_path: Path) -> None:
    result = make_result(n=50_000, n_trades=10, freq="1min")
    page = write_report(result, tmp_path / "r.html").read_text(encoding="utf-8")
    payloads = re.findall(r"Plotly\.newPlot\(\s*\"[^\"]+\",\s*(\[.*?\]),\s*\{", page, re.S)
    assert payloads
    first = json.loads(payloads[0])
    assert first[0]["name"] == "Equity" and first[0]["x"]["dtype"] == "f8"
    assert 0 < len(first[0]["x"]["bdata"]) * 3 / 4 / 8 <= MAX_POINTS + 8


def test_unwritable_path_is_a_user_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(TickforgeError, match="cannot write the report"):
        write_report(make_result(n=20, n_trades=1), blocker / "report.html")


@pytest.mark.browser
def test_report_loads_in_headless_chromium(tmp_path: Path) -> None:
    sync_api = pytest.importorskip("playwright.sync_api")
    path = write_report(make_result(n=2_000), tmp_path / "r.html")
    with sync_api.sync_playwright() as pw:
        try:
            browser = pw.chromium.launch()
        except Exception:  # playwright's own build missing: try the system chromium
            system = shutil.which("chromium") or shutil.which("chromium-browser")
            if system is None:
                pytest.skip("no headless chromium on this machine")
            browser = pw.chromium.launch(executable_path=system, args=["--no-sandbox"])
        page = browser.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.route("**/*", lambda route: route.abort() if route.request.url.startswith("http")
                   else route.continue_())
        page.goto(path.as_uri())
        page.wait_for_selector(".main-svg")
        plots = page.locator(".js-plotly-plot").count()
        browser.close()
    assert errors == []
    assert plots == 4
