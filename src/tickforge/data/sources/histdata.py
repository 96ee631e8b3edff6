"""HistData.com ASCII files.

* ``histdata`` - tick data ``YYYYMMDD HHMMSSfff,bid,ask,volume`` -> quotes.
* ``histdata-m1`` - one-minute bars ``YYYYMMDD HHMMSS;open;high;low;close;volume`` -> bars.

No header. Times are EST *without* daylight saving, i.e. a fixed UTC-5 offset (HistData's
own description); ``--tz`` overrides it. The volume of tick files is 0 in practice: it is
stored as ``bid_size``/``ask_size`` when non-zero, else null. Plain files and the ``.zip``
files as downloaded (csv member + status txt) are read; the csv member is streamed.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from tickforge.data.sources import nb
from tickforge.data.sources.base import Chunk, Dataset, ReadOptions
from tickforge.data.sources.blocks import head_lines
from tickforge.data.sources.fast import Field, LineSpec, looks_like_header, read_lines
from tickforge.data.sources.timeutil import HOUR_NS

EST_NS = -5 * HOUR_NS

TICKS = LineSpec(
    dataset="quotes",
    fields=(Field("datetime", nb.K_TS_HIST), Field("bid", nb.K_NUM, ("bid",)),
            Field("ask", nb.K_NUM, ("ask",)),
            Field("volume", nb.K_NUM_OPT, ("bid_size", "ask_size"))),
    default_offset_ns=EST_NS,
    ts_hint="YYYYMMDD HHMMSSfff",
    zero_is_null=("bid_size", "ask_size"),
)

M1 = LineSpec(
    dataset="bars",
    fields=(Field("datetime", nb.K_TS_HIST), Field("open", nb.K_NUM, ("open",)),
            Field("high", nb.K_NUM, ("high",)), Field("low", nb.K_NUM, ("low",)),
            Field("close", nb.K_NUM, ("close",)), Field("volume", nb.K_NUM_OPT, ("volume",))),
    delim=";",
    default_offset_ns=EST_NS,
    ts_hint="YYYYMMDD HHMMSS",
    zero_is_null=("volume",),
)


def _header_lines(path: Path) -> int:
    head = head_lines(path, 1)
    return 1 if head and looks_like_header(head[0]) else 0


class HistDataTicks:
    name = "histdata"
    dataset: Dataset = "quotes"

    def read(self, path: Path, options: ReadOptions) -> Iterator[Chunk]:
        return read_lines(path, options, TICKS, _header_lines(path))


class HistDataM1:
    name = "histdata-m1"
    dataset: Dataset = "bars"

    def read(self, path: Path, options: ReadOptions) -> Iterator[Chunk]:
        return read_lines(path, options, M1, _header_lines(path))
