"""The sweep report: one self-contained offline HTML file (plotly.js inlined once).

Sections: 2-D heatmaps of the objective for each pair of swept parameters (best value over
the other parameters), the top N table, and robustness of the best set: deflated Sharpe for
the number of trials actually run, and a Monte Carlo of its trades.
"""

from __future__ import annotations

import html
import itertools
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from tickforge.research.robustness import deflated_sharpe_from_returns, monte_carlo_trades

if TYPE_CHECKING:
    from tickforge.research.sweep import SweepResult

MAX_HEATMAPS = 6


def heatmap_frames(result: SweepResult) -> list[tuple[str, str, pd.DataFrame]]:
    """(x, y, pivot) per pair of numeric swept parameters; cells = best objective."""
    table = result.table
    names = [n for n in result.param_names
             if n in table and pd.api.types.is_numeric_dtype(table[n]) and table[n].nunique() > 1]
    agg: Literal["max", "min"] = "max" if result.config.maximize else "min"
    out = []
    for x, y in itertools.islice(itertools.combinations(names, 2), MAX_HEATMAPS):
        pivot = table.pivot_table(index=y, columns=x, values=result.objective, aggfunc=agg)
        out.append((x, y, pivot))
    return out


def _heatmap_html(x: str, y: str, pivot: pd.DataFrame, objective: str, first: bool) -> str:
    import plotly.graph_objects as go

    fig = go.Figure(go.Heatmap(z=pivot.to_numpy(), x=[str(c) for c in pivot.columns],
                               y=[str(i) for i in pivot.index], colorbar={"title": objective}))
    fig.update_layout(title=f"{objective} by {x} and {y}", xaxis_title=x, yaxis_title=y,
                      height=450, margin={"l": 60, "r": 20, "t": 50, "b": 50})
    return str(fig.to_html(full_html=False, include_plotlyjs=bool(first)))


def _table_html(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "<p>No parameter sets.</p>"
    head = "".join(f"<th>{html.escape(str(k))}</th>" for k in rows[0])
    body = "".join("<tr>" + "".join(f"<td>{_fmt(v)}</td>" for v in r.values()) + "</tr>"
                   for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}" if math.isfinite(value) else str(value)
    return html.escape(str(value))


def robustness_of_best(result: SweepResult, n_sims: int = 1000) -> dict[str, float]:
    """Deflated Sharpe (trials = sets run) and Monte Carlo of the best set's trades."""
    if result.table.empty or "sharpe" not in result.table or result.data is None:
        return {}
    best = result.rerun({k: result.best[k] for k in result.param_names})
    equity = best.equity["equity"].to_numpy(dtype=np.float64)
    if len(equity) < 4:
        return {}
    ppy = float(best.metrics.get("periods_per_year", 252.0)) or 252.0
    trial_sharpes = result.table["sharpe"].to_numpy(dtype=np.float64) / math.sqrt(ppy)
    out = deflated_sharpe_from_returns(equity[1:] / equity[:-1] - 1.0, trial_sharpes)
    pnl = best.trades["pnl"].to_numpy(dtype=np.float64) if len(best.trades) else np.array([])
    base = result.config.base
    mc = monte_carlo_trades(pnl, base.cash, n_sims=n_sims, seed=base.seed)
    return out | mc.summary()


def write_sweep_report(result: SweepResult, path: Path) -> Path:
    """Write the report; works offline (no external scripts or styles)."""
    maps = heatmap_frames(result)
    parts = [f"<h1>Sweep: {html.escape(result.config.base.strategy)}</h1>",
             f"<p>{len(result.table)} parameter sets, objective <b>{html.escape(result.objective)}"
             f"</b> ({'max' if result.config.maximize else 'min'}imised), "
             f"{result.seconds:.2f} s on {html.escape(result.executor)}.</p>",
             "<h2>Parameter heatmaps</h2>"]
    if not maps:
        parts.append("<p>Fewer than two numeric swept parameters: no heatmap.</p>")
    for i, (x, y, pivot) in enumerate(maps):
        parts.append(_heatmap_html(x, y, pivot, result.objective, first=i == 0))
    parts += [f"<h2>Top {result.config.top}</h2>", _table_html(result.top())]
    stats = robustness_of_best(result)
    parts += ["<h2>Robustness of the best set</h2>",
              _table_html([{"statistic": k, "value": v} for k, v in stats.items()])
              if stats else "<p>Not available (needs in-memory data and a sharpe metric).</p>"]
    style = ("body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
             "td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}")
    doc = (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>tickforge sweep</title>"
           f"<style>{style}</style></head><body>{''.join(parts)}</body></html>")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(doc, encoding="utf-8")
    return path
