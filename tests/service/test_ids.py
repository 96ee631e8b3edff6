"""Ids allocated up front (``service/db/ids.py``) on a real database of each kind: unique,
ascending, usable as primary keys, and never reused after a rollback or by another session."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from tests.service.conftest import PgDatabases, new_database
from tickforge.service.db.ids import next_id, reserve_ids
from tickforge.service.db.models import Account, Order, User
from tickforge.service.db.session import Database, migrate


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, tmp_path: Path,
       pg_databases: PgDatabases) -> Iterator[tuple[Database, int]]:
    url = new_database(request.param, tmp_path, pg_databases)
    migrate(url)
    database = Database(url)
    with database.write() as session:
        user = User(name="ids", key_hash="k" * 64)
        session.add(user)
        session.flush()
        account = Account(user_id=user.id, name="a", currency="USD", initial_cash=1.0, cash=1.0,
                          max_position=1.0, max_order_notional=1.0)
        session.add(account)
        session.flush()
        account_id = account.id
    yield database, account_id
    database.dispose()


def add_orders(database: Database, account_id: int, tag: str, n: int) -> list[int]:
    now = datetime.now(UTC)
    with database.write() as session:
        reserve_ids(session, ("orders", "fills"), n // 2)  # the rest on demand
        ids = [next_id(session, "orders") for _ in range(n)]
        session.add_all([Order(id=i, account_id=account_id, client_order_id=f"{tag}{i}",
                               symbol="EURUSD", side="buy", quantity=1.0, type="market",
                               status="open", checked_ts=0, created_at=now, updated_at=now)
                         for i in ids])
    return ids


def test_ids_are_unique_ascending_and_never_reused(db: tuple[Database, int]) -> None:
    database, account_id = db
    first = add_orders(database, account_id, "a", 5)
    assert first == sorted(set(first))
    with pytest.raises(RuntimeError), database.write() as session:  # rolled back
        held = next_id(session, "orders", block=3)
        raise RuntimeError(held)
    more = add_orders(database, account_id, "b", 70)
    assert len(set(first + more)) == 75 and min(more) > max(first)
    with database.read() as session:
        assert session.scalar(select(func.count()).select_from(Order)) == 75
