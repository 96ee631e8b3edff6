"""Service benchmarks against a real ``tickforge serve`` (uvicorn, one process) on
127.0.0.1, SQLite and PostgreSQL: portfolio reads at 64 concurrent connections, order
placement, job overhead (submit -> results of a 1-day tick backtest with an idle worker).

The load generator is a separate Python process (raw asyncio streams, HTTP/1.1 keep-alive,
bounded in time and count); it shares the 2 cores with the server, so absolute figures
understate a dedicated load tool. ``wrk`` cross-checks the portfolio figure when it is
installed (skipped otherwise). The "peer" is ``GET /health`` (one ``SELECT 1``) on the same
server in the same run.
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

from support_service import (
    PgDatabases,
    make_user,
    new_database,
    pg_available,
    sample_lake,
    service_env,
    start_server,
)

# ---------------------------------------------------------------- load generator
# Raw asyncio streams, HTTP/1.1 keep-alive, run in its own process (``python
# benchmarks/bench_service.py load ...``) so it does not share an interpreter with the
# server or the harness. Bounded in time and in request count.


def request_bytes(method: str, path: str, key: str, body: bytes | None = None) -> bytes:
    head = (f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Authorization: Bearer {key}\r\nConnection: keep-alive\r\n")
    if body is None:
        return (head + "\r\n").encode()
    head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    return head.encode() + body


async def read_response(reader: asyncio.StreamReader) -> int:
    """Read one response (Content-Length or chunked); returns the status code."""
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    lower = head.lower()
    at = lower.find(b"content-length:")
    if at >= 0:
        size = int(lower[at + 15:lower.index(b"\r\n", at)])
        await reader.readexactly(size)
    elif b"transfer-encoding: chunked" in lower:
        while True:
            size = int((await reader.readuntil(b"\r\n")).strip(), 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    return status


def order_body(tag: str, worker: int, n: int) -> bytes:
    side = "buy" if n % 2 else "sell"
    return (f'{{"client_order_id":"{tag}-{worker}-{n}","symbol":"EURUSD",'
            f'"side":"{side}","quantity":1000}}').encode()


async def _client(port: int, make: Any, stop_at: float, budget: list[int], worker: int,
                  latencies: list[float], errors: list[int], period: float = 0.0) -> None:
    """One connection. Closed loop when ``period`` is 0; else open loop: a request every
    ``period`` seconds, latency counted from its scheduled time (no coordinated omission)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    n = 0
    due = time.perf_counter() + period * (worker % 97) / 97  # spread the connections
    try:
        while time.perf_counter() < stop_at and budget[0] > 0:
            budget[0] -= 1
            t = time.perf_counter()
            if period:
                due += period
                if due > t:
                    await asyncio.sleep(due - t)
                t = due
            writer.write(make(worker, n))
            status = await read_response(reader)
            latencies.append(time.perf_counter() - t)
            errors[0] += status >= 400
            n += 1
    finally:
        writer.close()


async def hammer(port: int, make: Any, seconds: float, conns: int, max_requests: int,
                 rate: float = 0.0) -> dict[str, float]:
    """``conns`` keep-alive connections for ``seconds`` (or the request budget): a closed
    loop, or with ``rate`` > 0 an open loop offering ``rate`` requests/s in total."""
    latencies: list[float] = []
    errors, budget = [0], [max_requests]
    warm = time.perf_counter() + 1.0  # a short warm-up, not measured
    await asyncio.gather(*(_client(port, make, warm, [200], w, [], [0]) for w in range(conns)))
    period = conns / rate if rate > 0 else 0.0
    t0 = time.perf_counter()
    await asyncio.gather(*(_client(port, make, t0 + seconds, budget, w, latencies, errors,
                                   period) for w in range(conns)))
    elapsed = time.perf_counter() - t0
    arr = np.asarray(latencies) * 1e3
    return {"rps": len(arr) / elapsed, "p50": float(np.percentile(arr, 50)),
            "p99": float(np.percentile(arr, 99)), "errors": errors[0], "n": len(arr)}


def load_main(argv: list[str]) -> None:
    """Entry point of the load process: prints one JSON line."""
    import argparse
    import json

    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--path", required=True)
    ap.add_argument("--method", default="GET")
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--conns", type=int, default=64)
    ap.add_argument("--max-requests", type=int, default=200_000)
    ap.add_argument("--rate", type=float, default=0.0)
    args = ap.parse_args(argv)
    tag = f"{time.time_ns()}"
    if args.method == "POST":
        def make(worker: int, n: int) -> bytes:
            return request_bytes("POST", args.path, args.key, order_body(tag, worker, n))
    else:
        fixed = request_bytes(args.method, args.path, args.key)

        def make(worker: int, n: int) -> bytes:
            return fixed
    out = asyncio.run(hammer(args.port, make, args.seconds, args.conns, args.max_requests,
                             args.rate))
    print(json.dumps(out))


def load(url: str, key: str, path: str, seconds: float, conns: int, method: str = "GET",
         rate: float = 0.0) -> dict[str, float]:
    """Run the load generator in a separate process against ``url + path``."""
    import json
    import subprocess

    port = url.rsplit(":", 1)[1]
    done = subprocess.run(
        [sys.executable, __file__, "load", "--port", port, "--key", key, "--path", path,
         "--method", method, "--seconds", str(seconds), "--conns", str(conns),
         "--rate", str(rate)],
        capture_output=True, text=True, timeout=seconds + 120, check=True)
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def wrk_rps(url: str, key: str, path: str, seconds: float, conns: int) -> str:
    """A cross-check with wrk when it is installed ('' otherwise)."""
    import shutil
    import subprocess

    if shutil.which("wrk") is None:
        return ""
    done = subprocess.run(["wrk", "-t1", f"-c{conns}", f"-d{max(1, int(seconds))}s", "--latency",
                           "-H", f"Authorization: Bearer {key}", url + path],
                          capture_output=True, text=True, timeout=seconds + 60, check=False)
    rps = next((ln.split()[1] for ln in done.stdout.splitlines()
                if ln.startswith("Requests/sec")), "?")
    p99 = next((ln.split()[1] for ln in done.stdout.splitlines()
                if ln.strip().startswith("99%")), "?")
    return f"; wrk: {rps} req/s, p99 {p99}"


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


def bench_env(kind: str, folder: Path, lake: str, pg: PgDatabases, **extra: str) -> dict:
    return service_env(new_database(kind, folder, pg), lake, folder / f"art-{kind}",
                       TICKFORGE_WRITE_RATE="100000", TICKFORGE_WRITE_BURST="100000",
                       TICKFORGE_AUTH_CACHE_SECONDS="5", TICKFORGE_HEARTBEAT_SECONDS="2",
                       TICKFORGE_POLL_SECONDS="0.02", TICKFORGE_MAX_CONCURRENT_JOBS="100",
                       **extra)


def seed_account(url: str, key: str, admin: str) -> int:
    """A frozen replay clock and an account holding one EURUSD position."""
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}) as c:
        httpx.put(url + "/v1/feed", json={"start": "2020-01-01T23:00:00Z", "speed": 0},
                  headers={"Authorization": f"Bearer {admin}"})
        acct = int(c.post("/v1/accounts", json={"name": "b", "cash": 1e9, "leverage": 10,
                                                "max_position": 1e12}).json()["id"])
        c.post(f"/v1/accounts/{acct}/orders", json={"client_order_id": "seed",
               "symbol": "EURUSD", "side": "buy", "quantity": 1000})
    return acct


def measure_one_process(kind: str, folder: Path, lake: str, pg: PgDatabases,
                        seconds: float) -> dict[str, Any]:
    env = bench_env(kind, folder, lake, pg)
    key, admin = make_user(env, "bench"), make_user(env, "bench-admin", admin=True)
    srv = start_server(env, workers=1, log=folder / f"server-{kind}.log")
    try:
        acct = seed_account(srv.url, key, admin)
        path = f"/v1/accounts/{acct}/portfolio"
        out = {"health": load(srv.url, key, "/health", seconds, 64),
               "pf": load(srv.url, key, path, seconds, 64),
               "pf_open": load(srv.url, key, path, seconds, 64, rate=1000),
               "wrk": wrk_rps(srv.url, key, path, seconds, 64),
               "orders": load(srv.url, key, f"/v1/accounts/{acct}/orders", seconds, 16,
                              "POST"),
               "overhead": job_overhead(srv.url, key)}
    finally:
        srv.stop()
    return out


def measure_two_processes(kind: str, folder: Path, lake: str, pg: PgDatabases,
                          seconds: float) -> dict[str, Any]:
    env = bench_env(kind, folder, lake, pg, TICKFORGE_HTTP_PROCESSES="2")
    key, admin = make_user(env, "bench"), make_user(env, "bench-admin", admin=True)
    srv = start_server(env, workers=0, log=folder / f"server2-{kind}.log")
    try:
        acct = seed_account(srv.url, key, admin)
        path = f"/v1/accounts/{acct}/portfolio"
        return {"pf": load(srv.url, key, path, seconds, 64),
                "pf_open": load(srv.url, key, path, seconds, 64, rate=1000)}
    finally:
        srv.stop()


def lat(m: dict[str, float]) -> str:
    return f"p50 {m['p50']:.1f} ms, p99 {m['p99']:.1f} ms, errors {m['errors']}"


def open_loop_row(kind: str, procs: int, m: dict[str, float], closed: dict[str, float]) -> dict:
    return {"area": "service", "value": m["rps"], "unit": "req/s",
            "name": f"portfolio GET, 1000 req/s offered, 64 conns, {procs} HTTP proc ({kind})",
            "target": ">= 1000 req/s, p99 < 25 ms",
            "ok": m["rps"] >= 950 and m["p99"] < 25 and m["errors"] == 0,
            "note": f"{lat(m)}; closed loop max {closed['rps']:.0f} req/s ({lat(closed)})"}


def run_db(kind: str, folder: Path, lake: str, pg: PgDatabases, quick: bool) -> list[dict]:
    seconds = 3.0 if quick else 10.0
    one = measure_one_process(kind, folder, lake, pg, seconds)
    two = measure_two_processes(kind, folder, lake, pg, seconds)
    pf, health, orders = one["pf"], one["health"], one["orders"]
    area = "service"
    return [
        {"area": area, "name": f"portfolio GET, closed loop, 64 conns ({kind})",
         "value": pf["rps"], "unit": "req/s", "peer": "GET /health same server",
         "peer_value": health["rps"], "ratio": pf["rps"] / health["rps"],
         "target": "max throughput (p99 = 64 conns / rate by Little's law)",
         "note": f"{lat(pf)} (health {lat(health)}){one['wrk']}"},
        open_loop_row(kind, 1, one["pf_open"], pf),
        open_loop_row(kind, 2, two["pf_open"], two["pf"]),
        {"area": area, "name": f"order placement, 16 conns, one account ({kind})",
         "value": orders["rps"], "unit": "orders/s", "target": ">= 300 orders/s",
         "ok": orders["rps"] >= 300 and orders["errors"] == 0, "note": lat(orders)},
        {"area": area, "name": f"job overhead, 1-day tick backtest ({kind})",
         "value": one["overhead"], "unit": "s", "target": "< 1 s submit->results",
         "ok": one["overhead"] < 1.0, "note": "best of 3 after one warm-up, idle embedded worker"},
    ]


def run(quick: bool) -> list[dict]:
    rows: list[dict] = []
    pg = PgDatabases()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        lake = sample_lake(folder / "lake")
        kinds = ["sqlite"] + (["postgresql"] if pg_available() else [])
        try:
            for kind in kinds:
                rows += run_db(kind, folder, lake, pg, quick)
        finally:
            pg.drop_all()
    return rows


if __name__ == "__main__":
    if sys.argv[1:2] == ["load"]:
        load_main(sys.argv[2:])
        sys.exit(0)
    for row in run(quick=os.environ.get("QUICK", "1") == "1"):
        print(row)
