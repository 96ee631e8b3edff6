"""``GET /health``, ``GET /metrics`` and admin user management."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from sqlalchemy import func, select

from tickforge.service.db.models import User
from tickforge.service.deps import AdminUser, CurrentUser, State
from tickforge.service.problems import Problem, not_found
from tickforge.service.schemas import Id, NewUser, Page, Paging, UserOut, UserWithKey
from tickforge.service.users import create_user, user_dict

router = APIRouter()


@router.get("/health", tags=["system"])
async def health(state: State) -> dict[str, Any]:
    """Liveness and database reachability (one ``SELECT 1`` on the event loop's connection)."""
    try:
        db_ok = state.db.inline.rows("SELECT 1") == [(1,)]
    except Exception:
        db_ok = False
    if not db_ok:
        raise Problem(503, "database unreachable")
    return {"status": "ok", "database": state.db.engine.dialect.name,
            "lake": state.settings.lake is not None}


@router.get("/metrics", tags=["system"], response_class=Response)
def metrics(request: Request) -> Response:
    """Prometheus metrics: request latency, jobs by status, worker heartbeats."""
    from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

    return Response(generate_latest(request.app.state.registry), media_type=CONTENT_TYPE_LATEST)


@router.get("/v1/me", tags=["users"])
def me(user: CurrentUser) -> UserOut:
    return UserOut(**user_dict(user))


@router.post("/v1/users", tags=["users"], status_code=201)
def add_user(body: NewUser, _admin: AdminUser, state: State) -> UserWithKey:
    """Create a user (admin only); the API key is in this response only."""
    return UserWithKey(**create_user(state.db, body.name, body.admin))


@router.get("/v1/users", tags=["users"])
def list_users(_admin: AdminUser, state: State, page: Paging) -> Page[UserOut]:
    with state.db.read() as session:
        total = session.scalar(select(func.count(User.id))) or 0
        rows = session.scalars(select(User).order_by(User.id).limit(page.limit)
                               .offset(page.offset)).all()
        return Page.of([UserOut(**user_dict(u)) for u in rows], total, page)


@router.delete("/v1/users/{user_id}", tags=["users"])
def disable_user(user_id: Id, admin: AdminUser, state: State) -> UserOut:
    """Disable a user's API key (admin only)."""
    if user_id == admin.id:
        raise Problem(409, "an admin cannot disable their own key", field="user_id")
    with state.db.write() as session:
        user = session.get(User, user_id)
        if user is None:
            raise not_found("user", user_id)
        user.active = False
        out = UserOut(**user_dict(user))
    state.forget_users()
    return out
