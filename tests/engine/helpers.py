"""Small helpers for engine tests: tiny hand-made data and scripted strategies."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd

from tickforge.engine.strategy import Bar, Fill, Quote, Strategy

T0 = pd.Timestamp("2024-01-01 00:00", tz="UTC")


def bars(rows: list[tuple[float, float, float, float]], freq: str = "1h",
         volume: list[float] | None = None, start: pd.Timestamp = T0) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["open", "high", "low", "close"])
    frame.insert(0, "ts", pd.date_range(start, periods=len(rows), freq=freq))
    if volume is not None:
        frame["volume"] = volume
    return frame


def quotes(rows: list[tuple[float, float]], freq: str = "1s") -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["bid", "ask"])
    frame.insert(0, "ts", pd.date_range(T0, periods=len(rows), freq=freq))
    return frame


class Script(Strategy):
    """Runs ``actions[i](self)`` on event i; records fills and order ids."""

    def __init__(self, actions: dict[int, Callable[[Script], Any]]) -> None:
        super().__init__()
        self.actions = actions
        self.fills: list[Fill] = []
        self.ids: list[int] = []

    def on_bar(self, bar: Bar) -> None:
        self._act(bar.i)

    def on_quote(self, quote: Quote) -> None:
        self._act(quote.i)

    def _act(self, i: int) -> None:
        if i in self.actions:
            out = self.actions[i](self)
            if isinstance(out, int):
                self.ids.append(out)

    def on_fill(self, fill: Fill) -> None:
        self.fills.append(fill)
