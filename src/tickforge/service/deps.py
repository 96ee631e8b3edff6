"""Request dependencies: the service state, the authenticated user, write rate limits."""

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
from tickforge.service.users import hash_key, user_for_key


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
        digest = hash_key(key)
        hit = self._auth.get(digest)
        if hit and time.monotonic() - hit[0] < self.settings.auth_cache_seconds:
            return hit[1]
        user = user_for_key(self.db, key)
        if user is not None:
            self._auth[digest] = (time.monotonic(), user)
        else:
            self._auth.pop(digest, None)
        return user

    def forget_users(self) -> None:
        self._auth.clear()


def get_state(request: Request) -> ServiceState:
    state: ServiceState = request.app.state.service
    return state


bearer = HTTPBearer(auto_error=False, description="API key from `tickforge users create`")
State = Annotated[ServiceState, Depends(get_state)]


def current_user(state: State,
                 creds: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> User:
    if creds is None or creds.scheme.lower() != "bearer":
        raise Problem(401, "missing API key: send 'Authorization: Bearer <key>'",
                      headers={"WWW-Authenticate": "Bearer"})
    user = state.cached_user(creds.credentials)
    if user is None:
        raise Problem(401, "invalid or disabled API key", headers={"WWW-Authenticate": "Bearer"})
    return user


CurrentUser = Annotated[User, Depends(current_user)]


def admin_user(user: CurrentUser) -> User:
    if not user.is_admin:
        raise Problem(403, "this endpoint needs an admin API key")
    return user


AdminUser = Annotated[User, Depends(admin_user)]


def writer(user: CurrentUser, state: State) -> User:
    """An authenticated user within their write rate limit."""
    wait = state.limiter.take(user.id)
    if wait > 0:
        raise Problem(429, f"write rate limit exceeded; retry in {wait:.2f} s",
                      headers={"Retry-After": str(max(1, round(wait)))})
    return user


Writer = Annotated[User, Depends(writer)]
