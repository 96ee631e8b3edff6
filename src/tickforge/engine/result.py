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
from pathlib import Path
from typing import Any, Protocol

import pandas as pd

from tickforge.config import BacktestConfig

FRAMES = ("equity", "trades", "orders", "prices")


class FrameSource(Protocol):
    """Builds a finished run's frames (e.g. the book: ``run.BookFrames``)."""

    def frame(self, name: str, result: Result) -> pd.DataFrame: ...


class Result:
    """A backtest's outcome. The frames (``equity``, ``trades``, ``orders``, ``prices``) are
    given, or built from ``source`` on first access and kept: a caller that reads only
    ``metrics`` never pays for frames (20 M equity rows in bar mode take longer to build than
    the run itself). Once every frame is built the source is let go."""

    def __init__(self, config: BacktestConfig, metrics: dict[str, float], *,
                 equity: pd.DataFrame | None = None, trades: pd.DataFrame | None = None,
                 orders: pd.DataFrame | None = None, prices: pd.DataFrame | None = None,
                 meta: dict[str, Any] | None = None, source: FrameSource | None = None) -> None:
        self.config = config
        self.metrics = metrics
        self.meta: dict[str, Any] = meta if meta is not None else {}  # events, seconds, ...
        given = {"equity": equity, "trades": trades, "orders": orders, "prices": prices}
        self._frames = {k: v for k, v in given.items() if v is not None}
        self._source = source

    def _frame(self, name: str) -> pd.DataFrame:
        if name not in self._frames:
            src = self._source
            self._frames[name] = src.frame(name, self) if src is not None else pd.DataFrame()
            if len(self._frames) == len(FRAMES):
                self._source = None
        return self._frames[name]

    @property
    def equity(self) -> pd.DataFrame:
        return self._frame("equity")

    @property
    def trades(self) -> pd.DataFrame:
        return self._frame("trades")

    @property
    def orders(self) -> pd.DataFrame:
        return self._frame("orders")

    @property
    def prices(self) -> pd.DataFrame:
        return self._frame("prices")

    def __getstate__(self) -> dict[str, Any]:
        """Pickled (to a worker, a cache) with every frame built and no source."""
        for name in FRAMES:
            self._frame(name)
        return self.__dict__.copy()

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
        for name in FRAMES:
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
        equity, trades, orders, prices = (pd.read_parquet(folder / f"{n}.parquet")
                                          for n in FRAMES)
        return cls(config=BacktestConfig.model_validate(meta["config"]), metrics=meta["metrics"],
                   equity=equity, trades=trades, orders=orders, prices=prices,
                   meta=meta.get("meta", {}))
