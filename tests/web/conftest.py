"""End-to-end fixtures: a real ``tickforge serve`` on a free port (temp lake, SQLite DB,
one embedded worker), the built web bundle, and Debian's headless Chromium via Playwright."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest

REPO = Path(__file__).resolve().parents[2]
WEB = REPO / "web"
DIST = WEB / "dist"
OUT = REPO / "test-output" / "web"
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


@dataclass
class Browser:
    page: Any
    console_errors: list[str] = field(default_factory=list)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def ensure_chromium() -> Path:
    if not CHROMIUM.exists():
        subprocess.run(["sh", str(REPO / "scripts" / "ensure-chromium.sh")], check=False)
    if not CHROMIUM.exists():
        pytest.skip(f"Chromium is not installed at {CHROMIUM} and could not be installed "
                    "(scripts/ensure-chromium.sh needs apt-get and root)")
    return CHROMIUM


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


def build_lake(root: Path) -> str:
    from tickforge.data.bars import materialize_bars
    from tickforge.data.ingest import ingest_files
    from tickforge.data.sources.base import ReadOptions
    from tickforge.data.synth import write_synthetic

    lake = str(root / "lake")
    files = write_synthetic(SYMBOL, date(2024, 1, 1), 3, "histdata", root / "raw", seed=1,
                            ticks_per_day=20_000)
    ingest_files(files, "histdata", ReadOptions(symbol=SYMBOL), lake)
    for tf in TIMEFRAMES:
        materialize_bars(lake, SYMBOL, tf)
    return lake


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


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    ensure_bundle()
    root = tmp_path_factory.mktemp("web-e2e")
    started = start_server(root, build_lake(root), "e2e")
    try:
        yield started
    finally:
        stop_server(started.proc)


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    path = ensure_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(path), headless=True,
                                     args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def serves_ui(url: str) -> bool:
    try:
        response = httpx.get(f"{url}/", timeout=5)
    except httpx.HTTPError:
        return False
    return response.status_code == 200 and '<div id="root">' in response.text


def route_bundle(context: Any, url: str) -> None:
    """When the service does not (yet) serve web/dist, hand the browser the built files for
    non-API paths on the same origin, with the SPA fallback, so the UI still talks to the real
    API. test_bundle.py checks the service's own static serving."""
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


def open_page(chromium: Any, server: Server, width: int = 1280, height: int = 800) -> Browser:
    context = chromium.new_context(viewport={"width": width, "height": height})
    if not serves_ui(server.url):
        route_bundle(context, server.url)
    context.set_default_timeout(30_000)
    page = context.new_page()
    out = Browser(page=page)
    page.on("console", lambda m: out.console_errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: out.console_errors.append(str(e)))
    return out


@pytest.fixture()
def browser(chromium: Any, server: Server) -> Iterator[Browser]:
    b = open_page(chromium, server)
    yield b
    b.page.context.close()


def login(b: Browser, server: Server) -> None:
    page = b.page
    page.goto(f"{server.url}/")
    page.get_by_label("API key").fill(server.key)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{server.url}/data")


def shot(b: Browser, name: str) -> Path:
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"{name}.png"
    b.page.screenshot(path=str(path), full_page=True)
    return path
