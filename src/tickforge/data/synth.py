"""Realistic synthetic FX quote ticks, deterministic by seed, and writers in vendor formats.

The model (per UTC minute, in a numba kernel, :func:`tickforge.data.nb.synth_day`):

* **Intraday seasonality**: tick intensity follows a UTC hour profile (Asia quiet,
  London busy from 07:00, London/New York overlap 12:00-16:00 busiest, the 21:00-22:00
  rollover hour quietest); return volatility scales with the square root of intensity.
* **Weekend gap**: the market is closed from Friday 22:00 to Sunday 22:00 UTC (fixed
  UTC hours; real FX moves by one hour with US daylight saving). No ticks then, and the
  first quote after the gap jumps by a random amount that grows with the closed time.
* **Volatility clustering**: a GARCH(1,1) variance ratio ``h`` (mean 1) multiplies
  volatility and, through ``sqrt(h)``, tick intensity.
* **Variable spreads**: a typical spread per symbol (points), wider in quiet hours, much
  wider during the rollover, wider when volatile, with log-normal jitter; >= 1 point.
* **Price grid**: bid and ask are integer multiples of the symbol's point (1e-5 for
  EURUSD, 1e-3 for JPY pairs); float prices are ``points / 10**decimals`` so they print
  and parse back exactly. Timestamps are whole milliseconds (several ticks may share one).
* **Determinism**: day ``d`` draws from a generator seeded by ``(seed, d.toordinal())``
  and continues the price/variance state of the day before, so the output depends only on
  (symbol, start, days, seed, ticks_per_day), and generating day by day or at once is equal.

Formats written by :func:`write_synthetic` (one file per month unless noted):

* ``histdata``: ``DAT_ASCII_{SYM}_T_{YYYYMM}.csv``, rows ``YYYYMMDD HHMMSSfff,bid,ask,0``,
  EST fixed UTC-5 (months are EST months, as HistData ships them), 6 decimals.
* ``truefx``: ``{SYM}-{YYYY}-{MM}.csv``, rows ``EUR/USD,YYYYMMDD HH:MM:SS.fff,bid,ask`` (UTC).
* ``quotes-csv``: ``{SYM}_{YYYY}-{MM}.csv``, header ``timestamp,bid,ask``, rows
  ``YYYY-MM-DD HH:MM:SS.ffffff+00:00,bid,ask``.
* ``dukascopy``: ``{SYM}/{YYYY}/{MM-1:02d}/{DD}/{HH}h_ticks.bi5`` (zero-based month), LZMA
  (``.xz`` "alone" format) of 20-byte big-endian records (ms in hour, ask and bid points,
  ask and bid volume as float32); one file per hour that has ticks.
"""

from __future__ import annotations

import lzma
import math
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pyarrow as pa
from scipy.special import ndtri

from tickforge.data import nb
from tickforge.data.schemas import QUOTES, TS
from tickforge.errors import ConfigError
from tickforge.progress import ProgressFn, no_progress

FORMATS = ("histdata", "truefx", "quotes-csv", "dukascopy")
DEFAULT_TICKS_PER_DAY = 100_000
MS_PER_DAY = 86_400_000
EST_SHIFT_MS = -5 * 3_600_000
GARCH_ALPHA, GARCH_BETA = 0.05, 0.93
TABLE_SIZE = 1 << 16
# Relative tick intensity by UTC hour 0..23.
HOURLY = np.array([0.45, 0.45, 0.5, 0.45, 0.4, 0.4, 0.6, 1.2, 1.5, 1.4, 1.3, 1.3,
                   1.6, 1.9, 2.0, 1.8, 1.3, 0.9, 0.8, 0.7, 0.6, 0.25, 0.35, 0.45])


@dataclass(frozen=True)
class SymbolSpec:
    """Start price, point (price grid), typical liquid-hours spread in points, annual vol."""

    price: float
    point: float
    spread: float
    annual_vol: float

    @property
    def decimals(self) -> int:
        return round(-math.log10(self.point))


SPECS = {
    "EURUSD": SymbolSpec(1.10, 1e-5, 6, 0.07),
    "GBPUSD": SymbolSpec(1.27, 1e-5, 9, 0.08),
    "AUDUSD": SymbolSpec(0.66, 1e-5, 8, 0.09),
    "NZDUSD": SymbolSpec(0.61, 1e-5, 10, 0.09),
    "USDCHF": SymbolSpec(0.88, 1e-5, 10, 0.07),
    "USDCAD": SymbolSpec(1.35, 1e-5, 10, 0.06),
    "EURGBP": SymbolSpec(0.86, 1e-5, 9, 0.05),
    "USDJPY": SymbolSpec(145.0, 1e-3, 8, 0.09),
    "EURJPY": SymbolSpec(160.0, 1e-3, 12, 0.09),
    "GBPJPY": SymbolSpec(185.0, 1e-3, 18, 0.10),
    "XAUUSD": SymbolSpec(2000.0, 1e-3, 250, 0.15),
}


def symbol_spec(symbol: str) -> SymbolSpec:
    """Known symbols, or any 6-letter FX pair (1e-3 point for JPY quotes, else 1e-5)."""
    sym = symbol.upper()
    if sym in SPECS:
        return SPECS[sym]
    if len(sym) == 6 and sym.isalpha():
        jpy = sym.endswith("JPY")
        return SymbolSpec(100.0 if jpy else 1.0, 1e-3 if jpy else 1e-5, 10, 0.08)
    raise ConfigError(f"no synthetic model for symbol '{symbol}'", field="symbol",
                      hint=f"use a 6-letter FX pair such as {', '.join(sorted(SPECS))}")


# ---------------------------------------------------------------- the model


@dataclass(frozen=True)
class Profiles:
    """Per-minute expected ticks on an open weekday, volatility (log units), spread (points)."""

    intensity: np.ndarray
    vol: np.ndarray
    spread: np.ndarray


def minute_profiles(spec: SymbolSpec, ticks_per_day: float) -> Profiles:
    centres = np.arange(24) + 0.5
    hours = (np.arange(nb.MINUTES) + 0.5) / 60
    weight = np.interp(hours, centres, HOURLY, period=24)
    intensity = ticks_per_day * weight / weight.sum()
    sigma = spec.annual_vol / math.sqrt(260 * nb.MINUTES)
    vol = sigma * np.sqrt(weight / weight.mean())
    spread = spec.spread * np.sqrt(weight.mean() / weight)
    spread[21 * 60: 22 * 60 + 5] *= 3.0  # rollover: liquidity providers widen
    return Profiles(intensity, vol, spread)


@cache
def random_tables() -> np.ndarray:
    """65536 equiprobable quantiles of: standard normal, unit exponential, spread jitter
    (log-normal, sigma 0.25) and quote size (log-normal around 1, in 0.01 steps)."""
    u = (np.arange(TABLE_SIZE) + 0.5) / TABLE_SIZE
    normal = ndtri(u)
    sizes = np.maximum(0.01, np.round(np.exp(0.6 * normal), 2))
    tables = np.stack([normal, -np.log1p(-u), np.exp(0.25 * normal), sizes])
    tables.setflags(write=False)
    return tables


def open_minutes(day: date) -> np.ndarray:
    """Trading minutes of a UTC day: closed Friday 22:00 to Sunday 22:00."""
    mask = np.ones(nb.MINUTES, bool)
    weekday = day.weekday()
    if weekday == 4:
        mask[22 * 60:] = False
    elif weekday == 5:
        mask[:] = False
    elif weekday == 6:
        mask[: 22 * 60] = False
    return mask


@dataclass
class DayTicks:
    """One UTC day of synthetic quotes: epoch ms and prices in integer points.

    The arrays are views of buffers that :func:`iter_days` reuses for the next day
    (fresh memory is slow to fault in): copy what you keep.
    """

    day: date
    ms: np.ndarray  # int64 ms since the epoch, UTC
    bid: np.ndarray  # int64 points
    ask: np.ndarray
    bid_size: np.ndarray
    ask_size: np.ndarray


class _DayBuffers:
    def __init__(self, rows: int) -> None:
        self.prices = np.empty((3, rows), np.int64)
        self.sizes = np.empty((2, rows), np.float64)

    def grow(self) -> None:
        self.__init__(2 * self.prices.shape[1])  # type: ignore[misc]


def iter_days(symbol: str, start: date, days: int, seed: int = 42,
              ticks_per_day: float = DEFAULT_TICKS_PER_DAY) -> Iterator[DayTicks]:
    """Day by day (bounded memory); see the module docstring for the model."""
    if days < 1 or ticks_per_day <= 0:
        raise ConfigError("days and ticks_per_day must be positive", field="days")
    spec = symbol_spec(symbol)
    profiles = minute_profiles(spec, ticks_per_day)
    state = np.array([spec.price, 1.0, 0.0])
    scale = float(10**spec.decimals)
    tables, garch = random_tables(), np.array([GARCH_ALPHA, GARCH_BETA])
    buffers = _DayBuffers(int(1.5 * ticks_per_day) + 4096)
    for offset in range(days):
        day = start + timedelta(days=offset)
        minutes = np.stack([profiles.intensity * open_minutes(day), profiles.vol, profiles.spread])
        n = -1
        while n < 0:
            n = nb.synth_day(_day_seed(seed, day), minutes, tables, scale, state, garch,
                             buffers.prices, buffers.sizes)
            if n < 0:
                buffers.grow()
        ms, bid, ask = buffers.prices[:, :n]
        ms += (day - date(1970, 1, 1)).days * MS_PER_DAY
        yield DayTicks(day, ms, bid, ask, buffers.sizes[0, :n], buffers.sizes[1, :n])


def _day_seed(seed: int, day: date) -> int:
    state = np.random.SeedSequence([seed, day.toordinal()]).generate_state(2)
    return (int(state[0]) << 31) ^ int(state[1])  # < 2**63: fits numba's int64


def to_table(ticks: DayTicks, spec: SymbolSpec) -> pa.Table:
    scale = float(10**spec.decimals)
    return pa.table({
        "ts": pa.array(ticks.ms * 1_000_000, pa.int64()).cast(TS),
        "bid": ticks.bid / scale, "ask": ticks.ask / scale,
        "bid_size": ticks.bid_size.copy(), "ask_size": ticks.ask_size.copy(),
    }, schema=QUOTES)


def synth_quotes(symbol: str, start: date, days: int, seed: int = 42,
                 ticks_per_day: float = DEFAULT_TICKS_PER_DAY) -> pa.Table:
    """Synthetic quote ticks (schema ``QUOTES``), deterministic by seed."""
    spec = symbol_spec(symbol)
    tables = [to_table(t, spec) for t in iter_days(symbol, start, days, seed, ticks_per_day)]
    return pa.concat_tables(tables)


# ---------------------------------------------------------------- writers


@dataclass(frozen=True)
class TextLayout:
    style: int  # see nb._stamp_head
    shift_ms: int  # file time zone as a fixed offset from UTC
    decimals: int | None  # printed decimals (None: the symbol's point)
    prefix: bytes
    suffix: bytes
    header: bytes
    name: str  # file name pattern: {sym}, {yyyy}, {mm}


def _layout(fmt: str, symbol: str) -> TextLayout:
    pair = f"{symbol[:3]}/{symbol[3:]}," if len(symbol) == 6 else f"{symbol},"
    layouts = {
        "histdata": TextLayout(0, EST_SHIFT_MS, 6, b"", b",0", b"",
                               "DAT_ASCII_{sym}_T_{yyyy}{mm}.csv"),
        "truefx": TextLayout(1, 0, None, pair.encode(), b"", b"", "{sym}-{yyyy}-{mm}.csv"),
        "quotes-csv": TextLayout(2, 0, None, b"", b"", b"timestamp,bid,ask\n",
                                 "{sym}_{yyyy}-{mm}.csv"),
    }
    return layouts[fmt]


class TextFormatter:
    """Formats rows of one layout into a reused byte buffer."""

    def __init__(self, layout: TextLayout, spec: SymbolSpec) -> None:
        self.layout = layout
        self.decimals = spec.decimals
        self.pad = max(0, (layout.decimals or spec.decimals) - spec.decimals)
        self.affixes = np.frombuffer(layout.prefix + b"\0" + layout.suffix, np.uint8)
        self.out = np.empty(1 << 20, np.uint8)

    def rows(self, local_ms: np.ndarray, bid: np.ndarray, ask: np.ndarray) -> memoryview:
        size = nb.format_quotes(local_ms, bid, ask, self.decimals, self.pad, self.layout.style,
                                self.affixes, self.out)
        if size < 0:
            self.out = np.empty(-size * 5 // 4, np.uint8)
            size = nb.format_quotes(local_ms, bid, ask, self.decimals, self.pad,
                                    self.layout.style, self.affixes, self.out)
        return memoryview(self.out.data)[:size]


class MonthlyFiles:
    """Appends bytes to one file per month; files appear (renamed from ``.part``) when done."""

    def __init__(self, out: Path, layout: TextLayout, symbol: str) -> None:
        self.out, self.layout, self.symbol = out, layout, symbol
        self.current: tuple[Path, Path] | None = None
        self.handle: BinaryIO | None = None
        self.done: list[Path] = []

    def write(self, year: int, month: int, data: memoryview) -> None:
        name = self.layout.name.format(sym=self.symbol, yyyy=f"{year:04d}", mm=f"{month:02d}")
        final = self.out / name
        if self.handle is None or self.current is None or self.current[1] != final:
            self.close()
            part = final.with_name(final.name + ".part")
            self.current = (part, final)
            self.handle = part.open("wb")
            self.handle.write(self.layout.header)
        self.handle.write(data)

    def close(self) -> None:
        if self.current is None or self.handle is None:
            return
        self.handle.close()
        os.replace(*self.current)
        self.done.append(self.current[1])
        self.current, self.handle = None, None


def _month_start_ms(year: int, month: int) -> int:
    return (date(year, month, 1) - date(1970, 1, 1)).days * MS_PER_DAY


def _month_of(ms: int) -> tuple[int, int]:
    day = date(1970, 1, 1) + timedelta(days=ms // MS_PER_DAY)
    return day.year, day.month


def write_text(days: Iterator[DayTicks], layout: TextLayout, spec: SymbolSpec, symbol: str,
               out: Path, progress: ProgressFn) -> list[Path]:
    """Monthly files in the layout's time zone (a UTC day spans at most two local months)."""
    files = MonthlyFiles(out, layout, symbol)
    formatter = TextFormatter(layout, spec)
    try:
        for i, ticks in enumerate(days):
            if ticks.ms.size:
                local = ticks.ms + layout.shift_ms
                last = _month_of(int(local[-1]))
                cut = int(np.searchsorted(local, _month_start_ms(*last)))
                for lo, hi, (y, m) in ((0, cut, _month_of(int(local[0]))), (cut, local.size, last)):
                    if hi > lo:
                        rows = formatter.rows(local[lo:hi], ticks.bid[lo:hi], ticks.ask[lo:hi])
                        files.write(y, m, rows)
            progress(i + 1, None)
    finally:
        files.close()
    return files.done


BI5 = np.dtype([("ms", ">u4"), ("ask", ">u4"), ("bid", ">u4"), ("ask_volume", ">f4"),
                ("bid_volume", ">f4")])


def write_dukascopy(days: Iterator[DayTicks], symbol: str, out: Path, progress: ProgressFn,
                    preset: int = 1) -> list[Path]:
    files: list[Path] = []
    for i, ticks in enumerate(days):
        ms = ticks.ms
        day_start = ms[0] - ms[0] % MS_PER_DAY if ms.size else 0
        hours = (ms - day_start) // 3_600_000
        bounds = np.searchsorted(hours, np.arange(25))
        for hour in range(24):
            lo, hi = bounds[hour], bounds[hour + 1]
            if hi > lo:
                hour_ms = day_start + hour * 3_600_000
                files.append(_write_bi5(ticks, lo, hi, hour_ms, symbol, out, preset))
        progress(i + 1, None)
    return files


def _write_bi5(ticks: DayTicks, lo: int, hi: int, hour_ms: int, symbol: str, out: Path,
               preset: int) -> Path:
    records = np.empty(hi - lo, BI5)
    records["ms"] = ticks.ms[lo:hi] - hour_ms
    records["ask"], records["bid"] = ticks.ask[lo:hi], ticks.bid[lo:hi]
    records["ask_volume"], records["bid_volume"] = ticks.ask_size[lo:hi], ticks.bid_size[lo:hi]
    when = datetime(1970, 1, 1) + timedelta(milliseconds=int(hour_ms))
    folder = out / symbol / f"{when.year:04d}" / f"{when.month - 1:02d}" / f"{when.day:02d}"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{when.hour:02d}h_ticks.bi5"
    part = path.with_name(path.name + ".part")
    part.write_bytes(lzma.compress(records.tobytes(), format=lzma.FORMAT_ALONE, preset=preset))
    os.replace(part, path)
    return path


def write_synthetic(symbol: str, start: date, days: int, fmt: str, out: Path, seed: int = 42,
                    ticks_per_day: float = DEFAULT_TICKS_PER_DAY,
                    progress: ProgressFn = no_progress) -> list[Path]:
    """Write synthetic quotes in a vendor format under ``out``; returns the files written."""
    if fmt not in FORMATS:
        raise ConfigError(f"cannot write synthetic data as '{fmt}'", field="format",
                          hint=f"use one of {', '.join(FORMATS)}")
    symbol = symbol.upper()
    spec = symbol_spec(symbol)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    stream = iter_days(symbol, start, days, seed, ticks_per_day)
    if fmt == "dukascopy":
        return write_dukascopy(stream, symbol, out, progress)
    return write_text(stream, _layout(fmt, symbol), spec, symbol, out, progress)
