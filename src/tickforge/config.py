"""One job description: frozen, validated configs shared by CLI, Python API, service,
worker and Dask tasks. A config round-trips through JSON (``model_dump_json`` /
``model_validate_json``) so it can be queued, stored and shipped to workers as is.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Scalar = int | float | str | bool


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class CommissionConfig(Frozen):
    """Costs per fill. All parts add up. ``bps`` of notional, ``per_million`` of notional
    in account currency (FX convention), ``per_unit`` per unit traded, ``per_order`` flat;
    ``maker_bps`` replaces ``bps`` for fills of resting limit orders when set."""

    per_order: float = 0.0
    per_unit: float = 0.0
    bps: float = 0.0
    per_million: float = 0.0
    maker_bps: float | None = None


class SlippageConfig(Frozen):
    """``fixed``: price units; ``spread``: fraction of the current spread;
    ``volatility``: multiple of recent absolute returns (scaled to price)."""

    model: Literal["none", "fixed", "spread", "volatility"] = "none"
    value: float = 0.0


class InstrumentConfig(Frozen):
    symbol: str
    kind: Literal["fx", "crypto", "equity", "future", "other"] = "other"
    pip_size: float | None = None
    lot_size: float = 1.0  # smallest tradable increment of quantity (1 = whole units)
    quote_currency: str | None = None
    contract_multiplier: float = 1.0
    swap_long: float = 0.0  # financing, annual rate on notional (e.g. -0.01)
    swap_short: float = 0.0


class BacktestConfig(Frozen):
    """A backtest, fully described."""

    lake: str | None = None
    symbols: tuple[str, ...] = ()
    timeframe: str = "ticks"  # "ticks" or a bar timeframe like "1min", "1h", "1d"
    start: datetime | None = None
    end: datetime | None = None
    strategy: str = "sma_cross"
    params: dict[str, Scalar] = Field(default_factory=dict)
    cash: float = Field(100_000.0, gt=0)
    account_currency: str = "USD"
    leverage: float = Field(1.0, gt=0)
    margin_call_level: float = Field(0.5, ge=0)  # liquidate when equity < level * used margin
    commission: CommissionConfig = CommissionConfig()
    slippage: SlippageConfig = SlippageConfig()
    instruments: tuple[InstrumentConfig, ...] = ()
    fill_on: Literal["next_open", "close"] = "next_open"  # bar mode market-order fills
    intrabar: Literal["stop_first", "limit_first"] = "stop_first"
    latency_ms: float = Field(0.0, ge=0)
    volume_cap: float | None = Field(None, gt=0, le=1)  # max fraction of bar volume per fill
    periods_per_year: float | None = None  # None: inferred from the data's calendar
    seed: int = 0
    options: dict[str, Any] = Field(default_factory=dict)

    @field_validator("symbols", mode="before")
    @classmethod
    def _symbols_tuple(cls, v: Any) -> Any:
        return (v,) if isinstance(v, str) else v

    @model_validator(mode="after")
    def _check_range(self) -> BacktestConfig:
        if self.start and self.end and self.end <= self.start:
            raise ValueError(f"end ({self.end}) must be after start ({self.start})")
        return self


class SweepConfig(Frozen):
    """A parameter sweep: a base backtest and a search space over its params."""

    base: BacktestConfig
    grid: dict[str, tuple[Scalar, ...]] = Field(default_factory=dict)
    space: dict[str, tuple[float, float]] = Field(default_factory=dict)  # random/optuna ranges
    constraints: tuple[str, ...] = ()  # e.g. "fast<slow"
    objective: str = "sharpe"
    maximize: bool = True
    method: Literal["grid", "random", "optuna"] = "grid"
    n_trials: int | None = None
    top: int = 10
    scheduler: str | None = None  # tcp://host:8786 for a Dask cluster


class WalkForwardConfig(Frozen):
    sweep: SweepConfig
    train: str = "6M"
    test: str = "1M"
    anchored: bool = False
