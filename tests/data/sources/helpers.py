"""Helpers for reader tests: read a whole file and check line accounting."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa

from tickforge.data.sources import get_reader
from tickforge.data.sources.base import ReadOptions


def read(fmt: str, path: Path, **options: object) -> tuple[pa.Table, pa.Table, int]:
    """(rows, rejects, lines_read) of the whole file, checking each chunk's accounting."""
    opts = ReadOptions(symbol=str(options.pop("symbol", "EURUSD")), **options)  # type: ignore[arg-type]
    tables, rejects, lines = [], [], 0
    for chunk in get_reader(fmt).read(path, opts):
        assert chunk.lines_read == chunk.table.num_rows + chunk.rejects.num_rows
        assert chunk.table.column_names[-1] == "_line"
        tables.append(chunk.table)
        rejects.append(chunk.rejects)
        lines += chunk.lines_read
    return pa.concat_tables(tables), pa.concat_tables(rejects), lines


def data_lines(path: Path, header_lines: int = 0) -> int:
    """Non-blank lines after the header."""
    text = path.read_text().splitlines()[header_lines:]
    return sum(1 for line in text if line.strip())


def iso(table: pa.Table, row: int) -> str:
    return table.column("ts")[row].as_py().isoformat()
