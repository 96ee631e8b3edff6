"""Response models and the shared pagination parameters."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Depends, Path, Query
from pydantic import BaseModel, Field

MAX_PAGE = 500
T = TypeVar("T")
Id = Annotated[int, Path(ge=1, le=2**63 - 1, description="Object id")]


class PageParams(BaseModel):
    limit: int
    offset: int


async def page_params(
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE, description="Items per page.")] = 50,
    offset: Annotated[int, Query(ge=0, le=2**62, description="Items to skip.")] = 0,
) -> PageParams:
    return PageParams(limit=limit, offset=offset)


Paging = Annotated[PageParams, Depends(page_params)]


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int
    limit: int
    offset: int
    next_offset: int | None = Field(None, description="Offset of the next page, if any.")

    @classmethod
    def of(cls, items: list[Any], total: int, page: PageParams) -> Page[T]:
        nxt = page.offset + page.limit if page.offset + page.limit < total else None
        return cls(items=items, total=total, limit=page.limit, offset=page.offset, next_offset=nxt)


class UserOut(BaseModel):
    id: int
    name: str
    admin: bool
    active: bool
    created_at: datetime | None = None


class NewUser(BaseModel):
    name: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.@-]+$")
    admin: bool = False


class UserWithKey(UserOut):
    api_key: str = Field(description="Shown once; only its hash is stored.")


class JobOut(BaseModel):
    id: int
    kind: str
    status: str = Field(description="queued | running | succeeded | failed | cancelled")
    progress: float
    attempts: int
    created_at: datetime | None
    started_at: datetime | None
    finished_at: datetime | None
    config: dict[str, Any]
    result: dict[str, Any] | None = None
    metrics: dict[str, Any] | None = None
    error: str | None = None
    artifacts: list[str] = []


class JobAccepted(BaseModel):
    id: int
    status: str
