"""The contract every vendor reader follows.

A reader turns one source file into a stream of :class:`Chunk` objects. Each chunk
holds rows already converted to the canonical schema of its dataset
(:mod:`tickforge.data.schemas`) plus a ``_line`` column (1-based line number in the
source file, or record number for binary files), and the rows the reader could not
parse at all (``rejects``), each with line number, raw text and reason. Readers never
drop a row silently: every line of data in the file ends up either in ``table`` or in
``rejects`` (header lines and blank lines are not data and are not counted).

Readers stream: a multi-GB file is read in blocks of bounded size, never whole.
Validation beyond parsing (prices, crossed quotes, order, duplicates, spikes) is done
by :mod:`tickforge.data.validate`, not by readers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Protocol

import numpy as np
import pyarrow as pa

Dataset = Literal["quotes", "trades", "bars"]

REJECT_SCHEMA = pa.schema(
    [
        pa.field("line", pa.int64(), nullable=False),
        pa.field("raw", pa.string()),
        pa.field("reason", pa.string(), nullable=False),
    ]
)


def empty_rejects() -> pa.Table:
    return REJECT_SCHEMA.empty_table()


@dataclass
class Chunk:
    """A block of parsed rows from one source file.

    ``table``: canonical columns of ``dataset`` + ``_line`` (int64), in file order.
    ``rejects``: rows that failed to parse (schema :data:`REJECT_SCHEMA`).
    ``raw_lines``: returns the raw text of the given line numbers of this chunk,
    so the validator can quarantine a parsed row with its original text.
    ``lines_read``: number of data lines this chunk covers (= table rows + rejects).
    """

    dataset: Dataset
    table: pa.Table
    rejects: pa.Table = field(default_factory=empty_rejects)
    raw_lines: Callable[[np.ndarray], list[str]] = lambda lines: ["" for _ in lines]
    lines_read: int = 0


@dataclass(frozen=True)
class ReadOptions:
    """Options a user may give on the command line (``tickforge ingest``)."""

    symbol: str
    point: float | None = None  # Dukascopy price point override
    tz: str | None = None  # source time zone override (IANA name or fixed offset "+05:00")
    # generic csv: column mapping "ts=Time,bid=Bid,ask=Ask", timestamp format, dataset
    columns: dict[str, str] | None = None
    ts_format: str | None = None
    dataset: Dataset | None = None
    block_bytes: int = 64 << 20


class Reader(Protocol):
    """A vendor format reader (one module per format under ``data/sources``)."""

    name: str  # the --format name, e.g. "histdata"
    dataset: Dataset  # the dataset it produces

    def read(self, path: Path, options: ReadOptions) -> Iterator[Chunk]:
        """Yield chunks of the file. Raise DataFormatError if the file is unusable."""
        ...
