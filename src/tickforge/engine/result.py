"""The result of a backtest: DataFrames at the edge, produced by the engine core.

Column contracts (all timestamps are tz-aware UTC pandas datetimes):

``equity``: ts, equity, cash, position_value, drawdown (fraction, <= 0), exposure (gross
    position value / equity); one row per bar, or per sampling step in tick mode.
``trades``: symbol, direction (+1 long / -1 short), size (units, > 0), entry_time,
    entry_price, exit_time, exit_price, pnl (net of fees, account currency), return_pct
    (pnl / entry notional), fees, mae, mfe (worst and best unrealised P&L in account
    currency while open; mae <= 0 <= mfe), duration (Timedelta), exit_reason.
``orders``: order_id, symbol, created, kind (market/limit/stop/stop_limit/trailing_stop),
    side (+1/-1), size, limit_price, stop_price, tif, status (filled/partially_filled/
    cancelled/expired/rejected), filled_size, avg_fill_price, fees, updated, parent_id.
``prices``: ts, symbol, price (close or mid, for the report's price chart).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from tickforge.config import BacktestConfig


@dataclass
class Result:
    config: BacktestConfig
    equity: pd.DataFrame
    trades: pd.DataFrame
    orders: pd.DataFrame
    metrics: dict[str, float]
    prices: pd.DataFrame = field(default_factory=pd.DataFrame)
    meta: dict[str, Any] = field(default_factory=dict)  # events processed, seconds, ...

    @property
    def final_equity(self) -> float:
        return float(self.equity["equity"].iloc[-1]) if len(self.equity) else self.config.cash

    def summary(self) -> dict[str, Any]:
        """What ``tickforge backtest --json`` prints."""
        return {
            "strategy": self.config.strategy,
            "symbols": list(self.config.symbols),
            "params": self.config.params,
            "metrics": self.metrics,
            "trades": len(self.trades),
            "final_equity": self.final_equity,
            **{k: v for k, v in self.meta.items() if isinstance(v, int | float | str)},
        }

    def report(self, path: str | Path) -> Path:
        """Write the self-contained offline HTML report."""
        from tickforge.engine.report import write_report

        return write_report(self, Path(path))

    def save(self, folder: str | Path) -> Path:
        """Persist as Parquet + JSON (config, metrics) so it can be reloaded or served."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        for name in ("equity", "trades", "orders", "prices"):
            frame: pd.DataFrame = getattr(self, name)
            frame.to_parquet(folder / f"{name}.parquet")
        meta = {
            "config": self.config.model_dump(mode="json"),
            "metrics": self.metrics,
            "meta": self.meta,
        }
        (folder / "result.json").write_text(json.dumps(meta, default=str, indent=1))
        return folder

    @classmethod
    def load(cls, folder: str | Path) -> Result:
        from tickforge.errors import TickforgeError

        folder = Path(folder)
        if not (folder / "result.json").exists():
            raise TickforgeError("not a saved backtest result (no result.json)", file=str(folder))
        meta = json.loads((folder / "result.json").read_text())
        frames = {
            n: pd.read_parquet(folder / f"{n}.parquet")
            for n in ("equity", "trades", "orders", "prices")
        }
        return cls(
            config=BacktestConfig.model_validate(meta["config"]),
            metrics=meta["metrics"],
            meta=meta.get("meta", {}),
            **frames,
        )
