"""Web UI chart performance: pan a 1-minute candle chart of >= 100,000 bars in headless
Chromium against a real ``tickforge serve`` (GitHub issue "Web UI", Performance: "a chart of
100,000 candles pans without visible lag").

Synthetic lake (one symbol, 1-minute bars), the service started as tests/web does, login with
Playwright, Data page at 1min, zoom out with the mouse wheel to the widest range the chart
allows, then drag from right to left (towards later bars) for a few seconds. In the page:
``requestAnimationFrame`` deltas and PerformanceObserver ``longtask`` entries; in Playwright:
every ``GET /v1/bars`` made while panning, its latency, row count and effective timeframe.
There is no peer: the figure is compared with the target (p95 frame < 50 ms).
Headless Chromium with --disable-gpu rasterises in software on 2 shared cores, so frame
times are an upper bound of what a desktop browser shows.
"""

from __future__ import annotations

import json
import os
import re
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.web.conftest import (  # noqa: E402
    CHROMIUM,
    CHROMIUM_ARGS,
    SYMBOL,
    Server,
    ensure_bundle,
    route_bundle,
    serves_ui,
    start_server,
    stop_server,
)

AREA = "web"
TARGET_MS = 50.0
# ~1,300 one-minute bars per weekday at 8,000 ticks/day; weekends are closed
FULL_DAYS, QUICK_DAYS, TICKS_PER_DAY = 112, 28, 8000
FULL_PAN_S, QUICK_PAN_S = 8.0, 3.0

INSTRUMENT = """
window.__perf = { frames: [], longtasks: [], recording: false };
(() => {
  let last = null;
  const tick = (t) => {
    if (window.__perf.recording && last !== null) window.__perf.frames.push(t - last);
    last = t;
    requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
  try {
    new PerformanceObserver((list) => {
      if (!window.__perf.recording) return;
      for (const e of list.getEntries()) window.__perf.longtasks.push(e.duration);
    }).observe({ type: 'longtask', buffered: false });
  } catch (e) { window.__perf.longtasks = null; }
})();
"""


@dataclass
class PanResult:
    frames: list[float]
    longtasks: list[float] | None
    requests: list[dict[str, Any]] = field(default_factory=list)
    shown: str = ""
    seconds: float = 0.0


def build_lake(root: Path, days: int) -> tuple[str, int]:
    """A lake with 1-minute bars of SYMBOL; returns (lake, number of bars)."""
    from tickforge.data.bars import materialize_bars
    from tickforge.data.ingest import ingest_files
    from tickforge.data.sources.base import ReadOptions
    from tickforge.data.synth import write_synthetic

    lake = str(root / "lake")
    files = write_synthetic(SYMBOL, date(2024, 1, 1), days, "histdata", root / "raw", seed=1,
                            ticks_per_day=TICKS_PER_DAY)
    ingest_files(files, "histdata", ReadOptions(symbol=SYMBOL), lake)
    built = materialize_bars(lake, SYMBOL, "1min")
    return lake, int(built["bars_written"])


def open_data_page(page: Any, service: Server) -> Any:
    """Log in, open the Data page at 1min; returns the chart locator."""
    page.goto(f"{service.url}/")
    page.get_by_label("API key").fill(service.key)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{service.url}/data")
    radio = page.get_by_role("radio", name="1min")
    if radio.get_attribute("aria-checked") != "true":
        radio.click()
    page.get_by_text(re.compile(r"[\d,]+ bars from")).wait_for()
    chart = page.get_by_role("img", name=f"{SYMBOL} 1min candlestick chart with volume")
    chart.locator("canvas").first.wait_for()
    return chart


def zoom_out(page: Any, box: dict[str, float]) -> None:
    """Wheel down over the plot until the chart reaches its minimum bar spacing."""
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 3)
    for _ in range(40):
        page.mouse.wheel(0, 400)
        page.wait_for_timeout(10)
    page.wait_for_timeout(300)


def drag_left(page: Any, box: dict[str, float]) -> None:
    """One drag from near the right edge to near the left edge, ~60 moves."""
    y = box["y"] + box["height"] / 3
    x0, x1 = box["x"] + box["width"] * 0.9, box["x"] + box["width"] * 0.1
    page.mouse.move(x0, y)
    page.mouse.down()
    page.mouse.move(x1, y, steps=60)
    page.mouse.up()


def pan(page: Any, chart: Any, seconds: float, phase: list[str]) -> PanResult:
    box = chart.bounding_box()
    phase[0] = "zoom"
    zoom_out(page, box)
    phase[0] = "pan"
    page.evaluate("window.__perf.recording = true")
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        drag_left(page, box)
    page.evaluate("window.__perf.recording = false")
    took = time.perf_counter() - t0
    page.wait_for_timeout(500)  # let a fetch started by the last drag finish
    phase[0] = "after"
    perf = page.evaluate("window.__perf")
    result = PanResult(frames=perf["frames"], longtasks=perf["longtasks"], seconds=took)
    result.shown = page.get_by_text(re.compile(r"[\d,]+ bars from")).inner_text()
    return result


def describe(request: Any, phase: str) -> dict[str, Any]:
    """Latency (request start -> response end, ms), rows and effective timeframe."""
    response = request.response()
    body = response.json() if response is not None and response.ok else {}
    timing = request.timing
    return {"phase": phase, "ms": timing["responseEnd"] if timing["responseEnd"] >= 0 else None,
            "count": int(body.get("count", 0)), "timeframe": body.get("timeframe"),
            "downsampled": bool(body.get("downsampled"))}


def measure(service: Server, seconds: float) -> PanResult:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                     args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 800})
            if not serves_ui(service.url):
                route_bundle(context, service.url)
            context.set_default_timeout(60_000)
            context.add_init_script(INSTRUMENT)
            page = context.new_page()
            phase, sent = ["open"], []
            page.on("request", lambda r: "/v1/bars" in r.url and sent.append((r, phase[0])))
            chart = open_data_page(page, service)
            result = pan(page, chart, seconds, phase)
            result.requests = [describe(r, p) for r, p in sent]
            return result
        finally:
            browser.close()


def row(name: str, value: float | int | None, unit: str, **extra: Any) -> dict[str, Any]:
    return {"area": AREA, "name": name, "value": value, "unit": unit, **extra}


def frame_rows(result: PanResult, scope: str) -> list[dict[str, Any]]:
    frames = np.asarray(result.frames, dtype=float)
    if frames.size == 0:
        return [row("pan: frames", 0, "frames", ok=False, note="no animation frame recorded")]
    p95 = float(np.percentile(frames, 95))
    fps = frames.size / result.seconds
    return [
        row("pan: frame time p50", float(np.percentile(frames, 50)), "ms",
            note=f"{frames.size} frames in {result.seconds:.1f} s ({fps:.0f} fps); {scope}"),
        row("pan: frame time p95", p95, "ms", target=f"p95 frame < {TARGET_MS:.0f} ms "
            "(no visible lag)", ok=p95 < TARGET_MS, note="headless Chromium, software raster"),
        row("pan: frame time max", float(frames.max()), "ms"),
    ]


def longtask_rows(result: PanResult) -> list[dict[str, Any]]:
    if result.longtasks is None:
        return [row("pan: long tasks", None, "tasks", note="longtask observer unsupported")]
    tasks = result.longtasks
    return [row("pan: long tasks (> 50 ms)", len(tasks), "tasks",
                note=f"total {sum(tasks):.0f} ms, longest {max(tasks, default=0):.0f} ms")]


def by_phase(reqs: list[dict[str, Any]], key: str) -> str:
    phases = ("open", "zoom", "pan", "after")
    return ", ".join(f"{p} {sum(r[key] for r in reqs if r['phase'] == p)}" for p in phases)


def network_rows(result: PanResult) -> list[dict[str, Any]]:
    reqs = [{**r, "n": 1} for r in result.requests]
    ms = [r["ms"] for r in reqs if r["ms"] is not None]
    coarse = sorted({r["timeframe"] for r in reqs if r["downsampled"]})
    note = (f"{sum(r['downsampled'] for r in reqs)} answered downsampled to "
            f"{', '.join(coarse)}" if coarse else "none downsampled")
    return [
        row("1min chart: GET /v1/bars requests", len(reqs), "requests",
            note=f"{by_phase(reqs, 'n')}; {note}"),
        row("1min chart: bars fetched", sum(r["count"] for r in reqs), "bars",
            note=f"{by_phase(reqs, 'count')}; chart afterwards: {result.shown}"),
        row("1min chart: /v1/bars latency p50", float(np.median(ms)) if ms else None, "ms"),
        row("1min chart: /v1/bars latency max", max(ms) if ms else None, "ms"),
    ]


def run(quick: bool) -> list[dict]:
    if not CHROMIUM.exists():
        return [row("pan 100k-candle chart", None, "", ok=None,
                    note=f"skipped: Chromium not found at {CHROMIUM}")]
    ensure_bundle()
    days, seconds = (QUICK_DAYS, QUICK_PAN_S) if quick else (FULL_DAYS, FULL_PAN_S)
    with tempfile.TemporaryDirectory(prefix="bench-web-") as tmp:
        root = Path(tmp)
        lake, n_bars = build_lake(root, days)
        scope = f"lake {n_bars:,} 1min bars" + (" (quick: fewer than 100,000)" if quick else "")
        service = start_server(root, lake, "bench")
        try:
            result = measure(service, seconds)
        finally:
            stop_server(service.proc)
    rows = [row("lake: 1min bars", n_bars, "bars", note=scope)]
    return rows + frame_rows(result, scope) + longtask_rows(result) + network_rows(result)


if __name__ == "__main__":
    for r in run(quick=os.environ.get("QUICK", "1") == "1"):
        print(json.dumps(r, default=str))
