"""The paper-trading facade used by the routes: feed, clock and account transactions."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy.orm import Session

from tickforge.service.db.models import Account
from tickforge.service.db.session import Database
from tickforge.service.paper.clock import ReplayClock
from tickforge.service.paper.feed import Feed, ReplayFeed, to_datetime
from tickforge.service.paper.trading import lock_account, match_account
from tickforge.service.problems import Problem
from tickforge.service.settings import ServiceSettings

T = TypeVar("T")


class PaperDesk:
    def __init__(self, db: Database, settings: ServiceSettings, feed: Feed | None = None):
        self.db, self.settings = db, settings
        self._feed = feed
        self._clock: ReplayClock | None = None
        self._lock = threading.Lock()

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

    def needs_matching(self, account: Account) -> bool:
        return account.open_orders > 0

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
