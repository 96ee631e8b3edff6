"""The durable job queue: a job is a row before it is work.

Claiming takes the oldest ``queued`` job, or a ``running`` one whose lease expired (its
worker died), and leases it to one worker: ``SELECT ... FOR UPDATE SKIP LOCKED`` on
PostgreSQL; on SQLite the claim runs in a ``BEGIN IMMEDIATE`` transaction, which
serialises claimers. Workers extend their lease with heartbeats; every write a worker makes
is conditional on still holding the lease, so a worker that lost it changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session

from tickforge.service.db.models import Job, User, Worker
from tickforge.service.db.session import Database
from tickforge.service.problems import Problem

ACTIVE = ("queued", "running")
FINAL = ("succeeded", "failed", "cancelled")
MAX_ATTEMPTS = 3


def now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Claimed:
    id: int
    kind: str
    config: dict[str, Any]
    attempts: int


def enqueue(session: Session, user: User, kind: str, config: dict[str, Any], quota: int) -> Job:
    """Insert a queued job, enforcing the per-user quota on active jobs."""
    session.execute(select(User.id).where(User.id == user.id).with_for_update())
    active = session.scalar(select(func.count(Job.id)).where(
        Job.user_id == user.id, Job.status.in_(ACTIVE))) or 0
    if active >= quota:
        raise Problem(429, f"quota reached: {active} active jobs (limit {quota}); wait for one "
                           "to finish or cancel one", field="quota", headers={"Retry-After": "5"})
    job = Job(user_id=user.id, kind=kind, status="queued", config=config, progress=0.0,
              attempts=0, cancel_requested=False, created_at=now())
    session.add(job)
    session.flush()
    return job


def _claimable(at: datetime) -> Any:
    expired = and_(Job.status == "running", Job.lease_expires < at)
    return or_(Job.status == "queued", expired)


def claim(db: Database, worker_id: str, lease_seconds: float,
          kinds: tuple[str, ...] | None = None) -> Claimed | None:
    at = now()
    with db.write() as session:
        stmt = select(Job).where(_claimable(at)).order_by(Job.id).limit(1)
        if kinds:
            stmt = stmt.where(Job.kind.in_(kinds))
        job = session.scalar(stmt.with_for_update(skip_locked=True))
        if job is None:
            return None
        if job.status == "running" and (job.cancel_requested or job.attempts >= MAX_ATTEMPTS):
            job.status = "cancelled" if job.cancel_requested else "failed"
            job.error = None if job.cancel_requested else "worker lost its lease too often"
            job.finished_at, job.lease_owner = at, None
            return None
        job.status, job.lease_owner = "running", worker_id
        job.lease_expires = at + timedelta(seconds=lease_seconds)
        job.attempts += 1
        job.started_at = job.started_at or at
        return Claimed(job.id, job.kind, dict(job.config), job.attempts)


def _owned(job_id: int, worker_id: str) -> Any:
    return and_(Job.id == job_id, Job.lease_owner == worker_id, Job.status == "running")


def heartbeat(db: Database, job_id: int, worker_id: str, lease_seconds: float,
              progress: float | None) -> tuple[bool, bool]:
    """Extend the lease; returns (still ours, cancel requested)."""
    values: dict[str, Any] = {"lease_expires": now() + timedelta(seconds=lease_seconds)}
    if progress is not None:
        values["progress"] = progress
    with db.write() as session:
        done = session.execute(update(Job).where(_owned(job_id, worker_id)).values(**values))
        cancel = session.scalar(select(Job.cancel_requested).where(Job.id == job_id))
    return bool(done.rowcount), bool(cancel)  # type: ignore[attr-defined]


def finish(db: Database, job_id: int, worker_id: str, status: str, *,
           result: dict[str, Any] | None = None, artifacts: dict[str, Any] | None = None,
           error: str | None = None) -> bool:
    """Record the outcome once, only if this worker still holds the lease."""
    values: dict[str, Any] = {"status": status, "finished_at": now(), "lease_owner": None,
                              "lease_expires": None, "error": error}
    if status == "succeeded":
        values.update(progress=1.0, result=result, artifacts=artifacts)
    with db.write() as session:
        done = session.execute(update(Job).where(_owned(job_id, worker_id)).values(**values))
        if done.rowcount:  # type: ignore[attr-defined]
            session.execute(update(Worker).where(Worker.id == worker_id)
                            .values(jobs_done=Worker.jobs_done + 1))
    return bool(done.rowcount)  # type: ignore[attr-defined]


def request_cancel(session: Session, job: Job) -> None:
    """Cancel a queued job now; ask a running one to stop (its worker sees the flag)."""
    if job.status == "queued":
        job.status, job.finished_at = "cancelled", now()
    elif job.status == "running":
        job.cancel_requested = True


def register_worker(db: Database, worker_id: str, hostname: str, pid: int) -> None:
    with db.write() as session:
        row = session.get(Worker, worker_id)
        if row is None:
            session.add(Worker(id=worker_id, hostname=hostname, pid=pid, started_at=now(),
                               heartbeat_at=now(), jobs_done=0))
        else:
            row.heartbeat_at = now()


def worker_heartbeat(db: Database, worker_id: str) -> None:
    with db.write() as session:
        session.execute(update(Worker).where(Worker.id == worker_id).values(heartbeat_at=now()))
