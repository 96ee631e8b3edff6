"""Open vendor files (plain, ``.gz``, ``.zip`` as downloaded) and stream them in blocks
that end at line boundaries, with exact physical line numbers.
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

from tickforge.errors import DataFormatError

_SMALL = 1 << 16


@dataclass
class Piece:
    """A block of a text file ending at a newline (or at the end of the file)."""

    raw: bytearray  # owns the bytes; ``data`` is a uint8 view of raw[:size]
    data: np.ndarray
    first_line: int  # physical line number of the first byte
    size: int

    @property
    def ends_with_newline(self) -> bool:
        return self.size > 0 and self.raw[self.size - 1] == 10

    def line_text(self, start: int) -> str:
        """Raw text of the line starting at byte ``start`` (without the line ending)."""
        end = self.raw.find(b"\n", start, self.size)
        end = self.size if end < 0 else end
        return bytes(self.raw[start:end]).decode("utf-8", "replace").rstrip("\r")

    def is_truncated_at(self, start: int) -> bool:
        """True if the line at ``start`` is the file's last line and has no newline."""
        return not self.ends_with_newline and self.raw.find(b"\n", start, self.size) < 0


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


def iter_pieces(path: Path, block_bytes: int, skip_lines: int = 0) -> Iterator[Piece]:
    """Yield blocks of about ``block_bytes`` ending at newlines; the first ``skip_lines``
    lines (headers) are skipped. A line longer than a block grows that block."""
    block_bytes = max(int(block_bytes), 1)
    if path.suffix.lower() in (".csv", ".txt") and path.is_file():
        block_bytes = min(block_bytes, path.stat().st_size + 1)
    with open_stream(path) as stream:
        carry = _skip_lines(stream, skip_lines)
        line = skip_lines + 1
        while True:
            buf = bytearray(len(carry) + block_bytes)
            buf[: len(carry)] = carry
            got = _fill(stream, memoryview(buf)[len(carry):])
            size = len(carry) + got
            eof = got < block_bytes
            cut = size if eof else buf.rfind(b"\n", 0, size) + 1
            if cut == 0 and not eof:
                carry = bytes(buf[:size])
                continue
            if cut:
                yield Piece(buf, np.frombuffer(buf, np.uint8, count=cut), line, cut)
            line += buf.count(b"\n", 0, cut)
            carry = bytes(buf[cut:size])
            if eof:
                return
