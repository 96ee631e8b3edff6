"""The backtest report: one self-contained HTML file that works offline.

plotly.js is inlined once (from the installed plotly package); every chart is a plotly
figure without its own copy. Long series are downsampled (min/max per bucket, so spikes
and drawdowns stay visible) to ``MAX_POINTS`` per trace and stored as binary arrays, so a
1 M-point equity curve still gives a file of about 5 MB, most of it plotly.js.

Extra sections (the research sweeps add parameter heatmaps) are :class:`Section` objects:
``write_report(result, path, extra_sections=[Section("Heatmap", fig)])``; or build any
report with :func:`write_html`.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import jinja2
import numpy as np
import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio
from plotly.offline import get_plotlyjs
from plotly.subplots import make_subplots

from tickforge.engine.metrics import METRIC_INFO, compute_metrics, to_ns
from tickforge.engine.result import Result
from tickforge.errors import TickforgeError

# plotly.js alone is 4.8 MB: these bounds keep a report under 5 MB however long the run
# (about 16 bytes per plotted point: float64 ms time + float32 value, base64).
MAX_POINTS = 1500  # per main line trace (min and max of 750 buckets, ~ one per pixel)
MAX_MARKERS = 400  # trade entries (and as many exits), shared by all price charts
MAX_SYMBOLS = 6  # price charts; their lines share MAX_POINTS
MAX_TRADE_ROWS = 30  # rows of the trades table
PNL_BINS = 60
POS, NEG, LINE, MUTED = "#1a7f37", "#c62828", "#1f5fa8", "#9aa5b1"
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_TEMPLATES = jinja2.Environment(
    loader=jinja2.PackageLoader("tickforge.engine", "templates"),
    autoescape=jinja2.select_autoescape(["html", "j2"]),
)


@dataclass
class Section:
    """One report section: a plotly figure or a piece of (trusted) HTML."""

    title: str
    body: go.Figure | str
    note: str = ""

    @property
    def anchor(self) -> str:
        return re.sub(r"[^a-z0-9]+", "-", self.title.lower()).strip("-") or "section"

    @property
    def html(self) -> str:
        if isinstance(self.body, str):
            return self.body
        return pio.to_html(self.body, full_html=False, include_plotlyjs=False,
                           config={"displaylogo": False, "responsive": True})


# ---------------------------------------------------------------- helpers


def downsample_indices(values: np.ndarray, max_points: int = MAX_POINTS) -> np.ndarray:
    """Sorted row indices to plot: first, last, and the min and max of each bucket."""
    n = len(values)
    if n <= max_points:
        return np.arange(n)
    size = -(-n // max(max_points // 2 - 2, 1))
    whole = n // size * size
    blocks = values[:whole].reshape(-1, size)
    starts = np.arange(0, whole, size)
    parts = [starts + blocks.argmin(axis=1), starts + blocks.argmax(axis=1), np.array([0, n - 1])]
    if whole < n:
        tail = values[whole:]
        parts.append(np.array([whole + tail.argmin(), whole + tail.argmax()]))
    return np.unique(np.concatenate(parts))


def _ms(ts: Any) -> np.ndarray:
    """Timestamps as float ms since the epoch (plotly date axes read them; binary-encoded)."""
    return to_ns(ts).astype(np.float64) / 1e6


def _line(x_ms: np.ndarray, y: np.ndarray, name: str, max_points: int = MAX_POINTS,
          **style: Any) -> go.Scatter:
    keep = downsample_indices(y, max_points)
    return go.Scatter(x=x_ms[keep], y=y[keep].astype(np.float32), name=name, mode="lines",
                      **style)


def _layout(fig: go.Figure, height: int, **extra: Any) -> go.Figure:
    layout = {"template": "none", "height": height, "font": {"size": 12},
              "margin": {"l": 60, "r": 20, "t": 20, "b": 40}, "hovermode": "x unified",
              "legend": {"orientation": "h", "y": 1.06, "x": 0}}
    fig.update_layout(**(layout | extra))
    fig.update_xaxes(showgrid=True, gridcolor="#eef1f4")
    fig.update_yaxes(showgrid=True, gridcolor="#eef1f4", zerolinecolor="#d9e2ec")
    return fig


def _empty(message: str) -> str:
    return f'<p class="note">{html.escape(message)}</p>'


def _format(key: str, value: Any) -> str:
    kind = METRIC_INFO.get(key, ("", "ratio"))[1]
    if not isinstance(value, int | float | np.number):
        return html.escape(str(value))
    value = float(value)
    if kind == "pct":
        return f"{value:.2%}"
    if kind == "money":
        return f"{value:,.2f}"
    if kind == "count":
        return f"{value:,.0f}" if value == int(value) else f"{value:,.2f}"
    return f"{value:,.3f}"


def _table(rows: Iterable[tuple[str, str]], numeric: bool = True) -> str:
    cls = ' class="num"' if numeric else ""
    body = "".join(f"<tr><th>{html.escape(k)}</th><td{cls}>{v}</td></tr>" for k, v in rows)
    return f"<table>{body}</table>"


# ---------------------------------------------------------------- sections


def summary_section(result: Result, metrics: dict[str, float]) -> Section:
    cards = [("Total return", "total_return"), ("CAGR", "cagr"), ("Sharpe", "sharpe"),
             ("Max drawdown", "max_drawdown"), ("Trades", "num_trades"),
             ("Win rate", "win_rate"), ("Final equity", "final_equity")]
    items = []
    for label, key in cards:
        value = metrics.get(key, 0.0)
        sign = "" if key in ("num_trades", "final_equity") else ("pos" if value > 0 else
                                                                  "neg" if value < 0 else "")
        items.append(f'<div class="card"><div class="label">{label}</div>'
                     f'<div class="value {sign}">{_format(key, value)}</div></div>')
    return Section("Summary", f'<div class="cards">{"".join(items)}</div>')


def _buy_and_hold(result: Result) -> go.Scatter | None:
    prices = result.prices
    if len(prices) == 0 or prices["symbol"].nunique() != 1 or len(result.equity) == 0:
        return None
    price = prices["price"].to_numpy(np.float64)
    if price[0] <= 0:
        return None
    value = float(result.equity["equity"].iloc[0]) * price / price[0]
    return _line(_ms(prices["ts"]), value, "Buy & hold", MAX_POINTS // 2,
                 line={"color": MUTED, "width": 1, "dash": "dot"})


def equity_section(result: Result) -> Section:
    eq = result.equity
    if len(eq) == 0:
        return Section("Equity and drawdown", _empty("No equity rows."))
    x = _ms(eq["ts"])
    values = eq["equity"].to_numpy(np.float64)
    drawdown = values / np.maximum.accumulate(values) - 1.0
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.7, 0.3],
                        vertical_spacing=0.04)
    fig.add_trace(_line(x, values, "Equity", line={"color": LINE, "width": 1.5}), 1, 1)
    bench = _buy_and_hold(result)
    if bench is not None:
        fig.add_trace(bench, 1, 1)
    fig.add_trace(_line(x, drawdown, "Drawdown", MAX_POINTS * 2 // 3, fill="tozeroy",
                        line={"color": NEG, "width": 1}), 2, 1)
    fig.update_xaxes(type="date")
    fig.update_yaxes(tickformat=".0%", row=2, col=1)
    note = f"{len(eq):,} rows" + (f", plotted as at most {MAX_POINTS:,} points per line "
                                  "(min and max per bucket)" if len(eq) > MAX_POINTS else "")
    return Section("Equity and drawdown", _layout(fig, 520), note)


def _sample(frame: pd.DataFrame, limit: int) -> pd.DataFrame:
    if len(frame) <= limit:
        return frame
    return frame.iloc[np.linspace(0, len(frame) - 1, limit).astype(np.int64)]


def _trade_markers(trades: pd.DataFrame) -> list[go.Scatter]:
    traces = []
    direction = trades["direction"].to_numpy() if "direction" in trades else np.ones(len(trades))
    for label, mask, symbol, color in (("Long entry", direction > 0, "triangle-up", POS),
                                       ("Short entry", direction < 0, "triangle-down", NEG)):
        part = trades[mask]
        if len(part):
            traces.append(go.Scatter(
                x=_ms(part["entry_time"]), y=part["entry_price"].to_numpy(np.float32),
                mode="markers", name=label, marker={"symbol": symbol, "color": color, "size": 9}))
    closed = trades[trades["exit_time"].notna()]
    won = closed["pnl"].to_numpy(np.float64) >= 0
    for label, picked, color in (("Winning exit", won, POS), ("Losing exit", ~won, NEG)):
        part = closed[picked]
        if len(part):
            traces.append(go.Scatter(
                x=_ms(part["exit_time"]), y=part["exit_price"].to_numpy(np.float32),
                mode="markers", name=label, customdata=part["pnl"].to_numpy(np.float32),
                hovertemplate="exit %{y}<br>P&L %{customdata:,.2f}<extra></extra>",
                marker={"symbol": "x", "size": 8, "color": color}))
    return traces


def price_section(result: Result) -> Section:
    prices, trades = result.prices, result.trades
    if len(prices) == 0:
        return Section("Price and trades", _empty("No price series in this result."))
    symbols = list(pd.unique(prices["symbol"]))
    shown = symbols[:MAX_SYMBOLS]
    fig = make_subplots(rows=len(shown), cols=1, shared_xaxes=True, subplot_titles=shown,
                        vertical_spacing=0.06)
    points, markers = MAX_POINTS // len(shown), MAX_MARKERS // len(shown)
    for row, symbol in enumerate(shown, start=1):
        part = prices[prices["symbol"] == symbol]
        fig.add_trace(_line(_ms(part["ts"]), part["price"].to_numpy(np.float64), str(symbol),
                            points, line={"color": LINE, "width": 1}, showlegend=False), row, 1)
        if len(trades) and "symbol" in trades:
            for trace in _trade_markers(_sample(trades[trades["symbol"] == symbol], markers)):
                fig.add_trace(trace.update(showlegend=row == 1), row, 1)
    fig.update_xaxes(type="date")
    notes = [f"{len(trades):,} trades"]
    if len(trades) > markers:
        notes.append(f"markers for an even sample of at most {markers:,} per symbol")
    if len(symbols) > len(shown):
        notes.append(f"first {len(shown)} of {len(symbols)} symbols")
    return Section("Price and trades", _layout(fig, 260 + 220 * len(shown), hovermode="closest"),
                   "; ".join(notes))


def monthly_returns(equity: pd.DataFrame) -> pd.DataFrame:
    """Compounded monthly returns (years x 12 months, NaN where no data) from the equity."""
    values = equity["equity"].to_numpy(np.float64)
    stamps = pd.DatetimeIndex(pd.to_datetime(equity["ts"], utc=True))
    month_end = pd.Series(values, index=stamps).groupby([stamps.year, stamps.month]).last()
    previous = month_end.shift(1).fillna(values[0]).to_numpy()
    returns = pd.Series(month_end.to_numpy() / previous - 1.0, index=month_end.index)
    table = returns.unstack()
    return table.reindex(columns=range(1, 13))


def monthly_section(result: Result) -> Section:
    if len(result.equity) < 2:
        return Section("Monthly returns", _empty("Not enough equity rows."))
    table = monthly_returns(result.equity)
    z = table.to_numpy(np.float64)
    text = [[f"{v:.1%}" if np.isfinite(v) else "" for v in row] for row in z]
    limit = float(np.nanmax(np.abs(z))) if np.isfinite(z).any() else 0.01
    fig = go.Figure(go.Heatmap(
        z=z, x=list(MONTHS), y=[str(y) for y in table.index], text=text, texttemplate="%{text}",
        colorscale="RdYlGn", zmid=0, zmin=-limit, zmax=limit, hoverongaps=False,
        colorbar={"tickformat": ".0%"}, hovertemplate="%{y} %{x}: %{z:.2%}<extra></extra>"))
    fig.update_yaxes(autorange="reversed", type="category")
    return Section("Monthly returns", _layout(fig, 120 + 28 * len(table), hovermode="closest"),
                   "Compounded return of each calendar month (UTC).")


def pnl_section(result: Result) -> Section:
    trades = result.trades
    if len(trades) == 0:
        return Section("Trade P&L distribution", _empty("No trades."))
    pnl = trades["pnl"].to_numpy(np.float64)
    counts, edges = np.histogram(pnl, bins=min(PNL_BINS, max(len(pnl) // 2, 5)))
    centers = (edges[:-1] + edges[1:]) / 2
    fig = go.Figure(go.Bar(
        x=centers, y=counts, width=np.diff(edges), name="Trades",
        marker_color=np.where(centers >= 0, POS, NEG).tolist(),
        hovertemplate="P&L %{x:,.2f}: %{y} trades<extra></extra>"))
    fig.update_layout(bargap=0.02, showlegend=False)
    fig.update_xaxes(title_text="P&L per trade (account currency)")
    fig.update_yaxes(title_text="trades")
    return Section("Trade P&L distribution", _layout(fig, 320, hovermode="closest"))


def metrics_section(metrics: dict[str, float]) -> Section:
    rows = [(METRIC_INFO.get(k, (k, ""))[0], _format(k, v)) for k, v in metrics.items()]
    half = (len(rows) + 1) // 2
    body = f'<div class="columns">{_table(rows[:half])}{_table(rows[half:])}</div>'
    return Section("Metrics", body, "Conventions: docs/metrics.md (empyrical's defaults).")


def _cell(value: Any) -> str:
    if isinstance(value, dict | list | tuple):
        value = ", ".join(f"{k}={v}" for k, v in value.items()) if isinstance(value, dict) \
            else ", ".join(map(str, value))
    return f"<code>{html.escape(str(value))}</code>"


def config_section(result: Result) -> Section:
    config = result.config.model_dump(mode="json")
    params = config.pop("params", {}) or {}
    rows = [(f"param {k}", _cell(v)) for k, v in params.items()]
    rows += [(k, _cell(v)) for k, v in config.items() if v not in (None, {}, [], ())]
    rows += [(f"run {k}", _cell(v)) for k, v in result.meta.items()
             if isinstance(v, int | float | str)]
    return Section("Configuration", f'<div class="columns">{_table(rows, False)}</div>')


def trades_section(result: Result) -> Section:
    trades = result.trades
    if len(trades) == 0:
        return Section("Trades", _empty("No trades."))
    columns = [c for c in ("symbol", "direction", "size", "entry_time", "entry_price",
                           "exit_time", "exit_price", "pnl", "return_pct", "fees",
                           "exit_reason") if c in trades.columns]
    shown = trades[columns].tail(MAX_TRADE_ROWS).copy()
    for column in ("entry_time", "exit_time"):
        if column in shown:
            shown[column] = pd.to_datetime(shown[column], utc=True).dt.strftime("%Y-%m-%d %H:%M:%S")
    if "return_pct" in shown:
        shown["return_pct"] = shown["return_pct"].map("{:.2%}".format)
    table = shown.to_html(index=False, border=0, float_format=lambda v: f"{v:,.6g}",
                          na_rep="")
    note = f"last {len(shown):,} of {len(trades):,}" if len(trades) > len(shown) else ""
    return Section("Trades", f'<div class="scroll">{table}</div>', note)


# ---------------------------------------------------------------- assembly


def report_sections(result: Result) -> list[Section]:
    """The standard sections of a backtest report, in order."""
    metrics = result.metrics or compute_metrics(result.equity, result.trades,
                                                periods_per_year=result.config.periods_per_year)
    return [summary_section(result, metrics), equity_section(result), price_section(result),
            monthly_section(result), pnl_section(result), metrics_section(metrics),
            trades_section(result), config_section(result)]


def _version() -> str:
    try:
        return version("tickforge")
    except PackageNotFoundError:
        return "dev"


def render_html(sections: Sequence[Section], title: str, subtitle: str = "") -> str:
    """The whole page; plotly.js is inlined once, in the head."""
    seen: dict[str, int] = {}
    items = []
    for section in sections:
        anchor = section.anchor
        seen[anchor] = seen.get(anchor, 0) + 1
        unique = anchor if seen[anchor] == 1 else f"{anchor}-{seen[anchor]}"
        items.append({"title": section.title, "anchor": unique, "note": section.note,
                      "html": section.html})
    template = _TEMPLATES.get_template("report.html.j2")
    return template.render(title=title, subtitle=subtitle, sections=items,
                           plotlyjs=get_plotlyjs(), version=_version())


def write_html(sections: Sequence[Section], path: Path, title: str, subtitle: str = "") -> Path:
    """Write any list of sections as one self-contained offline HTML file."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(render_html(sections, title, subtitle), encoding="utf-8")
    except OSError as exc:
        raise TickforgeError(f"cannot write the report: {exc.strerror}", file=str(path),
                             hint="choose a writable path") from exc
    return path


def _subtitle(result: Result) -> str:
    eq = result.equity
    span = ""
    if len(eq):
        first, last = pd.Timestamp(eq["ts"].iloc[0]), pd.Timestamp(eq["ts"].iloc[-1])
        span = f"{first:%Y-%m-%d %H:%M} to {last:%Y-%m-%d %H:%M} UTC"
    symbols = ", ".join(result.config.symbols)
    return " | ".join(p for p in (symbols, result.config.timeframe, span) if p)


def write_report(result: Result, path: Path, *, title: str | None = None,
                 extra_sections: Sequence[Section] = ()) -> Path:
    """Write the backtest report for ``result`` to ``path`` (one offline HTML file)."""
    title = title or f"Backtest report: {result.config.strategy}"
    sections = [*report_sections(result), *extra_sections]
    return write_html(sections, path, title, _subtitle(result))
