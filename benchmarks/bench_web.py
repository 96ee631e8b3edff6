"""Web UI chart performance: pan a 1-minute candle chart of >= 100,000 bars in headless
Chromium against a real ``tickforge serve`` (GitHub issue "Web UI", Performance: "a chart of
100,000 candles pans without visible lag").

Synthetic lake (one symbol, 1-minute bars), the service started as tests/web does, login with
Playwright, Data page at 1min, then four phases: zoom out with the mouse wheel as far as it goes
("zoom out"), drag from right to left (towards later bars) for a few seconds ("pan wide"), zoom
back in until the chart shows raw 1-minute bars ("zoom in"), drag again ("pan raw"). In the
page, per phase: ``requestAnimationFrame`` deltas and PerformanceObserver ``longtask`` entries;
after every wheel batch and drag: the bars the chart holds (its ``data-bars``) and whether the
toolbar says "downsampled to ..."; in Playwright: every ``GET /v1/bars``, its latency, row count
and effective timeframe. There is no peer: the figures are compared with the targets (p95 frame
< 50 ms, no long task > 50 ms while panning or zooming).
Headless Chromium with --disable-gpu rasterises in software on 2 shared cores, so frame
times are an upper bound of what a desktop browser shows.
The lake, the server and the Chromium settings come from ``support_web``, as in tests/web.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from support_web import (
    CHROMIUM,
    CHROMIUM_ARGS,
    DIST,
    SYMBOL,
    Server,
    ensure_bundle,
    route_bundle,
    serves_ui,
    start_server,
    stop_server,
    synthetic_lake,
)

AREA = "web"
TARGET_MS = 50.0
# ~1,300 one-minute bars per weekday at 8,000 ticks/day; weekends are closed
FULL_DAYS, QUICK_DAYS, TICKS_PER_DAY = 112, 28, 8000
FULL_PAN_S, QUICK_PAN_S = 8.0, 3.0

PHASES = ("zoom out", "pan wide", "zoom in", "pan raw")
INSTRUMENT = """
window.__perf = { frames: [], longtasks: [], phase: null };
(() => {
  let last = null;
  const tick = (t) => {
    const p = window.__perf.phase;
    if (p !== null && last !== null) window.__perf.frames.push([p, t - last]);
    last = t;
    requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
  try {
    new PerformanceObserver((list) => {
      const p = window.__perf.phase;
      if (p === null) return;
      for (const e of list.getEntries()) window.__perf.longtasks.push([p, e.duration]);
    }).observe({ type: 'longtask', buffered: false });
  } catch (e) { window.__perf.longtasks = null; }
})();
"""
HELD = re.compile(r"([\d,]+) bars")


@dataclass
class PanResult:
    frames: dict[str, list[float]]
    longtasks: dict[str, list[float]] | None
    seconds: dict[str, float]
    held: list[int] = field(default_factory=list)
    coarse: set[str] = field(default_factory=set)
    requests: list[dict[str, Any]] = field(default_factory=list)
    shown: str = ""


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


def wheel(page: Any, box: dict[str, float], dy: int, times: int, probe: Any) -> None:
    """Wheel over the middle of the plot (dy > 0 zooms out), probing the chart now and then."""
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 3)
    for i in range(times):
        page.mouse.wheel(0, dy)
        page.wait_for_timeout(10)
        if i % 5 == 4:
            probe()
    page.wait_for_timeout(300)
    probe()


def drag_left(page: Any, box: dict[str, float]) -> None:
    """One drag from near the right edge to near the left edge, ~60 moves."""
    y = box["y"] + box["height"] / 3
    x0, x1 = box["x"] + box["width"] * 0.9, box["x"] + box["width"] * 0.1
    page.mouse.move(x0, y)
    page.mouse.down()
    page.mouse.move(x1, y, steps=60)
    page.mouse.up()


def drags(page: Any, box: dict[str, float], seconds: float, probe: Any) -> None:
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        drag_left(page, box)
        probe()


class Probe:
    """Reads what the chart holds: bars (``data-bars``) and the "downsampled to" badge."""

    def __init__(self, page: Any, chart: Any, result: PanResult) -> None:
        self.page, self.chart, self.result = page, chart, result

    def __call__(self) -> None:
        self.result.held.append(int(self.chart.get_attribute("data-bars") or 0))
        badge = self.page.get_by_text(re.compile(r"^downsampled to "))
        if badge.count():
            self.result.coarse.add(badge.first.inner_text().removeprefix("downsampled to "))

    def downsampled(self) -> bool:
        return bool(self.page.get_by_text(re.compile(r"^downsampled to ")).count())


def zoom_in_to_raw(page: Any, box: dict[str, float], probe: Probe) -> None:
    """Wheel up in small batches until the badge is gone (raw bars), at most ~80 notches."""
    for _ in range(16):
        wheel(page, box, -400, 5, probe)
        page.wait_for_timeout(300)  # let a fetch for finer bars land
        if not probe.downsampled():
            wheel(page, box, -400, 5, probe)  # and a little closer
            return


def zoom_out(page: Any, box: dict[str, float], probe: Probe) -> None:
    """Wheel down in batches (40 notches) with pauses, as a person zooming out would, so the
    coarser windows asked for on the way land before the next batch."""
    for _ in range(8):
        wheel(page, box, 400, 5, probe)


def pan(page: Any, chart: Any, seconds: float, phase: list[str]) -> PanResult:
    box = chart.bounding_box()
    result = PanResult(frames={}, longtasks={}, seconds={})
    probe = Probe(page, chart, result)
    steps = {
        "zoom out": lambda: zoom_out(page, box, probe),
        "pan wide": lambda: drags(page, box, seconds / 2, probe),
        "zoom in": lambda: zoom_in_to_raw(page, box, probe),
        "pan raw": lambda: drags(page, box, seconds / 2, probe),
    }
    for name, step in steps.items():
        phase[0] = name
        page.evaluate(f"window.__perf.phase = {json.dumps(name)}")
        t0 = time.perf_counter()
        step()
        result.seconds[name] = time.perf_counter() - t0
        page.wait_for_timeout(500)  # let a fetch started by the last move finish, still counted
    page.evaluate("window.__perf.phase = null")
    phase[0] = "after"
    perf = page.evaluate("window.__perf")
    for p, dt in perf["frames"]:
        result.frames.setdefault(p, []).append(dt)
    if perf["longtasks"] is None:
        result.longtasks = None
    else:
        for p, d in perf["longtasks"]:
            result.longtasks.setdefault(p, []).append(d)  # type: ignore[union-attr]
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
            phase: list[str] = ["open"]
            sent: list[tuple[Any, str]] = []

            def record(request: Any) -> None:
                if "/v1/bars" in request.url:
                    sent.append((request, phase[0]))

            page.on("request", record)
            chart = open_data_page(page, service)
            result = pan(page, chart, seconds, phase)
            result.requests = [describe(r, p) for r, p in sent]
            return result
        finally:
            browser.close()


def row(name: str, value: float | int | None, unit: str, **extra: Any) -> dict[str, Any]:
    return {"area": AREA, "name": name, "value": value, "unit": unit, **extra}


def bundle_row() -> dict[str, Any]:
    """JavaScript of the first load (the scripts index.html names), gzipped at level 9."""
    import gzip

    dist = DIST
    files = re.findall(r'(?:src|href)="/?(assets/[^"]+\.js)"', (dist / "index.html").read_text())
    size = sum(len(gzip.compress((dist / f).read_bytes(), 9)) for f in files) / 1024
    total = sum(len(gzip.compress(f.read_bytes(), 9)) for f in dist.glob("assets/*.js")) / 1024
    return row("first load: JavaScript, gzipped", round(size, 1), "KB", target="< 500 KB",
               ok=size < 500, note=f"{len(files)} script(s) in index.html; all chunks "
                                   f"{total:.1f} KB (pages load lazily)")


def frame_rows(result: PanResult, scope: str) -> list[dict[str, Any]]:
    pans = ("pan wide", "pan raw")
    frames = np.asarray([dt for p in pans for dt in result.frames.get(p, [])], dtype=float)
    if frames.size == 0:
        return [row("pan: frames", 0, "frames", ok=False, note="no animation frame recorded")]
    p95 = float(np.percentile(frames, 95))
    seconds = sum(result.seconds[p] for p in pans)
    fps = frames.size / seconds
    return [
        row("pan: frame time p50", float(np.percentile(frames, 50)), "ms",
            note=f"{frames.size} frames in {seconds:.1f} s of dragging ({fps:.0f} fps); {scope}"),
        row("pan: frame time p95", p95, "ms", target=f"p95 frame < {TARGET_MS:.0f} ms "
            "(no visible lag)", ok=p95 < TARGET_MS, note="headless Chromium, software raster"),
        row("pan: frame time max", float(frames.max()), "ms"),
    ]


def longtask_rows(result: PanResult) -> list[dict[str, Any]]:
    if result.longtasks is None:
        return [row("pan/zoom: long tasks", None, "tasks", note="longtask observer unsupported")]
    tasks = [d for p in PHASES for d in result.longtasks.get(p, [])]
    longest = max(tasks, default=0.0)
    per_phase = ", ".join(f"{p} {len(result.longtasks.get(p, []))}"
                          f" (max {max(result.longtasks.get(p, []), default=0):.0f} ms)"
                          for p in PHASES)
    return [
        row("pan/zoom: long tasks (> 50 ms)", len(tasks), "tasks",
            target="none while panning or zooming", ok=not tasks,
            note=f"total {sum(tasks):.0f} ms; {per_phase}"),
        row("pan/zoom: longest task", longest, "ms"),
    ]


def held_rows(result: PanResult) -> list[dict[str, Any]]:
    coarse = ", ".join(sorted(result.coarse)) or "never"
    return [row("chart: bars held (max)", max(result.held, default=0), "bars",
                note=f"sampled after each drag and wheel batch; downsampled to: {coarse}")]


def by_phase(reqs: list[dict[str, Any]], key: str) -> str:
    phases = ("open", *PHASES, "after")
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
        lake, bars = synthetic_lake(root, days, TICKS_PER_DAY, ("1min",))
        n_bars = bars["1min"]
        scope = f"lake {n_bars:,} 1min bars" + (" (quick: fewer than 100,000)" if quick else "")
        service = start_server(root, lake, "bench")
        try:
            result = measure(service, seconds)
        finally:
            stop_server(service.proc)
    rows = [bundle_row(), row("lake: 1min bars", n_bars, "bars", note=scope)]
    return (rows + frame_rows(result, scope) + longtask_rows(result) + held_rows(result)
            + network_rows(result))


if __name__ == "__main__":
    for r in run(quick=os.environ.get("QUICK", "1") == "1"):
        print(json.dumps(r, default=str))
