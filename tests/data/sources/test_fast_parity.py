"""The single-pass fast path of ``nb.parse_lines`` against the general parser and a plain
Python reference (``datetime`` + ``float``): results must be bit-identical."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.data.sources.helpers import read
from tickforge.data.sources import get_reader, nb
from tickforge.data.sources.base import ReadOptions
from tickforge.data.sources.fast import LineSpec
from tickforge.data.sources.histdata import TICKS
from tickforge.data.sources.truefx import TRUEFX, quote_spec

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def parse(spec: LineSpec, text: bytes, fast: bool) -> tuple[np.ndarray, ...]:
    buf = np.frombuffer(text, np.uint8)
    *out, _ = nb.parse_lines(buf, 1, ord(spec.delim), spec.kinds, spec.slots,
                             len(spec.value_fields), -1, fast)
    return tuple(out)


def assert_same(spec: LineSpec, text: bytes) -> tuple[np.ndarray, ...]:
    """Fast and general parse agree on every output (values of flagged lines aside)."""
    fast, ref = parse(spec, text, True), parse(spec, text, False)
    ok = ref[4] == 0
    assert np.array_equal(fast[4], ref[4])
    assert np.array_equal(fast[0][ok], ref[0][ok])
    assert np.array_equal(fast[1][:, ok], ref[1][:, ok], equal_nan=True)
    for got, want in zip(fast[2:], ref[2:], strict=True):
        assert np.array_equal(got, want)
    return fast


def ns(dt: datetime) -> int:
    return (dt - EPOCH) // timedelta(microseconds=1) * 1000


moments = st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2099, 12, 31))
prices = st.decimals(min_value=0, max_value=99999, places=6, allow_nan=False)


def price_text(value: object, places: int) -> str:
    return f"{value:.{places}f}"


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(moments, prices, prices, st.integers(0, 9), st.integers(0, 6)),
                min_size=1, max_size=40), st.booleans())
def test_histdata_lines_match_python(rows: list, crlf: bool) -> None:
    end = "\r\n" if crlf else "\n"
    lines = [f"{t:%Y%m%d %H%M%S}{t.microsecond // 1000:03d},{price_text(b, p)},"
             f"{price_text(a, p)},{v}" for t, b, a, v, p in rows]
    text = (end.join(lines) + end).encode()
    ts, vals, _, _, err, _ = assert_same(TICKS, text)
    assert (err == 0).all()
    for k, (t, b, a, v, p) in enumerate(rows):
        assert ts[k] == ns(t.replace(microsecond=t.microsecond // 1000 * 1000, tzinfo=UTC))
        assert vals[0, k] == float(price_text(b, p)) and vals[1, k] == float(price_text(a, p))
        assert vals[2, k] == v


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(moments, st.integers(1, 9), prices, st.sampled_from(
    ["", "Z", "+00:00", "-05:00", "+0530", "+01"])), min_size=1, max_size=30))
def test_iso_quote_lines_match_python(tmp_path_factory, rows: list) -> None:
    folder = tmp_path_factory.mktemp("iso")
    lines = []
    want = []
    for t, digits, price, zone in rows:
        frac = f"{t.microsecond:06d}000"[:digits]
        lines.append(f"{t:%Y-%m-%d %H:%M:%S}.{frac}{zone},{price},{price}")
        off = 0 if zone in ("", "Z") else int(zone[0] + "1") * (
            int(zone[1:3]) * 3600 + int(zone[-2:] if len(zone) > 3 else 0) * 60)
        base = ns(t.replace(microsecond=0, tzinfo=UTC))
        want.append(base + int(frac.ljust(9, "0")) - off * 1_000_000_000)
    path = folder / "q.csv"
    path.write_text("timestamp,bid,ask\n" + "\n".join(lines) + "\n")
    spec = quote_spec(path, "")
    ts, vals, _, _, err, _ = assert_same(spec, ("\n".join(lines) + "\n").encode())
    assert (err == 0).all()
    assert ts.tolist() == want
    assert vals[0].tolist() == [float(str(r[2])) for r in rows]


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(moments, st.integers(1, 7), prices), min_size=1, max_size=30))
def test_truefx_and_dukascopy_lines_match_general_parser(tmp_path_factory, rows: list) -> None:
    fx = "".join(f"EUR/USD,{t:%Y%m%d %H:%M:%S}.{t.microsecond:06d}"[:26 + d] + f",{p},{p}\n"
                 for t, d, p in rows)
    assert (assert_same(TRUEFX, fx.encode())[4] == 0).all()
    folder = tmp_path_factory.mktemp("duka")
    path = folder / "d.csv"
    body = "".join(f"{t:%d.%m.%Y %H:%M:%S}.{t.microsecond // 1000:03d},{p},{p},0.75,1.2\n"
                   for t, _, p in rows)
    path.write_text("Gmt time,Ask,Bid,AskVolume,BidVolume\n" + body)
    assert (assert_same(quote_spec(path, ""), body.encode())[4] == 0).all()


def test_awkward_lines_take_the_general_path_with_the_same_result() -> None:
    text = ("20200102 170000065,1.121200,1.121720,0\r\n"
            "\n  \n"
            "20200102 170000065,-1.5,+2.25,\n"            # signs, empty optional volume
            "20200102 170000065,1.12345678901234,1e-3,7\n"  # long mantissa, exponent
            "20200102 170000065, 1.5 ,\"2.5\",0\n"         # spaces and quotes
            "20200102 170000065,1.5,2.5\n"                 # missing field
            "20200102 170000065,1.5,2.5,0,0\n"             # extra field
            "20201302 170000065,1.5,2.5,0\n"               # month 13
            "20200102 250000065,1.5,2.5,0\n"               # hour 25
            "20200102 170060000,1.5,2.5,0\n"               # leap second, allowed
            "20200102 170000,1.5,2.5,0\n"                  # no milliseconds
            "20200102 170000065,.5,5.,0\n"
            "20200102 170000065,1.5,2.5,0")                # no newline at the end
    out = assert_same(TICKS, text.encode())
    assert out[4].tolist().count(0) == 8


def test_real_samples_fast_equals_general(real_data: Path) -> None:
    hist = (real_data / "histdata" / "DAT_ASCII_EURUSD_T_20200101.csv").read_bytes()
    assert (assert_same(TICKS, hist)[4] == 0).all()
    path = real_data / "truefx" / "usdjpy-ticks.csv"
    body = path.read_bytes().split(b"\n", 1)[1]
    assert (assert_same(quote_spec(path, ""), body)[4] == 0).all()


def test_raw_lines_of_an_earlier_block_are_read_back_from_the_file(real_data: Path) -> None:
    path = real_data / "histdata" / "DAT_ASCII_EURUSD_T_20200101.csv"
    text = path.read_text().splitlines()
    chunks = list(get_reader("histdata").read(path, ReadOptions("EURUSD", block_bytes=4000)))
    assert len(chunks) > 10
    first, last = chunks[0], chunks[-1]
    lines = first.table.column("_line").to_numpy()[[0, -1]]
    assert first.raw_lines(lines) == [text[i - 1] for i in lines]
    assert last.raw_lines(np.array([9500])) == [text[-1]]
    rows, _, _ = read("histdata", path, block_bytes=4000)
    assert rows.num_rows == 9500


@settings(max_examples=100, deadline=None)
@given(st.lists(st.one_of(st.sampled_from([10, 11, 138, 0, 255]), st.integers(0, 255)),
                max_size=200).map(bytes), st.integers(0, 7))
def test_count_newlines_counts_every_newline_byte(data: bytes, skip: int) -> None:
    """Eight bytes at a time and the tail: any length, any alignment, any byte values
    (parse_lines sizes its outputs from this count)."""
    buf = np.frombuffer(data, np.uint8)[skip:]
    assert nb.count_newlines(buf) == int(np.count_nonzero(buf == 10))
