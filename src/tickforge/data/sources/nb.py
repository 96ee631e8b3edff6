"""Numba byte-level parsers for the hot text formats (NumPy in, NumPy out).

A block of a text file arrives as a ``uint8`` array that ends at a line boundary.
:func:`parse_lines` walks it once: for every non-blank line it records the line
number, the byte offset, the timestamp (int64 ns), the numeric fields (float64) and an
error code (0 = parsed). Lines with an error are re-examined in Python (rare), which
also writes the human-readable reason.

Decimals are parsed as an integer mantissa divided by a power of ten, both exact in
float64 for up to 15 significant digits and ten to the 22nd, so the result is correctly
rounded (the same double ``float(text)`` gives). Longer mantissas are flagged for the
Python fallback rather than rounded twice.
"""

from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.cpython.unsafe.numbers import trailing_zeros
from numba.extending import intrinsic

# field kinds
K_SKIP = 0  # any text (e.g. the pair name of TrueFX)
K_NUM = 1  # decimal number
K_NUM_OPT = 2  # decimal number or empty (-> NaN)
K_TS_HIST = 10  # YYYYMMDD HHMMSS[fff]        (HistData)
K_TS_COMPACT = 11  # YYYYMMDD HH:MM:SS[.fff]  (TrueFX)
K_TS_ISO = 12  # YYYY-MM-DD[( |T)HH:MM[:SS[.f]]][Z|+HH:MM]
K_TS_DMY = 13  # DD.MM.YYYY HH:MM:SS[.fff][ GMT+HHMM]  (Dukascopy exports)

# error codes (err = code << 8 | field index)
E_OK = 0
E_FIELDS = 1  # wrong number of fields
E_NUM = 2  # bad number
E_TS = 3  # bad timestamp
E_SLOW = 4  # valid-looking number too long for the exact fast path

# timestamp parse status
TS_BAD = -1
TS_AWARE = 0  # had an explicit UTC offset, already converted to UTC
TS_NAIVE = 1  # local wall time, converted by the caller

_NS = 1_000_000_000
_POW10 = np.array([10.0**k for k in range(23)])
_POW10_INT = np.array([10**k for k in range(19)], np.int64)


@njit(cache=True, _nrt=False)
def days_from_civil(y: int, m: int, d: int) -> int:
    """Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm)."""
    y -= m <= 2
    era = (y if y >= 0 else y - 399) // 400
    yoe = y - era * 400
    mp = m + 9 if m <= 2 else m - 3
    doy = (153 * mp + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


@njit(cache=True, _nrt=False)
def days_in_month(y: int, m: int) -> int:
    if m == 2:
        leap = (y % 4 == 0 and y % 100 != 0) or y % 400 == 0
        return 29 if leap else 28
    if m == 4 or m == 6 or m == 9 or m == 11:
        return 30
    return 31


@njit(cache=True, _nrt=False)
def _digits(buf: np.ndarray, i: int, n: int, end: int) -> int:
    """Value of ``n`` ASCII digits at ``i`` (or -1 if any is missing / not a digit)."""
    if i + n > end:
        return -1
    v = 0
    for k in range(i, i + n):
        c = buf[k] - 48
        if c < 0 or c > 9:
            return -1
        v = v * 10 + c
    return v


@njit(cache=True, _nrt=False)
def _civil_ns(y: int, mo: int, d: int, h: int, mi: int, s: int, memo: np.ndarray) -> int:
    """ns since epoch of a wall time, or -1 if a component is out of range.

    ``memo`` (int64[2]) caches the last date: ticks of a file share few dates."""
    if h < 0 or h > 23 or mi < 0 or mi > 59 or s < 0 or s > 60:
        return -1
    key = (y * 100 + mo) * 100 + d
    if key != memo[0] or key <= 0:
        if y < 0 or mo < 1 or mo > 12 or d < 1 or d > days_in_month(y, mo):
            return -1
        memo[0] = key
        memo[1] = days_from_civil(y, mo, d) * 86400 * _NS
    return memo[1] + (h * 3600 + mi * 60 + s) * _NS


@njit(cache=True, _nrt=False)
def _fraction(buf: np.ndarray, i: int, end: int) -> tuple[int, int]:
    """Parse digits at ``i`` as a fraction of a second: (ns, next index)."""
    ns = 0
    k = 0
    while i < end and 48 <= buf[i] <= 57:
        if k < 9:
            ns = ns * 10 + (buf[i] - 48)
        k += 1
        i += 1
    if k == 0:
        return -1, i
    for _ in range(k, 9):
        ns *= 10
    return ns, i


@njit(cache=True, _nrt=False)
def _trim(buf: np.ndarray, s: int, e: int) -> tuple[int, int]:
    while s < e and (buf[s] == 32 or buf[s] == 9 or buf[s] == 34):
        s += 1
    while e > s and (buf[e - 1] == 32 or buf[e - 1] == 9 or buf[e - 1] == 34):
        e -= 1
    return s, e


@njit(cache=True, _nrt=False)
def ts_hist(buf: np.ndarray, s: int, e: int, memo: np.ndarray) -> tuple[int, int]:
    """``YYYYMMDD HHMMSS[fff]`` (HistData) or a bare ``YYYYMMDD`` date, naive."""
    s, e = _trim(buf, s, e)
    if e - s == 8:
        day = _civil_ns(_digits(buf, s, 4, e), _digits(buf, s + 4, 2, e),
                        _digits(buf, s + 6, 2, e), 0, 0, 0, memo)
        return (day, TS_NAIVE) if day >= 0 else (0, TS_BAD)
    if (e - s != 15 and e - s != 18) or buf[s + 8] != 32:
        return 0, TS_BAD
    base = _civil_ns(_digits(buf, s, 4, e), _digits(buf, s + 4, 2, e), _digits(buf, s + 6, 2, e),
                     _digits(buf, s + 9, 2, e), _digits(buf, s + 11, 2, e),
                     _digits(buf, s + 13, 2, e), memo)
    ms = _digits(buf, s + 15, 3, e) if e - s == 18 else 0
    if base < 0 or ms < 0:
        return 0, TS_BAD
    return base + ms * 1_000_000, TS_NAIVE


@njit(cache=True, _nrt=False, inline="always")
def ts_hist_fast(buf: np.ndarray, s: int, e: int, memo: np.ndarray) -> tuple[int, int]:
    """``YYYYMMDD HHMMSSfff`` without helper calls (the HistData hot path); anything
    else goes to :func:`ts_hist`."""
    if e - s != 18 or buf[s + 8] != 32:
        return ts_hist(buf, s, e, memo)
    date = 0
    for k in range(s, s + 8):
        c = np.int64(buf[k]) - 48
        if c < 0 or c > 9:
            return 0, TS_BAD
        date = date * 10 + c
    clock = 0
    for k in range(s + 9, s + 18):
        c = np.int64(buf[k]) - 48
        if c < 0 or c > 9:
            return 0, TS_BAD
        clock = clock * 10 + c
    ms = clock % 1000
    hms = clock // 1000
    h, mi, sec = hms // 10000, hms // 100 % 100, hms % 100
    if h > 23 or mi > 59 or sec > 60:
        return 0, TS_BAD
    if date != memo[0]:
        y, mo, d = date // 10000, date // 100 % 100, date % 100
        if mo < 1 or mo > 12 or d < 1 or d > days_in_month(y, mo):
            return 0, TS_BAD
        memo[0] = date
        memo[1] = days_from_civil(y, mo, d) * 86400 * _NS
    return memo[1] + (h * 3600 + mi * 60 + sec) * _NS + ms * 1_000_000, TS_NAIVE


@njit(cache=True, _nrt=False)
def _offset_ns(buf: np.ndarray, i: int, e: int) -> tuple[int, int]:
    """Parse ``Z``, ``±HH``, ``±HHMM`` or ``±HH:MM`` at i..e: (offset ns, status)."""
    if i == e:
        return 0, TS_NAIVE
    if buf[i] == 90 and i + 1 == e:  # Z
        return 0, TS_AWARE
    if buf[i] != 43 and buf[i] != 45:
        return 0, TS_BAD
    sign = 1 if buf[i] == 43 else -1
    hh = _digits(buf, i + 1, 2, e)
    rest = e - (i + 3)
    mm = 0
    if rest == 2:
        mm = _digits(buf, i + 3, 2, e)
    elif rest == 3 and buf[i + 3] == 58:
        mm = _digits(buf, i + 4, 2, e)
    elif rest != 0:
        return 0, TS_BAD
    if hh < 0 or hh > 23 or mm < 0 or mm > 59:
        return 0, TS_BAD
    return sign * (hh * 3600 + mm * 60) * _NS, TS_AWARE


@njit(cache=True, _nrt=False)
def _clock(buf: np.ndarray, i: int, e: int) -> tuple[int, int, int, int, int]:
    """``HH:MM[:SS[.f]]`` at i: (h, m, s, frac ns, next index); h = -1 if malformed."""
    h = _digits(buf, i, 2, e)
    if i + 2 >= e or buf[i + 2] != 58:
        return -1, 0, 0, 0, i
    mi = _digits(buf, i + 3, 2, e)
    i += 5
    sec = 0
    frac = 0
    if i < e and buf[i] == 58:
        sec = _digits(buf, i + 1, 2, e)
        i += 3
        if i < e and (buf[i] == 46 or buf[i] == 44):
            frac, i = _fraction(buf, i + 1, e)
    if mi < 0 or sec < 0 or frac < 0:
        return -1, 0, 0, 0, i
    return h, mi, sec, frac, i


@njit(cache=True, _nrt=False)
def ts_iso(buf: np.ndarray, s: int, e: int, memo: np.ndarray) -> tuple[int, int]:
    """``YYYY-MM-DD[( |T)HH:MM[:SS[.f]]][Z|±HH[:MM]]`` (``/`` also accepted in the date)."""
    s, e = _trim(buf, s, e)
    if e - s < 10 or buf[s + 4] != buf[s + 7] or (buf[s + 4] != 45 and buf[s + 4] != 47):
        return 0, TS_BAD
    y, mo, d = _digits(buf, s, 4, e), _digits(buf, s + 5, 2, e), _digits(buf, s + 8, 2, e)
    i = s + 10
    h = mi = sec = frac = 0
    if i < e and (buf[i] == 84 or buf[i] == 32):
        h, mi, sec, frac, i = _clock(buf, i + 1, e)
        if h < 0:
            return 0, TS_BAD
    base = _civil_ns(y, mo, d, h, mi, sec, memo)
    while i < e and buf[i] == 32:
        i += 1
    if i < e and buf[i] == 85 and e - i >= 3 and buf[i + 1] == 84 and buf[i + 2] == 67:  # UTC
        i += 3
        if i == e:
            return base + frac, TS_AWARE if base >= 0 else TS_BAD
    off, status = _offset_ns(buf, i, e)
    if base < 0 or status == TS_BAD:
        return 0, TS_BAD
    return base + frac - off, status


@njit(cache=True, _nrt=False)
def ts_compact(buf: np.ndarray, s: int, e: int, memo: np.ndarray) -> tuple[int, int]:
    """``YYYYMMDD HH:MM:SS[.fff]`` (TrueFX), naive."""
    s, e = _trim(buf, s, e)
    if e - s < 14 or buf[s + 8] != 32:
        return 0, TS_BAD
    y, mo, d = _digits(buf, s, 4, e), _digits(buf, s + 4, 2, e), _digits(buf, s + 6, 2, e)
    h, mi, sec, frac, i = _clock(buf, s + 9, e)
    base = _civil_ns(y, mo, d, h, mi, sec, memo)
    if h < 0 or base < 0 or i != e:
        return 0, TS_BAD
    return base + frac, TS_NAIVE


@njit(cache=True, _nrt=False)
def ts_dmy(buf: np.ndarray, s: int, e: int, memo: np.ndarray) -> tuple[int, int]:
    """``DD.MM.YYYY HH:MM:SS[.fff][ GMT±HHMM]`` (Dukascopy exports)."""
    s, e = _trim(buf, s, e)
    if e - s < 16 or buf[s + 2] != 46 or buf[s + 5] != 46 or buf[s + 10] != 32:
        return 0, TS_BAD
    d, mo, y = _digits(buf, s, 2, e), _digits(buf, s + 3, 2, e), _digits(buf, s + 6, 4, e)
    h, mi, sec, frac, i = _clock(buf, s + 11, e)
    base = _civil_ns(y, mo, d, h, mi, sec, memo)
    if h < 0 or base < 0:
        return 0, TS_BAD
    if i == e:
        return base + frac, TS_NAIVE
    if e - i >= 4 and buf[i] == 32 and buf[i + 1] == 71 and buf[i + 2] == 77 and buf[i + 3] == 84:
        off, status = _offset_ns(buf, i + 4, e)
        if status != TS_BAD:
            return base + frac - off, TS_AWARE
    return 0, TS_BAD


@njit(cache=True, _nrt=False)
def parse_ts(buf: np.ndarray, s: int, e: int, kind: int, memo: np.ndarray) -> tuple[int, int]:
    """Parse one timestamp field of ``kind``: (ns, status). ``memo``: int64[2] date cache."""
    if kind == K_TS_HIST:
        return ts_hist(buf, s, e, memo)
    if kind == K_TS_COMPACT:
        return ts_compact(buf, s, e, memo)
    if kind == K_TS_ISO:
        return ts_iso(buf, s, e, memo)
    return ts_dmy(buf, s, e, memo)


@njit(cache=True)
def new_memo() -> np.ndarray:
    return np.zeros(2, np.int64)


@njit(cache=True, _nrt=False)
def _exponent(buf: np.ndarray, i: int, e: int) -> tuple[int, int]:
    """Parse an exponent ``[eE][+-]digits`` at i: (value, next index or -1 if bad)."""
    i += 1
    sign = 1
    if i < e and (buf[i] == 43 or buf[i] == 45):
        sign = -1 if buf[i] == 45 else 1
        i += 1
    v = 0
    k = 0
    while i < e and 48 <= buf[i] <= 57 and k < 5:
        v = v * 10 + (buf[i] - 48)
        i += 1
        k += 1
    if k == 0:
        return 0, -1
    return sign * v, i


@njit(cache=True, _nrt=False)
def _scale(mant: int, exp10: int) -> tuple[float, int]:
    if exp10 == 0:
        return float(mant), 0
    if -22 <= exp10 < 0:
        return mant / _POW10[-exp10], 0
    if 0 < exp10 <= 22 and mant * _POW10[exp10] < 9.0e15:
        return mant * _POW10[exp10], 0
    return 0.0, 2  # needs the exact Python path


@njit(cache=True, _nrt=False, inline="always")
def _digit_run(buf: np.ndarray, i: int, e: int, mant: int) -> tuple[int, int]:
    """Accumulate the digits at i into ``mant``: (mant, index after the digits)."""
    while i < e:
        c = np.int64(buf[i]) - 48
        if c < 0 or c > 9:
            break
        mant = mant * 10 + c
        i += 1
    return mant, i


@njit(cache=True, _nrt=False, inline="always")
def parse_num(buf: np.ndarray, s: int, e: int) -> tuple[float, int]:
    """Parse a decimal number in buf[s:e]: (value, status 0 ok / 1 bad / 2 slow / 3 empty)."""
    s, e = _trim(buf, s, e)
    if s == e:
        return np.nan, 3
    neg = buf[s] == 45
    i = s + 1 if (neg or buf[s] == 43) else s
    start = i
    if e - i > 18:
        return 0.0, 2 if buf[i] >= 48 and buf[i] <= 57 else 1
    mant, i = _digit_run(buf, i, e, 0)
    digits = i - start
    frac = 0
    if i < e and buf[i] == 46:
        mant, j = _digit_run(buf, i + 1, e, mant)
        frac = j - i - 1
        i = j
    if digits + frac == 0:
        return 0.0, 1
    exp10 = 0
    if i < e and (buf[i] == 101 or buf[i] == 69):
        exp10, i = _exponent(buf, i, e)
    if i != e:
        return 0.0, 1
    if mant > 9007199254740992:  # 2**53: the mantissa would not be exact
        return 0.0, 2
    v, st = _scale(mant, exp10 - frac)
    return (-v if neg else v), st


@njit(cache=True, _nrt=False, inline="always")
def _line_end(buf: np.ndarray, i: int) -> tuple[int, int]:
    """(end of content without CR, index of the newline or len(buf))."""
    n = len(buf)
    j = i
    while j < n and buf[j] != 10:
        j += 1
    e = j
    if e > i and buf[e - 1] == 13:
        e -= 1
    return e, j


@njit(cache=True, _nrt=False, inline="always")
def _is_blank(buf: np.ndarray, i: int, e: int) -> bool:
    for k in range(i, e):
        c = buf[k]
        if c != 32 and c != 9 and c != 13:
            return False
    return True


@njit(cache=True, _nrt=False, inline="always")
def _field_end(buf: np.ndarray, p: int, n: int, delim: int) -> tuple[int, int]:
    """(end of the field at p without a CR, index of the delimiter / newline / n)."""
    q = p
    while q < n and buf[q] != delim and buf[q] != 10:
        q += 1
    fe = q
    if fe > p and buf[fe - 1] == 13 and (q == n or buf[q] == 10):
        fe -= 1
    return fe, q


@njit(cache=True, _nrt=False)
def _parse_fields(buf: np.ndarray, i: int, delim: int, kinds: np.ndarray, slots: np.ndarray,
                  vals: np.ndarray, row: int, memo: np.ndarray) -> tuple[int, int, int, int]:
    """Parse one line's fields into ``vals[:, row]``: (ts, ts status, error, newline index)."""
    n = len(buf)
    nf = len(kinds)
    p = i
    ts = 0
    st = TS_NAIVE
    code = E_OK
    for f in range(nf):
        fe, q = _field_end(buf, p, n, delim)
        kind = kinds[f]
        if kind == K_NUM or kind == K_NUM_OPT:  # noqa: SIM109 (numba-friendly)
            v, ns = parse_num(buf, p, fe)
            if ns == 1 or (ns == 3 and kind == K_NUM):
                code = E_NUM << 8 | f
            elif ns == 2:
                code = E_SLOW << 8 | f
            vals[slots[f], row] = v
        elif kind >= K_TS_HIST:
            if kind == K_TS_HIST:
                ts, st = ts_hist_fast(buf, p, fe, memo)
            else:
                ts, st = parse_ts(buf, p, fe, kind, memo)
            if st == TS_BAD:
                code = E_TS << 8 | f
        if q >= n or buf[q] == 10:
            return ts, st, (E_FIELDS << 8 if f < nf - 1 else code), q
        if code != E_OK:
            break
        p = q + 1
    if code == E_OK:
        code = E_FIELDS << 8  # more fields than expected
    while p < n and buf[p] != 10:
        p += 1
    return ts, st, code, p


# ---------------------------------------------------------------- single-pass fast path
# Each helper below accepts only the plain shape of its field (digits where digits belong,
# no spaces, quotes or exponents) and returns a next index of -1 for anything else; the
# whole line then goes through the general parser above, so the fast path never has to
# reproduce its error handling, only its results. Digits are read eight at a time
# (SWAR: one unaligned 64-bit load, a digit test and three multiplications).

_ASCII0 = np.uint64(0x3030303030303030)
_LOW7 = np.uint64(0x7F7F7F7F7F7F7F7F)
_PLUS = np.uint64(0x7676767676767676)
_HIGH = np.uint64(0x8080808080808080)
_PAIR = np.uint64(0x000000FF000000FF)
_MUL1 = np.uint64(0x000F424000000064)  # 100 + 1_000_000 << 32
_MUL2 = np.uint64(0x0000271000000001)  # 1 + 10_000 << 32
_CLOCK_COLONS = np.uint64(0x00003A00003A0000)  # "HH:MM:SS": ':' in bytes 2 and 5
_CLOCK_SEPS = np.uint64(0x0000FF0000FF0000)
_CLOCK_DIGITS = np.uint64(0x8080008080008080)
_U8 = np.uint64(8)
_U16 = np.uint64(16)
_U24 = np.uint64(24)
_U32 = np.uint64(32)
_U48 = np.uint64(48)
_BYTE = np.uint64(0xFF)
_TEN = np.uint64(10)
_SIX_DIGITS = np.uint64(0x0000808080808080)


@intrinsic
def load_u64(typingctx, arr, idx):
    """Little-endian uint64 of buf[idx:idx + 8] (unaligned; caller checks the bounds)."""
    if not (isinstance(arr, types.Array) and arr.dtype == types.uint8):
        return None
    sig = types.uint64(arr, types.intp)

    def codegen(context, builder, signature, args):
        ary = context.make_array(signature.args[0])(context, builder, args[0])
        ptr = builder.bitcast(builder.gep(ary.data, [args[1]]), ir.IntType(64).as_pointer())
        return builder.load(ptr, align=1)

    return sig, codegen


@njit(cache=True, _nrt=False, inline="always")
def _nondigits(w: np.uint64) -> np.uint64:
    """Bit 7 of every byte of ``w`` that is not an ASCII digit."""
    x = w ^ _ASCII0
    return (((x & _LOW7) + _PLUS) | x) & _HIGH


@njit(cache=True, _nrt=False, inline="always")
def _eight(x: np.uint64) -> int:
    """Value of 8 digit values (0-9, most significant in the lowest byte)."""
    x = x * _TEN + (x >> _U8)
    return np.int64((((x & _PAIR) * _MUL1) + (((x >> _U16) & _PAIR) * _MUL2)) >> _U32)


@njit(cache=True, _nrt=False, inline="always")
def _run(buf: np.ndarray, i: int, n: int) -> tuple[int, int]:
    """The run of 0-7 digits at i: (value, count); count -1 if 8+ digits or too near the
    end of the buffer to read 8 bytes."""
    if i + 8 > n:
        return 0, -1
    w = load_u64(buf, i)
    m = _nondigits(w)
    if m == 0:
        return 0, -1
    k = np.int64(trailing_zeros(m)) >> 3
    if k == 0:
        return 0, 0
    return _eight((w ^ _ASCII0) << np.uint64(64 - 8 * k)), k


@njit(cache=True, _nrt=False, inline="always")
def _uint(buf: np.ndarray, i: int, width: int) -> int:
    """Value of ``width`` ASCII digits at ``i`` (caller checked the bounds), -1 if not digits."""
    v = 0
    for k in range(i, i + width):
        c = np.int64(buf[k]) - 48
        if c < 0 or c > 9:
            return -1
        v = v * 10 + c
    return v


@njit(cache=True, _nrt=False)
def _day_ns(y: int, mo: int, d: int) -> int:
    """ns at 00:00 of a date, -1 if not a date."""
    if y < 0 or mo < 1 or mo > 12 or d < 1 or d > days_in_month(y, mo):
        return -1
    return days_from_civil(y, mo, d) * 86400 * _NS


@njit(cache=True, _nrt=False, inline="always")
def _memo_day(w1: np.uint64, w2: np.uint64, fmemo: np.ndarray) -> int:
    """The cached day of the date whose raw bytes are (w1, w2), -1 if not cached."""
    if np.int64(w1) == fmemo[0] and np.int64(w2) == fmemo[1]:
        return fmemo[2]
    return -1


@njit(cache=True, _nrt=False)
def _remember(w1: np.uint64, w2: np.uint64, day: int, fmemo: np.ndarray) -> int:
    if day >= 0:
        fmemo[0] = np.int64(w1)
        fmemo[1] = np.int64(w2)
        fmemo[2] = day
    return day


@njit(cache=True, _nrt=False, inline="always")
def _hms_ns(h: int, mi: int, s: int) -> int:
    """ns since midnight, -1 if a component is out of range (60 s allowed, as above)."""
    if h > 23 or mi > 59 or s > 60:
        return -1
    return (h * 3600 + mi * 60 + s) * _NS


@njit(cache=True, _nrt=False, inline="always")
def _clock_ns(buf: np.ndarray, i: int, n: int) -> tuple[int, int]:
    """``HH:MM:SS[.f]`` at i (f: 1-7 digits): (ns since midnight, next index), next -1 if
    not that shape."""
    if i + 8 > n:
        return 0, -1
    w = load_u64(buf, i)
    if (w & _CLOCK_SEPS) != _CLOCK_COLONS or (_nondigits(w) & _CLOCK_DIGITS) != 0:
        return 0, -1
    x = w ^ _ASCII0
    x = x * _TEN + (x >> _U8)
    hms = _hms_ns(np.int64(x & _BYTE), np.int64((x >> _U24) & _BYTE),
                  np.int64((x >> _U48) & _BYTE))
    j = i + 8
    if hms < 0:
        return 0, -1
    if j >= n or buf[j] != 46:
        return hms, j
    frac, k = _run(buf, j + 1, n)
    if k <= 0:
        return 0, -1
    return hms + frac * _POW10_INT[9 - k], j + 1 + k


@njit(cache=True, _nrt=False)
def _offset_fast(buf: np.ndarray, i: int, n: int) -> tuple[int, int]:
    """``±HH``, ``±HHMM`` or ``±HH:MM`` at i: (offset ns, next index), next -1 if not."""
    if i + 3 > n or (buf[i] != 43 and buf[i] != 45):
        return 0, -1
    hh = _uint(buf, i + 1, 2)
    mm = 0
    j = i + 3
    if j + 3 <= n and buf[j] == 58:
        mm = _uint(buf, j + 1, 2)
        j += 3
    elif j + 2 <= n and 48 <= buf[j] <= 57:
        mm = _uint(buf, j, 2)
        j += 2
    if hh < 0 or hh > 23 or mm < 0 or mm > 59:
        return 0, -1
    off = (hh * 3600 + mm * 60) * _NS
    return (off if buf[i] == 43 else -off), j


@njit(cache=True, _nrt=False, inline="always")
def _ymd_day(buf: np.ndarray, i: int, fmemo: np.ndarray) -> int:
    """Day ns of ``YYYYMMDD`` at i (8 bytes readable), -1 if not a date."""
    w = load_u64(buf, i)
    day = _memo_day(w, w, fmemo)
    if day >= 0:
        return day
    if _nondigits(w) != 0:
        return -1
    ymd = _eight(w ^ _ASCII0)
    return _remember(w, w, _day_ns(ymd // 10000, ymd // 100 % 100, ymd % 100), fmemo)


@njit(cache=True, _nrt=False, inline="always")
def _hist_fast(buf: np.ndarray, i: int, n: int, fmemo: np.ndarray) -> tuple[int, int, int]:
    """``YYYYMMDD HHMMSS[fff]`` at i: (ns, status, next index)."""
    if i + 18 > n or buf[i + 8] != 32:
        return 0, TS_BAD, -1
    day = _ymd_day(buf, i, fmemo)
    w = load_u64(buf, i + 9)
    m = _nondigits(w)
    x = w ^ _ASCII0
    x = x * _TEN + (x >> _U8)
    hms = _hms_ns(np.int64(x & _BYTE), np.int64((x >> _U16) & _BYTE),
                  np.int64((x >> _U32) & _BYTE))
    last = np.int64(buf[i + 17]) - 48
    if m == 0 and 0 <= last <= 9:
        ms = np.int64((x >> _U48) & _BYTE) * 10 + last
        j = i + 18
    elif (m & _SIX_DIGITS) == 0 and (m >> _U48) & np.uint64(0x80) != 0:
        ms = 0
        j = i + 15
    else:
        return 0, TS_BAD, -1
    if day < 0 or hms < 0:
        return 0, TS_BAD, -1
    return day + hms + ms * 1_000_000, TS_NAIVE, j


@njit(cache=True, _nrt=False, inline="always")
def _compact_fast(buf: np.ndarray, i: int, n: int, fmemo: np.ndarray) -> tuple[int, int, int]:
    """``YYYYMMDD HH:MM:SS[.f]`` at i: (ns, status, next index)."""
    if i + 17 > n or buf[i + 8] != 32:
        return 0, TS_BAD, -1
    day = _ymd_day(buf, i, fmemo)
    clock, j = _clock_ns(buf, i + 9, n)
    if day < 0 or j < 0:
        return 0, TS_BAD, -1
    return day + clock, TS_NAIVE, j


@njit(cache=True, _nrt=False, inline="always")
def _zone(buf: np.ndarray, j: int, n: int, local: int) -> tuple[int, int, int]:
    """An optional ``Z`` / ``±HH[:MM]`` after a local time: (ns, status, next index)."""
    if j < n and buf[j] == 90:  # Z
        return local, TS_AWARE, j + 1
    if j < n and (buf[j] == 43 or buf[j] == 45):
        off, j = _offset_fast(buf, j, n)
        return local - off, TS_AWARE, j
    return local, TS_NAIVE, j


@njit(cache=True, _nrt=False, inline="always")
def _iso_fast(buf: np.ndarray, i: int, n: int, fmemo: np.ndarray) -> tuple[int, int, int]:
    """``YYYY-MM-DD(T| )HH:MM:SS[.f][Z|±HH[:MM]]`` at i: (ns, status, next index)."""
    if i + 19 > n or buf[i + 4] != 45 or buf[i + 7] != 45 or (buf[i + 10] != 84
                                                              and buf[i + 10] != 32):
        return 0, TS_BAD, -1
    w1, w2 = load_u64(buf, i), load_u64(buf, i + 2)
    day = _memo_day(w1, w2, fmemo)
    if day < 0:
        day = _remember(w1, w2, _day_ns(_uint(buf, i, 4), _uint(buf, i + 5, 2),
                                        _uint(buf, i + 8, 2)), fmemo)
    clock, j = _clock_ns(buf, i + 11, n)
    if day < 0 or j < 0:
        return 0, TS_BAD, -1
    return _zone(buf, j, n, day + clock)


@njit(cache=True, _nrt=False, inline="always")
def _dmy_fast(buf: np.ndarray, i: int, n: int, fmemo: np.ndarray) -> tuple[int, int, int]:
    """``DD.MM.YYYY HH:MM:SS[.f][ GMT±HHMM]`` at i: (ns, status, next index)."""
    if i + 19 > n or buf[i + 2] != 46 or buf[i + 5] != 46 or buf[i + 10] != 32:
        return 0, TS_BAD, -1
    w1, w2 = load_u64(buf, i), load_u64(buf, i + 2)
    day = _memo_day(w1, w2, fmemo)
    if day < 0:
        day = _remember(w1, w2, _day_ns(_uint(buf, i + 6, 4), _uint(buf, i + 3, 2),
                                        _uint(buf, i, 2)), fmemo)
    clock, j = _clock_ns(buf, i + 11, n)
    if day < 0 or j < 0:
        return 0, TS_BAD, -1
    if j + 4 < n and buf[j] == 32 and buf[j + 1] == 71 and buf[j + 2] == 77 and buf[j + 3] == 84:
        off, j = _offset_fast(buf, j + 4, n)
        return day + clock - off, TS_AWARE, j
    return day + clock, TS_NAIVE, j


@njit(cache=True, _nrt=False, inline="always")
def _ts_fast(buf: np.ndarray, i: int, n: int, kind: int, fmemo: np.ndarray
             ) -> tuple[int, int, int]:
    if kind == K_TS_HIST:
        return _hist_fast(buf, i, n, fmemo)
    if kind == K_TS_COMPACT:
        return _compact_fast(buf, i, n, fmemo)
    if kind == K_TS_ISO:
        return _iso_fast(buf, i, n, fmemo)
    return _dmy_fast(buf, i, n, fmemo)


@njit(cache=True, _nrt=False)
def _num_serial(buf: np.ndarray, i: int, n: int) -> tuple[float, int]:
    """``[±]digits[.digits]`` (0-7 digits each side, not none) at i: (value, next index),
    next -1 if not that shape."""
    neg = i < n and buf[i] == 45
    if i < n and (neg or buf[i] == 43):
        i += 1
    whole, k1 = _run(buf, i, n)
    if k1 < 0:
        return 0.0, -1
    i += k1
    frac, k2 = 0, 0
    if buf[i] == 46:
        frac, k2 = _run(buf, i + 1, n)
        i += 1 + k2
    if k2 < 0 or k1 + k2 == 0:
        return 0.0, -1
    v = float(whole) if k2 == 0 else (whole * _POW10_INT[k2] + frac) / _POW10[k2]
    return (-v if neg else v), i


@njit(cache=True, _nrt=False, inline="always")
def _num_fast(buf: np.ndarray, i: int, n: int) -> tuple[float, int]:
    """An unsigned ``digits[.digits]`` of at most 8 digits at i from two 64-bit loads:
    (value, next index), next -1 if not a number; anything longer or signed goes through
    :func:`_num_serial`. Same arithmetic as :func:`parse_num` (an exact mantissa divided by
    an exact power of ten), so the same double."""
    if i + 16 > n:
        return _num_serial(buf, i, n)
    w0 = load_u64(buf, i)
    m0 = _nondigits(w0)
    a = np.int64(trailing_zeros(m0)) >> 3
    if m0 == 0 or (a == 0 and buf[i] != 46):
        return _num_serial(buf, i, n)
    x0 = w0 ^ _ASCII0
    sa = np.uint64(8 * a)
    if (w0 >> sa) & _BYTE != 46:  # no decimal point: a digits
        return float(_eight(x0 << np.uint64(64 - 8 * a))), i + a
    m0 &= ~(np.uint64(0x80) << sa)
    w1 = load_u64(buf, i + 8)
    b = (np.int64(trailing_zeros(m0)) >> 3) if m0 != 0 else 8 + (
        np.int64(trailing_zeros(_nondigits(w1))) >> 3)
    if b > 9 or b == 1:
        return _num_serial(buf, i, n)
    low = (np.uint64(1) << sa) - np.uint64(1)
    y = (x0 & low) | ((x0 >> _U8) & ~low) | ((w1 ^ _ASCII0) << np.uint64(56))
    mant = _eight(y << np.uint64(72 - 8 * b))
    frac = b - 1 - a
    return (float(mant) if frac == 0 else mant / _POW10[frac]), i + b


@njit(cache=True, _nrt=False, inline="always")
def _skip_fast(buf: np.ndarray, i: int, n: int, delim: int) -> int:
    while i < n and buf[i] != delim and buf[i] != 10 and buf[i] != 13:
        i += 1
    return i


@njit(cache=True, _nrt=False, inline="always")
def _value_fast(buf: np.ndarray, p: int, n: int, delim: int, kind: int) -> tuple[float, int]:
    """A numeric field at p: (value, end index); an empty optional field is NaN."""
    if kind == K_NUM_OPT and (p >= n or buf[p] == delim or buf[p] == 10 or buf[p] == 13):
        return np.nan, p
    return _num_fast(buf, p, n)


@njit(cache=True, _nrt=False, inline="always")
def _line_end_fast(buf: np.ndarray, q: int, n: int) -> int:
    """Newline index if the line's last field ends at q (``\n``, ``\r\n`` or the end of
    the buffer), else -1."""
    if q == n or buf[q] == 10:
        return q
    if buf[q] == 13 and (q + 1 == n or buf[q + 1] == 10):
        return q + 1
    return -1


@njit(cache=True, _nrt=False, inline="always")
def _line_ts_nums(buf: np.ndarray, i: int, delim: int, kinds: np.ndarray, v0: int,
                  vals: np.ndarray, row: int, fmemo: np.ndarray) -> tuple[int, int, int]:
    """Parse a plain line of the layout ``[text,]timestamp,number,...`` (numeric fields
    from ``v0`` on, values in field order) in one pass: (ts, ts status, newline index),
    index -1 if the line is not plain (it then goes through :func:`_parse_fields`).

    The delimiter checks only feed a flag tested at the end of the line, so the start of
    a field depends on the end of the previous one through arithmetic only (no load)."""
    n = len(buf)
    p = i
    bad = False
    if v0 == 2:
        q = _skip_fast(buf, p, n, delim)
        if q >= n:
            return 0, TS_BAD, -1
        bad |= buf[q] != delim
        p = q + 1
    ts, st, q = _ts_fast(buf, p, n, kinds[v0 - 1], fmemo)
    for f in range(v0, len(kinds)):
        if q < 0 or q >= n:
            return 0, TS_BAD, -1
        bad |= buf[q] != delim
        v, q = _value_fast(buf, q + 1, n, delim, kinds[f])
        vals[f - v0, row] = v
    j = _line_end_fast(buf, q, n) if q >= 0 else -1
    return (0, TS_BAD, -1) if bad or j < 0 else (ts, st, j)


@njit(cache=True, _nrt=False)
def ts_nums_start(kinds: np.ndarray, slots: np.ndarray) -> int:
    """Index of the first numeric field if the layout is ``[text,]timestamp,number...``
    with values in field order, else -1."""
    v0 = 2 if len(kinds) > 1 and kinds[0] == K_SKIP else 1
    if len(kinds) <= v0 or kinds[v0 - 1] < K_TS_HIST:
        return -1
    for f in range(v0, len(kinds)):
        if (kinds[f] != K_NUM and kinds[f] != K_NUM_OPT) or slots[f] != f - v0:
            return -1
    return v0


_NEWLINES = np.uint64(0x0A0A0A0A0A0A0A0A)
_ONES = np.uint64(0x0101010101010101)
_U7 = np.uint64(7)
_U56 = np.uint64(56)


@njit(cache=True, _nrt=False)
def count_newlines(buf: np.ndarray) -> int:
    """Number of ``\n`` bytes, eight at a time: a byte of ``w ^ 0x0A..`` is zero exactly
    where ``w`` holds a newline (the per-byte test cannot carry into the next byte), and the
    multiplication adds the eight 0/1 flags into the top byte."""
    n = len(buf)
    total = 0
    i = 0
    while i + 8 <= n:
        x = load_u64(buf, i) ^ _NEWLINES
        zero = ~(((x & _LOW7) + _LOW7) | x) & _HIGH
        total += np.int64(((zero >> _U7) * _ONES) >> _U56)
        i += 8
    for k in range(i, n):
        total += buf[k] == 10
    return total


@njit(cache=True, _nrt=False, inline="always")
def _blank_line_end(buf: np.ndarray, i: int) -> int:
    """Newline index (or len) of a blank line starting at i, -1 if the line has content."""
    c = buf[i]
    if c != 10 and c != 32 and c != 9 and c != 13:
        return -1
    e, j = _line_end(buf, i)
    return j if _is_blank(buf, i, e) else -1


@njit(cache=True, nogil=True)
def parse_lines(buf: np.ndarray, first_line: int, delim: int, kinds: np.ndarray,
                slots: np.ndarray, n_vals: int, newlines: int = -1, fast: bool = True
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray,
                           np.ndarray, np.ndarray]:
    """Parse every non-blank line of ``buf`` in one pass.

    ``newlines`` is the number of newlines in ``buf`` if the caller knows it (sizes the
    outputs without a counting pass); ``fast=False`` forces the general per-field parser
    (the reference the single-pass path is tested against).

    Returns ``ts`` (int64 ns), ``vals`` (float64, shape (n_vals, rows)), ``lines`` (int64
    physical line numbers), ``starts`` (byte offsets), ``err`` (int32 codes), ``naive``
    (uint8, 1 if the timestamp had no UTC offset) and ``counts`` (int64: physical lines,
    lines with an error, naive timestamps).
    """
    n_max = 1 + (newlines if newlines >= 0 else count_newlines(buf))
    ts = np.empty(n_max, np.int64)
    vals = np.empty((n_vals, n_max))
    lines = np.empty(n_max, np.int64)
    starts = np.empty(n_max, np.int64)
    err = np.empty(n_max, np.int32)
    naive = np.empty(n_max, np.uint8)
    counts = np.zeros(4, np.int64)
    v0 = ts_nums_start(kinds, slots) if fast else -1
    _parse_into(buf, first_line, delim, kinds, slots, v0, ts, vals, lines, starts, err, naive,
                new_memo(), np.zeros(3, np.int64), counts)
    k = counts[3]
    return (ts[:k], vals[:, :k], lines[:k], starts[:k], err[:k], naive[:k], counts[:3])


@njit(cache=True, nogil=True, _nrt=False)
def _parse_into(buf: np.ndarray, first_line: int, delim: int, kinds: np.ndarray,
                slots: np.ndarray, v0: int, ts: np.ndarray, vals: np.ndarray,
                lines: np.ndarray, starts: np.ndarray, err: np.ndarray, naive: np.ndarray,
                memo: np.ndarray, fmemo: np.ndarray, counts: np.ndarray) -> None:
    """The loop of :func:`parse_lines`, without reference counting (its atomic
    increments, made on every array handed to a helper, cost more than parsing a line):
    fills the rows in order and sets ``counts`` to (physical lines, errors, naive
    timestamps, rows)."""
    i = 0
    n = len(buf)
    line = first_line
    k = 0
    n_bad = 0
    n_naive = 0
    while i < n:
        j = _blank_line_end(buf, i)
        if j >= 0:
            line += 1
            i = j + 1
            continue
        code = 0
        j = -1
        if v0 > 0:
            t, st, j = _line_ts_nums(buf, i, delim, kinds, v0, vals, k, fmemo)
        if j < 0:
            t, st, code, j = _parse_fields(buf, i, delim, kinds, slots, vals, k, memo)
        ts[k] = t
        naive[k] = st == TS_NAIVE
        n_naive += st == TS_NAIVE
        err[k] = code
        n_bad += code != 0
        lines[k] = line
        starts[k] = i
        k += 1
        line += 1
        i = j + 1
    counts[0], counts[1], counts[2], counts[3] = line - first_line, n_bad, n_naive, k


@njit(cache=True)
def index_lines(buf: np.ndarray, first_line: int, newlines: int = -1
                ) -> tuple[np.ndarray, np.ndarray, int]:
    """Line numbers and byte offsets of the non-blank lines, and the physical line count
    (``newlines``: as for :func:`parse_lines`)."""
    n_max = 1 + (newlines if newlines >= 0 else count_newlines(buf))
    lines = np.empty(n_max, np.int64)
    starts = np.empty(n_max, np.int64)
    counts = np.zeros(2, np.int64)
    _index_into(buf, first_line, lines, starts, counts)
    k = counts[1]
    return lines[:k], starts[:k], counts[0]


@njit(cache=True, _nrt=False)
def _index_into(buf: np.ndarray, first_line: int, lines: np.ndarray, starts: np.ndarray,
                counts: np.ndarray) -> None:
    """The loop of :func:`index_lines`; ``counts`` = (physical lines, non-blank lines)."""
    i = 0
    n = len(buf)
    line = first_line
    k = 0
    while i < n:
        e, j = _line_end(buf, i)
        if not _is_blank(buf, i, e):
            lines[k] = line
            starts[k] = i
            k += 1
        line += 1
        i = j + 1
    counts[0], counts[1] = line - first_line, k


@njit(cache=True)
def parse_ts_strings(data: np.ndarray, offsets: np.ndarray, kind: int) -> tuple[np.ndarray,
                                                                                 np.ndarray]:
    """Parse an Arrow string array (data bytes + offsets) as timestamps: (ns, status)."""
    n = len(offsets) - 1
    ts = np.zeros(n, np.int64)
    status = np.empty(n, np.int8)
    _parse_ts_into(data, offsets, kind, new_memo(), ts, status)
    return ts, status


@njit(cache=True, _nrt=False)
def _parse_ts_into(data: np.ndarray, offsets: np.ndarray, kind: int, memo: np.ndarray,
                   ts: np.ndarray, status: np.ndarray) -> None:
    for r in range(len(ts)):
        t, st = parse_ts(data, offsets[r], offsets[r + 1], kind, memo)
        ts[r] = t
        status[r] = st
