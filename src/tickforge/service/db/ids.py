"""Primary keys allocated up front, so a write transaction's inserts need no round trip
each to learn their ids (the ORM then flushes every row of a table in one statement).

PostgreSQL: a block of ``nextval`` values in ONE statement for several tables at once
(``SELECT nextval(...), nextval(...) FROM generate_series(1, n)``); unused values are
gaps, as after any rollback. SQLite: ``max(id) + 1`` once per transaction, then counted
in memory; safe because a write transaction there holds the database's only write lock
(``BEGIN IMMEDIATE``) until it commits.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session

_POOLS = "id_pools"


def _pools(session: Session) -> dict[str, list[int]]:
    pools: dict[str, list[int]] = session.info.setdefault(_POOLS, {})
    return pools


def reserve_ids(session: Session, tables: tuple[str, ...], n: int) -> None:
    """Make ``n`` more ids of each of ``tables`` available to :func:`next_id`."""
    pools = _pools(session)
    if session.get_bind().dialect.name == "postgresql":
        cols = ", ".join(f"nextval(pg_get_serial_sequence('{t}', 'id'))" for t in tables)
        rows = session.execute(text(f"SELECT {cols} FROM generate_series(1, :n)"),
                               {"n": max(1, n)}).all()
        for i, table in enumerate(tables):
            pools.setdefault(table, []).extend(int(r[i]) for r in rows)
        return
    for table in tables:
        pool = pools.setdefault(table, [])
        if not pool:  # SQLite: the highest id of this transaction so far is the last handed out
            top = session.execute(text(f"SELECT coalesce(max(id), 0) FROM {table}")).scalar()
            pool.append(int(top or 0) + 1)


def next_id(session: Session, table: str, block: int = 1, together: tuple[str, ...] = ()) -> int:
    """The next id of ``table`` in this transaction; when none is left, reserves ``block``
    more of it and of the ``together`` tables in the same statement."""
    pools = _pools(session)
    pool = pools.get(table)
    if not pool:
        reserve_ids(session, (table, *together), block)
        pool = pools[table]
    value = pool.pop(0)
    if not pool and session.get_bind().dialect.name != "postgresql":
        pool.append(value + 1)  # SQLite: keep counting
    return value
