"""Service benchmarks against a real ``tickforge serve`` (uvicorn, one process) on
127.0.0.1, SQLite and PostgreSQL: portfolio reads at 64 concurrent connections, order
placement, job overhead (submit -> results of a 1-day tick backtest with an idle worker).

The load generator is Python (httpx + asyncio), bounded in time and count, and shares the
2 cores with the server, so absolute figures understate a dedicated load tool. The
"peer" is ``GET /health`` (one ``SELECT 1``) on the same server in the same run.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.service.conftest import (  # noqa: E402
    REAL_DATA_SAMPLE,
    PgDatabases,
    make_user,
    new_database,
    pg_available,
    service_env,
    start_server,
)


async def load(url: str, key: str, paths: list[str], seconds: float, conns: int,
               method: str = "GET", bodies: Any = None) -> tuple[float, float, int]:
    """(requests/s, p99 ms, errors) of ``conns`` connections looping for ``seconds``."""
    latencies: list[float] = []
    errors = 0
    limits = httpx.Limits(max_connections=conns, max_keepalive_connections=conns)
    headers = {"Authorization": f"Bearer {key}"}
    async with httpx.AsyncClient(base_url=url, headers=headers, limits=limits,
                                 timeout=30) as client:
        stop = time.perf_counter() + seconds

        async def one(worker: int) -> None:
            nonlocal errors
            n = 0
            while time.perf_counter() < stop:
                t = time.perf_counter()
                body = bodies(worker, n) if bodies else None
                r = await client.request(method, paths[n % len(paths)], json=body)
                latencies.append(time.perf_counter() - t)
                errors += r.status_code >= 400
                n += 1

        t0 = time.perf_counter()
        await asyncio.gather(*(one(w) for w in range(conns)))
        elapsed = time.perf_counter() - t0
    return len(latencies) / elapsed, float(np.percentile(latencies, 99) * 1e3), errors


def build_lake(folder: Path) -> str:
    from tickforge.data.bars import materialize_bars
    from tickforge.data.ingest import ingest_files
    from tickforge.data.sources.base import ReadOptions

    lake = folder / "lake"
    ingest_files([REAL_DATA_SAMPLE], "histdata", ReadOptions(symbol="EURUSD"), str(lake))
    materialize_bars(str(lake), "EURUSD", "1min", None, None)
    return str(lake)


def job_overhead(url: str, key: str) -> float:
    body = {"symbols": ["EURUSD"], "timeframe": "ticks", "strategy": "sma_cross"}
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}) as c:
        c.post("/v1/backtests", json=body)  # warm the worker (imports, numba cache)
        time.sleep(0.5)
        best = []
        for _ in range(3):
            t0 = time.perf_counter()
            job = c.post("/v1/backtests", json=body).json()["id"]
            while c.get(f"/v1/backtests/{job}").json()["status"] not in (
                    "succeeded", "failed", "cancelled"):
                time.sleep(0.01)
            best.append(time.perf_counter() - t0)
    return min(best)


def run_db(kind: str, folder: Path, lake: str, pg: PgDatabases, quick: bool) -> list[dict]:
    env = service_env(new_database(kind, folder, pg), lake, folder / f"art-{kind}",
                      TICKFORGE_WRITE_RATE="100000", TICKFORGE_WRITE_BURST="100000",
                      TICKFORGE_AUTH_CACHE_SECONDS="5", TICKFORGE_HEARTBEAT_SECONDS="2",
                      TICKFORGE_POLL_SECONDS="0.02", TICKFORGE_MAX_CONCURRENT_JOBS="100")
    key = make_user(env, "bench")
    admin = make_user(env, "bench-admin", admin=True)
    srv = start_server(env, workers=1, log=folder / f"server-{kind}.log")
    seconds = 3.0 if quick else 10.0
    try:
        with httpx.Client(base_url=srv.url, headers={"Authorization": f"Bearer {key}"}) as c:
            httpx.put(srv.url + "/v1/feed", json={"start": "2020-01-01T23:00:00Z", "speed": 0},
                      headers={"Authorization": f"Bearer {admin}"})
            acct = c.post("/v1/accounts", json={"name": "b", "cash": 1e9, "leverage": 10,
                                                "max_position": 1e12}).json()["id"]
            c.post(f"/v1/accounts/{acct}/orders", json={"client_order_id": "seed",
                   "symbol": "EURUSD", "side": "buy", "quantity": 1000})
        path = [f"/v1/accounts/{acct}/portfolio"]
        health_rps, health_p99, _ = asyncio.run(load(srv.url, key, ["/health"], seconds, 64))
        rps, p99, errs = asyncio.run(load(srv.url, key, path, seconds, 64))
        tag = f"{time.time_ns()}"

        def order(worker: int, n: int) -> dict[str, Any]:
            return {"client_order_id": f"{tag}-{worker}-{n}", "symbol": "EURUSD",
                    "side": "buy" if n % 2 else "sell", "quantity": 1000}

        orders_ps, order_p99, order_errs = asyncio.run(load(
            srv.url, key, [f"/v1/accounts/{acct}/orders"], seconds, 16, "POST", order))
        overhead = job_overhead(srv.url, key)
    finally:
        srv.stop()
    area = "service"
    return [
        {"area": area, "name": f"portfolio GET, 64 conns ({kind})", "value": rps,
         "unit": "req/s", "peer": "GET /health same server", "peer_value": health_rps,
         "ratio": rps / health_rps, "target": ">= 1000 req/s, p99 < 25 ms",
         "ok": rps >= 1000 and p99 < 25 and errs == 0,
         "note": f"p99 {p99:.1f} ms (health p99 {health_p99:.1f} ms), errors {errs}"},
        {"area": area, "name": f"order placement, 16 conns ({kind})", "value": orders_ps,
         "unit": "orders/s", "target": ">= 300 orders/s", "ok": orders_ps >= 300,
         "note": f"p99 {order_p99:.1f} ms, errors {order_errs}"},
        {"area": area, "name": f"job overhead, 1-day tick backtest ({kind})", "value": overhead,
         "unit": "s", "target": "< 1 s submit->results", "ok": overhead < 1.0,
         "note": "best of 3 after one warm-up, idle embedded worker"},
    ]


def run(quick: bool) -> list[dict]:
    rows: list[dict] = []
    pg = PgDatabases()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        lake = build_lake(folder)
        kinds = ["sqlite"] + (["postgresql"] if pg_available() else [])
        try:
            for kind in kinds:
                rows += run_db(kind, folder, lake, pg, quick)
        finally:
            pg.drop_all()
    return rows


if __name__ == "__main__":
    for row in run(quick=os.environ.get("QUICK", "1") == "1"):
        print(row)
