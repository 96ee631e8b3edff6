"""Walk-forward windows from specs like ``6M``, ``1M``, ``30D``, ``2W``, ``1Y``, ``12h``.

All windows are half-open ``[start, end)`` in UTC. Rolling: the training window slides by
the test length. Anchored: training always starts at the first timestamp and grows.
Test windows follow their training window immediately, never overlap one another, and are
in time order; the last one is cut at the end of the data.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pandas as pd

from tickforge.errors import ConfigError

_SPEC = re.compile(r"^\s*(\d+)\s*(Y|M|W|D|h|H|min|s)\s*$")
_UNITS = {"Y": "years", "M": "months", "W": "weeks", "D": "days", "h": "hours", "H": "hours",
          "min": "minutes", "s": "seconds"}


@dataclass(frozen=True)
class Window:
    train_start: pd.Timestamp
    train_end: pd.Timestamp
    test_start: pd.Timestamp
    test_end: pd.Timestamp

    def as_dict(self) -> dict[str, str]:
        return {k: getattr(self, k).isoformat() for k in
                ("train_start", "train_end", "test_start", "test_end")}


def parse_span(spec: str, field: str = "window") -> pd.DateOffset:
    """``6M`` -> 6 calendar months; Y, M, W, D, h, min, s are understood."""
    match = _SPEC.match(spec)
    if match is None or int(match.group(1)) == 0:
        raise ConfigError(f"'{spec}' is not a window length", field=field,
                          hint="e.g. 6M (months), 30D (days), 2W, 1Y, 12h, 90min")
    return pd.DateOffset(**{_UNITS[match.group(2)]: int(match.group(1))})  # type: ignore[arg-type]


def _utc(ts: object) -> pd.Timestamp:
    stamp = pd.Timestamp(ts)  # type: ignore[arg-type]
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def make_windows(start: object, end: object, train: str, test: str,
                 anchored: bool = False) -> list[Window]:
    """Windows covering ``[start, end)``; empty if the data is shorter than one training span."""
    first, last = _utc(start), _utc(end)
    train_off, test_off = parse_span(train, "train"), parse_span(test, "test")
    origin = first + train_off  # test boundaries: origin + k * test, so tests tile exactly
    windows: list[Window] = []
    k = 0
    while True:
        test_start = origin + test_off * k if k else origin
        if test_start >= last:
            return windows
        test_end = min(origin + test_off * (k + 1), last)
        # month arithmetic is not monotone near month ends: never move the start back
        floor = windows[-1].train_start if windows else first
        train_start = first if anchored else max(floor, test_start - train_off)
        windows.append(Window(train_start, test_start, test_start, test_end))
        k += 1
