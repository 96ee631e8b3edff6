"""Task keys of the Dask executor: deterministic, shared by equal batches only."""

from __future__ import annotations

import functools

from tickforge.research.executors import DataRef, batch_key, run_batch, task_token


def _task(base: str, data: object, batch: list[dict[str, object]]) -> list[dict[str, object]]:
    return batch


def test_equal_batches_share_a_key_and_different_ones_do_not() -> None:
    ref = DataRef(key="k", lake="/lake", symbols=("EURUSD",))
    prefix = task_token(functools.partial(_task, "base"), ref, None)
    a = [{"fast": 5, "slow": 20}, {"fast": 5, "slow": 30}]
    assert batch_key(prefix, a) == batch_key(prefix, [dict(reversed(d.items())) for d in a])
    assert batch_key(prefix, a) != batch_key(prefix, a[:1])
    assert batch_key(prefix, a) != batch_key(prefix, [{"fast": 5, "slow": 20.5}, a[1]])


def test_the_key_depends_on_the_task_and_the_data() -> None:
    ref = DataRef(key="k", lake="/lake", symbols=("EURUSD",))
    other = DataRef(key="k2", lake="/lake2", symbols=("EURUSD",))
    base = task_token(functools.partial(_task, "base"), ref, None)
    assert base == task_token(functools.partial(_task, "base"), ref, None)
    assert base != task_token(functools.partial(_task, "other base"), ref, None)
    assert base != task_token(functools.partial(_task, "base"), other, None)
    assert base != task_token(functools.partial(run_batch, "base"), ref, None)
