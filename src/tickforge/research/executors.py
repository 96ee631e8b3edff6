"""Where the batches of a sweep run: local processes or a Dask distributed cluster.

A sweep is cut into batches of parameter sets. Each batch runs ``task(data, batch) -> rows``
in a worker; ``task`` must be a picklable module-level function and *pure* (same input, same
rows), so a batch lost with a worker can simply be run again elsewhere.

Data reaches workers once, never per batch and never through a Dask scheduler:

* a :class:`DataRef` with a ``lake`` URI: each worker process reads the lake itself
  (local path or ``s3://``) and keeps the table in a per-process cache;
* an in-memory table (``DataRef.inline``): shipped once per worker, by the process-pool
  initializer locally, or scattered (broadcast, client to workers directly) on Dask.

Each batch runs numba on one thread in worker processes (a process per core locally; on Dask
one task per worker thread), so workers scale without oversubscribing cores. Results come
back in batch order, so the table is identical whichever executor ran it.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from tickforge.errors import ConfigError
from tickforge.progress import ProgressFn, no_progress

Rows = list[dict[str, Any]]
Batch = list[dict[str, Any]]
Task = Callable[[Any, Batch], Rows]

SCHEDULER_ENV = "TICKFORGE_DASK_SCHEDULER"


@dataclass(frozen=True)
class DataRef:
    """How a worker obtains the data of a sweep (cheap to pickle unless ``inline``)."""

    key: str
    lake: str | None = None
    symbols: tuple[str, ...] = ()
    timeframe: str = "1min"
    start: datetime | None = None
    end: datetime | None = None
    inline: Any = field(default=None, compare=False, repr=False)

    def without_payload(self) -> DataRef:
        return DataRef(self.key, self.lake, self.symbols, self.timeframe, self.start, self.end)


_CACHE: dict[str, Any] = {}
_LOADS = [0]  # data sets this process has loaded (lake reads or payloads taken in)


def data_loads() -> int:
    """How many times this process has loaded a sweep's data (1 per worker and sweep)."""
    return _LOADS[0]


def resolve_data(ref: DataRef, payload: Any = None) -> Any:
    """The data of ``ref`` in this process: cached; loaded from the lake on first use."""
    if ref.key in _CACHE:
        return _CACHE[ref.key]
    if payload is None and ref.inline is not None:
        payload = ref.inline
    if payload is None:
        if ref.lake is None:
            raise ConfigError("the sweep has neither data nor a lake URI", field="lake",
                              hint="pass a table or set --lake / TICKFORGE_LAKE")
        from tickforge.engine.data import lake_frame

        payload = lake_frame(ref.lake, ref.symbols, ref.timeframe, ref.start, ref.end)
    _CACHE.clear()  # one sweep's data per worker at a time: memory stays bounded
    _CACHE[ref.key] = payload
    _LOADS[0] += 1
    return payload


def run_batch(task: Task, ref: DataRef, payload: Any, batch: Batch) -> Rows:
    """Executed in a worker: the only function shipped with each batch."""
    return task(resolve_data(ref, payload), batch)


def run_batch_single_threaded(task: Task, ref: DataRef, payload: Any, batch: Batch) -> Rows:
    """``run_batch`` on one core: a Dask worker runs one task per worker thread, so numba's
    parallel kernels must not spread a task over the other cores (threads are per calling
    thread in numba: set in the task's own thread)."""
    import numba

    numba.set_num_threads(1)
    return run_batch(task, ref, payload, batch)


def _init_worker(ref: DataRef, payload: Any) -> None:
    import numba

    numba.set_num_threads(1)  # one process per core already: no nested parallelism
    resolve_data(ref, payload)


class Executor(Protocol):
    @property
    def workers(self) -> int:
        """How many tasks can run at once."""
        ...

    def map(self, task: Task, ref: DataRef, batches: Sequence[Batch],
            progress: ProgressFn = no_progress) -> list[Rows]:
        """Run ``task`` on every batch; results in batch order."""
        ...


def _report(progress: ProgressFn, done: int, total: int) -> None:
    progress(float(done), float(total))


class InlineExecutor:
    """Runs batches in this process (numba kernels still use every core via prange)."""

    workers = 1

    def map(self, task: Task, ref: DataRef, batches: Sequence[Batch],
            progress: ProgressFn = no_progress) -> list[Rows]:
        data = ref.inline if ref.inline is not None else resolve_data(ref)
        total, done, out = sum(len(b) for b in batches), 0, []
        for batch in batches:
            out.append(task(data, batch))
            done += len(batch)
            _report(progress, done, total)
        return out


class LocalExecutor:
    """A pool of local processes (default: one per core); data loaded once per process."""

    def __init__(self, workers: int | None = None) -> None:
        self.workers = max(1, workers or os.cpu_count() or 1)

    def map(self, task: Task, ref: DataRef, batches: Sequence[Batch],
            progress: ProgressFn = no_progress) -> list[Rows]:
        if self.workers == 1 or len(batches) <= 1:
            return InlineExecutor().map(task, ref, batches, progress)
        bare = ref.without_payload()
        total, done = sum(len(b) for b in batches), 0
        results: list[Rows | None] = [None] * len(batches)
        # forkserver: forking a process whose numba kernels started OpenMP threads is unsafe
        with ProcessPoolExecutor(max_workers=min(self.workers, len(batches)),
                                 mp_context=multiprocessing.get_context("forkserver"),
                                 initializer=_init_worker, initargs=(bare, ref.inline)) as pool:
            futures = {pool.submit(run_batch, task, bare, None, b): i
                       for i, b in enumerate(batches)}
            for fut in as_completed(futures):
                index = futures[fut]
                results[index] = fut.result()
                done += len(batches[index])
                _report(progress, done, total)
        return [r for r in results if r is not None]


class DaskExecutor:
    """A Dask distributed cluster (``tcp://host:8786`` or env ``TICKFORGE_DASK_SCHEDULER``).

    Tasks are pure with deterministic keys: when a worker dies the scheduler reruns only the
    batches it held; the sweep still returns every row."""

    def __init__(self, address: str | None = None, timeout: float = 30.0) -> None:
        self.address = address or os.environ.get(SCHEDULER_ENV)
        if not self.address:
            raise ConfigError("no Dask scheduler address", field="scheduler",
                              hint=f"pass tcp://HOST:8786 or set {SCHEDULER_ENV}")
        self.timeout = timeout

    @property
    def workers(self) -> int:
        """Worker threads of the cluster (tasks that can run at once), at least 1."""
        with self._client() as client:
            info = client.scheduler_info(n_workers=-1)["workers"]
            return max(1, sum(int(w.get("nthreads", 1)) for w in info.values()))

    def _client(self) -> Any:
        from distributed import Client

        try:
            return Client(self.address, timeout=self.timeout)
        except OSError as exc:
            raise ConfigError(f"cannot reach Dask scheduler {self.address}: {exc}",
                              field="scheduler", hint="is `dask scheduler` running there?") from exc

    def map(self, task: Task, ref: DataRef, batches: Sequence[Batch],
            progress: ProgressFn = no_progress) -> list[Rows]:
        from distributed import as_completed as dask_completed

        bare = ref.without_payload()
        total, done = sum(len(b) for b in batches), 0
        with self._client() as client:
            payload = None
            if ref.inline is not None:  # client -> workers directly, one copy each
                payload = client.scatter(ref.inline, broadcast=True, direct=True, hash=True)
            prefix = task_token(task, bare, payload)
            futures = [client.submit(run_batch_single_threaded, task, bare, payload, b,
                                     key=batch_key(prefix, b), retries=2) for b in batches]
            index: dict[str, list[int]] = {}
            for i, fut in enumerate(futures):  # equal batches share a key
                index.setdefault(fut.key, []).append(i)
            results: list[Rows | None] = [None] * len(batches)
            for fut in dask_completed(futures):
                i = index[fut.key].pop()
                results[i] = fut.result()
                done += len(batches[i])
                _report(progress, done, total)
        return [r for r in results if r is not None]


def task_token(task: Task, ref: DataRef, payload: Any) -> str:
    """What every batch of one ``map`` shares, as a short hash: the task (a function or a
    ``functools.partial`` of one, with its arguments), the data reference and the payload's
    key. Dask's ``pure=True`` would tokenize each batch's parameter dicts instead, one by
    one in Python: about 0.4 s for 10,000 sets, before the first task could start."""
    from dask.base import tokenize

    return tokenize(task, repr(ref), getattr(payload, "key", None))


def batch_key(prefix: str, batch: Batch) -> str:
    """A deterministic key of one batch: equal batches of one task and data share it (Dask
    then runs them once), and a batch rerun after a lost worker keeps it. Named like
    Dask's own keys (``function-token``), so dashboards group the sweep's tasks."""
    digest = hashlib.sha1(prefix.encode() + json.dumps(batch, sort_keys=True,
                                                       default=repr).encode())
    return f"run_batch-{digest.hexdigest()}"


def make_executor(scheduler: str | None = None, workers: int | None = None) -> Executor:
    """Dask when a scheduler is given (or in the environment), else local processes."""
    address = scheduler or os.environ.get(SCHEDULER_ENV)
    if address:
        return DaskExecutor(address)
    return LocalExecutor(workers)
