"""The double-entry ledger of a paper account.

Every transaction's entries sum to zero (debits positive). Ledgers: ``cash``,
``capital`` (deposits, credit), ``fees`` (expense, debit), ``realized_pnl`` (income,
credit) and ``position:<SYMBOL>`` (cost basis of the open quantity). Hence
``cash + sum(cost bases) = initial cash + realised P&L - fees`` and, marking positions,
``equity = cash + sum(qty * mark) = initial + realised - fees + unrealised``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.orm import Session

from tickforge.service.db.ids import next_id
from tickforge.service.db.models import Account, Fill, LedgerEntry, Order, Position


def post(session: Session, account_id: int, entries: dict[str, float]) -> str:
    """One balanced transaction."""
    total = sum(entries.values())
    if abs(total) > 1e-6 * max(1.0, max(abs(v) for v in entries.values())):
        raise AssertionError(f"unbalanced ledger transaction {entries}")
    txn = uuid.uuid4().hex
    now = datetime.now(UTC)
    session.add_all([LedgerEntry(account_id=account_id, txn=txn, ledger=name, amount=amount,
                                 created_at=now)
                     for name, amount in entries.items() if amount != 0.0])
    return txn  # the rows of every transaction of a batch go out in one INSERT at flush


def deposit(session: Session, account: Account, amount: float) -> None:
    post(session, account.id, {"cash": amount, "capital": -amount})


@dataclass(frozen=True)
class PositionChange:
    quantity: float
    avg_price: float
    realized: float


def position_after(qty: float, avg: float, signed: float, price: float) -> PositionChange:
    """Average-cost position arithmetic for a fill of ``signed`` units at ``price``."""
    if qty == 0 or (qty > 0) == (signed > 0):
        new = qty + signed
        return PositionChange(new, (abs(qty) * avg + abs(signed) * price) / abs(new), 0.0)
    closed = min(abs(signed), abs(qty))
    realized = closed * (price - avg) * (1.0 if qty > 0 else -1.0)
    new = qty + signed
    if abs(new) < 1e-12:
        return PositionChange(0.0, 0.0, realized)
    if (new > 0) == (qty > 0):
        return PositionChange(new, avg, realized)
    return PositionChange(new, price, realized)  # flipped: the remainder opens at price


def apply_fill(session: Session, account: Account, position: Position, order: Order,
               price: float, fee: float, feed_ts: datetime) -> Fill:
    """Book a full fill of ``order``: position, cash, fees, realised P&L, ledger, fill row."""
    signed = order.quantity if order.side == "buy" else -order.quantity
    change = position_after(position.quantity, position.avg_price, signed, price)
    cost_before = position.quantity * position.avg_price
    cost_after = change.quantity * change.avg_price
    post(session, account.id, {
        "cash": -signed * price - fee,
        f"position:{order.symbol}": cost_after - cost_before,
        "fees": fee,
        "realized_pnl": -change.realized,
    })
    position.quantity, position.avg_price = change.quantity, change.avg_price
    position.realized_pnl += change.realized
    account.cash += -signed * price - fee
    account.fees += fee
    account.realized_pnl += change.realized
    order.status, order.filled_quantity, order.avg_fill_price = "filled", order.quantity, price
    fill = Fill(id=next_id(session, "fills"), order_id=order.id, account_id=account.id,
                symbol=order.symbol, side=order.side,
                quantity=order.quantity, price=price, fee=fee, realized_pnl=change.realized,
                feed_ts=feed_ts)
    session.add(fill)
    return fill
