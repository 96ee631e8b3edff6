"""Job workers: claim a job, run it with a heartbeat thread holding the lease, record
the outcome once. ``run_worker`` is what ``tickforge worker`` and ``tickforge serve``
start; several workers (threads here, processes or machines elsewhere) share one queue.
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import os
import signal
import socket
import threading
import time
import traceback
import uuid
from typing import Any

from tickforge.errors import TickforgeError
from tickforge.service.artifacts import ArtifactStore
from tickforge.service.db.session import Database, migrate
from tickforge.service.jobs import queue
from tickforge.service.jobs.queue import Claimed
from tickforge.service.jobs.runners import RUNNERS, JobContext
from tickforge.service.settings import ServiceSettings, get_settings

log = logging.getLogger("tickforge.worker")


class JobStopped(Exception):
    """Raised inside a job's progress callback when it must stop (cancel or lease lost)."""


class Lease:
    """Keeps one job's lease alive from a background thread and carries its flags."""

    def __init__(self, db: Database, job: Claimed, worker_id: str, settings: ServiceSettings):
        self.db, self.job, self.worker_id, self.settings = db, job, worker_id, settings
        self.progress: float | None = None
        self.cancelled = False
        self.lost = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, daemon=True)

    def __enter__(self) -> Lease:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def beat_once(self) -> None:
        ours, cancel = queue.heartbeat(self.db, self.job.id, self.worker_id,
                                       self.settings.lease_seconds, self.progress)
        self.lost = self.lost or not ours
        self.cancelled = self.cancelled or cancel
        queue.worker_heartbeat(self.db, self.worker_id)

    def _beat(self) -> None:
        while not self._stop.wait(self.settings.heartbeat_seconds):
            try:
                self.beat_once()
            except Exception:  # a database hiccup must not kill the job; retry next beat
                log.exception("heartbeat failed for job %s", self.job.id)

    def update(self, done: float, total: float | None) -> None:
        """The progress callback handed to the job."""
        if total:
            self.progress = max(0.0, min(1.0, float(done) / float(total)))
        if self.cancelled or self.lost:
            raise JobStopped("cancelled" if self.cancelled else "lease lost")


class JobWorker:
    def __init__(self, settings: ServiceSettings, worker_id: str | None = None) -> None:
        self.settings = settings
        self.db = Database(settings.database_url)
        self.store = ArtifactStore(settings.artifacts)
        self.id = worker_id or f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        queue.register_worker(self.db, self.id, socket.gethostname(), os.getpid())

    def run_forever(self, stop: threading.Event) -> None:
        last_beat = 0.0
        while not stop.is_set():
            try:
                worked = self.run_one()
            except Exception:
                log.exception("worker %s: queue error", self.id)
                worked = False
            if time.monotonic() - last_beat > self.settings.heartbeat_seconds:
                queue.worker_heartbeat(self.db, self.id)
                last_beat = time.monotonic()
            if not worked:
                stop.wait(self.settings.poll_seconds)

    def run_one(self) -> bool:
        job = queue.claim(self.db, self.id, self.settings.lease_seconds)
        if job is None:
            return False
        log.info("worker %s: job %s (%s) attempt %s", self.id, job.id, job.kind, job.attempts)
        with Lease(self.db, job, self.id, self.settings) as lease:
            self._execute(job, lease)
        return True

    def _execute(self, job: Claimed, lease: Lease) -> None:
        ctx = JobContext(job.id, self.store, self.settings, lease.update)
        try:
            if self.settings.job_start_delay:
                time.sleep(self.settings.job_start_delay)
            lease.update(0, None)
            result, keys = RUNNERS[job.kind](job.config, ctx)
        except JobStopped:
            if lease.cancelled:
                queue.finish(self.db, job.id, self.id, "cancelled")
            return
        except (TickforgeError, ValueError, KeyError, FileNotFoundError) as exc:
            queue.finish(self.db, job.id, self.id, "failed", error=str(exc))
            return
        except Exception as exc:
            log.error("job %s crashed:\n%s", job.id, traceback.format_exc())
            queue.finish(self.db, job.id, self.id, "failed", error=f"{type(exc).__name__}: {exc}")
            return
        lease.beat_once()
        status = "cancelled" if lease.cancelled else "succeeded"
        queue.finish(self.db, job.id, self.id, status, result=_jsonable(result), artifacts=keys)


def _jsonable(value: Any) -> Any:
    import json
    import math

    def clean(v: Any) -> Any:
        if isinstance(v, float) and not math.isfinite(v):
            return None
        if isinstance(v, dict):
            return {str(k): clean(x) for k, x in v.items()}
        if isinstance(v, list | tuple):
            return [clean(x) for x in v]
        return v

    return clean(json.loads(json.dumps(value, default=str)))


def _settings_for(lake: str | None) -> ServiceSettings:
    settings = get_settings()
    return settings.model_copy(update={"lake": lake}) if lake else settings


def worker_threads(settings: ServiceSettings, count: int, stop: threading.Event) -> list[Any]:
    """Start ``count`` worker threads in this process (each with its own worker id)."""
    threads = []
    for _ in range(count):
        worker = JobWorker(settings)
        thread = threading.Thread(target=worker.run_forever, args=(stop,), daemon=True)
        thread.start()
        threads.append(thread)
    return threads


def _watch_parent(parent: int, stop: threading.Event) -> None:
    """Stop when the process that started us is gone (it may have been SIGKILLed)."""
    while not stop.wait(1.0):
        if os.getppid() != parent:
            stop.set()


def _process_main(settings_json: str, parent: int | None = None) -> None:
    settings = ServiceSettings.model_validate_json(settings_json)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    if parent is not None:
        threading.Thread(target=_watch_parent, args=(parent, stop), daemon=True).start()
    JobWorker(settings).run_forever(stop)


def start_processes(settings: ServiceSettings, count: int) -> list[mp.process.BaseProcess]:
    """Start ``count`` worker processes (spawned, so they share nothing with the caller; not
    daemonic, so a sweep may start its own process pool; they exit when the caller dies)."""
    ctx = mp.get_context("spawn")
    args = (settings.model_dump_json(), os.getpid())
    procs: list[mp.process.BaseProcess] = [
        ctx.Process(target=_process_main, args=args, daemon=False) for _ in range(count)]
    for proc in procs:
        proc.start()
    return procs


def run_worker(lake: str | None = None, concurrency: int = 1) -> None:
    """``tickforge worker``: run ``concurrency`` worker processes until SIGTERM / Ctrl-C."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    settings = _settings_for(lake)
    migrate(settings.database_url)
    if concurrency <= 1:
        _process_main(settings.model_dump_json())
        return
    procs = start_processes(settings, concurrency)
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    try:
        while not stopping.wait(1.0) and any(p.is_alive() for p in procs):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.join(10)
