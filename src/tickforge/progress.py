"""Progress callbacks: ``update(done, total)``; total None when unknown."""

from __future__ import annotations

from collections.abc import Callable

ProgressFn = Callable[[float, float | None], None]


def no_progress(done: float, total: float | None) -> None:
    """A progress callback that does nothing."""
