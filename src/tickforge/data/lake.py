"""The lake: Hive-partitioned Parquet on a local path or ``s3://bucket/prefix``.

Layout (details and measurements in ``docs/lake.md``)::

    quotes/symbol=EURUSD/date=2020-01-02/part-<source16>.parquet     one file per source per UTC day
    trades/symbol=BTCUSDT/date=2021-11-27/part-<source16>.parquet
    bars/symbol=EURUSD/timeframe=1min/year=2020/part-<source16|derived>.parquet
    quarantine/dataset=quotes/symbol=EURUSD/part-<source16>.parquet  rejected rows of one source
    _manifest/<symbol>/<sha256>.json                                  one per ingested source file
    _schema/<dataset>/<symbol>.json                                   storage time unit of a symbol

*Granularity*: one partition per symbol and UTC day for ticks (about 1 M FX ticks, 3-4 MB, per
day: small enough to prune by date, large enough for efficient Parquet), per symbol,
timeframe and year for bars. ``<source16>`` is the first 16 hex digits of the source file's
sha256, so re-running an ingest overwrites its own files and never doubles them.

*Atomic writes*: a partition file is encoded in memory, then written locally to a hidden
temporary name (``.part-….parquet.tmp-…``, which no reader's glob picks up) and renamed; on S3
it is one PUT (an object appears whole or not at all). The source's manifest is written last.

*Types*: ``ts`` is stored as ``timestamp[unit, UTC]`` where ``unit`` is the coarsest of
ms/us/ns that holds the symbol's data exactly (fixed per dataset and symbol by the first
write, recorded under ``_schema/``); every engine reads it as a UTC timestamp and
:class:`Lake` returns ``timestamp[ns, UTC]``. Prices are float64, sizes float64.

*Encoding* (tuned on the real Dukascopy BTCUSD sample, 14,716 ticks: 3.87 bytes per tick,
3.98 ingested as two hourly sources, against 13 for a naive layout): ts
DELTA_BINARY_PACKED; prices PLAIN + zstd level 6 (plain beats BYTE_STREAM_SPLIT and
dictionaries on FX prices); sizes dictionary; 128 KB data pages; row groups of ~128 k-1 M
rows, streamed; a lean footer (no ``ARROW:schema`` copy, no statistics on sizes).

*Speed*: :class:`SourceWriter` never blocks its caller: it finds day boundaries by binary
search and queues zero-copy slices; background *lanes* (one per partition) encode row groups
and commit, so parsing, validating and encoding overlap on two cores (``docs/lake.md``).
"""

from __future__ import annotations

import contextlib
import json
import os
import uuid
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from tickforge.data.schemas import DATASETS
from tickforge.errors import LakeError

OnOverlap = Literal["refuse", "skip", "replace"]
OVERLAP_CHOICES = ("refuse", "skip", "replace")
DAY_NS = 86_400 * 10**9
ROW_GROUP = 1 << 20
FLUSH_ROWS = 1 << 17  # rows gathered before an encoder thread makes them a row group
# Rows queued for the encoders at most (zero-copy slices of reader blocks, ~50 bytes a row:
# ~160 MB). More than a day of FX ticks, so the next day's lane always has work while the
# current one finishes and both cores stay busy; MAX_JOBS bounds the queue's length.
MAX_IN_FLIGHT_ROWS = 3 << 20
MAX_JOBS = 32  # also bounds the live lanes (threads) when partitions are small
PRICE_LEVEL = 6
# Data pages of 128 KB: zstd then picks its parameters for inputs <= 128 KB (smaller match
# tables to set up per page), ~6% less encoding CPU than 1 MB pages for +0.7% size on
# EURUSD-like days and no change on the Dukascopy sample (measured, docs/lake.md).
PAGE_BYTES = 128 << 10
UNITS = {"ms": 10**6, "us": 10**3, "ns": 1}
TICK_DATASETS = ("quotes", "trades")
ALL_DATASETS = ("quotes", "trades", "bars", "quarantine")
META_KEY = b"tickforge"


# ---------------------------------------------------------------- filesystem


def open_filesystem(uri: str) -> tuple[pafs.FileSystem, str]:
    """(filesystem, root path inside it) for a local path or ``s3://bucket/prefix``."""
    if uri.startswith("s3://"):
        root = uri[len("s3://"):].strip("/")
        if not root:
            raise LakeError(f"lake URI '{uri}' has no bucket", hint="use s3://bucket/prefix")
        return s3_filesystem(), root
    if "://" in uri:
        raise LakeError(f"lake URI '{uri}' is neither a local path nor s3://",
                        hint="use a folder path or s3://bucket/prefix")
    return pafs.LocalFileSystem(), os.path.abspath(os.path.expanduser(uri))


def s3_filesystem() -> pafs.S3FileSystem:
    """S3 from the usual AWS environment; ``AWS_ENDPOINT_URL`` / ``TICKFORGE_S3_ENDPOINT``
    point it at any S3-compatible server (MinIO, moto)."""
    endpoint = os.environ.get("TICKFORGE_S3_ENDPOINT") or os.environ.get("AWS_ENDPOINT_URL")
    kwargs: dict[str, Any] = {
        "region": os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION", "us-east-1"),
    }
    if endpoint:
        scheme, _, host = endpoint.partition("://")
        kwargs.update(endpoint_override=host or scheme, scheme=scheme if host else "https")
    return pafs.S3FileSystem(**kwargs)


# ---------------------------------------------------------------- encoding


def ts_unit_of(ts_ns: np.ndarray) -> str:
    """Coarsest of ms/us/ns that holds every timestamp exactly."""
    for unit, step in UNITS.items():
        if not np.any(ts_ns % step):
            return unit
    return "ns"


def storage_schema(schema: pa.Schema, unit: str) -> pa.Schema:
    ts_type = pa.timestamp(unit, tz="UTC")
    fields = [pa.field(f.name, ts_type, f.nullable) if f.name == "ts" else f for f in schema]
    return pa.schema(fields)


def column_roles(schema: pa.Schema) -> tuple[dict[str, str], list[str], dict[str, int]]:
    """Per-column (encodings, dictionary columns, zstd levels) of the storage layout."""
    encodings: dict[str, str] = {}
    dictionary: list[str] = []
    levels: dict[str, int] = {}
    for f in schema:
        levels[f.name] = 1
        if pa.types.is_timestamp(f.type) or (pa.types.is_integer(f.type) and f.name != "side"):
            encodings[f.name] = "DELTA_BINARY_PACKED"
        elif pa.types.is_floating(f.type) and not is_size(f.name):
            encodings[f.name] = "PLAIN"
            levels[f.name] = PRICE_LEVEL
        else:
            dictionary.append(f.name)
    return encodings, dictionary, levels


def is_size(name: str) -> bool:
    return name.endswith("size") or name.endswith("volume") or name == "tick_count"


def new_writer(sink: pa.NativeFile, schema: pa.Schema) -> pq.ParquetWriter:
    """A Parquet writer with the lake's layout. The footer holds min/max statistics for
    every column but sizes (nobody prunes on them) and no ``ARROW:schema`` copy: the
    Parquet types alone read back as the same Arrow types (UTC timestamps included), and
    the two save ~0.6 KB per file, which counts when sources are small (hourly files)."""
    encodings, dictionary, levels = column_roles(schema)
    statistics = [name for name in schema.names if not is_size(name)]
    return pq.ParquetWriter(sink, schema, compression="zstd", compression_level=levels,
                            use_dictionary=dictionary, column_encoding=encodings,
                            write_statistics=statistics, store_schema=False,
                            data_page_size=PAGE_BYTES)


def encode(table: pa.Table, meta: dict[str, Any]) -> pa.Buffer:
    """One complete Parquet file in memory."""
    sink = pa.BufferOutputStream()
    writer = new_writer(sink, table.schema)
    writer.write_table(table, row_group_size=ROW_GROUP)
    writer.add_key_value_metadata({META_KEY.decode(): json.dumps(meta)})
    writer.close()
    return sink.getvalue()


def to_storage(table: pa.Table, unit: str, what: str, source: str) -> pa.Table:
    """``ts`` cast to the storage unit; a finer timestamp is a one-line :class:`LakeError`."""
    try:
        return table.cast(storage_schema(table.schema, unit))
    except pa.ArrowInvalid:
        ts = ts_ns(table)
        bad = iso(int(ts[np.flatnonzero(ts % UNITS[unit])[0]]))
        raise LakeError(
            f"{what} are stored at {unit} resolution in this lake but '{source}' has a finer "
            f"timestamp ({bad})",
            hint="ingest finer-grained data into another lake or under another symbol") from None


def ts_ns(table: pa.Table | pa.RecordBatch) -> np.ndarray:
    col = table.column("ts")
    if col.type != pa.timestamp("ns", tz="UTC"):
        col = pc.cast(col, pa.timestamp("ns", tz="UTC"))
    return np.asarray(col.to_numpy()).view(np.int64)


def to_ns(when: datetime | date | str | pd.Timestamp | None) -> int | None:
    """A start/end bound as int64 ns UTC (naive values are UTC)."""
    if when is None:
        return None
    stamp = pd.Timestamp(when)
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    return int(stamp.value)


def iso(ns: int | None) -> str | None:
    return None if ns is None else pd.Timestamp(ns, tz="UTC").isoformat()


# ---------------------------------------------------------------- records


@dataclass(frozen=True)
class Source:
    """Where rows come from: a source file (by content hash) or derived data."""

    name: str
    sha256: str
    tag: str  # names the part files: first 16 hex digits of sha256, or "derived"

    @classmethod
    def of_file(cls, name: str, sha256: str) -> Source:
        return cls(name, sha256, sha256[:16])

    @classmethod
    def derived(cls, name: str) -> Source:
        return cls(name, "", "derived")


@dataclass(frozen=True)
class DeferredSource:
    """A source whose content hash is still being computed (ingest hashes the file while
    it parses it). Rows are encoded meanwhile; partitions are committed once it resolves,
    and nothing is committed if resolving raises."""

    name: str
    future: Future[Source]

    def resolve(self) -> Source:
        return self.future.result()


@dataclass(frozen=True)
class FileMeta:
    """What the footer of one lake file says about it."""

    path: str
    source: str
    tag: str
    rows: int
    min_ts: int | None
    max_ts: int | None
    size: int = 0


@dataclass
class Written:
    """One committed partition file."""

    path: str
    rows: int
    min_ts: int
    max_ts: int
    overlap_skipped: int = 0
    replaced: list[str] = field(default_factory=list)


class LakeData:
    """Rows read from the lake: an Arrow table with pandas / Polars conversions.

    ``.table`` (or ``.to_arrow()``) is the ``pyarrow.Table``; the object also speaks the
    Arrow C stream protocol, so ``pa.table(data)``, ``polars.from_arrow`` and DuckDB take it.
    """

    def __init__(self, table: pa.Table) -> None:
        self.table = table

    def to_arrow(self) -> pa.Table:
        return self.table

    def to_pandas(self) -> pd.DataFrame:
        return self.table.to_pandas()

    def to_polars(self) -> Any:
        import polars as pl

        return pl.from_arrow(self.table)

    def __arrow_c_stream__(self, requested_schema: Any = None) -> Any:
        return self.table.__arrow_c_stream__(requested_schema)

    def __len__(self) -> int:
        return self.table.num_rows

    def __getattr__(self, name: str) -> Any:
        return getattr(self.table, name)

    def __repr__(self) -> str:
        return f"LakeData({self.table.num_rows} rows: {', '.join(self.table.column_names)})"


# ---------------------------------------------------------------- the lake


class Lake:
    """A lake root; see the module docstring for layout, atomicity and encoding."""

    def __init__(self, uri: str | os.PathLike[str]) -> None:
        self.uri = str(uri)
        self.fs, self.root = open_filesystem(self.uri)
        self._units: dict[tuple[str, str], str] = {}

    def __repr__(self) -> str:
        return f"Lake({self.uri!r})"

    # ------------------------------------------------------------ paths and storage

    def path(self, *parts: str) -> str:
        return "/".join([self.root, *parts])

    def symbol_dir(self, dataset: str, symbol: str, timeframe: str | None = None) -> str:
        parts = [dataset, f"symbol={symbol}"]
        if dataset == "bars":
            parts.append(f"timeframe={timeframe or '1min'}")
        return self.path(*parts)

    def partition_dir(self, dataset: str, symbol: str, key: str, timeframe: str | None) -> str:
        name = "year" if dataset == "bars" else "date"
        return f"{self.symbol_dir(dataset, symbol, timeframe)}/{name}={key}"

    def list_dir(self, path: str, recursive: bool = False) -> list[pafs.FileInfo]:
        selector = pafs.FileSelector(path, allow_not_found=True, recursive=recursive)
        return self.fs.get_file_info(selector)

    def data_files(self, path: str, recursive: bool = False) -> list[pafs.FileInfo]:
        """Visible Parquet files under ``path`` (temporary names excluded)."""
        return sorted((i for i in self.list_dir(path, recursive)
                       if i.type == pafs.FileType.File and is_visible(i.path)),
                      key=lambda i: i.path)

    def put(self, path: str, data: pa.Buffer | bytes) -> None:
        """Write a whole file atomically (temporary name + rename; one PUT on S3)."""
        directory, _, name = path.rpartition("/")
        if isinstance(self.fs, pafs.LocalFileSystem):
            self.fs.create_dir(directory, recursive=True)
            tmp = f"{directory}/.{name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}"
            with self.fs.open_output_stream(tmp) as out:
                out.write(data)
            self.fs.move(tmp, path)
        else:
            with self.fs.open_output_stream(path) as out:
                out.write(data)

    def delete(self, path: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.fs.delete_file(path)

    def exists(self, path: str) -> bool:
        return bool(self.fs.get_file_info(path).type == pafs.FileType.File)

    def read_json(self, path: str) -> dict[str, Any] | None:
        if not self.exists(path):
            return None
        with self.fs.open_input_stream(path) as f:
            data: dict[str, Any] = json.loads(f.read().decode())
            return data

    def write_json(self, path: str, obj: dict[str, Any]) -> None:
        self.put(path, json.dumps(obj, indent=1, default=str).encode())

    def file_meta(self, info: pafs.FileInfo) -> FileMeta:
        meta = pq.read_metadata(info.path, filesystem=self.fs)
        kv = json.loads((meta.metadata or {}).get(META_KEY, b"{}"))
        name = info.path.rpartition("/")[2]
        tag = name.removeprefix("part-").removesuffix(".parquet")
        return FileMeta(info.path, kv.get("source", name), tag, meta.num_rows,
                        kv.get("min_ts"), kv.get("max_ts"), info.size or 0)

    def read_file(self, path: str, columns: list[str] | None = None) -> pa.Table:
        """One Parquet file as stored, straight from its footer (no dataset discovery):
        column chunks pre-buffered in few large reads, decoded on Arrow's threads. Only the
        ``columns`` the file has, if given."""
        with self.fs.open_input_file(path) as f:
            parquet = pq.ParquetFile(f, pre_buffer=True)
            names = parquet.schema_arrow.names
            wanted = None if columns is None else [c for c in names if c in columns]
            return parquet.read(columns=wanted, use_threads=True)

    # ------------------------------------------------------------ manifest and schema

    def manifest_path(self, symbol: str, sha256: str) -> str:
        return self.path("_manifest", symbol, f"{sha256}.json")

    def has_source(self, symbol: str, sha256: str) -> bool:
        return self.exists(self.manifest_path(symbol, sha256))

    def write_manifest(self, symbol: str, sha256: str, record: dict[str, Any]) -> None:
        self.write_json(self.manifest_path(symbol, sha256), record)

    def manifests(self) -> list[dict[str, Any]]:
        out = []
        for info in self.list_dir(self.path("_manifest"), recursive=True):
            if info.type == pafs.FileType.File and info.path.endswith(".json"):
                out.append(self.read_json(info.path) or {})
        return out

    def ts_unit(self, dataset: str, symbol: str, ts: np.ndarray) -> str:
        """The storage unit of a symbol; fixed by its first write (recorded in ``_schema``)."""
        key = (dataset, symbol)
        if key not in self._units:
            path = self.path("_schema", dataset, f"{symbol}.json")
            record = self.read_json(path)
            if record is None:
                record = {"ts_unit": ts_unit_of(ts)}
                self.write_json(path, record)
            self._units[key] = str(record["ts_unit"])
        return self._units[key]

    # ------------------------------------------------------------ writing

    def writer(self, dataset: str, symbol: str, source: Source | DeferredSource,
               on_overlap: OnOverlap = "refuse",
               timeframe: str | None = None, merge_own: bool = False) -> SourceWriter:
        """A streaming writer of one source's rows (sorted by ts) into partitions."""
        if dataset not in DATASETS:
            raise LakeError(f"unknown dataset '{dataset}'", hint="use quotes, trades or bars")
        if on_overlap not in OVERLAP_CHOICES:
            raise LakeError(f"--on-overlap '{on_overlap}' is not one of refuse, skip, replace",
                            field="on_overlap")
        return SourceWriter(self, dataset, symbol, source, on_overlap, timeframe, merge_own)

    def write(self, dataset: str, symbol: str, table: pa.Table, source: str = "python",
              on_overlap: OnOverlap = "replace", timeframe: str | None = None) -> list[Written]:
        """Write a table of derived rows (merged with earlier writes of the same ``source``)."""
        table = sort_by_ts(table)
        writer = self.writer(dataset, symbol, Source.derived(source), on_overlap, timeframe,
                             merge_own=True)
        try:
            writer.add(table)
            return writer.close()
        except BaseException:
            writer.rollback()
            raise

    def write_bars(self, symbol: str, timeframe: str, table: pa.Table,
                   on_overlap: OnOverlap = "replace") -> list[Written]:
        """Write materialised bars; rewriting a time range replaces the bars in it."""
        return self.write("bars", symbol, table, f"bars {symbol} {timeframe}", on_overlap,
                          timeframe)

    def write_quarantine(self, dataset: str, symbol: str, source: Source,
                         table: pa.Table) -> str | None:
        path = self.path("quarantine", f"dataset={dataset}", f"symbol={symbol}",
                         f"part-{source.tag}.parquet")
        if not table.num_rows:
            self.delete(path)
            return None
        meta = {"source": source.name, "sha256": source.sha256, "rows": table.num_rows}
        self.put(path, encode(table, meta))
        return path

    def cut_range(self, meta: FileMeta, lo: int, hi: int) -> None:
        """Remove rows with ``lo <= ts <= hi`` from a file (delete it if none remain)."""
        table = self.read_file(meta.path)
        ts = ts_ns(table)
        keep = (ts < lo) | (ts > hi)
        if not keep.any():
            self.delete(meta.path)
            return
        kept = table.filter(pa.array(keep))
        kept_ts = ts[keep]
        record = {"source": meta.source, "rows": kept.num_rows,
                  "min_ts": int(kept_ts.min()), "max_ts": int(kept_ts.max())}
        self.put(meta.path, encode(kept.replace_schema_metadata(None), record))

    # ------------------------------------------------------------ reading

    def symbols(self, dataset: str = "quotes") -> list[str]:
        """Symbols that have data in ``dataset``."""
        out = []
        for info in self.list_dir(self.path(dataset)):
            name = info.path.rpartition("/")[2]
            if info.type == pafs.FileType.Directory and name.startswith("symbol="):
                out.append(name.removeprefix("symbol="))
        return sorted(out)

    def timeframes(self, symbol: str) -> list[str]:
        base = self.path("bars", f"symbol={symbol}")
        return sorted(i.path.rpartition("=")[2] for i in self.list_dir(base)
                      if i.type == pafs.FileType.Directory and "timeframe=" in i.path)

    def partitions(self, dataset: str, symbol: str, start: int | None, end: int | None,
                   timeframe: str | None = None) -> list[str]:
        """Partition folders of a symbol that may hold rows in ``[start, end)``, in order."""
        base = self.symbol_dir(dataset, symbol, timeframe)
        infos = [i for i in self.list_dir(base) if i.type == pafs.FileType.Directory]
        if not infos:
            self.raise_missing(dataset, symbol, timeframe)
        keep = [i.path for i in infos if partition_in_range(i.path, start, end)]
        return sorted(keep)

    def raise_missing(self, dataset: str, symbol: str, timeframe: str | None) -> None:
        have = self.symbols(dataset)
        what = f"{dataset} ({timeframe})" if dataset == "bars" else dataset
        if dataset == "bars" and symbol in have:
            hint = f"timeframes present: {', '.join(self.timeframes(symbol))}; run tickforge bars"
        else:
            hint = f"symbols present: {', '.join(have) or 'none'}"
        raise LakeError(f"no {what} for symbol '{symbol}' in lake {self.uri}", field="symbol",
                        hint=hint)

    def read_partition(self, dataset: str, path: str, start: int | None, end: int | None,
                       columns: list[str] | None = None) -> pa.Table:
        """Rows of one partition folder in ``[start, end)``: its file(s) read directly and
        ``ts`` cast to ns once; files of several sources are merged in time order."""
        tables = [to_canonical(dataset, self.read_file(i.path, columns))
                  for i in self.data_files(path)]
        if not tables:
            return select_columns(empty_of(dataset), columns)
        if len(tables) == 1:
            return clip(tables[0], start, end)
        table = pa.concat_tables(tables, promote_options="permissive")
        return clip(sort_by_ts(table), start, end)

    def iter(self, dataset: str, symbol: str, start: Any = None, end: Any = None,
             timeframe: str | None = None, columns: list[str] | None = None
             ) -> Iterator[pa.Table]:
        """Rows of a symbol in ``[start, end)``, one partition at a time (time order);
        ``columns`` (default all) limits what is read and decoded."""
        lo, hi = to_ns(start), to_ns(end)
        for path in self.partitions(dataset, symbol, lo, hi, timeframe):
            table = self.read_partition(dataset, path, lo, hi, columns)
            if table.num_rows:
                yield table

    def read(self, dataset: str, symbol: str, start: Any = None, end: Any = None,
             timeframe: str | None = None) -> LakeData:
        tables = list(self.iter(dataset, symbol, start, end, timeframe))
        if not tables:
            return LakeData(empty_of(dataset))
        return LakeData(pa.concat_tables(tables, promote_options="permissive").combine_chunks())

    def quotes(self, symbol: str, start: Any = None, end: Any = None) -> LakeData:
        return self.read("quotes", symbol, start, end)

    def trades(self, symbol: str, start: Any = None, end: Any = None) -> LakeData:
        return self.read("trades", symbol, start, end)

    def bars(self, symbol: str, timeframe: str = "1min", start: Any = None,
             end: Any = None) -> LakeData:
        return self.read("bars", symbol, start, end, timeframe)

    def iter_quotes(self, symbol: str, start: Any = None, end: Any = None,
                    columns: list[str] | None = None) -> Iterator[pa.Table]:
        return self.iter("quotes", symbol, start, end, columns=columns)

    def iter_trades(self, symbol: str, start: Any = None, end: Any = None) -> Iterator[pa.Table]:
        return self.iter("trades", symbol, start, end)

    def iter_bars(self, symbol: str, timeframe: str = "1min", start: Any = None,
                  end: Any = None) -> Iterator[pa.Table]:
        return self.iter("bars", symbol, start, end, timeframe)

    def quarantine(self) -> LakeData:
        files = self.data_files(self.path("quarantine"), recursive=True)
        tables = [self.read_file(i.path).replace_schema_metadata(None) for i in files]
        if not tables:
            from tickforge.data.schemas import QUARANTINE

            return LakeData(QUARANTINE.empty_table())
        return LakeData(pa.concat_tables(tables))

    # ------------------------------------------------------------ info

    def datasets(self) -> list[str]:
        return [d for d in ALL_DATASETS if self.data_files(self.path(d), recursive=True)]

    def info(self) -> dict[str, Any]:
        """Datasets, symbols, row counts, time ranges and bytes (from Parquet footers)."""
        result: dict[str, Any] = {"uri": self.uri, "datasets": {}, "rows": 0, "bytes": 0}
        for dataset in ALL_DATASETS:
            files = self.data_files(self.path(dataset), recursive=True)
            if not files:
                continue
            with ThreadPoolExecutor(8) as pool:
                metas = list(pool.map(self.file_meta, files))
            summary = summarise(dataset, metas)
            result["datasets"][dataset] = summary
            result["rows"] += summary["rows"]
            result["bytes"] += summary["bytes"]
        result["sources"] = sum(i.type == pafs.FileType.File and i.path.endswith(".json")
                                for i in self.list_dir(self.path("_manifest"), recursive=True))
        return result


# ---------------------------------------------------------------- streaming writer


class Encoder:
    """Background threads that encode row groups and commit partitions.

    Each partition has its own *lane* (a one-thread executor): its jobs run in order, while
    the next partition's row groups are encoded on another lane, so encoding can use both
    cores when parsing leaves room. The caller never waits, except to keep at most
    ``MAX_IN_FLIGHT_ROWS`` rows (and ``MAX_JOBS`` jobs) queued: bounded memory, yet more
    than a day ahead, so two lanes have work at once. The first failing job makes every
    later job a no-op and is re-raised to the caller on its next :meth:`submit` or on
    :meth:`drain`.
    """

    def __init__(self) -> None:
        self.jobs: deque[tuple[Future[None], int]] = deque()  # (job, rows it holds)
        self.rows = 0
        self.failure: BaseException | None = None

    @staticmethod
    def lane() -> ThreadPoolExecutor:
        return ThreadPoolExecutor(1, thread_name_prefix="tickforge-encode")

    def submit(self, lane: ThreadPoolExecutor, fn: Callable[..., None], *args: Any,
               rows: int = 0) -> None:
        """Queue ``fn(*args)`` on ``lane``; ``rows`` is what the job holds in memory."""
        self.raise_failure()
        while self.jobs and (self.rows + rows > MAX_IN_FLIGHT_ROWS
                             or len(self.jobs) >= MAX_JOBS):
            self.wait_oldest()
        self.jobs.append((lane.submit(self.guarded, fn, *args), rows))
        self.rows += rows

    def wait_oldest(self) -> None:
        job, rows = self.jobs.popleft()
        self.rows -= rows
        job.result()

    def guarded(self, fn: Callable[..., None], *args: Any) -> None:
        if self.failure is not None:
            return
        try:
            fn(*args)
        except BaseException as exc:
            self.failure = exc
            raise

    def raise_failure(self) -> None:
        if self.failure is not None:
            raise self.failure

    def drain(self) -> None:
        """Wait for every job; raise the first failure."""
        while self.jobs:
            self.wait_oldest()

    def abandon(self) -> None:
        """Cancel queued jobs, wait for running ones, ignore failures."""
        self.failure = self.failure or LakeError("write abandoned")
        for job, _ in self.jobs:
            job.cancel()
        for job, _ in self.jobs:
            if not job.cancelled():
                with contextlib.suppress(BaseException):
                    job.result()
        self.jobs.clear()
        self.rows = 0


class PartitionBuffer:
    """Rows of one partition, encoded into an in-memory Parquet file as they arrive.

    Rows are kept as zero-copy slices until ``FLUSH_ROWS`` have gathered; then the
    encoder thread turns them into one row group (ts cast to the storage unit, compressed)
    while the caller goes on parsing and validating.
    """

    def __init__(self, key: str, unit: str, encoder: Encoder, what: str, source: str) -> None:
        self.key = key
        self.unit = unit
        self.encoder = encoder
        self.what = what  # "quotes of EURUSD" and the source name, for error messages
        self.source = source
        self.pending: list[pa.Table] = []
        self.pending_rows = 0
        self.rows = 0
        self.min_ts = np.iinfo(np.int64).max
        self.max_ts = np.iinfo(np.int64).min
        self.sink = pa.BufferOutputStream()
        self.writer: pq.ParquetWriter | None = None
        self.lane = encoder.lane()

    def append(self, table: pa.Table, lo: int, hi: int) -> None:
        self.pending.append(table)
        self.pending_rows += table.num_rows
        self.rows += table.num_rows
        self.min_ts = min(self.min_ts, lo)
        self.max_ts = max(self.max_ts, hi)
        if self.pending_rows >= FLUSH_ROWS:
            rows = self.pending_rows
            self.encoder.submit(self.lane, self.encode, self.take_pending(), rows=rows)

    def submit_last(self, fn: Callable[[PartitionBuffer], None]) -> None:
        """Queue the partition's last job (its commit); the lane ends after it."""
        try:
            self.encoder.submit(self.lane, fn, self, rows=self.pending_rows)
        finally:
            self.lane.shutdown(wait=False)

    def take_pending(self) -> list[pa.Table]:
        tables, self.pending, self.pending_rows = self.pending, [], 0
        return tables

    def encode(self, tables: list[pa.Table]) -> None:
        """Encoder thread: one row group from the gathered slices."""
        if not tables:
            return
        table = pa.concat_tables(tables).replace_schema_metadata(None)
        table = to_storage(table, self.unit, self.what, self.source)
        if self.writer is None:
            self.writer = new_writer(self.sink, table.schema)
        self.writer.write_table(table, row_group_size=ROW_GROUP)

    def finish(self, meta: dict[str, Any]) -> pa.Buffer:
        """Encoder thread: the last row group and the footer; the file's bytes."""
        self.encode(self.take_pending())
        assert self.writer is not None
        self.writer.add_key_value_metadata({META_KEY.decode(): json.dumps(meta)})
        self.writer.close()
        return self.sink.getvalue()


class SourceWriter:
    """Writes one source's rows (sorted by time) partition by partition.

    A partition is committed when the data moves past it (or at :meth:`close`); before the
    commit its time range is checked against other sources' files in the same partition:
    ``refuse`` raises a one-line :class:`LakeError` naming both files, ``skip`` drops the
    new rows that fall inside the existing files' ranges, ``replace`` removes the existing
    rows inside the new range. Encoding and commits run on background lanes
    (:class:`Encoder`: one per partition, its jobs in order), so the caller only slices its
    tables; errors surface on a later :meth:`add` or at :meth:`close`.
    """

    def __init__(self, lake: Lake, dataset: str, symbol: str, source: Source | DeferredSource,
                 on_overlap: OnOverlap, timeframe: str | None, merge_own: bool) -> None:
        self.lake = lake
        self.dataset = dataset
        self.symbol = symbol
        self.origin = source  # a Source, or a DeferredSource until its hash is known
        self.on_overlap = on_overlap
        self.timeframe = timeframe
        self.merge_own = merge_own
        self.unit: str | None = None
        self.last_ts = np.iinfo(np.int64).min
        self.current: PartitionBuffer | None = None
        self.written: list[Written] = []
        self.encoder = Encoder()

    @property
    def source(self) -> Source:
        """The source (waits for a deferred one; used by commits on the encoder lanes)."""
        origin = self.origin
        return origin.resolve() if isinstance(origin, DeferredSource) else origin

    def add(self, table: pa.Table) -> None:
        """Queue rows (time-sorted, later than those added before) for their partitions."""
        if not table.num_rows:
            return
        if self.unit is None:
            self.start(ts_ns(table))
        assert self.unit is not None
        for batch in table.to_batches():
            if not batch.num_rows:
                continue
            ts = ts_ns(batch)
            self.check_sorted(ts)
            for key, lo, hi in partition_runs(self.dataset, ts):
                self.append(key, pa.Table.from_batches([batch.slice(lo, hi - lo)]),
                            int(ts[lo]), int(ts[hi - 1]))

    def start(self, ts: np.ndarray) -> None:
        """First rows: timeframe of vendor bars, storage unit of the symbol."""
        if self.dataset == "bars" and self.timeframe is None:
            self.timeframe = infer_timeframe(ts)
        self.unit = self.lake.ts_unit(self.dataset, self.symbol, ts)

    def check_sorted(self, ts: np.ndarray) -> None:
        if ts[0] < self.last_ts or not bool(np.all(ts[1:] >= ts[:-1])):
            raise LakeError(f"rows of {self.dataset} {self.symbol} from '{self.origin.name}' "
                            "are not sorted by time", hint="sort the rows by ts before writing")
        self.last_ts = int(ts[-1])

    def append(self, key: str, table: pa.Table, lo: int, hi: int) -> None:
        if self.current is not None and self.current.key != key:
            self.commit()
        if self.current is None:
            self.current = PartitionBuffer(key, self.unit or "ns", self.encoder,
                                           f"{self.dataset} of {self.symbol}", self.origin.name)
        self.current.append(table, lo, hi)

    def close(self) -> list[Written]:
        """Commit the last partition and wait for every write; the files written."""
        self.commit()
        self.encoder.drain()
        self.written.sort(key=lambda w: w.path)  # lanes may finish out of order
        return self.written

    def rollback(self) -> None:
        """Delete the files this writer committed (used when the source is refused)."""
        if self.current is not None:
            self.current.lane.shutdown(wait=False)
        self.encoder.abandon()
        for w in self.written:
            self.lake.delete(w.path)
        self.written = []
        self.current = None

    # ------------------------------------------------------------ commit (encoder thread)

    def commit(self) -> None:
        part = self.current
        self.current = None
        if part is not None:
            part.submit_last(self.commit_partition)

    def commit_partition(self, part: PartitionBuffer) -> None:
        if not part.rows:
            return
        directory = self.lake.partition_dir(self.dataset, self.symbol, part.key, self.timeframe)
        path = f"{directory}/part-{self.source.tag}.parquet"
        data: pa.Buffer | None = part.finish(self.meta(part.rows, part.min_ts, part.max_ts))
        others = [m for m in self.others(directory, path)
                  if m.min_ts is not None and m.max_ts is not None
                  and m.min_ts <= part.max_ts and part.min_ts <= m.max_ts]
        own = self.lake.exists(path) if self.merge_own else False
        written = Written(path, part.rows, part.min_ts, part.max_ts)
        if others and data is not None:
            data = self.resolve_overlap(others, data, written)
        if own and data is not None:
            data = self.merge_with_own(path, data, written)
        if data is None:
            self.lake.delete(path)
            written.rows = 0
        else:
            self.lake.put(path, data)
        self.written.append(written)

    def others(self, directory: str, own_path: str) -> list[FileMeta]:
        return [self.lake.file_meta(i) for i in self.lake.data_files(directory)
                if i.path != own_path]

    def resolve_overlap(self, others: list[FileMeta], data: pa.Buffer,
                        written: Written) -> pa.Buffer | None:
        if self.on_overlap == "refuse":
            first = others[0]
            raise LakeError(
                f"{self.dataset} of {self.symbol} from '{self.source.name}' "
                f"({iso(written.min_ts)} .. {iso(written.max_ts)}) overlap rows already in the "
                f"lake from '{first.source}' ({iso(first.min_ts)} .. {iso(first.max_ts)})",
                hint="pass --on-overlap skip to keep the lake's rows or --on-overlap replace "
                     "to take the new file's")
        if self.on_overlap == "replace":
            for meta in others:
                self.lake.cut_range(meta, written.min_ts, written.max_ts)
                written.replaced.append(meta.source)
            return data
        ranges = [(m.min_ts or 0, m.max_ts or 0) for m in others]
        return self.rewrite(data, written, lambda ts: ~inside_any(ts, ranges))

    def merge_with_own(self, path: str, data: pa.Buffer, written: Written) -> pa.Buffer | None:
        """Derived data: keep the earlier rows of this source outside the new range."""
        old = to_storage_like(self.lake.read_file(path), data)
        lo, hi = written.min_ts, written.max_ts
        old_ts = ts_ns(old)
        old = old.filter(pa.array((old_ts < lo) | (old_ts > hi)))
        new = pq.read_table(pa.BufferReader(data)).replace_schema_metadata(None)
        table = sort_by_ts(pa.concat_tables([old.cast(new.schema), new]))
        return self.reencode(table, ts_ns(table), written)

    def rewrite(self, data: pa.Buffer, written: Written,
                keep_fn: Callable[[np.ndarray], np.ndarray]) -> pa.Buffer | None:
        table = pq.read_table(pa.BufferReader(data)).replace_schema_metadata(None)
        ts = ts_ns(table)
        keep = keep_fn(ts)
        written.overlap_skipped += int((~keep).sum())
        if not keep.any():
            written.rows = 0
            return None
        return self.reencode(table.filter(pa.array(keep)), ts[keep], written)

    def reencode(self, table: pa.Table, ts: np.ndarray, written: Written) -> pa.Buffer:
        """Encode the partition's final rows (``ts`` sorted) and record them in ``written``."""
        written.rows, written.min_ts, written.max_ts = table.num_rows, int(ts[0]), int(ts[-1])
        return encode(table, self.meta(written.rows, written.min_ts, written.max_ts))

    def meta(self, rows: int, lo: int, hi: int) -> dict[str, Any]:
        return {"source": self.source.name, "sha256": self.source.sha256, "rows": rows,
                "min_ts": lo, "max_ts": hi, "dataset": self.dataset, "symbol": self.symbol}


# ---------------------------------------------------------------- helpers


def is_visible(path: str) -> bool:
    name = path.rpartition("/")[2]
    return name.endswith(".parquet") and not name.startswith((".", "_"))


def partition_number(dataset: str, ts: int) -> int:
    """Partition of a timestamp: UTC day number (ticks) or calendar year (bars)."""
    day = ts // DAY_NS
    if dataset == "bars":
        return int(np.datetime64(day, "D").astype("datetime64[Y]").astype(np.int64)) + 1970
    return int(day)


def partition_start(dataset: str, number: int) -> int:
    """First ns of a partition number."""
    if dataset == "bars":
        return int(np.datetime64(number - 1970, "Y").astype("datetime64[ns]").astype(np.int64))
    return number * DAY_NS


def partition_name(dataset: str, number: int) -> str:
    """``2020-01-02`` for a day number, ``2020`` for a year."""
    if dataset == "bars":
        return str(number)
    return str(np.datetime64(int(number), "D"))


def partition_runs(dataset: str, ts: np.ndarray) -> Iterator[tuple[str, int, int]]:
    """(partition name, lo, hi) of the ``[lo, hi)`` row ranges of time-sorted ``ts``;
    found by binary search, so a chunk costs O(partitions x log rows), not a pass."""
    first, last = partition_number(dataset, int(ts[0])), partition_number(dataset, int(ts[-1]))
    starts = [partition_start(dataset, k) for k in range(first + 1, last + 1)]
    cuts = np.searchsorted(ts, np.array(starts, np.int64), "left").tolist() if starts else []
    bounds = [0, *cuts, ts.size]
    for number, lo, hi in zip(range(first, last + 1), bounds[:-1], bounds[1:], strict=True):
        if hi > lo:
            yield partition_name(dataset, number), lo, hi


def partition_in_range(path: str, start: int | None, end: int | None) -> bool:
    """Whether a ``date=`` / ``year=`` partition may hold rows in ``[start, end)``."""
    name, _, value = path.rpartition("/")[2].partition("=")
    if name == "date":
        lo = np.datetime64(value, "D")
        hi = lo + np.timedelta64(1, "D")
    elif name == "year":
        lo = np.datetime64(value, "Y").astype("datetime64[D]")
        hi = (np.datetime64(value, "Y") + np.timedelta64(1, "Y")).astype("datetime64[D]")
    else:
        return False
    lo_ns = int(lo.astype("datetime64[ns]").astype(np.int64))
    hi_ns = int(hi.astype("datetime64[ns]").astype(np.int64))
    return (start is None or hi_ns > start) and (end is None or lo_ns < end)


def inside_any(ts: np.ndarray, ranges: list[tuple[int, int]]) -> np.ndarray:
    mask = np.zeros(ts.size, bool)
    for lo, hi in ranges:
        mask |= (ts >= lo) & (ts <= hi)
    return mask


def sort_by_ts(table: pa.Table) -> pa.Table:
    ts = ts_ns(table)
    if ts.size < 2 or bool(np.all(ts[1:] >= ts[:-1])):
        return table
    return table.take(np.argsort(ts, kind="stable"))


def clip(table: pa.Table, start: int | None, end: int | None) -> pa.Table:
    if start is None and end is None:
        return table
    ts = ts_ns(table)
    lo = 0 if start is None else int(np.searchsorted(ts, start, "left"))
    hi = ts.size if end is None else int(np.searchsorted(ts, end, "left"))
    return table.slice(lo, max(hi - lo, 0))


def to_canonical(dataset: str, table: pa.Table) -> pa.Table:
    """Stored table -> canonical types (ts as ns UTC, canonical column order first).
    Only ``ts`` is converted (one cast of one column); the other columns are kept as read."""
    table = table.replace_schema_metadata(None)
    names = table.column_names
    if "ts" in names:
        i = names.index("ts")
        ts_type = pa.timestamp("ns", tz="UTC")
        if table.schema.field(i).type != ts_type:
            nullable = table.schema.field(i).nullable
            table = table.set_column(i, pa.field("ts", ts_type, nullable),
                                     pc.cast(table.column(i), ts_type))
    schema = DATASETS.get(dataset)
    if schema is not None and dataset != "bars" and set(schema.names) <= set(names):
        table = table.select(schema.names)
    return table


def select_columns(table: pa.Table, columns: list[str] | None) -> pa.Table:
    return table if columns is None else table.select([c for c in table.column_names
                                                       if c in columns])


def to_storage_like(table: pa.Table, data: pa.Buffer) -> pa.Table:
    schema = pq.read_schema(pa.BufferReader(data)).remove_metadata()
    return table.replace_schema_metadata(None).select(schema.names).cast(schema)


def empty_of(dataset: str) -> pa.Table:
    schema = DATASETS.get(dataset)
    return schema.empty_table() if schema is not None else pa.table({})


def infer_timeframe(ts: np.ndarray) -> str:
    """Timeframe label of vendor bars from the typical spacing of their open times."""
    steps = np.diff(ts)
    steps = steps[steps > 0]
    if not steps.size:
        return "1d"
    seconds = int(np.median(steps) // 10**9)
    for unit, size in (("d", 86_400), ("h", 3_600), ("min", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{max(seconds, 1)}s"


def summarise(dataset: str, metas: list[FileMeta]) -> dict[str, Any]:
    """Per-symbol rows, files, bytes and time range of one dataset."""
    symbols: dict[str, dict[str, Any]] = {}
    for m in metas:
        key = symbol_key(dataset, m.path)
        entry = symbols.setdefault(key, {"rows": 0, "files": 0, "bytes": 0,
                                         "start": None, "end": None})
        entry["rows"] += m.rows
        entry["files"] += 1
        entry["bytes"] += m.size
        if m.min_ts is not None and m.max_ts is not None:
            entry["start"] = m.min_ts if entry["start"] is None else min(entry["start"], m.min_ts)
            entry["end"] = m.max_ts if entry["end"] is None else max(entry["end"], m.max_ts)
    for entry in symbols.values():
        entry["start"], entry["end"] = iso(entry["start"]), iso(entry["end"])
    return {"symbols": dict(sorted(symbols.items())),
            "rows": sum(e["rows"] for e in symbols.values()),
            "bytes": sum(e["bytes"] for e in symbols.values()),
            "files": len(metas)}


def symbol_key(dataset: str, path: str) -> str:
    """``EURUSD`` (or ``EURUSD/1min`` for bars) from a file path."""
    parts = dict(p.split("=", 1) for p in path.split("/") if "=" in p)
    symbol = parts.get("symbol", "?")
    if dataset == "bars":
        return f"{symbol}/{parts.get('timeframe', '?')}"
    if dataset == "quarantine":
        return f"{parts.get('dataset', '?')}/{symbol}"
    return symbol
