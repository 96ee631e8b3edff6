"""Service configuration from the environment and ``.env`` (pydantic-settings).

``DATABASE_URL`` (SQLite file by default, ``postgresql+psycopg://...`` in production),
``TICKFORGE_LAKE``, ``TICKFORGE_ARTIFACTS`` (local folder or ``s3://bucket/prefix``),
``TICKFORGE_DASK_SCHEDULER``; every other knob is ``TICKFORGE_<NAME>``.
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class ServiceSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TICKFORGE_", env_file=".env", extra="ignore",
                                      populate_by_name=True)

    database_url: str = Field(
        "sqlite:///tickforge.db",
        validation_alias=AliasChoices("DATABASE_URL", "TICKFORGE_DATABASE_URL"),
    )
    lake: str | None = None
    artifacts: str = "artifacts"
    dask_scheduler: str | None = None

    # jobs
    lease_seconds: float = Field(15.0, gt=0)
    heartbeat_seconds: float = Field(2.0, gt=0)
    poll_seconds: float = Field(0.2, gt=0)
    max_concurrent_jobs: int = Field(4, ge=1)  # queued + running per user
    job_start_delay: float = Field(0.0, ge=0)  # fault-injection hook for kill tests

    # http
    http_processes: int = Field(1, ge=1, le=64)  # uvicorn worker processes of `serve`
    max_page_size: int = Field(500, ge=1)
    write_rate: float = Field(50.0, gt=0)  # sustained writes per second per user
    write_burst: int = Field(100, ge=1)
    auth_cache_seconds: float = Field(5.0, ge=0)

    # paper trading
    paper_start: datetime | None = None  # replay start; default: first quote in the lake
    paper_speed: float = Field(1.0, ge=0)  # replay speed; 0 = clock set by an admin
    paper_stale_seconds: float = Field(300.0, gt=0)  # older last quote = market closed
    paper_max_position: float = Field(10_000_000.0, gt=0)  # units per symbol
    paper_max_order_notional: float = Field(5_000_000.0, gt=0)
    paper_commission_bps: float = Field(0.0, ge=0)
    paper_match_seconds: float = Field(0.25, ge=0)  # background matcher period; 0 = off


@lru_cache(maxsize=1)
def get_settings() -> ServiceSettings:
    return ServiceSettings()
