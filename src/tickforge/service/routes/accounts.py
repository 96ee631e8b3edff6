"""Paper trading endpoints: accounts, orders (idempotent by client_order_id), positions,
fills, portfolio, an SSE stream of quotes and account events, and the replay clock."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Query, Request, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field, model_validator
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from tickforge.service.db.models import Account, AccountEvent, Fill, Order, Position
from tickforge.service.deps import AdminUser, CurrentUser, State, Writer
from tickforge.service.paper.feed import to_datetime
from tickforge.service.paper.ledger import deposit
from tickforge.service.paper.trading import (
    OrderSpec,
    cancel_order,
    order_dict,
    place_order,
    portfolio,
    positions_of,
)
from tickforge.service.problems import Problem
from tickforge.service.schemas import Id, Page, Paging

router = APIRouter(prefix="/v1", tags=["paper trading"])


class NewAccount(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    cash: float = Field(gt=0, le=1e12)
    currency: str = Field("USD", pattern=r"^[A-Z]{3,5}$")
    leverage: float = Field(1.0, ge=1, le=100)
    commission_bps: float = Field(0.0, ge=0, le=1000)
    max_position: float | None = Field(None, gt=0, le=1e15)
    max_order_notional: float | None = Field(None, gt=0, le=1e15)


class AccountOut(BaseModel):
    id: int
    name: str
    currency: str
    initial_cash: float
    cash: float
    leverage: float
    commission_bps: float
    max_position: float
    max_order_notional: float
    created_at: datetime | None


class NewOrder(BaseModel):
    client_order_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")
    symbol: str = Field(min_length=1, max_length=40)
    side: Literal["buy", "sell"]
    quantity: float = Field(gt=0, le=1e12)
    type: Literal["market", "limit", "stop"] = "market"
    limit_price: float | None = Field(None, gt=0, le=1e12)
    stop_price: float | None = Field(None, gt=0, le=1e12)

    @model_validator(mode="after")
    def _prices(self) -> NewOrder:
        need = {"limit": "limit_price", "stop": "stop_price"}.get(self.type)
        if need and getattr(self, need) is None:
            raise ValueError(f"a {self.type} order needs {need}")
        for name in ("limit_price", "stop_price"):
            if name != need and getattr(self, name) is not None:
                raise ValueError(f"{name} is not allowed on a {self.type} order")
        return self


class OrderOut(BaseModel):
    id: int
    account_id: int
    client_order_id: str
    symbol: str
    side: str
    quantity: float
    type: str
    limit_price: float | None
    stop_price: float | None
    status: str
    reason: str | None
    filled_quantity: float
    avg_fill_price: float | None
    created_at: datetime | None
    updated_at: datetime | None


class FeedClock(BaseModel):
    start: datetime
    speed: float = Field(0.0, ge=0, le=1e6)


def account_out(a: Account) -> AccountOut:
    return AccountOut(id=a.id, name=a.name, currency=a.currency, initial_cash=a.initial_cash,
                      cash=a.cash, leverage=a.leverage, commission_bps=a.commission_bps,
                      max_position=a.max_position, max_order_notional=a.max_order_notional,
                      created_at=a.created_at)


@router.post("/accounts", status_code=201)
def create_account(body: NewAccount, user: Writer, state: State) -> AccountOut:
    s = state.settings
    with state.db.write() as session:
        account = Account(user_id=user.id, name=body.name, currency=body.currency,
                          initial_cash=body.cash, cash=body.cash, leverage=body.leverage,
                          commission_bps=body.commission_bps or s.paper_commission_bps,
                          max_position=body.max_position or s.paper_max_position,
                          max_order_notional=body.max_order_notional or s.paper_max_order_notional,
                          realized_pnl=0.0, fees=0.0, open_orders=0,
                          created_at=datetime.now(UTC))
        session.add(account)
        session.flush()
        deposit(session, account, body.cash)
        return account_out(account)


@router.get("/accounts")
def list_accounts(user: CurrentUser, state: State, page: Paging) -> Page[AccountOut]:
    with state.db.read() as session:
        where = Account.user_id == user.id
        total = session.scalar(select(func.count(Account.id)).where(where)) or 0
        rows = session.scalars(select(Account).where(where).order_by(Account.id)
                               .limit(page.limit).offset(page.offset)).all()
        return Page.of([account_out(a) for a in rows], total, page)


@router.get("/accounts/{account_id}")
def get_account(account_id: Id, user: CurrentUser, state: State) -> AccountOut:
    return state.paper.snapshot(user.id, account_id, lambda _s, a, _n: account_out(a))


@router.post("/accounts/{account_id}/orders", status_code=201,
             responses={200: {"description": "A retry: the order with this client_order_id"},
                        409: {"description": "Market closed or client_order_id reused"},
                        422: {"description": "Rejected by a pre-trade risk check"}})
def submit_order(account_id: Id, body: NewOrder, user: Writer, state: State,
                 response: Response) -> OrderOut:
    spec = OrderSpec(**body.model_dump())
    stale = state.settings.paper_stale_seconds

    def work(session: Session, account: Account, now_ns: int) -> tuple[OrderOut, bool]:
        order, created = place_order(session, state.paper.feed, account, spec, now_ns, stale)
        return OrderOut(**order_dict(order)), created

    try:
        out, created = state.paper.with_account_batched(user.id, account_id, work,
                                                        spec.client_order_id)
    except IntegrityError:  # a concurrent duplicate won the race: return the stored order
        out, created = state.paper.snapshot(user.id, account_id, _existing(spec)), False
    if not created:
        response.status_code = 200
    response.headers["Location"] = f"/v1/accounts/{account_id}/orders/{out.id}"
    return out


def _existing(spec: OrderSpec) -> Any:
    def read(session: Session, account: Account, _now: int) -> OrderOut:
        order = session.scalar(select(Order).where(
            Order.account_id == account.id, Order.client_order_id == spec.client_order_id))
        if order is None:
            raise Problem(409, "order submission conflicted; retry", field="client_order_id")
        return OrderOut(**order_dict(order))
    return read


def _paged(session: Session, model: Any, where: list[Any], order: Any, page: Any) -> Any:
    total = session.scalar(select(func.count()).select_from(model).where(*where)) or 0
    rows = session.scalars(select(model).where(*where).order_by(order)
                           .limit(page.limit).offset(page.offset)).all()
    return rows, total


OrderStatus = Literal["open", "triggered", "filled", "cancelled", "rejected"]


@router.get("/accounts/{account_id}/orders")
def list_orders(account_id: Id, user: CurrentUser, state: State, page: Paging,
                status: OrderStatus | None = None) -> Page[OrderOut]:
    def read(session: Session, account: Account, _now: int) -> Page[OrderOut]:
        where = [Order.account_id == account.id]
        if status:
            where.append(Order.status == status)
        rows, total = _paged(session, Order, where, Order.id, page)
        return Page.of([OrderOut(**order_dict(o)) for o in rows], total, page)
    return state.paper.snapshot(user.id, account_id, read)


@router.get("/accounts/{account_id}/orders/{order_id}")
def get_order(account_id: Id, order_id: Id, user: CurrentUser, state: State) -> OrderOut:
    def read(session: Session, account: Account, _now: int) -> OrderOut:
        order = session.scalar(select(Order).where(Order.id == order_id,
                                                   Order.account_id == account.id))
        if order is None:
            raise Problem(404, f"order {order_id} not found")
        return OrderOut(**order_dict(order))
    return state.paper.snapshot(user.id, account_id, read)


@router.delete("/accounts/{account_id}/orders/{order_id}")
def delete_order(account_id: Id, order_id: Id, user: Writer, state: State) -> OrderOut:
    def work(session: Session, account: Account, _now: int) -> OrderOut:
        return OrderOut(**order_dict(cancel_order(session, account, order_id)))
    return state.paper.with_account(user.id, account_id, work)


async def portfolio_of(state: Any, user_id: int, account_id: int) -> dict[str, Any]:
    """The portfolio view: one statement on the event loop when no order rests, else the
    locked matching path in a worker thread."""
    fast = state.paper.fast_views(user_id, account_id)
    if fast is not None:
        return portfolio(fast[0], fast[1], state.paper.feed, fast[2])

    def read(session: Session, account: Account, now: int) -> dict[str, Any]:
        return portfolio(account, positions_of(session, account.id), state.paper.feed, now)
    result: dict[str, Any] = await run_in_threadpool(state.paper.snapshot, user_id, account_id,
                                                     read)
    return result


@router.get("/accounts/{account_id}/positions")
async def list_positions(account_id: Id, user: CurrentUser, state: State) -> dict[str, Any]:
    view = await portfolio_of(state, user.id, account_id)
    return {"account_id": account_id, "positions": view["positions"], "as_of": view["as_of"]}


@router.get("/accounts/{account_id}/fills")
def list_fills(account_id: Id, user: CurrentUser, state: State, page: Paging) -> Page[Any]:
    def read(session: Session, account: Account, _now: int) -> Page[Any]:
        rows, total = _paged(session, Fill, [Fill.account_id == account.id], Fill.id, page)
        items = [{"id": f.id, "order_id": f.order_id, "symbol": f.symbol, "side": f.side,
                  "quantity": f.quantity, "price": f.price, "fee": f.fee,
                  "realized_pnl": f.realized_pnl, "feed_ts": f.feed_ts} for f in rows]
        return Page.of(items, total, page)
    return state.paper.snapshot(user.id, account_id, read)


@router.get("/accounts/{account_id}/portfolio")
async def get_portfolio(account_id: Id, user: CurrentUser, state: State) -> dict[str, Any]:
    """Cash, positions marked to market (mid), equity, realised and unrealised P&L."""
    return await portfolio_of(state, user.id, account_id)


@router.get("/accounts/{account_id}/ledger")
def get_ledger(account_id: Id, user: CurrentUser, state: State) -> dict[str, Any]:
    """Ledger balances (double entry: they sum to zero)."""
    from tickforge.service.db.models import LedgerEntry

    def read(session: Session, account: Account, _now: int) -> dict[str, Any]:
        rows = session.execute(select(LedgerEntry.ledger, func.sum(LedgerEntry.amount))
                               .where(LedgerEntry.account_id == account.id)
                               .group_by(LedgerEntry.ledger)).all()
        balances = {name: float(total) for name, total in rows}
        return {"account_id": account.id, "balances": balances,
                "total": sum(balances.values())}
    return state.paper.snapshot(user.id, account_id, read)


@router.get("/accounts/{account_id}/stream", response_class=StreamingResponse,
            responses={200: {"content": {"text/event-stream": {}}}})
async def stream(account_id: Id, user: CurrentUser, state: State, request: Request,
                 symbols: Annotated[str | None, Query(max_length=400)] = None,
                 interval: Annotated[float, Query(ge=0.05, le=60)] = 1.0,
                 max_events: Annotated[int | None, Query(ge=1, le=100_000)] = None,
                 last_event_id: Annotated[int | None, Header()] = None) -> StreamingResponse:
    """Server-sent events: ``quote`` (each interval) and account events (``order_*``)."""
    state.paper.fast_views(user.id, account_id)  # 404 unless the caller's; matches nothing
    wanted = [s for s in (symbols or "").split(",") if s]
    gen = _events(state, request, account_id, wanted, interval, max_events, last_event_id or 0)
    return StreamingResponse(gen, media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache"})


async def _events(state: Any, request: Request, account_id: Id, symbols: list[str],
                  interval: float, max_events: int | None, cursor: int) -> AsyncIterator[str]:
    sent = 0
    while max_events is None or sent < max_events:
        if await request.is_disconnected():
            return
        batch, cursor = await asyncio.to_thread(_poll, state, account_id, symbols, cursor)
        for chunk in batch:
            yield chunk
            sent += 1
            if max_events is not None and sent >= max_events:
                return
        await asyncio.sleep(interval)


def _poll(state: Any, account_id: Id, symbols: list[str], cursor: int) -> tuple[list[str], int]:
    out = []
    with state.db.read() as session:
        rows = session.scalars(select(AccountEvent).where(
            AccountEvent.account_id == account_id, AccountEvent.id > cursor)
            .order_by(AccountEvent.id).limit(500)).all()
    for row in rows:
        out.append(f"id: {row.id}\nevent: {row.type}\ndata: {json.dumps(row.data)}\n\n")
        cursor = row.id
    now = state.paper.now_ns()
    for symbol in symbols:
        if symbol in state.paper.feed.symbols():
            quote = state.paper.feed.quote(symbol, now)
            if quote is not None:
                out.append(f"event: quote\ndata: {json.dumps(quote.as_dict())}\n\n")
    return out, cursor


@router.get("/feed")
def get_feed(_user: CurrentUser, state: State) -> dict[str, Any]:
    """The replay clock: feed time now and the symbols it serves."""
    now = state.paper.now_ns()
    return {"now": to_datetime(now).isoformat(), "symbols": state.paper.feed.symbols()}


@router.put("/feed")
def set_feed(body: FeedClock, _admin: AdminUser, state: State) -> dict[str, Any]:
    """Move the replay clock (admin only): start at ``start``, run at ``speed`` (0 = frozen)."""
    state.paper.set_clock(body.start, body.speed)
    return {"now": to_datetime(state.paper.now_ns()).isoformat(), "speed": body.speed}


__all__ = ["Position", "router"]
