"""Durable jobs on both databases: a job survives an API restart; a worker SIGKILLed
mid-job loses its lease and another worker completes the job once, with one set of
results; cancellation reaches a running job."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.service.conftest import (
    TICKFORGE,
    PgDatabases,
    Server,
    make_user,
    new_database,
    service_env,
    start_server,
    wait_job,
)

BT = {"symbols": ["EURUSD"], "timeframe": "1min", "strategy": "sma_cross",
      "params": {"fast": 5, "slow": 20}}


@pytest.fixture(params=["sqlite", "postgresql"])
def bare(request: pytest.FixtureRequest, tmp_path: Path, service_lake: str,
         pg_databases: PgDatabases) -> Iterator[Server]:
    """A server without embedded workers; jobs wait 3 s after being claimed."""
    env = service_env(new_database(request.param, tmp_path, pg_databases), service_lake,
                      tmp_path / "artifacts", TICKFORGE_JOB_START_DELAY="3",
                      TICKFORGE_LEASE_SECONDS="2", TICKFORGE_HEARTBEAT_SECONDS="0.3")
    key = make_user(env, "alice")
    srv = start_server(env, workers=0, log=tmp_path / "server.log")
    srv.keys = {"alice": key}
    yield srv
    srv.stop()


def start_worker(srv: Server, log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen([TICKFORGE, "worker"], env=srv.env, stdout=log.open("ab"),
                            stderr=subprocess.STDOUT)


def wait_status(client: httpx.Client, job_id: int, status: str, timeout: float = 90) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = client.get(f"/v1/backtests/{job_id}").json()
        if job["status"] == status:
            return job  # type: ignore[no-any-return]
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} never reached {status}: {job}")


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        proc.wait(15)


def test_sigkill_worker_mid_job_then_another_completes_it_once(bare: Server,
                                                                tmp_path: Path) -> None:
    log = tmp_path / "workers.log"
    with bare.client("alice") as alice:
        job_id = alice.post("/v1/backtests", json=BT).json()["id"]
        # the API restarts: the queued job is a row, so it is still there
        bare.proc.send_signal(signal.SIGKILL)
        bare.proc.wait()
    restarted = start_server(bare.env, workers=0, log=tmp_path / "server2.log")
    restarted.keys, bare.proc = bare.keys, restarted.proc
    with restarted.client("alice") as alice:
        assert alice.get(f"/v1/backtests/{job_id}").json()["status"] == "queued"
        first = start_worker(restarted, log)
        try:
            running = wait_status(alice, job_id, "running")
            assert running["attempts"] == 1
            os.kill(first.pid, signal.SIGKILL)
            first.wait()
        finally:
            stop(first)
        second = start_worker(restarted, log)
        try:
            done = wait_job(alice, f"/v1/backtests/{job_id}")
        finally:
            stop(second)
        assert done["status"] == "succeeded", (done, log.read_text()[-2000:])
        assert done["attempts"] == 2
        trades = alice.get(f"/v1/backtests/{job_id}/trades", params={"limit": 500}).json()
    files = sorted(p.relative_to(tmp_path / "artifacts") for p in
                   (tmp_path / "artifacts").rglob("*") if p.is_file())
    names = [str(f) for f in files]
    assert all(n.startswith(f"jobs/{job_id}/") for n in names), names
    # exactly one file per artifact the job row lists: a rerun overwrote, never added
    expected = {"trades": "trades.parquet", "equity": "equity.parquet",
                "orders": "orders.parquet", "report": "report.html"}
    assert set(done["artifacts"]) >= {"trades", "equity", "orders"}  # type: ignore[arg-type]
    assert names == sorted(f"jobs/{job_id}/{expected[a]}" for a in done["artifacts"])
    assert trades["total"] == done["result"]["trades"]  # type: ignore[index]


def test_cancel_reaches_a_running_job(bare: Server, tmp_path: Path) -> None:
    worker = start_worker(bare, tmp_path / "workers.log")
    try:
        with bare.client("alice") as alice:
            job_id = alice.post("/v1/backtests", json=BT).json()["id"]
            wait_status(alice, job_id, "running")
            asked = alice.delete(f"/v1/backtests/{job_id}")
            assert asked.status_code == 202 and asked.json()["status"] == "running"
            final = wait_job(alice, f"/v1/backtests/{job_id}")
            assert final["status"] == "cancelled"
            assert final["artifacts"] == []
            queued = alice.post("/v1/backtests", json=BT).json()["id"]
            worker_busy_or_not = alice.delete(f"/v1/backtests/{queued}").json()["status"]
            assert worker_busy_or_not in ("cancelled", "running")
    finally:
        stop(worker)
