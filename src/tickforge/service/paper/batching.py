"""Group commit for writes to one account.

Concurrent writes to the same account serialise on its lock anyway, so each would pay
``BEGIN``, the lock, the matching of resting orders and a durable ``COMMIT`` (an fsync on
PostgreSQL) on its own. Here the first request of an account becomes the *leader*: it
takes every request queued for that account so far and runs them, in arrival order, in
ONE locked transaction; the others wait for their result. Requests arriving meanwhile form
the next batch, led by the first of them.

Each work item must raise its expected errors (``Problem``: risk rejections, 404, 409)
before it changes anything, so such an error is that request's answer and the batch goes
on. Any other error rolls the batch back and every item is rerun alone, so one bad
request never fails its neighbours. Answers are released only after the commit.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from tickforge.service.problems import Problem

T = TypeVar("T")
Runner = Callable[[list[Callable[..., Any]]], list[tuple[bool, Any]]]


class Pending(Generic[T]):
    def __init__(self, work: Callable[..., T]) -> None:
        self.work = work
        self.done = threading.Event()
        self.lead = False
        self.ok = False
        self.value: Any = None

    def finish(self, ok: bool, value: Any) -> None:
        self.ok, self.value = ok, value
        self.done.set()

    def result(self) -> T:
        if not self.ok:
            raise self.value
        result: T = self.value
        return result


class Combiner:
    """Per-key batches of work items, run by ``run_batch`` (see the module docstring)."""

    def __init__(self, max_batch: int = 64) -> None:
        self.max_batch = max_batch
        self._lock = threading.Lock()
        self._queues: dict[Any, list[Pending[Any]]] = {}
        self._busy: set[Any] = set()

    def submit(self, key: Any, work: Callable[..., T], run_batch: Runner,
               run_one: Callable[[Callable[..., T]], T]) -> T:
        mine: Pending[T] = Pending(work)
        with self._lock:
            self._queues.setdefault(key, []).append(mine)
            leader = key not in self._busy
            if leader:
                self._busy.add(key)
        if not leader:
            mine.done.wait()
            if not mine.lead:
                return mine.result()
        self._lead(key, run_batch, run_one)
        return mine.result()

    def _lead(self, key: Any, run_batch: Runner, run_one: Callable[[Any], Any]) -> None:
        with self._lock:
            queue = self._queues.get(key, [])
            batch, rest = queue[:self.max_batch], queue[self.max_batch:]
            self._queues[key] = rest
        try:
            outcomes = run_batch([p.work for p in batch])
        except Exception:  # rerun one by one: only the guilty item fails
            outcomes = [_alone(run_one, p.work) for p in batch]
        for pending, (ok, value) in zip(batch, outcomes, strict=True):
            pending.finish(ok, value)
        self._hand_over(key)

    def _hand_over(self, key: Any) -> None:
        with self._lock:
            queue = self._queues.get(key)
            if not queue:
                self._queues.pop(key, None)
                self._busy.discard(key)
                return
            nxt = queue[0]
        nxt.lead = True
        nxt.done.set()


def _alone(run_one: Callable[[Any], Any], work: Any) -> tuple[bool, Any]:
    try:
        return True, run_one(work)
    except Exception as exc:
        return False, exc


def run_items(items: list[Callable[[], Any]]) -> list[tuple[bool, Any]]:
    """Run items in order inside the caller's transaction; a ``Problem`` is that item's
    answer, anything else aborts the batch."""
    out: list[tuple[bool, Any]] = []
    for item in items:
        try:
            out.append((True, item()))
        except Problem as exc:
            out.append((False, exc))
    return out
