"""Ingest: vendor files -> reader chunks -> :class:`Validator` -> lake partitions.

Per source file: its sha256 is looked up in the lake's manifest (already ingested ->
``files_skipped``, nothing read); otherwise the reader streams chunks, the validator splits
them into good / quarantined / duplicate rows and a :class:`~tickforge.data.lake.SourceWriter`
writes each partition as soon as the (time-sorted) data moves past it, so memory holds one
chunk plus one compressed partition. Quarantined rows go to ``quarantine/`` and the manifest
is written last. A file that cannot be used at all raises a one-line
:class:`~tickforge.errors.TickforgeError` and leaves nothing of itself in the lake.
"""

from __future__ import annotations

import hashlib
import mmap
import time
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from tickforge.data.lake import (
    OVERLAP_CHOICES,
    DeferredSource,
    Lake,
    OnOverlap,
    Source,
    SourceWriter,
)
from tickforge.data.schemas import QUARANTINE
from tickforge.data.sources.base import Chunk, Reader, ReadOptions
from tickforge.data.validate import Validator
from tickforge.errors import DataFormatError, LakeError, TickforgeError
from tickforge.progress import ProgressFn, no_progress

# Reader block size for ingest: small blocks keep the encoder thread busy from the start
# (it works on block N while block N+1 is parsed) and fresh small buffers are cheaper to
# allocate than 64 MB ones; parsing is as fast from 4 MB blocks up (measured).
BLOCK_BYTES = 4 << 20
HASH_WINDOW = 16 << 20  # bytes of the mapped file hashed before their pages are released


@dataclass
class FileReport:
    """What happened to one source file."""

    path: str
    sha256: str
    status: str = "ingested"  # or "skipped" (already in the lake)
    dataset: str | None = None
    bytes: int = 0
    rows_read: int = 0
    rows_written: int = 0
    rows_quarantined: int = 0
    duplicates: int = 0
    overlap_skipped: int = 0  # rows already in the lake from another source (in duplicates)
    partitions: int = 0
    replaced_sources: list[str] = field(default_factory=list)
    seconds: float = 0.0


@dataclass
class IngestReport:
    """Totals of one ingest run (``as_dict`` is what ``tickforge ingest --json`` prints)."""

    lake: str
    format: str
    symbol: str
    files: list[FileReport] = field(default_factory=list)
    seconds: float = 0.0

    def total(self, name: str) -> int:
        return sum(int(getattr(f, name)) for f in self.files)

    def as_dict(self) -> dict[str, Any]:
        rows_read = self.total("rows_read")
        return {
            "rows_read": rows_read,
            "rows_written": self.total("rows_written"),
            "rows_quarantined": self.total("rows_quarantined"),
            "duplicates": self.total("duplicates"),
            "files_skipped": sum(f.status == "skipped" for f in self.files),
            "seconds": round(self.seconds, 3),
            "files_ingested": sum(f.status == "ingested" for f in self.files),
            "overlap_skipped": self.total("overlap_skipped"),
            "partitions": self.total("partitions"),
            "bytes_read": self.total("bytes"),
            "rows_per_second": round(rows_read / self.seconds) if self.seconds > 0 else None,
            "lake": self.lake,
            "format": self.format,
            "symbol": self.symbol,
            "files": [asdict(f) for f in self.files],
        }


def ingest_files(paths: Sequence[Path | str], fmt: str, options: ReadOptions, lake: str | Lake,
                 on_overlap: str = "refuse", progress: ProgressFn = no_progress,
                 reader: Reader | None = None) -> IngestReport:
    """Ingest files (or folders) of one vendor format and one symbol into the lake."""
    if on_overlap not in OVERLAP_CHOICES:
        raise LakeError(f"--on-overlap '{on_overlap}' is not one of refuse, skip, replace",
                        field="on_overlap")
    store = lake if isinstance(lake, Lake) else Lake(lake)
    reader = reader or find_reader(fmt)
    files = expand(paths, fmt)
    total = float(sum(p.stat().st_size for p in files))
    report = IngestReport(store.uri, fmt, options.symbol)
    t0 = time.perf_counter()
    done = 0.0
    for path in files:
        size = path.stat().st_size
        bar = ByteProgress(progress, done, size, total)
        report.files.append(ingest_file(store, reader, path, options, on_overlap, bar))  # type: ignore[arg-type]
        done += size
        progress(done, total)
    report.seconds = time.perf_counter() - t0
    return report


def ingest_file(lake: Lake, reader: Reader, path: Path, options: ReadOptions,
                on_overlap: OnOverlap, progress: ByteProgress | None = None) -> FileReport:
    """Ingest one source file (or skip it when its content is already in the lake).

    The sha256 is computed on a thread while the first blocks are parsed, validated and
    encoded; partitions are committed (named after it) only once it is known, and a file
    already in the manifest stops there with nothing written.
    """
    t0 = time.perf_counter()
    report = FileReport(str(path), "", bytes=path.stat().st_size)
    with ThreadPoolExecutor(1, thread_name_prefix="tickforge-sha256") as hasher:
        source = DeferredSource(path.name, hasher.submit(identify, lake, path, options.symbol))
        run = FileRun(lake, path, source, options, on_overlap, report)
        try:
            run.consume(read_chunks(reader, path, options), progress)
            run.finish()
        except BaseException as exc:
            run.rollback()
            if isinstance(exc, AlreadyIngested):
                return FileReport(str(path), exc.sha256, status="skipped", bytes=report.bytes)
            raise
    report.seconds = round(time.perf_counter() - t0, 3)
    return report


class AlreadyIngested(Exception):
    """The file's content is in the lake's manifest (raised to stop reading it)."""

    def __init__(self, sha256: str) -> None:
        super().__init__(sha256)
        self.sha256 = sha256


def identify(lake: Lake, path: Path, symbol: str) -> Source:
    """The file as a lake source (by content hash); AlreadyIngested if the lake has it."""
    sha = sha256_of(path)
    if lake.has_source(symbol, sha):
        raise AlreadyIngested(sha)
    return Source.of_file(path.name, sha)


class FileRun:
    """The state of ingesting one file: validator, partition writer and counts."""

    def __init__(self, lake: Lake, path: Path, source: DeferredSource, options: ReadOptions,
                 on_overlap: OnOverlap, report: FileReport) -> None:
        self.lake = lake
        self.path = path
        self.source = source
        self.options = options
        self.on_overlap = on_overlap
        self.report = report
        self.validator: Validator | None = None
        self.writer: SourceWriter | None = None
        self.quarantine: list[pa.Table] = []

    def consume(self, chunks: Iterable[Chunk], progress: ByteProgress | None) -> None:
        for chunk in chunks:
            if self.validator is None:
                self.start(chunk)
            assert self.validator is not None and self.writer is not None
            good, bad, dups = self.validator.validate(chunk)
            self.writer.add(good)
            if bad.num_rows:
                self.quarantine.append(bad)
            self.report.rows_read += chunk.table.num_rows + chunk.rejects.num_rows
            self.report.duplicates += dups
            if progress is not None:
                progress.chunk(chunk)
            self.stop_if_known()

    def stop_if_known(self) -> None:
        """Stop reading as soon as the hash says the lake already has this file."""
        future = self.source.future
        if future.done() and isinstance(future.exception(), AlreadyIngested):
            future.result()

    def start(self, chunk: Chunk) -> None:
        self.report.dataset = chunk.dataset
        self.validator = Validator(chunk.dataset, self.path.name, self.options.symbol)
        self.writer = self.lake.writer(chunk.dataset, self.options.symbol, self.source,
                                       self.on_overlap)

    def finish(self) -> None:
        source = self.source.resolve()
        self.report.sha256 = source.sha256
        if self.validator is None or self.writer is None:
            raise DataFormatError("the file holds no data rows", file=str(self.path),
                                  hint="check --format, or that the file is not empty")
        good, _ = self.validator.finish()
        self.writer.add(good)
        written = self.writer.close()
        quarantine = (pa.concat_tables(self.quarantine) if self.quarantine
                      else QUARANTINE.empty_table())
        self.count(written, quarantine)
        self.check_usable(quarantine)
        self.lake.write_quarantine(self.report.dataset or "quotes", self.options.symbol,
                                   source, quarantine)
        self.lake.write_manifest(self.options.symbol, source.sha256, self.manifest())

    def count(self, written: list[Any], quarantine: pa.Table) -> None:
        r = self.report
        r.rows_written = sum(w.rows for w in written)
        r.overlap_skipped = sum(w.overlap_skipped for w in written)
        r.duplicates += r.overlap_skipped
        r.rows_quarantined = quarantine.num_rows
        r.partitions = sum(1 for w in written if w.rows)
        r.replaced_sources = sorted({s for w in written for s in w.replaced})

    def check_usable(self, quarantine: pa.Table) -> None:
        r = self.report
        if r.rows_read and r.rows_quarantined == r.rows_read:
            reason = quarantine.column("reason")[0].as_py()
            line = quarantine.column("line")[0].as_py()
            raise DataFormatError(f"none of the {r.rows_read} rows is usable (first: {reason})",
                                  file=str(self.path), line=line,
                                  hint=f"is this really --format data of {self.options.symbol}?")

    def rollback(self) -> None:
        if self.writer is not None:
            self.writer.rollback()

    def manifest(self) -> dict[str, Any]:
        r = self.report
        return {"sha256": r.sha256, "source": str(self.path), "name": self.path.name,
                "symbol": self.options.symbol, "dataset": r.dataset, "bytes": r.bytes,
                "rows_read": r.rows_read, "rows_written": r.rows_written,
                "rows_quarantined": r.rows_quarantined, "duplicates": r.duplicates,
                "overlap_skipped": r.overlap_skipped,
                "files": [w.path.removeprefix(self.lake.root + "/")
                          for w in (self.writer.written if self.writer else []) if w.rows],
                "ingested_at": datetime.now(UTC).isoformat()}


class ByteProgress:
    """Progress by bytes inside one file, estimated from the lines read so far."""

    def __init__(self, progress: ProgressFn, done: float, size: int, total: float) -> None:
        self.progress = progress
        self.done = done
        self.size = size
        self.total = total
        self.lines = 0
        self.bytes_per_line: float | None = None

    def chunk(self, chunk: Chunk) -> None:
        self.lines += chunk.lines_read
        if self.bytes_per_line is None:
            self.bytes_per_line = estimate_line_bytes(chunk)
        if self.bytes_per_line:
            part = min(self.size, self.lines * self.bytes_per_line)
            self.progress(self.done + part, self.total)


def estimate_line_bytes(chunk: Chunk) -> float:
    """Average raw line length of a chunk's first lines (0 when unknown, e.g. binary)."""
    if "_line" not in chunk.table.column_names or not chunk.table.num_rows:
        return 0.0
    lines = chunk.table.column("_line").to_numpy()[:100]
    texts = chunk.raw_lines(np.asarray(lines))
    sizes = [len(t) + 1 for t in texts if t]
    return float(np.mean(sizes)) if sizes else 0.0


# ---------------------------------------------------------------- readers and files


def find_reader(fmt: str) -> Reader:
    from tickforge.data.sources import get_reader

    reader: Reader = get_reader(fmt)
    return reader


def expand(paths: Sequence[Path | str], fmt: str) -> list[Path]:
    """Files to ingest, in order (folders expanded by the format's own rules)."""
    from tickforge.data import sources

    expand_paths = getattr(sources, "expand_paths", None)
    if expand_paths is not None:
        return [Path(p) for p in expand_paths([Path(p) for p in paths], fmt)]
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            out += sorted(f for f in p.rglob("*") if f.is_file() and not f.name.startswith("."))
        elif p.exists():
            out.append(p)
        else:
            raise DataFormatError("no such file or folder", file=str(p))
    return out


def read_chunks(reader: Reader, path: Path, options: ReadOptions) -> Iterator[Chunk]:
    """The reader's chunks (blocks of at most ``BLOCK_BYTES``); low-level decode errors
    become one-line DataFormatErrors."""
    if options.block_bytes > BLOCK_BYTES:
        options = replace(options, block_bytes=BLOCK_BYTES)
    try:
        yield from reader.read(path, options)
    except TickforgeError:
        raise
    except (ValueError, EOFError, UnicodeError) as exc:
        raise DataFormatError(f"cannot read as {getattr(reader, 'name', '?')}: {exc}",
                              file=str(path), hint="check --format") from exc


def sha256_of(path: Path) -> str:
    """Content hash of a file, memory-mapped (no copy through a read buffer) when possible.

    The mapping is hashed in windows whose pages are released after use, so the file never
    counts in the process's resident memory.
    """
    digest = hashlib.sha256()
    with path.open("rb") as f:
        try:
            view = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        except (ValueError, OSError):  # empty file, or not mappable (pipe, special file)
            return hashlib.file_digest(f, "sha256").hexdigest()
        with view:
            for start in range(0, len(view), HASH_WINDOW):
                end = min(start + HASH_WINDOW, len(view))
                with memoryview(view)[start:end] as window:
                    digest.update(window)
                view.madvise(mmap.MADV_DONTNEED, start, end - start)
    return digest.hexdigest()
