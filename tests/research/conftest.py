"""Fixtures for research tests: synthetic minute bars and a real local Dask cluster."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

VENV_BIN = Path(sys.executable).parent


def minute_bars(n: int, seed: int = 0, start: str = "2024-01-01") -> pd.DataFrame:
    """A random-walk OHLC series of ``n`` one-minute bars (deterministic by seed)."""
    rng = np.random.default_rng(seed)
    close = 1.1 * np.exp(np.cumsum(rng.normal(0, 2e-4, n)))
    open_ = np.concatenate([[close[0]], close[:-1]])
    wiggle = np.abs(rng.normal(0, 1e-4, n))
    return pd.DataFrame({
        "ts": pd.date_range(start, periods=n, freq="1min", tz="UTC"),
        "open": open_, "high": np.maximum(open_, close) + wiggle,
        "low": np.minimum(open_, close) - wiggle, "close": close,
        "volume": np.full(n, 1000.0),
    })


@pytest.fixture(scope="session")
def bars() -> pd.DataFrame:
    return minute_bars(6_000, seed=11)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Cluster:
    address: str
    scheduler: subprocess.Popen[bytes]
    workers: list[subprocess.Popen[bytes]]

    def stop(self) -> None:
        for proc in [*self.workers, self.scheduler]:
            if proc.poll() is None:
                proc.terminate()
        for proc in [*self.workers, self.scheduler]:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()


def start_cluster(n_workers: int, log_dir: Path) -> Cluster:
    """A `dask scheduler` and ``n_workers`` `dask worker` processes (no nanny: a killed
    worker stays dead) on 127.0.0.1 with free ports."""
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    dask = str(VENV_BIN / "dask")
    log = (log_dir / "scheduler.log").open("wb")
    scheduler = subprocess.Popen([dask, "scheduler", "--host", "127.0.0.1", "--port", str(port),
                                  "--dashboard-address", f"127.0.0.1:{free_port()}"],
                                 stdout=log, stderr=subprocess.STDOUT)
    workers = []
    for i in range(n_workers):
        wlog = (log_dir / f"worker{i}.log").open("wb")
        workers.append(subprocess.Popen(
            [dask, "worker", address, "--host", "127.0.0.1", "--nthreads", "1", "--no-nanny",
             "--no-dashboard", "--memory-limit", "0", "--name", f"w{i}"],
            stdout=wlog, stderr=subprocess.STDOUT))
    cluster = Cluster(address, scheduler, workers)
    _wait_for_workers(cluster, n_workers)
    return cluster


def _wait_for_workers(cluster: Cluster, n: int, timeout: float = 90.0) -> None:
    from distributed import Client

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with Client(cluster.address, timeout=5) as client:
                client.wait_for_workers(n, timeout=max(deadline - time.monotonic(), 1))
                return
        except (OSError, TimeoutError):
            time.sleep(0.5)
    cluster.stop()
    raise RuntimeError(f"Dask cluster at {cluster.address} did not get {n} workers")


@pytest.fixture()
def dask_cluster(tmp_path: Path) -> Iterator[Cluster]:
    cluster = start_cluster(2, tmp_path)
    try:
        yield cluster
    finally:
        cluster.stop()
