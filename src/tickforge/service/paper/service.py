"""The paper-trading facade used by the routes: feed, clock and account transactions."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any, Generic, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from tickforge.service.db.models import Account, Order
from tickforge.service.db.session import Database
from tickforge.service.paper.batching import Combiner, run_items
from tickforge.service.paper.clock import ReplayClock
from tickforge.service.paper.feed import Feed, ReplayFeed, to_datetime
from tickforge.service.paper.trading import (
    OPEN,
    PORTFOLIO_SQL,
    AccountView,
    PositionView,
    lock_account,
    match_account,
    prefetch_orders,
    views_from_rows,
)
from tickforge.service.problems import Problem
from tickforge.service.settings import ServiceSettings

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class BatchItem(Generic[T]):
    """One write of a group-committed batch and the client_order_id it may create."""

    work: Callable[[Session, Account, int], T]
    client_order_id: str | None

    def __call__(self, session: Session, account: Account, now_ns: int) -> T:
        return self.work(session, account, now_ns)


class PaperDesk:
    def __init__(self, db: Database, settings: ServiceSettings, feed: Feed | None = None):
        self.db, self.settings = db, settings
        self._feed = feed
        self._clock: ReplayClock | None = None
        self._lock = threading.Lock()
        self._combiner = Combiner()

    @property
    def feed(self) -> Feed:
        with self._lock:
            if self._feed is None:
                if not self.settings.lake:
                    raise Problem(409, "paper trading needs a lake (TICKFORGE_LAKE)",
                                  field="TICKFORGE_LAKE")
                self._feed = ReplayFeed(self.settings.lake)
            return self._feed

    @property
    def clock(self) -> ReplayClock:
        with self._lock:
            if self._clock is None:
                self._clock = ReplayClock(self.db, self.settings.paper_start,
                                          self.settings.paper_speed)
            return self._clock

    def now_ns(self) -> int:
        ns = self.clock.now_ns()
        if ns is None:
            first = getattr(self.feed, "first_ts", lambda: None)()
            if first is None:
                raise Problem(409, "the feed has no quotes to replay", field="TICKFORGE_LAKE")
            self.clock.set(to_datetime(first), self.settings.paper_speed)
            ns = self.clock.now_ns()
            assert ns is not None
        return ns

    def set_clock(self, start: datetime, speed: float) -> None:
        self.clock.set(start, speed)

    def with_account(self, user_id: int, account_id: int,
                     work: Callable[[Session, Account, int], T]) -> T:
        """Run ``work`` in a write transaction holding the account, after matching resting
        orders up to the feed's now."""
        now_ns = self.now_ns()
        with self.db.write() as session:
            account = lock_account(session, user_id, account_id)
            match_account(session, self.feed, account, now_ns)
            return work(session, account, now_ns)

    def with_account_batched(self, user_id: int, account_id: int,
                             work: Callable[[Session, Account, int], T],
                             client_order_id: str | None = None) -> T:
        """``with_account`` with group commit: concurrent writes to one account share one
        locked transaction (see :mod:`tickforge.service.paper.batching`). Items placing an
        order pass its ``client_order_id``: the batch looks them all up in one statement."""
        def run_batch(items: list[Callable[..., Any]]) -> list[tuple[bool, Any]]:
            now_ns = self.now_ns()
            with self.db.write() as session:
                account = lock_account(session, user_id, account_id)
                match_account(session, self.feed, account, now_ns)
                client_ids = [i.client_order_id for i in items
                              if isinstance(i, BatchItem) and i.client_order_id is not None]
                if client_ids:
                    prefetch_orders(session, account.id, client_ids)
                return run_items([partial(w, session, account, now_ns) for w in items])

        def run_one(w: Callable[[Session, Account, int], T]) -> T:
            return self.with_account(user_id, account_id, w)

        item = BatchItem(work, client_order_id)
        return self._combiner.submit((user_id, account_id), item, run_batch, run_one)

    def match_all(self) -> int:
        """Match the resting orders of every account up to the feed's now (the background
        matcher calls this as the feed advances); returns the fills made. Each account is
        matched in its own locked transaction, like a request touching it."""
        if not self.settings.lake and self._feed is None:
            return 0
        now_ns = self.clock.now_ns()
        if now_ns is None:  # nobody has traded yet: the replay clock is not started
            return 0
        with self.db.read() as session:
            ids = session.scalars(select(Order.account_id).distinct().where(
                Order.status.in_(OPEN), Order.checked_ts < now_ns)).all()
        fills = 0
        for account_id in ids:
            with self.db.write() as session:
                account = session.scalar(select(Account).where(Account.id == account_id)
                                         .with_for_update())
                if account is not None:
                    fills += match_account(session, self.feed, account, now_ns)
        return fills

    def needs_matching(self, account: Account) -> bool:
        return account.open_orders > 0

    def fast_views(self, user_id: int, account_id: int
                   ) -> tuple[AccountView, dict[str, PositionView], int] | None:
        """(account, open positions, feed now) in one statement on the event loop's
        connection; None when resting orders must be matched first (the caller then takes
        the locked path in a thread). Raises 404 for a missing or foreign account."""
        now_ns = self.now_ns()
        views = views_from_rows(account_id, self.db.inline.rows(PORTFOLIO_SQL, (account_id,)))
        if views is None or views[0].user_id != user_id:
            raise Problem(404, f"account {account_id} not found")
        account, positions = views
        if account.open_orders > 0:
            return None
        return account, positions, now_ns

    def snapshot(self, user_id: int, account_id: int,
                 read: Callable[[Session, Account, int], T]) -> T:
        """Read-only view; upgrades to a write transaction only if orders rest."""
        now_ns = self.now_ns()
        with self.db.read() as session:
            account = session.get(Account, account_id)
            if account is None or account.user_id != user_id:
                raise Problem(404, f"account {account_id} not found")
            if not self.needs_matching(account):
                return read(session, account, now_ns)
        return self.with_account(user_id, account_id, read)


def noop(*_args: Any) -> None:
    return None


async def match_forever(desk: PaperDesk, seconds: float) -> None:
    """The background matcher: every ``seconds``, fill what the feed's advance filled, so
    account events (SSE) flow without any request touching the account."""
    import asyncio
    import logging

    from starlette.concurrency import run_in_threadpool

    log = logging.getLogger("tickforge.paper")
    while True:
        await asyncio.sleep(seconds)
        try:
            await run_in_threadpool(desk.match_all)
        except Problem:  # no lake or no quotes yet: nothing to match
            pass
        except Exception:
            log.exception("background matching failed; retrying")
