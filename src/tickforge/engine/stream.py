"""Several symbols' partition streams merged into one time-ordered stream of event chunks.

Each symbol's lake partitions arrive in time order (``Lake.iter``); a chunk holds every row
up to the earliest last time stamp among the symbols' current partitions, so nothing later
can sort before it. Rows with the same time stamp keep the symbols' order, then file order:
the order a stable sort of all symbols' rows gives (``engine.data.lake_frame``), so a
streamed run equals a whole-selection run. At most two partitions per symbol are held (the
current one and the next, read to see whether it starts at the current one's last time;
more only when several partitions share a boundary time stamp).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import numpy as np

from tickforge.engine.data import Events


def merge_streams(streams: list[Iterator[Events]], codes: list[int],
                  names: list[str]) -> Iterator[Events]:
    """Chunks of ``streams`` (one per symbol, each time-ordered; same-time rows keep this
    order) as events over ``names``; stream k's rows get symbol index ``codes[k]``."""
    sources = [Source(s) for s in streams]
    heads: list[Events | None] = [src.take() for src in sources]
    while any(h is not None for h in heads):
        cut = min(int(h.ts[-1]) for h in heads if h is not None)
        parts: list[tuple[int, Events]] = []
        for k, head in enumerate(heads):
            if head is None:
                continue
            n = int(np.searchsorted(head.ts, cut, side="right"))
            if n:
                parts.append((codes[k], head.slice(0, n)))
            heads[k] = head.slice(n, len(head)) if n < len(head) else sources[k].take()
        yield combine(parts, names)


class Source:
    """One stream's partitions; :meth:`take` joins the next partitions that start at the
    time stamp the current one ends with, so a head's last time stamp is complete."""

    def __init__(self, stream: Iterator[Events]) -> None:
        self.stream = stream
        self.peeked: Events | None = None

    def next_part(self) -> Events | None:
        if self.peeked is not None:
            part, self.peeked = self.peeked, None
            return part
        for events in self.stream:
            if len(events):
                return events
        return None

    def take(self) -> Events | None:
        head = self.next_part()
        if head is None:
            return None
        pieces = [head]
        while (nxt := self.next_part()) is not None:
            if nxt.ts[0] != pieces[-1].ts[-1]:
                self.peeked = nxt
                break
            pieces.append(nxt)
        return head if len(pieces) == 1 else Events.concat(pieces)


def combine(parts: Iterable[tuple[int, Events]], names: list[str]) -> Events:
    """One chunk from per-symbol pieces (symbol index, events): stable time order."""
    pieces = [Events(e.kind, list(names), e.ts, np.full(len(e), k, np.int64), e.o, e.h, e.low,
                     e.c, e.v, e.sp) for k, e in parts]
    out = Events.concat(pieces)
    if len(pieces) > 1:
        order = np.argsort(out.ts, kind="stable")
        out = Events(out.kind, out.symbols, *(a[order] for a in out.as_tuple()))
    return out
