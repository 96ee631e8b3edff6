"""Engines and sessions for SQLite (default) and PostgreSQL, plus migrations at start.

SQLite runs in WAL mode; a *write* session starts with ``BEGIN IMMEDIATE`` so writers
serialise at the start of their transaction (no lock upgrades, no lost updates), while
read sessions use a plain deferred ``BEGIN``. Writers of one process also queue on a
process lock first, so they wait on a condition variable instead of SQLite's sleeping
busy handler (which would add up to 100 ms per retry). On PostgreSQL writers lock the rows
they change (``SELECT ... FOR UPDATE [SKIP LOCKED]``).

Hot read paths (auth, portfolio) use :class:`InlineReader`: one autocommit DBAPI connection
used from the event loop thread only, a single statement per request (one round trip, no
ORM, no pool checkout, no thread hop; psycopg prepares repeated statements itself).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from tickforge.errors import ConfigError

MIGRATIONS = Path(__file__).resolve().parents[1] / "migrations"
_migrate_lock = threading.Lock()


def as_utc(value: datetime | None) -> datetime | None:
    """SQLite returns naive datetimes; everything stored is UTC."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    dbapi_conn.isolation_level = None  # we emit BEGIN ourselves
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


def _sqlite_begin(conn: Any) -> None:
    mode = "IMMEDIATE" if conn.get_execution_options().get("immediate") else "DEFERRED"
    conn.exec_driver_sql(f"BEGIN {mode}")


def make_engine(url: str) -> Engine:
    """An engine for ``url``; SQLite gets WAL and explicit BEGIN handling."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30},
                               pool_size=20, max_overflow=20)
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    if url.startswith("postgresql"):
        return create_engine(url, pool_size=10, max_overflow=20, pool_pre_ping=True)
    raise ConfigError(f"unsupported DATABASE_URL '{url}'", field="DATABASE_URL",
                      hint="use sqlite:///path.db or postgresql+psycopg://user@host/db")


class Database:
    """One engine and its two session factories (read and write)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self.is_sqlite = url.startswith("sqlite")
        writer = self.engine.execution_options(immediate=True) if self.is_sqlite else self.engine
        self._read = sessionmaker(self.engine, expire_on_commit=False)
        self._write = sessionmaker(writer, expire_on_commit=False)
        self._write_lock = threading.RLock() if self.is_sqlite else None
        self.inline = InlineReader(self.engine, self.is_sqlite)

    @contextmanager
    def read(self) -> Iterator[Session]:
        with self._read() as session:
            yield session

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A transaction committed on success, rolled back on error."""
        if self._write_lock is None:
            with self._write() as session, session.begin():
                yield session
            return
        with self._write_lock, self._write() as session, session.begin():
            yield session

    def dispose(self) -> None:
        self.inline.close()
        self.engine.dispose()


class InlineReader:
    """One autocommit DBAPI connection for single-statement reads on the event loop thread.

    SQL is written with ``?`` placeholders (translated for psycopg). Not thread-safe by
    design: only the event loop thread calls it, and each call is one short statement (a
    single statement is its own consistent snapshot on both databases). A broken
    connection is reopened once.
    """

    def __init__(self, engine: Engine, is_sqlite: bool) -> None:
        self.engine, self.is_sqlite = engine, is_sqlite
        self._conn: Any = None
        self._sql: dict[str, str] = {}

    def _connect(self) -> Any:
        raw = self.engine.raw_connection()  # connect-time pragmas applied
        conn = raw.driver_connection
        raw.detach()  # ours for good: never returned to the pool
        if not self.is_sqlite:
            conn.autocommit = True  # type: ignore[union-attr]
        self._conn = conn
        return conn

    def _translate(self, sql: str) -> str:
        if sql not in self._sql:
            self._sql[sql] = sql if self.is_sqlite else sql.replace("%", "%%").replace("?", "%s")
        return self._sql[sql]

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        text = self._translate(sql)
        for attempt in (0, 1):
            conn = self._conn or self._connect()
            try:
                cur = conn.cursor()
                try:
                    cur.execute(text, tuple(params))
                    return list(cur.fetchall())
                finally:
                    cur.close()
            except Exception:
                self.close()
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):  # already broken
                conn.close()


def migrate(url: str) -> None:
    """Apply Alembic migrations up to head (idempotent; serialised per process)."""
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    cfg.attributes["configure_logger"] = False
    with _migrate_lock:
        command.upgrade(cfg, "head")
