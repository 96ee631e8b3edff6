"""Position sizing: signals (+1 / -1 / 0, NaN = hold) -> target positions for the core.

Modes (``options.size_mode``; ``options.size`` is the number each mode uses):

* ``equity`` (default, size 1.0): target = signal x size x equity (x leverage), in units
  computed at fill time from the fill price, costs included (backtesting.py's convention
  with size 0.9999);
* ``units``: target = signal x size units;
* ``vol_target``: size is an annual volatility target; fraction of equity = size / realised
  volatility (EWMA of squared returns up to the signal, annualised with periods_per_year),
  capped at ``options.max_fraction`` (default 1);
* ``risk``: size is the fraction of equity risked per trade, ``options.stop_distance`` the
  stop distance in price units: units = size x equity / stop_distance, i.e. a fraction of
  equity of size x price / stop_distance.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from tickforge.engine import nb
from tickforge.errors import ConfigError

MODES = ("equity", "units", "vol_target", "risk")


def units_for_equity(equity: float, fraction: float, price: float, lot: float = 1.0) -> float:
    """Units worth ``fraction`` of ``equity`` at ``price``, rounded down to the lot."""
    return float(nb.floor_lot(equity * fraction / price, lot)) if price > 0 else 0.0


def units_for_risk(equity: float, risk: float, stop_distance: float, lot: float = 1.0) -> float:
    """Units such that a move of ``stop_distance`` loses ``risk`` x equity."""
    if stop_distance <= 0:
        raise ConfigError("stop distance must be positive", field="options.stop_distance",
                          hint="the price distance from entry to the stop, e.g. 0.0020")
    return float(nb.floor_lot(equity * risk / stop_distance, lot))


def fraction_for_vol_target(returns_vol: float, target_vol: float, cap: float = 1.0) -> float:
    """Fraction of equity so that the position's annual volatility is ``target_vol``."""
    if not returns_vol > 0:
        return 0.0
    return min(target_vol / returns_vol, cap)


def ewm_vol(prices: np.ndarray, ppy: float, span: int = 50) -> np.ndarray:
    """Annualised EWMA volatility of simple returns, using returns up to each event."""
    r = np.zeros_like(prices)
    r[1:] = prices[1:] / prices[:-1] - 1.0
    alpha = 2.0 / (span + 1.0)
    var = np.empty_like(prices)
    acc = 0.0
    for i, x in enumerate(r):  # small helper; sizing arrays are per chunk
        acc = (1 - alpha) * acc + alpha * x * x
        var[i] = acc
    return np.sqrt(var * ppy)


def size_mode(options: dict[str, Any]) -> tuple[str, float]:
    mode = str(options.get("size_mode", "equity"))
    if mode not in MODES:
        raise ConfigError(f"unknown size_mode '{mode}'", field="options.size_mode",
                          hint=f"choose one of: {', '.join(MODES)}")
    size = float(options.get("size", 1.0))
    if not size > 0 or not math.isfinite(size):
        raise ConfigError(f"size must be a positive number, got {size}", field="options.size")
    return mode, size


def targets_from_signals(signals: np.ndarray, prices: np.ndarray, options: dict[str, Any],
                         ppy: float) -> tuple[np.ndarray, int]:
    """(target per event, target mode for the core)."""
    mode, size = size_mode(options)
    if mode == "units":
        return signals * size, nb.TM_UNITS
    if mode == "equity":
        return signals * size, nb.TM_EQUITY
    if mode == "risk":
        stop = float(options.get("stop_distance", 0.0))
        if not stop > 0:
            raise ConfigError("size_mode 'risk' needs a positive stop_distance",
                              field="options.stop_distance", hint="e.g. stop_distance=0.002")
        return signals * size * prices / stop, nb.TM_EQUITY
    vol = ewm_vol(prices, ppy, int(options.get("vol_span", 50)))
    cap = float(options.get("max_fraction", 1.0))
    with np.errstate(divide="ignore", invalid="ignore"):
        frac = np.where(vol > 0, np.minimum(size / vol, cap), 0.0)
    return signals * frac, nb.TM_EQUITY
