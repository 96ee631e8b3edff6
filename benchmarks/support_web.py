"""The web UI against a real ``tickforge serve``, for benchmarks and tests: the built bundle,
a synthetic lake, the server subprocess on a free port (temp lake, SQLite DB, one embedded
worker) with one user's key, and Debian's headless Chromium settings for Playwright.

Plain Python, no pytest: ``benchmarks/bench_web.py`` imports it as ``support_web`` (its
folder is on ``sys.path``), ``tests/web/conftest.py`` as ``benchmarks.support_web`` and
builds its fixtures on it.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parents[1]
WEB = REPO / "web"
DIST = WEB / "dist"
CHROMIUM = Path(os.environ.get("TICKFORGE_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SYMBOL = "EURUSD"
TIMEFRAMES = ("1min", "5min", "1h")


@dataclass
class Server:
    url: str
    key: str
    proc: subprocess.Popen[bytes]
    log: Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def ensure_bundle() -> Path:
    """Build web/dist with npm when it is missing or older than the sources."""
    sources = [p for p in (WEB / "src").rglob("*") if p.is_file()] + [WEB / "index.html"]
    newest = max(p.stat().st_mtime for p in sources)
    index = DIST / "index.html"
    if index.exists() and index.stat().st_mtime >= newest:
        return DIST
    npm = shutil.which("npm")
    assert npm, "npm is needed to build the web UI (web/); install Node.js 20+"
    if not (WEB / "node_modules").exists():
        subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=WEB, check=True)
    subprocess.run([npm, "run", "build"], cwd=WEB, check=True)
    return DIST


def synthetic_lake(root: Path, days: int, ticks_per_day: int,
                   timeframes: Sequence[str] = TIMEFRAMES) -> tuple[str, dict[str, int]]:
    """A lake in ``root / "lake"`` with ``days`` of synthetic SYMBOL ticks (HistData files,
    seed 1, from 2024-01-01) and its bars at ``timeframes``; returns (lake, bars written per
    timeframe)."""
    from tickforge.data.bars import materialize_bars
    from tickforge.data.ingest import ingest_files
    from tickforge.data.sources.base import ReadOptions
    from tickforge.data.synth import write_synthetic

    lake = str(root / "lake")
    files = write_synthetic(SYMBOL, date(2024, 1, 1), days, "histdata", root / "raw", seed=1,
                            ticks_per_day=ticks_per_day)
    ingest_files(files, "histdata", ReadOptions(symbol=SYMBOL), lake)
    bars = {tf: int(materialize_bars(lake, SYMBOL, tf)["bars_written"]) for tf in timeframes}
    return lake, bars


def tickforge(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).with_name("tickforge")
    return subprocess.run([str(exe), *args], env=env, capture_output=True, text=True,
                          check=True, timeout=120)


def wait_healthy(url: str, proc: subprocess.Popen[bytes], log: Path, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"tickforge serve exited {proc.returncode}:\n{log.read_text()}")
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"tickforge serve did not become healthy:\n{log.read_text()}")


def start_server(root: Path, lake: str, user: str) -> Server:
    """A real ``tickforge serve`` on a free port (SQLite, the built UI) and one user's key."""
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{root / 'service.db'}",
           "TICKFORGE_LAKE": lake, "TICKFORGE_ARTIFACTS": str(root / "artifacts"),
           "TICKFORGE_WEB_DIST": str(DIST)}
    env.pop("TICKFORGE_DASK_SCHEDULER", None)
    port = free_port()
    # the service applies its migrations at start: start it once so `users create` finds tables
    log = root / "serve.log"
    with log.open("wb") as sink:
        proc = subprocess.Popen(
            [str(Path(sys.executable).with_name("tickforge")), "serve", "--host", "127.0.0.1",
             "--port", str(port), "--lake", lake, "--workers", "1"],
            env=env, cwd=root, stdout=sink, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, proc, log)
        created = tickforge("users", "create", user, "--json", env=env)
    except Exception:
        stop_server(proc)
        raise
    key = json.loads(created.stdout.strip().splitlines()[-1])["api_key"]
    return Server(url=url, key=key, proc=proc, log=log)


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()


def serves_ui(url: str) -> bool:
    try:
        response = httpx.get(f"{url}/", timeout=5)
    except httpx.HTTPError:
        return False
    return response.status_code == 200 and '<div id="root">' in response.text


def route_bundle(context: Any, url: str) -> None:
    """When the service does not (yet) serve web/dist, hand the browser the built files for
    non-API paths on the same origin, with the SPA fallback, so the UI still talks to the real
    API. tests/web/test_bundle.py checks the service's own static serving."""
    index = (DIST / "index.html").read_bytes()

    def handle(route: Any) -> None:
        path = route.request.url[len(url):].split("?")[0]
        if path.startswith(("/v1/", "/health", "/metrics")):
            route.continue_()
            return
        file = DIST / path.lstrip("/")
        if path != "/" and file.is_file():
            kind = {".js": "text/javascript", ".css": "text/css"}.get(file.suffix, "text/plain")
            route.fulfill(status=200, body=file.read_bytes(), content_type=kind)
        else:
            route.fulfill(status=200, body=index, content_type="text/html")

    context.route(f"{url}/**", handle)
