"""Users and API keys. A key is shown once; only its SHA-256 is stored (keys are 256-bit
random tokens, so a fast hash is safe and keeps auth off the hot path)."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from tickforge.errors import ConfigError
from tickforge.service.db.models import User
from tickforge.service.db.session import Database, as_utc, migrate
from tickforge.service.settings import get_settings

KEY_PREFIX = "tf_"


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def new_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def user_dict(user: User) -> dict[str, Any]:
    return {"id": user.id, "name": user.name, "admin": user.is_admin, "active": user.active,
            "created_at": user.created_at.isoformat() if user.created_at else None}


def create_user(db: Database, name: str, admin: bool = False) -> dict[str, Any]:
    """Create a user; the returned dict holds the API key (the only time it is visible)."""
    name = name.strip()
    if not name or len(name) > 100:
        raise ConfigError(f"user name '{name}' must be 1-100 characters", field="name")
    key = new_key()
    try:
        with db.write() as session:
            user = User(name=name, key_hash=hash_key(key), is_admin=admin, active=True)
            session.add(user)
            session.flush()
            out = user_dict(user)
    except IntegrityError as exc:
        raise ConfigError(f"user '{name}' already exists", field="name",
                          hint="choose another name") from exc
    return {**out, "api_key": key}


def user_from_row(row: tuple[Any, ...]) -> User:
    """A detached ``User`` from ``(id, name, is_admin, active, created_at)`` of a raw query
    (SQLite hands back text for datetimes and 0/1 for booleans)."""
    created = row[4]
    if isinstance(created, str):
        created = datetime.fromisoformat(created)
    return User(id=int(row[0]), name=row[1], is_admin=bool(row[2]), active=bool(row[3]),
                created_at=as_utc(created))


def user_for_key(db: Database, key: str) -> User | None:
    with db.read() as session:
        return session.scalar(select(User).where(User.key_hash == hash_key(key),
                                                 User.active.is_(True)))


def create_user_cli(name: str, admin: bool) -> dict[str, Any]:
    """``tickforge users create``: migrate the database of DATABASE_URL, create the user."""
    url = get_settings().database_url
    migrate(url)
    db = Database(url)
    try:
        return create_user(db, name, admin)
    finally:
        db.dispose()
