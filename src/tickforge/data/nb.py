"""Numba kernels of the data layer (bars and synthetic ticks). NumPy in, NumPy out.

Thin typed wrappers live in :mod:`tickforge.data.bars` and :mod:`tickforge.data.synth`.
Kernels assume clean input (no NaN prices, time-sorted rows); the wrappers check that.
"""

from __future__ import annotations

import numpy as np
from numba import njit

# ---------------------------------------------------------------- bars: segment starts


@njit(cache=True)
def time_starts(ts: np.ndarray, step: int, offset: int) -> np.ndarray:
    """Index of the first row of each time bucket ``floor((ts - offset) / step)``.

    ``ts`` must be non-decreasing. Empty buckets produce no segment.
    """
    starts = np.empty(_time_starts_into(ts, step, offset, np.empty(0, np.int64)), np.int64)
    _time_starts_into(ts, step, offset, starts)
    return starts


@njit(cache=True, _nrt=False)
def _time_starts_into(ts: np.ndarray, step: int, offset: int, starts: np.ndarray) -> int:
    """Count the buckets' first rows, writing their indices when ``starts`` has room. A
    row opens a bucket when it reaches the next bucket's edge (the rows are sorted), so
    the division runs once per bucket, not once per row."""
    count = 0
    edge = np.int64(0)
    room = starts.size > 0
    for i in range(ts.size):
        if i == 0 or ts[i] >= edge:
            edge = ((ts[i] - offset) // step + 1) * step + offset
            if room:
                starts[count] = i
            count += 1
    return count


@njit(cache=True)
def volume_starts(
    volume: np.ndarray, threshold: float, carried: float
) -> tuple[np.ndarray, float, bool]:
    """Segments that close as soon as their accumulated volume reaches ``threshold``.

    The tick that reaches the threshold belongs to the bar it closes (ticks are never
    split). ``carried`` is the volume already accumulated by an open bar from an earlier
    chunk, continued by the first segment. Returns (starts, volume accumulated by the
    last segment, whether the last segment is closed). NaN volumes count as 0.
    """
    n = volume.size
    starts = np.empty(n, np.int64)
    m = 0
    acc = carried
    closed = False
    for i in range(n):
        if i == 0 or closed:
            starts[m] = i
            m += 1
            if closed:
                acc = 0.0
            closed = False
        v = volume[i]
        if v == v:
            acc += v
        if acc >= threshold:
            closed = True
    return starts[:m].copy(), acc, closed


# ---------------------------------------------------------------- bars: aggregation


@njit(cache=True, _nrt=False, inline="always")
def _ohlc_row(
    out: np.ndarray, j: int, r: int, lo: int, hi: int,
    first: np.ndarray, high: np.ndarray, low: np.ndarray, last: np.ndarray,
    carry: np.ndarray, cont: bool,
) -> None:
    if cont:
        o = carry[4 * r]
        h = carry[4 * r + 1]
        lw = carry[4 * r + 2]
    else:
        o = first[r, lo]
        h = high[r, lo]
        lw = low[r, lo]
    for i in range(lo, hi):
        if high[r, i] > h:
            h = high[r, i]
        if low[r, i] < lw:
            lw = low[r, i]
    out[4 * r, j] = o
    out[4 * r + 1, j] = h
    out[4 * r + 2, j] = lw
    out[4 * r + 3, j] = last[r, hi - 1]


@njit(cache=True)
def rollup(
    starts: np.ndarray,
    first: np.ndarray,
    high: np.ndarray,
    low: np.ndarray,
    last: np.ndarray,
    sums: np.ndarray,
    counts: np.ndarray,
    carry: np.ndarray,
    carry_count: int,
) -> tuple[np.ndarray, np.ndarray]:
    """OHLC + sums + counts per segment, for ticks (first=high=low=last=price) or bars.

    ``first/high/low/last``: (k, n) series; ``sums``: (s, n) summed per segment, NaN as 0;
    ``counts``: (n,) summed per segment, or empty meaning one per row. When
    ``carry_count > 0`` the first segment continues an open bar whose column of the
    output is ``carry`` (length 4k + s) and whose count is ``carry_count``; sums then
    continue the same running total as a one-shot pass would, so results are identical.
    Returns out (4k + s, m) rows o,h,l,c per series then sums, and counts (m,).
    """
    k = first.shape[0]
    s = sums.shape[0]
    n = first.shape[1]
    m = starts.size
    out = np.empty((4 * k + s, m))
    cnt = np.empty(m, np.int64)
    for j in range(m):
        lo = starts[j]
        hi = starts[j + 1] if j + 1 < m else n
        cont = j == 0 and carry_count > 0
        for r in range(k):
            _ohlc_row(out, j, r, lo, hi, first, high, low, last, carry, cont)
        for q in range(s):
            acc = carry[4 * k + q] if cont else 0.0
            for i in range(lo, hi):
                v = sums[q, i]
                if v == v:
                    acc += v
            out[4 * k + q, j] = acc
        c = carry_count if cont else 0
        if counts.size == 0:
            c += hi - lo
        else:
            for i in range(lo, hi):
                c += counts[i]
        cnt[j] = c
    return out, cnt


@njit(cache=True)
def quote_rollup(starts: np.ndarray, bid: np.ndarray, ask: np.ndarray, volume: np.ndarray,
                 carry: np.ndarray, carry_count: int) -> tuple[np.ndarray, np.ndarray]:
    """:func:`rollup` of quotes, bit for bit: the series mid ``(bid + ask) / 2``, bid and
    ask, the sums ``volume``, one count per row. The mid is computed as each row is read,
    so the three series are never written out and read back."""
    m = starts.size
    out = np.empty((13, m))
    cnt = np.empty(m, np.int64)
    _quote_rollup_into(starts, bid, ask, volume, carry, carry_count, out, cnt)
    return out, cnt


@njit(cache=True, _nrt=False, inline="always")
def _widen(x: float, high: float, low: float) -> tuple[float, float]:
    """(high, low) after a value ``x``, compared as ``_ohlc_row`` does."""
    return (x if x > high else high), (x if x < low else low)


@njit(cache=True, _nrt=False)
def _quote_rollup_into(starts: np.ndarray, bid: np.ndarray, ask: np.ndarray,
                       volume: np.ndarray, carry: np.ndarray, carry_count: int,
                       out: np.ndarray, cnt: np.ndarray) -> None:
    m, n = starts.size, bid.size
    for j in range(m):
        lo = starts[j]
        hi = starts[j + 1] if j + 1 < m else n
        cont = j == 0 and carry_count > 0
        mid0 = (bid[lo] + ask[lo]) / 2
        mo, mh, ml = (carry[0], carry[1], carry[2]) if cont else (mid0, mid0, mid0)
        bo, bh, bl = (carry[4], carry[5], carry[6]) if cont else (bid[lo], bid[lo], bid[lo])
        ao, ah, al = (carry[8], carry[9], carry[10]) if cont else (ask[lo], ask[lo], ask[lo])
        acc = carry[12] if cont else 0.0
        for i in range(lo, hi):
            b, a = bid[i], ask[i]
            mh, ml = _widen((b + a) / 2, mh, ml)
            bh, bl = _widen(b, bh, bl)
            ah, al = _widen(a, ah, al)
            v = volume[i]
            if v == v:
                acc += v
        b, a = bid[hi - 1], ask[hi - 1]
        out[0, j], out[1, j], out[2, j], out[3, j] = mo, mh, ml, (b + a) / 2
        out[4, j], out[5, j], out[6, j], out[7, j] = bo, bh, bl, b
        out[8, j], out[9, j], out[10, j], out[11, j] = ao, ah, al, a
        out[12, j] = acc
        cnt[j] = (carry_count if cont else 0) + hi - lo


# ---------------------------------------------------------------- synthetic quotes

MINUTES = 1440


_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_S30, _S27, _S31 = np.uint64(30), np.uint64(27), np.uint64(31)
_S11, _S48 = np.uint64(11), np.uint64(48)


@njit(cache=True, inline="always")
def _bits(rng: np.ndarray) -> np.uint64:
    """splitmix64: 64 random bits; ``rng`` is a uint64[1] state advanced in place.

    A tiny counter-based generator: several times faster than numba's np.random here.
    """
    rng[0] += _GOLDEN
    z = rng[0]
    z = (z ^ (z >> _S30)) * _MIX1
    z = (z ^ (z >> _S27)) * _MIX2
    return z ^ (z >> _S31)


@njit(cache=True, inline="always")
def _uniform(rng: np.ndarray) -> float:
    """Uniform in (0, 1)."""
    return (float(_bits(rng) >> _S11) + 0.5) * (1.0 / 9007199254740992.0)


@njit(cache=True, inline="always")
def _draw(rng: np.ndarray, table: np.ndarray) -> float:
    """A draw from a distribution given by 65536 equiprobable quantiles (inverse CDF)."""
    return table[np.int64(_bits(rng) >> _S48)]


@njit(cache=True)
def _poisson(rng: np.ndarray, lam: float, normal: np.ndarray) -> int:
    """Poisson by inversion for small means, rounded normal approximation above 30."""
    if lam > 30.0:
        return max(0, int(np.round(lam + np.sqrt(lam) * _draw(rng, normal))))
    limit = np.exp(-lam)
    k = 0
    p = _uniform(rng)
    while p > limit:
        p *= _uniform(rng)
        k += 1
    return k


@njit(cache=True)
def _minute_offsets(rng: np.ndarray, k: int, out: np.ndarray, expo: np.ndarray) -> None:
    """k sorted uniform offsets in [0, 60000) ms: normalised cumulated exponentials."""
    total = 0.0
    for i in range(k):
        total += _draw(rng, expo)
        out[i] = total
    total += _draw(rng, expo)
    for i in range(k):
        out[i] = np.floor(out[i] / total * 60_000.0)


@njit(cache=True)
def synth_day(
    seed: int,
    minutes: np.ndarray,
    tables: np.ndarray,
    scale: float,
    state: np.ndarray,
    garch: np.ndarray,
    prices: np.ndarray,
    sizes: np.ndarray,
) -> int:
    """One UTC day of quotes on a price grid of ``1 / scale``, written into buffers.

    ``minutes`` (3, 1440): per minute expected ticks (0 = market closed), return
    volatility (log units) and typical spread (points), all modulated by a GARCH(1,1)
    variance ratio ``h`` (mean 1, ``garch`` = [alpha, beta]). ``tables`` (4, 65536):
    quantiles of a standard normal, a unit exponential, the spread jitter and the size
    distributions. ``state`` = [mid price, h, closed minutes] carries over from the
    previous day and is updated in place. Rows go to ``prices`` (3, cap) int64: ms of
    day, bid and ask points, and ``sizes`` (2, cap): bid and ask sizes. Returns the
    number of rows, or -1 (state untouched) when ``cap`` is too small: grow and retry.
    Buffers are reused by the caller because fresh memory is slow to fault in.
    """
    rng = np.full(1, np.uint64(seed))
    normal, expo, jitter, size_q = tables[0], tables[1], tables[2], tables[3]
    intensity, vol, spread = minutes[0], minutes[1], minutes[2]
    cap = prices.shape[1]
    offsets = np.empty(4096, np.float64)
    price, h, closed = state[0], state[1], state[2]
    n = 0
    for m in range(MINUTES):
        if intensity[m] <= 0.0:
            closed += 1.0
            continue
        if closed > 0.0:  # the weekend gap: a jump worth a fraction of the closed time
            price *= np.exp(_draw(rng, normal) * vol[m] * np.sqrt(0.1 * closed))
            closed = 0.0
        root = np.sqrt(h)
        k = _poisson(rng, intensity[m] * root, normal)
        if n + k > cap:
            return -1
        if k > offsets.size:
            offsets = np.empty(2 * k, np.float64)
        _minute_offsets(rng, k, offsets, expo)
        sigma = vol[m] * root / np.sqrt(max(k, 1))
        width = spread[m] * (0.75 + 0.25 * root)
        start = price
        for i in range(k):
            price *= 1.0 + sigma * _draw(rng, normal)
            pts = max(1, int(width * _draw(rng, jitter) + 0.5))
            b = int(np.floor(price * scale - 0.5 * pts + 0.5))
            prices[0, n] = m * 60_000 + int(offsets[i])
            prices[1, n] = b
            prices[2, n] = b + pts
            sizes[0, n] = _draw(rng, size_q)
            sizes[1, n] = _draw(rng, size_q)
            n += 1
        z = np.log(price / start) / vol[m]
        h = (1.0 - garch[0] - garch[1]) + garch[0] * z * z + garch[1] * h
    state[0], state[1], state[2] = price, h, closed
    return n


# ---------------------------------------------------------------- text formatting


@njit(cache=True)
def _civil(days: int) -> tuple[int, int, int]:
    """Days since 1970-01-01 -> (year, month, day), proleptic Gregorian."""
    z = days + 719468
    era = (z if z >= 0 else z - 146096) // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    day = doy - (153 * mp + 2) // 5 + 1
    month = mp + 3 if mp < 10 else mp - 9
    year = yoe + era * 400 + (1 if month <= 2 else 0)
    return year, month, day


@njit(cache=True, inline="always")
def _digits(buf: np.ndarray, pos: int, value: int, width: int) -> int:
    for i in range(width - 1, -1, -1):
        buf[pos + i] = 48 + value % 10
        value //= 10
    return pos + width


@njit(cache=True, inline="always")
def _byte(buf: np.ndarray, pos: int, char: int) -> int:
    buf[pos] = char
    return pos + 1


@njit(cache=True, inline="always")
def _copy(buf: np.ndarray, pos: int, text: np.ndarray) -> int:
    for i in range(text.size):
        buf[pos + i] = text[i]
    return pos + text.size


@njit(cache=True)
def _price(buf: np.ndarray, pos: int, pts: int, decimals: int, pad: int) -> int:
    unit = 10**decimals
    whole = pts // unit
    width = 1
    while whole >= 10**width:
        width += 1
    pos = _digits(buf, pos, whole, width)
    if decimals + pad > 0:
        pos = _byte(buf, pos, 46)
        pos = _digits(buf, pos, pts % unit, decimals)
        for _ in range(pad):
            pos = _byte(buf, pos, 48)
    return pos


@njit(cache=True)
def _stamp_head(buf: np.ndarray, pos: int, sec: int, style: int) -> int:
    """Date and time to the second; style 0 'YYYYMMDD HHMMSS', 1 'YYYYMMDD HH:MM:SS.',
    2 'YYYY-MM-DD HH:MM:SS.'."""
    days = sec // 86_400
    rem = sec - days * 86_400
    year, month, day = _civil(days)
    sep = 45 if style == 2 else -1
    colon = 58 if style > 0 else -1
    pos = _digits(buf, pos, year, 4)
    pos = _byte(buf, pos, sep) if sep > 0 else pos
    pos = _digits(buf, pos, month, 2)
    pos = _byte(buf, pos, sep) if sep > 0 else pos
    pos = _digits(buf, pos, day, 2)
    pos = _byte(buf, pos, 32)
    pos = _digits(buf, pos, rem // 3600, 2)
    pos = _byte(buf, pos, colon) if colon > 0 else pos
    pos = _digits(buf, pos, rem // 60 % 60, 2)
    pos = _byte(buf, pos, colon) if colon > 0 else pos
    pos = _digits(buf, pos, rem % 60, 2)
    return _byte(buf, pos, 46) if style > 0 else pos


@njit(cache=True, inline="always")
def _stamp_tail(buf: np.ndarray, pos: int, millis: int, style: int) -> int:
    """Milliseconds; style 2 adds '000+00:00' (microseconds and a UTC offset)."""
    pos = _digits(buf, pos, millis, 3)
    if style == 2:
        for char in (48, 48, 48, 43, 48, 48, 58, 48, 48):
            pos = _byte(buf, pos, char)
    return pos


@njit(cache=True)
def _price_table(lo: int, hi: int, decimals: int, pad: int) -> tuple[np.ndarray, np.ndarray]:
    """Text of every price from ``lo`` to ``hi`` points: (bytes (m, width), lengths (m,))."""
    top = 1
    while hi >= 10**top:
        top += 1
    width = max(top, decimals + 1) + 1 + pad
    text = np.empty((hi - lo + 1, width), np.uint8)
    lens = np.empty(hi - lo + 1, np.int64)
    for j in range(hi - lo + 1):
        lens[j] = _price(text[j], 0, lo + j, decimals, pad)
    return text, lens


@njit(cache=True, inline="always")
def _put_price(buf: np.ndarray, pos: int, pts: int, lo: int, text: np.ndarray,
               lens: np.ndarray) -> int:
    j = pts - lo
    for c in range(lens[j]):
        buf[pos + c] = text[j, c]
    return pos + lens[j]


@njit(cache=True)
def format_quotes(
    ms: np.ndarray,
    bid: np.ndarray,
    ask: np.ndarray,
    decimals: int,
    pad: int,
    style: int,
    affixes: np.ndarray,
    out: np.ndarray,
) -> int:
    """CSV rows ``prefix + stamp + ',' + bid + ',' + ask + suffix + '\\n'`` into ``out``.

    ``ms``: milliseconds since the epoch in the file's time zone (>= 0); prices are
    non-negative integer points with ``decimals`` decimals, followed by ``pad`` zeros.
    ``affixes``: prefix bytes, a 0 byte, suffix bytes. Returns the number of bytes
    written, or minus the size needed when ``out`` is too small. Rows of the same second
    reuse the date and time text of the row before; prices are copied from a table of
    the texts of every price in the chunk's range.
    """
    n = ms.size
    if n == 0:
        return 0
    cut = 0
    while affixes[cut] != 0:
        cut += 1
    prefix, suffix = affixes[:cut], affixes[cut + 1:]
    lo = min(bid.min(), ask.min())
    text, lens = _price_table(lo, max(bid.max(), ask.max()), decimals, pad)
    row = prefix.size + suffix.size + 32 + 2 * text.shape[1] + 3  # stamp, 2 commas, newline
    if out.size < n * row:
        return -n * row
    pos = 0
    head, head_len, prev = 0, 0, np.int64(-1)
    for i in range(n):
        pos = _copy(out, pos, prefix)
        sec = ms[i] // 1000
        if sec == prev:  # same second as the row before: copy its date and time
            for c in range(head_len):
                out[pos + c] = out[head + c]
            pos += head_len
        else:
            head, prev = pos, sec
            pos = _stamp_head(out, pos, sec, style)
            head_len = pos - head
        pos = _stamp_tail(out, pos, ms[i] - sec * 1000, style)
        pos = _byte(out, pos, 44)
        pos = _put_price(out, pos, bid[i], lo, text, lens)
        pos = _byte(out, pos, 44)
        pos = _put_price(out, pos, ask[i], lo, text, lens)
        pos = _copy(out, pos, suffix)
        pos = _byte(out, pos, 10)
    return pos
