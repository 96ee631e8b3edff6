"""Prometheus metrics: request latency histogram (pure ASGI middleware), and at scrape
time the job counts by status and each worker's seconds since its last heartbeat."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from prometheus_client import CollectorRegistry, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select

from tickforge.service.db.models import Job, Worker
from tickforge.service.db.session import Database, as_utc

STATUSES = ("queued", "running", "succeeded", "failed", "cancelled")


class QueueCollector(Collector):
    def __init__(self, db: Database) -> None:
        self.db = db

    def collect(self) -> Iterator[GaugeMetricFamily]:
        jobs = GaugeMetricFamily("tickforge_jobs", "Jobs by status", labels=["status"])
        beats = GaugeMetricFamily("tickforge_worker_heartbeat_age_seconds",
                                  "Seconds since each worker's last heartbeat", labels=["worker"])
        with self.db.read() as session:
            counts = dict(session.execute(select(Job.status, func.count(Job.id))
                                          .group_by(Job.status)).all())
            workers = session.execute(select(Worker.id, Worker.heartbeat_at)).all()
        for status in STATUSES:
            jobs.add_metric([status], float(counts.get(status, 0)))
        now = datetime.now(UTC)
        for worker_id, beat in workers:
            seen = as_utc(beat)
            beats.add_metric([worker_id], (now - seen).total_seconds() if seen else -1.0)
        yield jobs
        yield beats


class LatencyMiddleware:
    """Observes request latency by method, route template and status."""

    def __init__(self, app: Any, histogram: Histogram) -> None:
        self.app, self.histogram = app, histogram

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = {"code": 500}

        async def send_wrapper(message: Any) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            route = scope.get("route")
            path = getattr(route, "path", "unmatched")
            self.histogram.labels(scope["method"], path, str(status["code"])).observe(
                time.perf_counter() - start)


def make_registry(db: Database) -> tuple[CollectorRegistry, Histogram]:
    registry = CollectorRegistry()
    histogram = Histogram("tickforge_http_request_seconds", "HTTP request latency",
                          ["method", "route", "status"], registry=registry,
                          buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,
                                   2.5, 5, 10))
    registry.register(QueueCollector(db))
    return registry, histogram
