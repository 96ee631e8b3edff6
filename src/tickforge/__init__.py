"""tickforge: raw market data to trustworthy backtests, fast.

Public API (small on purpose)::

    import tickforge as tf
    lake = tf.Lake("lake/")                       # local path or s3://bucket/prefix
    res = tf.backtest(lake.quotes("EURUSD"), "sma_cross", {"fast": 20, "slow": 100})
    sw = tf.sweep(data, "sma_cross", grid={"fast": range(5, 50, 5), "slow": range(20, 200, 10)})
"""

from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path
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


def _kernel_cache_dir() -> None:
    """Compiled kernels are cached (``cache=True``) in a folder named after a hash of every
    kernel module's source: numba checks only a function's own file, so a kernel calling
    ``engine/nb.py`` would otherwise keep a stale copy of it after ``nb.py`` changes.
    ``NUMBA_CACHE_DIR``, when set, wins."""
    if os.environ.get("NUMBA_CACHE_DIR"):
        return
    digest = hashlib.sha256()
    for path in sorted(Path(__file__).parent.rglob("*nb.py")):
        digest.update(path.name.encode() + path.read_bytes())
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    root = base / "tickforge" / "numba"
    folder = str(root / digest.hexdigest()[:16])
    _prune_kernel_caches(root, keep=Path(folder))
    if "numba" in sys.modules:  # already configured: set it before any kernel is defined
        sys.modules["numba"].config.CACHE_DIR = folder
    else:
        os.environ["NUMBA_CACHE_DIR"] = folder


def _prune_kernel_caches(root: Path, keep: Path, days: float = 14.0) -> None:
    """Drop caches of other kernel versions untouched for ``days`` (best effort)."""
    import shutil
    import time

    try:
        old = [p for p in root.iterdir()
               if p != keep and time.time() - p.stat().st_mtime > days * 86_400]
    except OSError:
        return
    for path in old:
        shutil.rmtree(path, ignore_errors=True)


_kernel_cache_dir()


def __getattr__(name: str) -> Any:
    """Import heavy parts (numba, duckdb) only when first used."""
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'tickforge' has no attribute {name!r}")
