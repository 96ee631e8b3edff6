"""Alembic environment: migrations run at service start (``db.session.migrate``).

On PostgreSQL an advisory lock serialises concurrent starts (API and workers)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, text

from tickforge.service.db.models import Base

target_metadata = Base.metadata
LOCK_ID = 7_341_101


def run_migrations_online() -> None:
    url = context.config.get_main_option("sqlalchemy.url")
    assert url is not None
    engine = create_engine(url)
    with engine.connect() as connection:
        is_pg = connection.dialect.name == "postgresql"
        if is_pg:
            connection.execute(text("SELECT pg_advisory_lock(:k)"), {"k": LOCK_ID})
            connection.commit()
        try:
            context.configure(connection=connection, target_metadata=target_metadata,
                              render_as_batch=not is_pg)
            with context.begin_transaction():
                context.run_migrations()
            connection.commit()
        finally:
            if is_pg:
                connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": LOCK_ID})
                connection.commit()
    engine.dispose()


run_migrations_online()
