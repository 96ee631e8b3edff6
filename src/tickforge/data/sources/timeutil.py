"""Time-zone handling for readers: local wall-clock ns -> UTC ns, exactly."""

from __future__ import annotations

import re
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import pandas as pd

from tickforge.errors import ConfigError

_OFFSET = re.compile(r"^(?:UTC|GMT)?\s*([+-])(\d{1,2})(?::?(\d{2}))?$", re.IGNORECASE)
HOUR_NS = 3_600_000_000_000


def fixed_offset_ns(tz: str) -> int | None:
    """Offset east of UTC in ns for 'UTC', '+05:00', '-0500', 'UTC-5'; None for IANA names."""
    text = tz.strip()
    if text.upper() in ("UTC", "GMT", "Z"):
        return 0
    match = _OFFSET.match(text)
    if not match:
        return None
    sign = 1 if match.group(1) == "+" else -1
    return sign * (int(match.group(2)) * 3600 + int(match.group(3) or 0) * 60) * 1_000_000_000


def check_tz(tz: str) -> None:
    """Raise ConfigError unless ``tz`` is a fixed offset or a known IANA zone."""
    if fixed_offset_ns(tz) is not None:
        return
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError(f"unknown time zone '{tz}'", field="tz",
                          hint="use an IANA name like America/New_York or an offset like "
                               "+05:00") from exc


def local_to_utc(ts: np.ndarray, tz: str | None, default_offset_ns: int = 0
                 ) -> tuple[np.ndarray, np.ndarray | None]:
    """Convert naive local ns to UTC ns.

    ``tz`` None means the format's fixed default offset. Returns the UTC values and a
    boolean mask of rows whose local time does not exist or is ambiguous in ``tz``
    (None when every row converted).
    """
    offset = default_offset_ns if tz is None else fixed_offset_ns(tz)
    if offset is not None:
        return ts - offset, None
    assert tz is not None
    check_tz(tz)
    index = pd.DatetimeIndex(ts.view("datetime64[ns]"))
    try:
        local = index.tz_localize(tz, ambiguous="infer", nonexistent="NaT")
    except Exception:  # ambiguous times that cannot be inferred from order
        local = index.tz_localize(tz, ambiguous="NaT", nonexistent="NaT")
    out = local.tz_convert("UTC").tz_localize(None).asi8.copy()
    bad = np.asarray(local.isna())
    return out, (bad if bad.any() else None)
