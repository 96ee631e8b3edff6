"""Dukascopy tick data.

* ``dukascopy`` - hourly ``.bi5`` files as served by the datafeed,
  ``.../SYMBOL/YYYY/MM/DD/HHh_ticks.bi5``. The month folder is ZERO-based (``2023/01/20``
  is 20 February 2023), times are UTC. Each file is LZMA-compressed 20-byte big-endian
  records: uint32 ms since the hour, uint32 ask and uint32 bid in integer points, float32
  ask volume and float32 bid volume (stored as ``ask_size``/``bid_size``, widened exactly).
  Price = points x point size of the instrument (:data:`POINTS`, FX 1e-5, JPY pairs 1e-3,
  ...), ``--point`` overrides. A 0-byte file is a valid hour without ticks. The "line" of
  a row is its 1-based record number.
* ``dukascopy-csv`` - CSV exports ``Gmt time,Ask,Bid,AskVolume,BidVolume`` with day-first
  timestamps ``01.02.2023 00:00:00.123`` (UTC; a ``Local time`` column with a
  ``GMT+0200`` suffix is converted with its offset).
"""

from __future__ import annotations

import lzma
import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa

from tickforge.data import schemas
from tickforge.data.sources.base import Chunk, Dataset, ReadOptions
from tickforge.data.sources.fast import read_lines, rejects_table
from tickforge.data.sources.truefx import quote_spec
from tickforge.errors import DataFormatError

RECORD = np.dtype([("ms", ">u4"), ("ask", ">u4"), ("bid", ">u4"), ("ask_vol", ">f4"),
                   ("bid_vol", ">f4")])
HOUR_MS = 3_600_000
_PATH = re.compile(r"([^/\\]+)[/\\](\d{4})[/\\](\d{2})[/\\](\d{2})[/\\](\d{2})h_ticks\.bi5$",
                   re.IGNORECASE)

CURRENCIES = frozenset((
    "USD", "EUR", "JPY", "GBP", "CHF", "AUD", "NZD", "CAD", "SEK", "NOK", "DKK", "PLN", "CZK",
    "HUF", "TRY", "ZAR", "MXN", "SGD", "HKD", "CNH", "RUB", "ILS", "THB", "RON"))
POINTS: dict[str, float] = {
    "XAUUSD": 1e-3, "XAGUSD": 1e-3, "BTCUSD": 0.1, "ETHUSD": 0.1,
}


def point_size(symbol: str, override: float | None) -> float:
    """Price of one integer point for ``symbol`` (``--point`` wins)."""
    if override is not None:
        if not override > 0:
            raise DataFormatError(f"--point must be positive, got {override}", field="point")
        return float(override)
    sym = re.sub(r"[^A-Z0-9]", "", symbol.upper())
    if sym in POINTS:
        return POINTS[sym]
    if len(sym) == 6 and sym[:3] in CURRENCIES and sym[3:] in CURRENCIES:
        return 1e-3 if "JPY" in sym else 1e-5
    if "IDX" in sym:
        return 1e-3
    raise DataFormatError(f"unknown point size for instrument '{symbol}'", field="point",
                          hint="pass --point, e.g. --point 1e-5 for EURUSD-like prices")


def hour_of(path: Path) -> tuple[str, int]:
    """(symbol, hour start in ns UTC) from ``SYMBOL/YYYY/MM/DD/HHh_ticks.bi5`` (0-based MM)."""
    match = _PATH.search(path.as_posix())
    hint = "bi5 files must keep the datafeed layout SYMBOL/YYYY/MM/DD/HHh_ticks.bi5 " \
           "(month 00-11)"
    if not match:
        raise DataFormatError("cannot tell the hour of this .bi5 file from its path",
                              file=str(path), hint=hint)
    symbol, y, m, d, h = match.group(1), *(int(match.group(i)) for i in range(2, 6))
    try:
        base = np.datetime64(f"{y:04d}-{m + 1:02d}-{d:02d}T{h:02d}", "ns")
    except ValueError as exc:
        raise DataFormatError("the date in the path is not valid", file=str(path),
                              hint=hint) from exc
    if h > 23:
        raise DataFormatError(f"hour {h} in the file name is not valid", file=str(path), hint=hint)
    return symbol, int(base.astype(np.int64))


def decompress(path: Path, limit: int) -> Iterator[bytes]:
    """Decompressed bytes of a .bi5 file in pieces of at most ``limit`` bytes."""
    data = path.read_bytes()
    if not data:
        return
    dec = lzma.LZMADecompressor(lzma.FORMAT_AUTO)
    try:
        while not dec.eof:
            out = dec.decompress(data if dec.needs_input else b"", max_length=limit)
            data = b""
            if out:
                yield out
            elif dec.needs_input:
                raise lzma.LZMAError("compressed data ended before the end-of-stream marker")
    except lzma.LZMAError as exc:
        raise DataFormatError(f"not a valid LZMA .bi5 file: {exc}", file=str(path),
                              hint="the download is probably truncated; fetch it again") from exc


def _record_text(rec: np.ndarray) -> str:
    return (f"ms={int(rec['ms'])},ask={int(rec['ask'])},bid={int(rec['bid'])},"
            f"ask_volume={float(rec['ask_vol'])!r},bid_volume={float(rec['bid_vol'])!r}")


def _price(points: np.ndarray, point: float) -> np.ndarray:
    inverse = 1.0 / point
    if abs(inverse - round(inverse)) < 1e-9 * inverse:
        return points.astype(np.float64) / round(inverse)  # correctly rounded
    return points.astype(np.float64) * point


def records_chunk(recs: np.ndarray, first: int, base: int, point: float) -> Chunk:
    """A quotes chunk of bi5 records numbered from ``first``."""
    numbers = np.arange(first, first + len(recs), dtype=np.int64)
    ms = recs["ms"].astype(np.int64)
    bad = ms >= HOUR_MS
    rejects = [(int(n), _record_text(r), f"field 'ms': {int(r['ms'])} is past the end of the hour")
               for n, r in zip(numbers[bad], recs[bad], strict=True)]
    good = recs[~bad] if bad.any() else recs
    table = pa.table({
        "ts": pa.array(base + ms[~bad] * 1_000_000, schemas.TS),
        "bid": _price(good["bid"], point), "ask": _price(good["ask"], point),
        "bid_size": good["bid_vol"].astype(np.float64),
        "ask_size": good["ask_vol"].astype(np.float64),
        schemas.LINE: numbers[~bad],
    }, schema=schemas.QUOTES.append(pa.field(schemas.LINE, pa.int64())))

    def raw_lines(wanted: np.ndarray) -> list[str]:
        idx = np.asarray(wanted, np.int64) - first
        return [_record_text(recs[i]) if 0 <= i < len(recs) else "" for i in idx]

    return Chunk("quotes", table, rejects_table(rejects), raw_lines, len(recs))


class DukascopyBi5:
    name = "dukascopy"
    dataset: Dataset = "quotes"

    def read(self, path: Path, options: ReadOptions) -> Iterator[Chunk]:
        symbol, base = hour_of(path)
        try:
            point = point_size(symbol, options.point)
        except DataFormatError:
            point = point_size(options.symbol, options.point)
        return self._chunks(path, base, point, max(options.block_bytes // 20, 1) * 20)

    def _chunks(self, path: Path, base: int, point: float, limit: int) -> Iterator[Chunk]:
        first, tail = 1, b""
        for out in decompress(path, limit):
            data = tail + out
            whole = len(data) // RECORD.itemsize * RECORD.itemsize
            tail = data[whole:]
            recs = np.frombuffer(data, RECORD, count=whole // RECORD.itemsize)
            if len(recs):
                yield records_chunk(recs, first, base, point)
                first += len(recs)
        if tail:
            reason = f"truncated record: {len(tail)} of {RECORD.itemsize} bytes"
            yield Chunk("quotes", records_chunk(np.empty(0, RECORD), first, base, point).table,
                        rejects_table([(first, tail.hex(), reason)]),
                        lambda wanted: [tail.hex() for _ in wanted], 1)


DUKASCOPY_CSV_HEADER = "Gmt time,Ask,Bid,AskVolume,BidVolume"


class DukascopyCsv:
    name = "dukascopy-csv"
    dataset: Dataset = "quotes"

    def read(self, path: Path, options: ReadOptions) -> Iterator[Chunk]:
        return read_lines(path, options, quote_spec(path, DUKASCOPY_CSV_HEADER), 1)
