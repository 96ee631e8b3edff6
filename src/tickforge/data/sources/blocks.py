"""Open vendor files (plain, ``.gz``, ``.zip`` as downloaded) and stream them in blocks
that end at line boundaries, with exact physical line numbers.

Plain files can be read into one reused buffer (``reuse=True``): fresh memory is costly
(page faults) and a 64 MB block costs as much to allocate as to parse. A piece of such a
buffer is only valid until the next one is read; after that its ``line_text`` reads the
line back from the file.
"""

from __future__ import annotations

import bz2
import gzip
import lzma
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import numpy as np

from tickforge.data.sources.nb import count_newlines
from tickforge.errors import DataFormatError

_SMALL = 1 << 16
_MARGIN = 1 << 16  # room for the partial line carried to the next block
_POOL: list[bytearray] = []  # one idle reusable buffer, kept between files


def _take_buffer(size: int) -> bytearray:
    """A buffer of at least ``size`` bytes: the idle pooled one if big enough."""
    try:
        buf = _POOL.pop()
    except IndexError:
        return bytearray(size)
    return buf if len(buf) >= size else bytearray(size)


def _give_back(buf: bytearray) -> None:
    if not _POOL:
        _POOL.append(buf)


@dataclass
class Shared:
    """A reused block buffer of a plain file; ``generation`` counts the blocks read."""

    path: Path
    generation: int = 0


@dataclass
class Piece:
    """A block of a text file ending at a newline (or at the end of the file)."""

    raw: bytearray  # holds the bytes; ``data`` is a uint8 view of raw[:size]
    data: np.ndarray
    first_line: int  # physical line number of the first byte
    size: int
    newlines: int = -1  # number of newlines in data (-1: not counted)
    shared: Shared | None = None  # set when raw is reused for later blocks
    offset: int = 0  # file offset of raw[0] (plain files)
    generation: int = 0

    @property
    def stale(self) -> bool:
        """True once the reused buffer holds a later block."""
        return self.shared is not None and self.shared.generation != self.generation

    def _line(self, start: int) -> tuple[bytes, bool]:
        """(bytes of the line at ``start`` without its newline, whether it has one)."""
        if self.stale:
            assert self.shared is not None
            return _read_line(self.shared.path, self.offset + start, self.size - start)
        end = self.raw.find(b"\n", start, self.size)
        return bytes(self.raw[start:self.size if end < 0 else end]), end >= 0

    def line_text(self, start: int) -> str:
        """Raw text of the line starting at byte ``start`` (without the line ending)."""
        return self._line(start)[0].decode("utf-8", "replace").rstrip("\r")

    def is_truncated_at(self, start: int) -> bool:
        """True if the line at ``start`` is the file's last line and has no newline."""
        return not self._line(start)[1]


def _read_line(path: Path, pos: int, limit: int) -> tuple[bytes, bool]:
    """The line at byte ``pos`` of a plain file, read back (at most ``limit`` bytes)."""
    out = b""
    with path.open("rb") as f:
        f.seek(pos)
        while len(out) < limit:
            more = f.read(min(_SMALL, limit - len(out)))
            if not more:
                break
            nl = more.find(b"\n")
            if nl >= 0:
                return out + more[:nl], True
            out += more
    return out[:limit], False


def _zip_member(archive: zipfile.ZipFile, path: Path) -> zipfile.ZipInfo:
    members = [m for m in archive.infolist() if not m.is_dir()]
    if not members:
        raise DataFormatError("zip archive is empty", file=str(path))
    data = [m for m in members if m.filename.lower().endswith((".csv", ".txt.csv"))]
    return max(data or members, key=lambda m: m.file_size)


@contextmanager
def open_stream(path: Path) -> Iterator[IO[bytes]]:
    """Open ``path`` for binary reading, decompressing .gz/.bz2/.xz and .zip members."""
    if not path.is_file():
        raise DataFormatError("file not found", file=str(path), hint="check the path")
    name = path.name.lower()
    try:
        if name.endswith(".zip"):
            with zipfile.ZipFile(path) as archive, archive.open(_zip_member(archive, path)) as f:
                yield f
            return
        opener = {".gz": gzip.open, ".bz2": bz2.open, ".xz": lzma.open}.get(path.suffix.lower())
        with (opener(path, "rb") if opener else path.open("rb")) as f:  # type: ignore[operator]
            yield f
    except (zipfile.BadZipFile, gzip.BadGzipFile, lzma.LZMAError, EOFError, OSError) as exc:
        if isinstance(exc, FileNotFoundError):
            raise
        raise DataFormatError(f"cannot read file: {exc}", file=str(path),
                              hint="the file may be truncated or not what its name says; "
                                   "re-download it") from exc


def _fill(stream: IO[bytes], view: memoryview) -> int:
    got = 0
    while got < len(view):
        n = stream.readinto(view[got:])  # type: ignore[attr-defined]
        if not n:
            break
        got += n
    return got


def _skip_lines(stream: IO[bytes], count: int) -> bytes:
    """Consume ``count`` lines; return the bytes read past them."""
    carry = b""
    while count > 0:
        data = carry + stream.read(_SMALL)
        if len(data) == len(carry):
            return b""
        pos = 0
        while count > 0:
            nl = data.find(b"\n", pos)
            if nl < 0:
                break
            pos = nl + 1
            count -= 1
        carry = data[pos:]
    return carry


def head_lines(path: Path, count: int) -> list[str]:
    """The first ``count`` lines of the file as text (fewer if the file is shorter)."""
    out: list[str] = []
    with open_stream(path) as stream:
        data = b""
        while data.count(b"\n") < count:
            more = stream.read(_SMALL)
            if not more:
                break
            data += more
    if not data:
        return out
    for raw in data.split(b"\n")[:count]:
        out.append(raw.decode("utf-8", "replace").rstrip("\r"))
    out[0] = out[0].lstrip("\ufeff")
    return out


def iter_pieces(path: Path, block_bytes: int, skip_lines: int = 0, reuse: bool = False
                ) -> Iterator[Piece]:
    """Yield blocks of about ``block_bytes`` ending at newlines; the first ``skip_lines``
    lines (headers) are skipped. A line longer than a block grows that block.

    ``reuse=True`` reads plain files into one buffer reused for every block (see the
    module doc); compressed files always get a fresh buffer per block."""
    block_bytes = max(int(block_bytes), 1)
    plain = path.suffix.lower() in (".csv", ".txt") and path.is_file()
    if plain:
        block_bytes = min(block_bytes, path.stat().st_size + 1)
    with open_stream(path) as stream:
        carry = _skip_lines(stream, skip_lines)
        offset = stream.tell() - len(carry) if plain else 0
        if not (plain and reuse):
            yield from _pieces(stream, block_bytes, carry, skip_lines + 1, None, offset)
            return
        shared = Shared(path)
        buf = _take_buffer(len(carry) + block_bytes + _MARGIN)
        try:
            yield from _pieces(stream, block_bytes, carry, skip_lines + 1, shared, offset, buf)
        finally:
            shared.generation += 1  # earlier pieces now read their lines from the file
            _give_back(buf)


def _pieces(stream: IO[bytes], block_bytes: int, carry: bytes, line: int,
            shared: Shared | None, offset: int, buf: bytearray | None = None
            ) -> Iterator[Piece]:
    """Blocks of ``stream``: in ``buf`` (reused, when ``shared``) or in fresh buffers."""
    buf = bytearray(len(carry) + block_bytes) if buf is None else buf
    buf[: len(carry)] = carry
    held = len(carry)
    while True:
        if held + block_bytes > len(buf):  # a partial line longer than the margin
            grown = bytearray(held + block_bytes + _MARGIN)
            grown[:held] = buf[:held]
            buf = grown
        got = _fill(stream, memoryview(buf)[held:held + block_bytes])
        size = held + got
        eof = got < block_bytes
        cut = size if eof else buf.rfind(b"\n", 0, size) + 1
        if cut:
            data = np.frombuffer(buf, np.uint8, count=cut)
            newlines = count_newlines(data)
            generation = shared.generation if shared else 0
            yield Piece(buf, data, line, cut, newlines, shared, offset, generation)
            line += newlines
            offset += cut
        if eof:
            return
        if shared:
            shared.generation += 1  # before the buffer is overwritten
            buf[: size - cut] = buf[cut:size]
        else:
            fresh = bytearray(size - cut + block_bytes)
            fresh[: size - cut] = buf[cut:size]
            buf = fresh
        held = size - cut
