"""Paper trading's fill rules (``service/paper/rules.py``) against the backtest engine: the
same real quotes and the same orders through ``tickforge.backtest`` with a Strategy must
fill at the same quote and the same price. No server needed."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import pandas as pd
import pytest

from tickforge.service.paper.rules import Terms, simulate


@pytest.fixture(scope="module")
def quotes(service_lake: str) -> pd.DataFrame:
    from tickforge.data.lake import Lake

    frame = Lake(service_lake).quotes("EURUSD").to_pandas()[["ts", "bid", "ask"]]
    return frame.iloc[:4000].reset_index(drop=True)


def plan_for(bid: np.ndarray, ask: np.ndarray) -> dict[int, Terms]:
    """Orders arriving at chosen quotes: each kind and side, resting and marketable."""
    lo, hi = float(ask[500:1500].min()), float(ask[500:1500].max())
    blo, bhi = float(bid[2000:3000].min()), float(bid[2000:3000].max())
    return {
        100: Terms("buy", "market"),
        200: Terms("sell", "market"),
        500: Terms("buy", "limit", limit_price=round((lo + ask[500]) / 2, 5)),  # rests
        700: Terms("buy", "limit", limit_price=float(ask[700]) + 1e-4),  # marketable
        900: Terms("buy", "stop", stop_price=round((hi + ask[900]) / 2, 5)),  # rests
        1100: Terms("buy", "stop", stop_price=float(ask[1100]) - 1e-4),  # hit on arrival
        2000: Terms("sell", "limit", limit_price=round((bhi + bid[2000]) / 2, 5)),
        2200: Terms("sell", "limit", limit_price=float(bid[2200]) - 1e-4),
        2400: Terms("sell", "stop", stop_price=round((blo + bid[2400]) / 2, 5)),
        2600: Terms("sell", "stop", stop_price=float(bid[2600]) + 1e-4),
    }


def engine_fills(quotes: pd.DataFrame, plan: dict[int, Terms]) -> dict[int, tuple[int, float]]:
    """Arrival index -> (fill index, price) from the engine. An order placed in
    ``on_quote`` of quote i acts from quote i + 1, so it is placed one quote early."""
    import tickforge as tf
    from tickforge.engine.strategy import Strategy

    ts = quotes["ts"].astype("int64").to_numpy() if quotes["ts"].dtype.kind == "i" else \
        pd.DatetimeIndex(quotes["ts"]).as_unit("ns").asi8

    class Placer(Strategy):
        orders: ClassVar[dict[int, int]] = {}
        fills: ClassVar[dict[int, tuple[int, float]]] = {}

        def on_quote(self, quote) -> None:  # type: ignore[no-untyped-def]
            terms = plan.get(quote.i + 1)
            if terms is None:
                return
            size = 1000.0 if terms.buy else -1000.0
            if terms.type == "market":
                oid = self.market(size)
            elif terms.type == "limit":
                oid = self.limit(size, float(terms.limit_price or 0))
            else:
                oid = self.stop(size, float(terms.stop_price or 0))
            self.orders[oid] = quote.i + 1

        def on_fill(self, fill) -> None:  # type: ignore[no-untyped-def]
            at = int(np.searchsorted(ts, fill.ts))
            self.fills[self.orders[fill.order_id]] = (at, fill.price)

    tf.backtest(quotes, Placer, cash=1e9, leverage=100, symbols=["EURUSD"])
    return dict(Placer.fills)


def test_paper_rules_fill_like_the_engine(quotes: pd.DataFrame) -> None:
    bid, ask = quotes["bid"].to_numpy(float), quotes["ask"].to_numpy(float)
    plan = plan_for(bid, ask)
    ours = {i: simulate(terms, bid, ask, i) for i, terms in plan.items()}
    assert all(idx is not None for idx, _ in ours.values()), ours  # every case fills
    assert ours[1100][0] == 1101 and ours[2600][0] == 2601  # stops hit on arrival
    assert ours[500][1] == plan[500].limit_price  # a resting limit fills at its limit
    assert ours[700] == (700, ask[700])  # a marketable limit at the touch
    theirs = engine_fills(quotes, plan)
    assert set(theirs) == set(plan)
    for arrival in plan:
        assert theirs[arrival][0] == ours[arrival][0], (arrival, plan[arrival])
        assert theirs[arrival][1] == pytest.approx(ours[arrival][1], abs=1e-12), arrival
