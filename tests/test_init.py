"""Package import: compiled kernels are cached per version of the kernel sources."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import tickforge


def cache_dir_of_fresh_import(env: dict[str, str]) -> str:
    code = ("import os, tickforge, numba; "
            "print(os.environ['NUMBA_CACHE_DIR'], numba.config.CACHE_DIR)")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True).stdout.split()
    assert out[0] == out[1]  # numba reads the folder tickforge chose
    return out[0]


def test_kernel_cache_folder_is_named_after_the_kernel_sources(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_CACHE_DIR"}
    env["XDG_CACHE_HOME"] = str(tmp_path)
    digest = hashlib.sha256()
    for path in sorted(Path(tickforge.__file__).parent.rglob("*nb.py")):
        digest.update(path.name.encode() + path.read_bytes())
    expected = tmp_path / "tickforge" / "numba" / digest.hexdigest()[:16]
    assert cache_dir_of_fresh_import(env) == str(expected)


def test_an_explicit_numba_cache_dir_wins(tmp_path: Path) -> None:
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path / "mine"))
    assert cache_dir_of_fresh_import(env) == str(tmp_path / "mine")


def test_caches_of_other_kernel_versions_are_pruned_when_stale(tmp_path: Path) -> None:
    root = tmp_path / "tickforge" / "numba"
    stale, recent = root / "0000000000000000", root / "1111111111111111"
    for folder in (stale, recent):
        folder.mkdir(parents=True)
    os.utime(stale, (1.0, 1.0))  # 1970
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_CACHE_DIR"}
    env["XDG_CACHE_HOME"] = str(tmp_path)
    cache_dir_of_fresh_import(env)
    assert not stale.exists() and recent.exists()
