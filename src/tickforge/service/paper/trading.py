"""Paper trading: order placement with pre-trade risk checks, matching of resting orders
against the feed with the engine's fill rules, cancellation and the portfolio view.

Fill rules are the engine's, from :mod:`tickforge.service.paper.rules` (pure functions
checked against ``tickforge.backtest`` by tests): a buy fills at the ask, a sell at the
bid; a limit order fills when the opposite side crosses its price (at the quote when it
is marketable on arrival, at the limit price when resting); a stop triggers when a quote,
its arrival quote included, crosses its price and then fills at the NEXT quote.
Every write to an account runs in one transaction that holds the account's lock
(``FOR UPDATE`` on PostgreSQL, ``BEGIN IMMEDIATE`` on SQLite).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from tickforge.service.db.ids import next_id, reserve_ids
from tickforge.service.db.models import Account, AccountEvent, Order, Position
from tickforge.service.paper import rules
from tickforge.service.paper.feed import Feed, Quote, to_datetime
from tickforge.service.paper.ledger import apply_fill, position_after
from tickforge.service.problems import Problem

OPEN = ("open", "triggered")


@dataclass(frozen=True)
class OrderSpec:
    client_order_id: str
    symbol: str
    side: str
    quantity: float
    type: str
    limit_price: float | None
    stop_price: float | None

    def same_as(self, order: Order) -> bool:
        return (order.symbol, order.side, order.quantity, order.type, order.limit_price,
                order.stop_price) == (self.symbol, self.side, self.quantity, self.type,
                                      self.limit_price, self.stop_price)


class RiskRejected(Problem):
    def __init__(self, reason: str, detail: str, field: str = "quantity", status: int = 422):
        super().__init__(status, detail, field=field, reason=reason)


def order_dict(order: Order) -> dict[str, Any]:
    return {"id": order.id, "account_id": order.account_id,
            "client_order_id": order.client_order_id, "symbol": order.symbol,
            "side": order.side, "quantity": order.quantity, "type": order.type,
            "limit_price": order.limit_price, "stop_price": order.stop_price,
            "status": order.status, "reason": order.reason,
            "filled_quantity": order.filled_quantity, "avg_fill_price": order.avg_fill_price,
            "created_at": order.created_at, "updated_at": order.updated_at}


def event(session: Session, account_id: int, kind: str, data: dict[str, Any]) -> None:
    session.add(AccountEvent(account_id=account_id, type=kind, data=_json(data),
                             created_at=datetime.now(UTC)))


def _json(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in data.items()}


def lock_account(session: Session, user_id: int, account_id: int) -> Account:
    account = session.scalar(select(Account).where(Account.id == account_id,
                                                   Account.user_id == user_id).with_for_update())
    if account is None:
        raise Problem(404, f"account {account_id} not found")
    return account


def positions_of(session: Session, account_id: int) -> dict[str, Position]:
    rows = session.scalars(select(Position).where(Position.account_id == account_id)).all()
    return {p.symbol: p for p in rows}


def locked_positions(session: Session, account_id: int) -> dict[str, Position]:
    """``positions_of`` read once per write transaction (the caller holds the account's
    lock, so nobody else changes them; ``position_for`` adds new ones to the same dict)."""
    key = ("positions", account_id)
    if key not in session.info:
        session.info[key] = positions_of(session, account_id)
    positions: dict[str, Position] = session.info[key]
    return positions


def position_for(session: Session, positions: dict[str, Position], account_id: int,
                 symbol: str) -> Position:
    if symbol not in positions:
        pos = Position(account_id=account_id, symbol=symbol, quantity=0.0, avg_price=0.0,
                       realized_pnl=0.0)
        session.add(pos)
        positions[symbol] = pos
    return positions[symbol]


def current_quote(feed: Feed, symbol: str, now_ns: int, stale_seconds: float) -> Quote:
    if symbol not in feed.symbols():
        raise RiskRejected("unknown_symbol", f"unknown symbol '{symbol}': not in the feed",
                           field="symbol")
    quote = feed.quote(symbol, now_ns)
    if quote is None or (now_ns - quote.ts) > stale_seconds * 1e9:
        when = to_datetime(now_ns).isoformat()
        raise RiskRejected("market_closed", f"market closed for {symbol} at {when} "
                           "(no recent quote)", field="symbol", status=409)
    return quote


def reference_price(spec: OrderSpec, quote: Quote) -> float:
    if spec.type == "limit" and spec.limit_price is not None:
        return spec.limit_price
    if spec.type == "stop" and spec.stop_price is not None:
        return max(spec.stop_price, quote.ask) if spec.side == "buy" else min(spec.stop_price,
                                                                              quote.bid)
    return quote.ask if spec.side == "buy" else quote.bid


def marks(feed: Feed, positions: dict[str, Position], now_ns: int) -> dict[str, float]:
    out = {}
    for symbol, pos in positions.items():
        if pos.quantity != 0:
            quote = feed.quote(symbol, now_ns)
            out[symbol] = quote.mid if quote else pos.avg_price
    return out


def check_risk(account: Account, positions: dict[str, Position], spec: OrderSpec,
               price: float, mark: dict[str, float]) -> None:
    """Pre-trade checks of the order as if it filled at ``price``; raises RiskRejected."""
    notional = spec.quantity * price
    if notional > account.max_order_notional:
        raise RiskRejected("max_order_notional", f"order notional {notional:,.2f} exceeds the "
                           f"limit {account.max_order_notional:,.2f}")
    signed = spec.quantity if spec.side == "buy" else -spec.quantity
    held = positions.get(spec.symbol)
    qty, avg = (held.quantity, held.avg_price) if held else (0.0, 0.0)
    after = position_after(qty, avg, signed, price)
    if abs(after.quantity) > account.max_position:
        raise RiskRejected("max_position", f"position after the order {after.quantity:,.2f} "
                           f"exceeds the limit {account.max_position:,.2f}")
    fee = notional * account.commission_bps * 1e-4
    cash_after = account.cash - signed * price - fee
    if account.leverage <= 1.0 and cash_after < -1e-9:
        raise RiskRejected("insufficient_cash", f"insufficient cash: order needs "
                           f"{signed * price + fee:,.2f}, cash is {account.cash:,.2f}")
    _check_margin(account, positions, spec.symbol, after.quantity, price, mark, cash_after)


def _check_margin(account: Account, positions: dict[str, Position], symbol: str,
                  qty_after: float, price: float, mark: dict[str, float],
                  cash_after: float) -> None:
    exposure = {s: (p.quantity, mark.get(s, p.avg_price)) for s, p in positions.items()}
    exposure[symbol] = (qty_after, price)
    gross = sum(abs(q) * m for q, m in exposure.values())
    equity = cash_after + sum(q * m for q, m in exposure.values())
    if gross / account.leverage > equity + 1e-9:
        raise RiskRejected("insufficient_margin", f"insufficient margin: exposure "
                           f"{gross:,.2f} at leverage {account.leverage:g} needs "
                           f"{gross / account.leverage:,.2f}, equity is {equity:,.2f}")


def fee_for(account: Account, quantity: float, price: float) -> float:
    return quantity * price * account.commission_bps * 1e-4


def place_order(session: Session, feed: Feed, account: Account, spec: OrderSpec, now_ns: int,
                stale_seconds: float) -> tuple[Order, bool]:
    """Returns (order, created). A known client_order_id returns the existing order.
    Nothing is flushed here: ids are allocated up front, so a batch's rows go out together
    at commit."""
    existing = known_order(session, account.id, spec.client_order_id)
    if existing is not None:
        if not spec.same_as(existing):
            raise Problem(409, f"client_order_id '{spec.client_order_id}' was already used for "
                               "a different order", field="client_order_id")
        return existing, False
    quote = current_quote(feed, spec.symbol, now_ns, stale_seconds)
    positions = locked_positions(session, account.id)
    check_risk(account, positions, spec, reference_price(spec, quote), marks(feed, positions,
                                                                               now_ns))
    order = Order(id=_new_order_id(session), account_id=account.id,
                  client_order_id=spec.client_order_id,
                  symbol=spec.symbol, side=spec.side, quantity=spec.quantity, type=spec.type,
                  limit_price=spec.limit_price, stop_price=spec.stop_price, status="open",
                  filled_quantity=0.0, checked_ts=now_ns, created_at=datetime.now(UTC),
                  updated_at=datetime.now(UTC))
    session.add(order)
    _remember(session, account.id, order)
    event(session, account.id, "order_accepted", order_dict(order))
    terms = rules.Terms(spec.side, spec.type, spec.limit_price, spec.stop_price)
    price = rules.arrival_fill(terms, quote.bid, quote.ask)
    if price is not None:
        _fill(session, account, positions, order, price, quote.ts)
        return order, True
    account.open_orders += 1
    if rules.arrival_trigger(terms, quote.bid, quote.ask):
        _trigger(session, account.id, order, quote.ts)
    return order, True


_KNOWN = "orders_by_client_id"
BATCH_ORDERS = "batch_orders"  # session.info: orders the batch may create (id block size)


def prefetch_orders(session: Session, account_id: int, client_ids: list[str]) -> None:
    """Look up a batch's client_order_ids in one statement (``place_order`` then answers
    retries, in the batch or of stored orders, without a query each)."""
    rows = session.scalars(select(Order).where(Order.account_id == account_id,
                                               Order.client_order_id.in_(client_ids))).all()
    known: dict[str, Order | None] = dict.fromkeys(client_ids)
    known.update({o.client_order_id: o for o in rows})
    session.info[(_KNOWN, account_id)] = known
    session.info[BATCH_ORDERS] = len(client_ids)


def known_order(session: Session, account_id: int, client_id: str) -> Order | None:
    known = session.info.get((_KNOWN, account_id))
    if known is not None and client_id in known:
        found: Order | None = known[client_id]
        return found
    return session.scalar(select(Order).where(Order.account_id == account_id,
                                              Order.client_order_id == client_id))


def _remember(session: Session, account_id: int, order: Order) -> None:
    known = session.info.get((_KNOWN, account_id))
    if known is not None:
        known[order.client_order_id] = order


def _new_order_id(session: Session) -> int:
    """Order and arrival-fill ids of the whole batch come from one statement."""
    return next_id(session, "orders", session.info.get(BATCH_ORDERS, 1), ("fills",))


def _trigger(session: Session, account_id: int, order: Order, ts: int) -> None:
    order.triggered_ts, order.status = ts, "triggered"
    event(session, account_id, "order_triggered", {"order_id": order.id,
                                                   "feed_ts": to_datetime(ts)})


def _fill(session: Session, account: Account, positions: dict[str, Position], order: Order,
          price: float, ts: int) -> None:
    pos = position_for(session, positions, account.id, order.symbol)
    fill = apply_fill(session, account, pos, order, price, fee_for(account, order.quantity, price),
                      to_datetime(ts))
    order.updated_at = datetime.now(UTC)
    event(session, account.id, "order_filled", {"order_id": order.id, "fill_id": fill.id,
                                                "symbol": order.symbol, "side": order.side,
                                                "quantity": order.quantity, "price": price,
                                                "feed_ts": fill.feed_ts})


def _resting_fill(order: Order, arrays: tuple[np.ndarray, np.ndarray, np.ndarray]
                  ) -> tuple[int | None, float | None, int | None]:
    """(fill index, price, trigger ts) of a resting order over the quotes given."""
    ts, bid, ask = arrays
    terms = rules.Terms(order.side, order.type, order.limit_price, order.stop_price)
    rest = rules.resting_fill(terms, order.triggered_ts is not None, bid, ask)
    trigger = int(ts[rest.trigger]) if rest.trigger is not None else order.triggered_ts
    return rest.fill, rest.price, trigger


def match_account(session: Session, feed: Feed, account: Account, now_ns: int) -> int:
    """Fill resting orders whose conditions the quotes up to ``now_ns`` met; returns fills."""
    if account.open_orders <= 0:
        return 0
    orders = session.scalars(select(Order).where(Order.account_id == account.id,
                                                 Order.status.in_(OPEN))
                             .order_by(Order.id)).all()
    planned = []
    for order in orders:
        arrays = feed.between(order.symbol, order.checked_ts, now_ns)
        idx, price, trigger = _resting_fill(order, arrays)
        order.checked_ts = max(order.checked_ts, now_ns)
        if trigger is not None and order.triggered_ts is None:
            _trigger(session, account.id, order, trigger)
        if idx is not None and price is not None:
            planned.append((int(arrays[0][idx]), order, price))
    planned.sort(key=lambda item: (item[0], item[1].id))
    if planned:
        reserve_ids(session, ("fills",), len(planned))
    positions = locked_positions(session, account.id)
    for ts_ns, order, price in planned:
        _fill_resting(session, feed, account, positions, order, price, ts_ns)
    return len(planned)


def _fill_resting(session: Session, feed: Feed, account: Account,
                  positions: dict[str, Position], order: Order, price: float, ts_ns: int) -> None:
    account.open_orders -= 1
    spec = OrderSpec(order.client_order_id, order.symbol, order.side, order.quantity, "market",
                     None, None)
    try:
        check_risk(account, positions, spec, price, marks(feed, positions, ts_ns))
    except RiskRejected as exc:
        order.status, order.reason = "rejected", f"at fill: {exc.detail}"
        order.updated_at = datetime.now(UTC)
        event(session, account.id, "order_rejected", {"order_id": order.id,
                                                      "reason": order.reason})
        return
    _fill(session, account, positions, order, price, ts_ns)


def cancel_order(session: Session, account: Account, order_id: int) -> Order:
    order = session.scalar(select(Order).where(Order.id == order_id,
                                               Order.account_id == account.id))
    if order is None:
        raise Problem(404, f"order {order_id} not found")
    if order.status not in OPEN:
        raise Problem(409, f"order {order_id} is {order.status}; only open orders can be "
                           "cancelled", field="order_id")
    order.status, order.updated_at = "cancelled", datetime.now(UTC)
    account.open_orders -= 1
    event(session, account.id, "order_cancelled", {"order_id": order.id})
    return order


@dataclass(frozen=True, slots=True)
class AccountView:
    """The columns of an account the portfolio view needs (from one raw read)."""

    id: int
    user_id: int
    currency: str
    cash: float
    initial_cash: float
    realized_pnl: float
    fees: float
    open_orders: int


@dataclass(frozen=True, slots=True)
class PositionView:
    symbol: str
    quantity: float
    avg_price: float
    realized_pnl: float


PORTFOLIO_SQL = (
    "SELECT a.user_id, a.currency, a.cash, a.initial_cash, a.realized_pnl, a.fees, "
    "a.open_orders, p.symbol, p.quantity, p.avg_price, p.realized_pnl "
    "FROM accounts a LEFT JOIN positions p ON p.account_id = a.id AND p.quantity <> 0 "
    "WHERE a.id = ?")


def views_from_rows(account_id: int, rows: list[tuple[Any, ...]]
                    ) -> tuple[AccountView, dict[str, PositionView]] | None:
    """(account, positions) from the rows of ``PORTFOLIO_SQL``; None when no account."""
    if not rows:
        return None
    first = rows[0]
    account = AccountView(account_id, int(first[0]), first[1], float(first[2]),
                          float(first[3]), float(first[4]), float(first[5]), int(first[6]))
    positions = {r[7]: PositionView(r[7], float(r[8]), float(r[9]), float(r[10]))
                 for r in rows if r[7] is not None}
    return account, positions


def portfolio(account: Account | AccountView,
              positions: Mapping[str, Position | PositionView], feed: Feed,
              now_ns: int) -> dict[str, Any]:
    """Cash, positions marked to market (mid), equity, realised and unrealised P&L."""
    rows, unrealized, value = [], 0.0, 0.0
    for symbol, pos in sorted(positions.items()):
        if pos.quantity == 0:
            continue
        quote = feed.quote(symbol, now_ns)
        mark = quote.mid if quote else pos.avg_price
        upnl = (mark - pos.avg_price) * pos.quantity
        unrealized += upnl
        value += pos.quantity * mark
        rows.append({"symbol": symbol, "quantity": pos.quantity, "avg_price": pos.avg_price,
                     "mark": mark, "market_value": pos.quantity * mark,
                     "unrealized_pnl": upnl, "realized_pnl": pos.realized_pnl})
    return {"account_id": account.id, "currency": account.currency, "cash": account.cash,
            "positions": rows, "positions_value": value, "equity": account.cash + value,
            "realized_pnl": account.realized_pnl, "unrealized_pnl": unrealized,
            "fees": account.fees, "initial_cash": account.initial_cash,
            "as_of": to_datetime(now_ns).isoformat()}
