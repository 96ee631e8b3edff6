"""The backtest engine's fill rules on quotes, as pure functions (no database, no feed).

The engine (``tickforge.engine.nb``: ``match_market``, ``match_limit``, ``match_stop``)
applies them inside its numba kernels on a mutable order book and exposes no pure
function, so paper trading uses this copy; ``tests/service/test_rules.py`` replays the
same quotes and orders through ``tickforge.backtest`` and asserts identical fill prices
and quotes, so the two cannot drift apart silently.

On quotes (no slippage, no volume cap):

* a buy fills at the ask, a sell at the bid;
* on its *arrival* quote (the first quote the order can see) a market order fills at the
  touch, and a limit order fills at the touch when it is marketable (buy: ask <= limit;
  sell: bid >= limit);
* later, a *resting* limit fills at its limit price on the first quote that crosses it;
* a stop triggers on the first quote, the arrival quote included, that crosses it (buy:
  ask >= stop; sell: bid <= stop) and then fills at the touch of the NEXT quote.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Terms:
    """What decides a fill: side ("buy"/"sell"), type ("market"/"limit"/"stop"), prices."""

    side: str
    type: str
    limit_price: float | None = None
    stop_price: float | None = None

    @property
    def buy(self) -> bool:
        return self.side == "buy"


def touch(buy: bool, bid: float, ask: float) -> float:
    """The price a taker pays: the ask for a buy, the bid for a sell."""
    return ask if buy else bid


def limit_crossed(buy: bool, limit: float, bid: float, ask: float) -> bool:
    return ask <= limit if buy else bid >= limit


def stop_hit(buy: bool, stop: float, bid: float, ask: float) -> bool:
    return ask >= stop if buy else bid <= stop


def arrival_fill(terms: Terms, bid: float, ask: float) -> float | None:
    """Fill price on the arrival quote, or None when the order rests."""
    if terms.type == "market":
        return touch(terms.buy, bid, ask)
    marketable = (terms.type == "limit" and terms.limit_price is not None
                  and limit_crossed(terms.buy, terms.limit_price, bid, ask))
    return touch(terms.buy, bid, ask) if marketable else None


def arrival_trigger(terms: Terms, bid: float, ask: float) -> bool:
    """Does a stop trigger on its arrival quote (it then fills at the next quote)?"""
    return (terms.type == "stop" and terms.stop_price is not None
            and stop_hit(terms.buy, terms.stop_price, bid, ask))


@dataclass(frozen=True)
class Resting:
    """Outcome of a resting order over a run of quotes: the index and price of its fill
    (None: still open) and the index of the quote that triggered a stop (None: not in
    this run, or triggered before it)."""

    fill: int | None
    price: float | None
    trigger: int | None


def first_index(hit: np.ndarray, start: int = 0) -> int | None:
    found = np.flatnonzero(hit[start:])
    return int(found[0]) + start if found.size else None


def resting_fill(terms: Terms, triggered: bool, bid: np.ndarray, ask: np.ndarray) -> Resting:
    """Apply the rules to a resting order over the quotes after it was last checked."""
    if terms.type == "limit" and terms.limit_price is not None:
        hit = (ask <= terms.limit_price) if terms.buy else (bid >= terms.limit_price)
        idx = first_index(hit)
        return Resting(idx, terms.limit_price if idx is not None else None, None)
    if terms.type != "stop" or terms.stop_price is None:
        raise ValueError(f"a {terms.type} order never rests")
    trigger = None
    if not triggered:
        hit = (ask >= terms.stop_price) if terms.buy else (bid <= terms.stop_price)
        trigger = first_index(hit)
        if trigger is None:
            return Resting(None, None, None)
    start = 0 if trigger is None else trigger + 1
    if start >= len(bid):
        return Resting(None, None, trigger)
    return Resting(start, float(touch(terms.buy, bid[start], ask[start])), trigger)


def simulate(terms: Terms, bid: np.ndarray, ask: np.ndarray, arrival: int
             ) -> tuple[int | None, float | None]:
    """(index, price) of the fill of an order arriving at quote ``arrival`` of these
    quotes, by the same functions paper trading uses."""
    price = arrival_fill(terms, float(bid[arrival]), float(ask[arrival]))
    if price is not None:
        return arrival, price
    if terms.type == "market":
        return None, None
    triggered = arrival_trigger(terms, float(bid[arrival]), float(ask[arrival]))
    rest = resting_fill(terms, triggered, bid[arrival + 1:], ask[arrival + 1:])
    if rest.fill is None:
        return None, None
    return arrival + 1 + rest.fill, rest.price
