"""Built-in strategies: parameter schemas and streaming signal generators.

``list_strategies()`` names them; ``get_strategy(name)`` returns a :class:`BuiltinStrategy`
whose ``schema()`` (JSON) lists each parameter's name, type, range, default and meaning, and
whose ``validate(params)`` fills defaults and raises :class:`ConfigError` naming the field.
A strategy turns prices into signals (+1 long, -1 short, 0 flat, NaN hold); the engine turns
signals into target positions with the run's sizing (``size_mode`` / ``size``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tickforge.errors import ConfigError
from tickforge.strategies import nb

Scalar = int | float | str | bool


@dataclass(frozen=True)
class Param:
    name: str
    type: str  # "int", "float" or "bool"
    default: Scalar
    low: float | None = None
    high: float | None = None
    description: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "type": self.type, "default": self.default, "min": self.low,
                "max": self.high, "description": self.description}

    def coerce(self, value: Any) -> Scalar:
        """Check type and range; return the value in the parameter's type."""
        hint = self.range_hint()
        if self.type == "bool":
            if isinstance(value, bool):
                return value
            if str(value).lower() in ("true", "false", "1", "0"):
                return str(value).lower() in ("true", "1")
            raise ConfigError(f"'{value}' is not true/false", field=f"params.{self.name}",
                              hint=hint)
        try:
            number = float(value)
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"'{value}' is not a number", field=f"params.{self.name}",
                              hint=hint) from exc
        if self.type == "int":
            if not number.is_integer():
                raise ConfigError(f"{value} is not a whole number", field=f"params.{self.name}",
                                  hint=hint)
            number = int(number)
        if (self.low is not None and number < self.low) or (
                self.high is not None and number > self.high):
            raise ConfigError(f"{value} is out of range", field=f"params.{self.name}", hint=hint)
        return number

    def range_hint(self) -> str:
        return f"{self.name} is {self.type} in [{self.low}, {self.high}], default {self.default}"


State = dict[str, np.ndarray]
SignalFn = Callable[[np.ndarray, dict[str, Any], State], np.ndarray]
StateFn = Callable[[dict[str, Any]], State]
# Signals and execution in one compiled pass: (book arrays, event tuple, half spread weight of
# the price, params, state, size, target mode, i0, i1) -> first event not processed.
FusedFn = Callable[..., int]


@dataclass(frozen=True)
class BuiltinStrategy:
    name: str
    description: str
    params: tuple[Param, ...]
    new_state: StateFn
    signal_fn: SignalFn
    warmup_fn: Callable[[dict[str, Any]], int] = field(default=lambda p: 1)
    checks: tuple[tuple[str, str, str], ...] = ()  # (a, b, message): require p[a] < p[b]
    fused_fn: FusedFn | None = None  # one symbol, targets = signal x size

    def schema(self) -> dict[str, Any]:
        return {"name": self.name, "description": self.description,
                "params": [p.as_dict() for p in self.params]}

    def validate(self, params: dict[str, Any] | None) -> dict[str, Any]:
        params = dict(params or {})
        known = {p.name: p for p in self.params}
        unknown = sorted(set(params) - set(known))
        if unknown:
            raise ConfigError(f"unknown parameter '{unknown[0]}' for {self.name}",
                              field=f"params.{unknown[0]}",
                              hint=f"valid: {', '.join(known) or '(none)'}")
        out = {name: p.coerce(params[name]) if name in params else p.default
               for name, p in known.items()}
        for a, b, message in self.checks:
            if not out[a] < out[b]:  # type: ignore[operator]
                raise ConfigError(message, field=f"params.{a}",
                                  hint=f"got {a}={out[a]}, {b}={out[b]}")
        return out

    resolve_params = validate

    def warmup(self, params: dict[str, Any]) -> int:
        return self.warmup_fn(params)

    def signals(self, prices: np.ndarray, params: dict[str, Any], state: State) -> np.ndarray:
        """Signals for one symbol's next prices; ``state`` carries over between calls."""
        return self.signal_fn(np.ascontiguousarray(prices, dtype=np.float64), params, state)


def _st(size: int = 12) -> np.ndarray:
    st = np.zeros(size)
    st[nb.LAST] = np.nan
    return st


def _short() -> Param:
    return Param("allow_short", "bool", True, description="short on sell signals (else flat)")


def _sma_state(p: dict[str, Any]) -> State:
    st = _st(24)
    st[8] = st[15] = st[17] = st[18] = np.nan
    return {"st": st, "rf": np.zeros(p["fast"]), "rs": np.zeros(p["slow"])}


def _ring_state(key: str) -> StateFn:
    return lambda p: {"st": _st(), "ring": np.zeros(int(p[key]))}


REGISTRY: dict[str, BuiltinStrategy] = {}


def register(strategy: BuiltinStrategy) -> BuiltinStrategy:
    REGISTRY[strategy.name] = strategy
    return strategy


register(BuiltinStrategy(
    "sma_cross", "Fast simple moving average crossing the slow one: long above, short below.",
    (Param("fast", "int", 10, 1, 100_000, "fast SMA length (events)"),
     Param("slow", "int", 30, 2, 1_000_000, "slow SMA length (events)"), _short()),
    _sma_state,
    lambda x, p, s: nb.sma_cross(x, p["fast"], p["slow"], p["allow_short"], s["st"], s["rf"],
                                 s["rs"]),
    lambda p: int(p["slow"]), (("fast", "slow", "fast must be shorter than slow"),),
    lambda book, ev, half, p, s, size, tmode, i0, i1: nb.run_sma_cross(
        book, ev, half, p["allow_short"], size, tmode, s["st"], s["rf"], s["rs"], i0, i1)))

register(BuiltinStrategy(
    "ema_cross", "Fast exponential moving average crossing the slow one.",
    (Param("fast", "int", 12, 1, 100_000, "fast EMA span"),
     Param("slow", "int", 26, 2, 1_000_000, "slow EMA span"), _short()),
    lambda p: {"st": _st()},
    lambda x, p, s: nb.ema_cross(x, p["fast"], p["slow"], p["allow_short"], s["st"]),
    lambda p: int(p["slow"]), (("fast", "slow", "fast must be shorter than slow"),)))

register(BuiltinStrategy(
    "donchian_breakout", "Trend following: break above the n-event high -> long, below the low "
    "-> short.",
    (Param("n", "int", 20, 2, 100_000, "channel length (events)"), _short()),
    _ring_state("n"),
    lambda x, p, s: nb.donchian(x, p["allow_short"], s["st"], s["ring"]),
    lambda p: int(p["n"]) + 1))

register(BuiltinStrategy(
    "bollinger_reversion", "Mean reversion: below the lower band -> long, above the upper -> "
    "short; flat at the mean.",
    (Param("n", "int", 20, 2, 100_000, "window (events)"),
     Param("k", "float", 2.0, 0.1, 10.0, "band width in standard deviations"), _short()),
    _ring_state("n"),
    lambda x, p, s: nb.bollinger(x, float(p["k"]), p["allow_short"], s["st"], s["ring"]),
    lambda p: int(p["n"])))

register(BuiltinStrategy(
    "rsi_reversion", "Mean reversion on Wilder's RSI: oversold -> long, overbought -> short; "
    "flat at 50.",
    (Param("n", "int", 14, 2, 10_000, "RSI period"),
     Param("low", "float", 30.0, 1.0, 49.0, "oversold level"),
     Param("high", "float", 70.0, 51.0, 99.0, "overbought level"), _short()),
    lambda p: {"st": _st()},
    lambda x, p, s: nb.rsi_reversion(x, p["n"], float(p["low"]), float(p["high"]),
                                     p["allow_short"], s["st"]),
    lambda p: int(p["n"]) + 1))

register(BuiltinStrategy(
    "momentum", "Time-series momentum: n-event return above the threshold -> long, below minus "
    "the threshold -> short.",
    (Param("n", "int", 50, 1, 1_000_000, "look-back (events)"),
     Param("threshold", "float", 0.0, 0.0, 1.0, "minimum absolute return to act"), _short()),
    _ring_state("n"),
    lambda x, p, s: nb.momentum(x, float(p["threshold"]), p["allow_short"], s["st"], s["ring"]),
    lambda p: int(p["n"]) + 1))

register(BuiltinStrategy(
    "buy_and_hold", "Go long on the first event and hold.", (),
    lambda p: {"st": _st()},
    lambda x, p, s: nb.buy_and_hold(x, s["st"]),
    lambda p: 1))


def list_strategies() -> list[str]:
    return sorted(REGISTRY)


def get_strategy(name: str) -> BuiltinStrategy:
    try:
        return REGISTRY[name]
    except KeyError:
        raise ConfigError(f"unknown strategy '{name}'", field="strategy",
                          hint=f"choose one of: {', '.join(list_strategies())}") from None
