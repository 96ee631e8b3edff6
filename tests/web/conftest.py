"""End-to-end fixtures: a real ``tickforge serve`` on a free port (temp lake, SQLite DB,
one embedded worker), the built web bundle, and Debian's headless Chromium via Playwright.
The plain helpers (server, bundle, lake, Chromium settings) live in
``benchmarks/support_web.py``, shared with the web benchmark; the names tests import from
here are re-exported."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from benchmarks.support_web import (
    CHROMIUM,
    CHROMIUM_ARGS,
    DIST,
    REPO,
    SYMBOL,
    Server,
    ensure_bundle,
    route_bundle,
    serves_ui,
    start_server,
    stop_server,
    synthetic_lake,
)

__all__ = ["DIST", "SYMBOL", "Browser", "Server", "login", "open_page", "serves_ui", "shot"]

OUT = REPO / "test-output" / "web"


@dataclass
class Browser:
    page: Any
    console_errors: list[str] = field(default_factory=list)


def ensure_chromium() -> Path:
    if not CHROMIUM.exists():
        subprocess.run(["sh", str(REPO / "scripts" / "ensure-chromium.sh")], check=False)
    if not CHROMIUM.exists():
        pytest.skip(f"Chromium is not installed at {CHROMIUM} and could not be installed "
                    "(scripts/ensure-chromium.sh needs apt-get and root)")
    return CHROMIUM


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    ensure_bundle()
    root = tmp_path_factory.mktemp("web-e2e")
    lake, _ = synthetic_lake(root, days=3, ticks_per_day=20_000)
    started = start_server(root, lake, "e2e")
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
