"""How a sweep's parameter sets are cut into tasks."""

from __future__ import annotations

import pytest

from tickforge.research.sweep import MAX_BATCH, MIN_BATCH, _batches


@pytest.mark.parametrize("n,workers", [(10_000, 2), (1_000, 2), (100, 3), (5, 2), (50_000, 8)])
def test_guided_batches_cover_the_sets_in_order_and_shrink(n: int, workers: int) -> None:
    sets = [{"k": i} for i in range(n)]
    batches = _batches(sets, workers)  # type: ignore[arg-type]
    assert [s for b in batches for s in b] == sets
    sizes = [len(b) for b in batches]
    assert sizes == sorted(sizes, reverse=True)  # big tasks first, small ones last
    assert max(sizes) <= MAX_BATCH and all(x >= MIN_BATCH for x in sizes[:-1])
    if n >= 1_000:  # the last task is a small part of a worker's share
        assert sizes[-1] <= MIN_BATCH and len(batches) > 4 * workers


def test_one_worker_gets_four_equal_batches() -> None:
    sets = [{"k": i} for i in range(1_000)]
    assert [len(b) for b in _batches(sets, 1)] == [250] * 4  # type: ignore[arg-type]
