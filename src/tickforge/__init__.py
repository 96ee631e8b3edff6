"""tickforge: raw market data to trustworthy backtests, fast.

Public API (small on purpose)::

    import tickforge as tf
    lake = tf.Lake("lake/")                       # local path or s3://bucket/prefix
    res = tf.backtest(lake.quotes("EURUSD"), "sma_cross", {"fast": 20, "slow": 100})
    sw = tf.sweep(data, "sma_cross", grid={"fast": range(5, 50, 5), "slow": range(20, 200, 10)})
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
__all__ = ["Lake", "TickforgeError", "__version__", "backtest", "sweep", "walk_forward"]

if TYPE_CHECKING:
    from tickforge.data.lake import Lake
    from tickforge.engine.run import backtest
    from tickforge.errors import TickforgeError
    from tickforge.research.sweep import sweep
    from tickforge.research.walkforward import walk_forward

_LAZY = {
    "Lake": "tickforge.data.lake",
    "backtest": "tickforge.engine.run",
    "sweep": "tickforge.research.sweep",
    "walk_forward": "tickforge.research.walkforward",
    "TickforgeError": "tickforge.errors",
}


def __getattr__(name: str) -> Any:
    """Import heavy parts (numba, duckdb) only when first used."""
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'tickforge' has no attribute {name!r}")
