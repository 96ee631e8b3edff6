"""Run every ``benchmarks/bench_*.py`` and write ``BENCHMARKS.md``.

Each module exposes ``run(quick: bool) -> list[dict]``; a row has:
``area, name, value, unit`` and optionally ``peer, peer_value, ratio`` (tickforge / peer,
> 1 means tickforge is faster or better by that factor), ``target`` (text), ``ok`` (bool),
``note``. Peers are measured in the same run: these 2-core machines are noisy, so ratios
matter more than absolute figures.

Each module runs in a fresh process of its own (``--module``), so one module's memory and
threads (a peer's gigabytes, a Dask cluster) never weigh on the next one's timings.

Usage: ``python benchmarks/run.py [--quick] [--only etl,engine]``.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import platform
import subprocess
import sys
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path

import psutil

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def load(path: Path):  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses and pickling look modules up here
    sys.path.insert(0, str(HERE))
    spec.loader.exec_module(module)
    return module


def fmt(value: object) -> str:
    if isinstance(value, float):
        return f"{value:,.3g}" if abs(value) < 1000 else f"{value:,.0f}"
    return "" if value is None else str(value)


def to_markdown(rows: list[dict], seconds: float, kept: set | None = None) -> str:
    took = f"took {seconds:.0f} s."
    if kept:  # --keep: some areas were not measured by this run
        took = (f"took {seconds:.0f} s for the areas it ran; the rows of "
                f"{', '.join(sorted(kept))} are those of the last run that measured them.")
    head = [
        "# Benchmarks",
        "",
        f"Written by `make bench` on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, "
        f"{psutil.cpu_count()} cores, {psutil.virtual_memory().total / 2**30:.0f} GiB, "
        f"Python {platform.python_version()}; {took}",
        "Peers run in the same process and session; *ratio* = tickforge ÷ peer (throughput) "
        "or peer ÷ tickforge (time), so > 1 is better for tickforge.",
        "",
    ]
    areas: dict[str, list[dict]] = {}
    for row in rows:
        areas.setdefault(row.get("area", "misc"), []).append(row)
    for area, items in areas.items():
        head += [
            f"## {area}",
            "",
            "| benchmark | value | unit | peer | peer value | ratio | target | ok | note |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for r in items:
            ok = {True: "yes", False: "**no**"}.get(r.get("ok"), "")  # type: ignore[call-overload]
            cells = [
                r.get("name"),
                fmt(r.get("value")),
                r.get("unit"),
                r.get("peer"),
                fmt(r.get("peer_value")),
                fmt(r.get("ratio")),
                r.get("target"),
                ok,
                r.get("note"),
            ]
            head.append("| " + " | ".join(fmt(c) for c in cells) + " |")
        head.append("")
    return "\n".join(head) + "\n"


def merge_saved(rows: list[dict], saved: Path, ran: set) -> list[dict]:
    """Rows of this run plus the last saved rows of the modules that did not run."""
    kept = []
    for file in sorted(saved.glob("bench_*.json")):
        old = json.loads(file.read_text())
        if not any(r.get("area") in ran for r in old):
            kept += old
    return kept + rows


def failed_row(path: Path, why: str) -> dict:
    return {"area": path.stem, "name": "(failed)", "note": f"{why}; see make bench output"}


def run_module(path: Path, quick: bool, out: Path) -> list[dict]:
    """``path``'s rows, computed in a child process (``--module``) that writes them to ``out``."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "--module", str(path), "--json",
           str(out)] + (["--quick"] if quick else [])
    out.unlink(missing_ok=True)
    code = subprocess.call(cmd)
    if code != 0 or not out.exists():
        return [failed_row(path, f"benchmark exited with {code}")]
    return list(json.loads(out.read_text()))


def module_main(path: Path, quick: bool, out: Path) -> int:
    """Child process: run one module and write its rows as JSON."""
    try:
        got = load(path).run(quick=quick)
    except Exception:
        traceback.print_exc()
        got = [failed_row(path, "benchmark raised")]
    out.write_text(json.dumps(got, default=str))
    return 0


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    parser.add_argument(
        "--only", default="", help="comma-separated module suffixes, e.g. etl,engine"
    )
    parser.add_argument("--out", default=str(ROOT / "BENCHMARKS.md"))
    parser.add_argument("--keep", action="store_true",
                        help="with --only: keep the last saved rows of the modules not run now")
    parser.add_argument("--module", default="", help=argparse.SUPPRESS)  # child process
    parser.add_argument("--json", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.module:
        return module_main(Path(args.module), args.quick, Path(args.json))
    saved = ROOT / "bench-output"
    saved.mkdir(exist_ok=True)
    only = {s for s in args.only.split(",") if s}
    rows: list[dict] = []
    t0 = time.perf_counter()
    for path in sorted(HERE.glob("bench_*.py")):
        if only and path.stem.removeprefix("bench_") not in only:
            continue
        print(f"== {path.stem}", flush=True)
        got = run_module(path, args.quick, saved / f"{path.stem}.rows.tmp")
        for row in got:
            print("  ", json.dumps(row, default=str), flush=True)
        (saved / f"{path.stem}.json").write_text(json.dumps(got, default=str))
        rows += got
    ran = {r.get("area") for r in rows}
    if args.keep:
        rows = merge_saved(rows, saved, ran=ran)
    kept = {r.get("area") for r in rows} - ran
    Path(args.out).write_text(to_markdown(rows, time.perf_counter() - t0, kept))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
