"""Request dependencies: the service state, the authenticated user, write rate limits.

All of them are ``async`` and never block for long: FastAPI runs a sync dependency in the
thread pool, and three thread hops per request cost more than the request itself. The key
lookup is one indexed statement on the event loop's own connection
(:class:`~tickforge.service.db.session.InlineReader`), cached ``auth_cache_seconds`` per
process. The auth cache and the write-rate buckets are per API process (see
docs/service.md, "Scaling out").
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from tickforge.service.artifacts import ArtifactStore
from tickforge.service.db.models import User
from tickforge.service.db.session import Database
from tickforge.service.problems import Problem
from tickforge.service.settings import ServiceSettings
from tickforge.service.users import hash_key, user_from_row

USER_BY_KEY = ("SELECT id, name, is_admin, active, created_at FROM users "
               "WHERE key_hash = ? AND active = ?")


class TokenBucket:
    """Per-user write limiter: ``rate`` per second sustained, ``burst`` at once."""

    def __init__(self, rate: float, burst: int) -> None:
        self.rate, self.burst = rate, float(burst)
        self._state: dict[int, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, key: int) -> float:
        """0 when allowed, else the seconds to wait."""
        with self._lock:
            now = time.monotonic()
            tokens, last = self._state.get(key, (self.burst, now))
            tokens = min(self.burst, tokens + (now - last) * self.rate)
            if tokens < 1.0:
                self._state[key] = (tokens, now)
                return (1.0 - tokens) / self.rate
            self._state[key] = (tokens - 1.0, now)
            return 0.0


@dataclass
class ServiceState:
    settings: ServiceSettings
    db: Database
    store: ArtifactStore
    limiter: TokenBucket
    paper: Any = None  # paper.service.PaperDesk
    _auth: dict[str, tuple[float, User]] = field(default_factory=dict)

    def cached_user(self, key: str) -> User | None:
        """The active user of an API key (event loop thread only: uses the inline reader)."""
        digest = hash_key(key)
        hit = self._auth.get(digest)
        if hit and time.monotonic() - hit[0] < self.settings.auth_cache_seconds:
            return hit[1]
        rows = self.db.inline.rows(USER_BY_KEY, (digest, True))
        user = user_from_row(rows[0]) if rows else None
        if user is not None:
            self._auth[digest] = (time.monotonic(), user)
        else:
            self._auth.pop(digest, None)
        return user

    def forget_users(self) -> None:
        self._auth.clear()


async def get_state(request: Request) -> ServiceState:
    state: ServiceState = request.app.state.service
    return state


bearer = HTTPBearer(auto_error=False, description="API key from `tickforge users create`")
State = Annotated[ServiceState, Depends(get_state)]


Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]


async def current_user(state: State, creds: Credentials) -> User:
    if creds is None or creds.scheme.lower() != "bearer":
        raise Problem(401, "missing API key: send 'Authorization: Bearer <key>'",
                      headers={"WWW-Authenticate": "Bearer"})
    user = state.cached_user(creds.credentials)
    if user is None:
        raise Problem(401, "invalid or disabled API key", headers={"WWW-Authenticate": "Bearer"})
    return user


CurrentUser = Annotated[User, Depends(current_user)]


async def admin_user(user: CurrentUser) -> User:
    if not user.is_admin:
        raise Problem(403, "this endpoint needs an admin API key")
    return user


AdminUser = Annotated[User, Depends(admin_user)]


async def writer(user: CurrentUser, state: State) -> User:
    """An authenticated user within their write rate limit."""
    wait = state.limiter.take(user.id)
    if wait > 0:
        raise Problem(429, f"write rate limit exceeded; retry in {wait:.2f} s",
                      headers={"Retry-After": str(max(1, round(wait)))})
    return user


Writer = Annotated[User, Depends(writer)]
