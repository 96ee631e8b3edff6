"""Validation rules, state across chunks and the accounting invariant."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from tickforge.data.schemas import BARS, LINE, QUARANTINE, QUOTES, TRADES
from tickforge.data.sources.base import REJECT_SCHEMA, Chunk
from tickforge.data.validate import SpikeParams, Validator

MS = 10**6


def quote_chunk(ts_ms: list[int], bid: list[float | None], ask: list[float | None],
                line0: int = 1, rejects: list[tuple[int, str, str]] | None = None) -> Chunk:
    n = len(ts_ms)
    lines = np.arange(line0, line0 + n, dtype=np.int64)
    table = pa.table({
        "ts": pa.array(np.asarray(ts_ms, np.int64) * MS, QUOTES.field("ts").type),
        "bid": pa.array(bid, pa.float64()),
        "ask": pa.array(ask, pa.float64()),
        "bid_size": pa.array([1.0] * n),
        "ask_size": pa.array([2.0] * n),
        LINE: pa.array(lines),
    })
    rej = pa.table({"line": [r[0] for r in rejects or []], "raw": [r[1] for r in rejects or []],
                    "reason": [r[2] for r in rejects or []]}, schema=REJECT_SCHEMA)
    return Chunk("quotes", table, rejects=rej, raw_lines=lambda ls: [f"raw {x}" for x in ls],
                 lines_read=n + rej.num_rows)


def run_all(v: Validator, chunks: list[Chunk]) -> tuple[pa.Table, pa.Table, int]:
    goods, bads, dups = [], [], 0
    for c in chunks:
        g, b, d = v.validate(c)
        goods.append(g)
        bads.append(b)
        dups += d
    g, b = v.finish()
    goods.append(g)
    bads.append(b)
    return pa.concat_tables(goods), pa.concat_tables(bads), dups


def reasons(bad: pa.Table) -> dict[int, str]:
    return dict(zip(bad.column("line").to_pylist(), bad.column("reason").to_pylist(),
                    strict=True))


def test_clean_rows_pass_through_in_order() -> None:
    v = Validator("quotes", "a.csv", "EURUSD")
    good, bad, dups = run_all(v, [quote_chunk([1, 2, 2, 3], [1.1, 1.2, 1.3, 1.2],
                                              [1.2, 1.3, 1.4, 1.3])])
    assert good.num_rows == 4 and bad.num_rows == 0 and dups == 0
    assert good.column_names == QUOTES.names  # the line column never leaves the validator
    assert good.column("bid").to_pylist() == [1.1, 1.2, 1.3, 1.2]  # same-ms ticks all kept


def test_missing_nan_and_non_positive_prices_are_quarantined() -> None:
    v = Validator("quotes", "a.csv", "EURUSD")
    chunk = quote_chunk([1, 2, 3, 4, 5], [1.1, None, float("nan"), 0.0, 1.1],
                        [1.2, 1.2, 1.2, 1.2, -1.0])
    good, bad, _ = run_all(v, [chunk])
    assert good.num_rows == 1
    assert reasons(bad) == {2: "missing bid", 3: "bid is NaN or infinite",
                            4: "bid is not positive", 5: "ask is not positive"}
    assert bad.schema == QUARANTINE
    assert bad.column("raw").to_pylist() == ["raw 2", "raw 3", "raw 4", "raw 5"]
    assert set(bad.column("source_file").to_pylist()) == {"a.csv"}


def test_crossed_quotes_quarantined_but_locked_allowed() -> None:
    v = Validator("quotes", "a.csv")
    good, bad, _ = run_all(v, [quote_chunk([1, 2, 3], [1.1, 1.3, 1.2], [1.2, 1.2, 1.2])])
    assert reasons(bad) == {2: "crossed quote (bid > ask)"}
    assert good.column("bid").to_pylist() == [1.1, 1.2]


def test_exact_duplicates_counted_not_quarantined() -> None:
    v = Validator("quotes", "a.csv")
    chunk = quote_chunk([1, 1, 1, 2], [1.1, 1.1, 1.15, 1.1], [1.2, 1.2, 1.2, 1.2])
    good, bad, dups = run_all(v, [chunk])
    assert dups == 1 and bad.num_rows == 0
    assert good.column("bid").to_pylist() == [1.1, 1.15, 1.1]


def test_out_of_order_judged_against_previous_kept_row() -> None:
    v = Validator("quotes", "a.csv")
    chunk = quote_chunk([10, 5, 12, 11, 12], [1.1] * 5, [1.2, 1.2, 1.2, 1.21, 1.22])
    good, bad, _ = run_all(v, [chunk])
    assert reasons(bad) == {2: "timestamp out of order", 4: "timestamp out of order"}
    ts = good.column("ts").to_numpy().astype(np.int64) // MS
    assert ts.tolist() == [10, 12, 12]


def test_state_carries_across_chunk_boundaries() -> None:
    v = Validator("quotes", "a.csv")
    first = quote_chunk([1, 5], [1.1, 1.1], [1.2, 1.2], line0=1)
    second = quote_chunk([5, 4, 6], [1.1, 1.1, 1.1], [1.2, 1.2, 1.2], line0=3)
    good, bad, dups = run_all(v, [first, second])
    assert dups == 1  # line 3 repeats line 2 exactly
    assert reasons(bad) == {4: "timestamp out of order"}
    assert good.num_rows == 3
    assert v.check_accounting()


def random_walk(n: int, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return 1.1 * np.exp(np.cumsum(rng.normal(0, 5e-5, n)))


def spike_chunks(mid: np.ndarray, cut: int | None = None) -> list[Chunk]:
    ts = list(range(1, mid.size + 1))
    bid, ask = list(mid - 5e-5), list(mid + 5e-5)
    if cut is None:
        return [quote_chunk(ts, bid, ask)]
    return [quote_chunk(ts[:cut], bid[:cut], ask[:cut]),
            quote_chunk(ts[cut:], bid[cut:], ask[cut:], line0=cut + 1)]


def test_one_tick_spike_is_quarantined() -> None:
    mid = random_walk(500)
    mid[300] *= 1.01  # one tick 1% away, then straight back
    good, bad, _ = run_all(Validator("quotes", "a.csv"), spike_chunks(mid))
    assert reasons(bad) == {301: "spike"}
    assert good.num_rows == 499


def test_spike_detected_across_a_chunk_boundary() -> None:
    mid = random_walk(500)
    mid[299] *= 0.99
    for cut in (299, 300):  # the spike last in the first chunk, or first in the second
        v = Validator("quotes", "a.csv")
        good, bad, _ = run_all(v, spike_chunks(mid, cut))
        assert reasons(bad) == {300: "spike"}, cut
        assert good.num_rows == 499


def test_level_shift_and_high_price_level_are_not_spikes() -> None:
    mid = random_walk(600)
    mid[300:] *= 1.01  # a jump that stays: a real move, not a spike
    mid *= 1000  # the price level itself does not matter
    good, bad, _ = run_all(Validator("quotes", "a.csv"), spike_chunks(mid))
    assert bad.num_rows == 0 and good.num_rows == 600


def test_impossible_bars() -> None:
    table = pa.table({
        "ts": pa.array(np.arange(1, 6) * 60 * 10**9, BARS.field("ts").type),
        "open": [1.0, 1.0, 1.0, 1.0, 1.0],
        "high": [1.2, 0.9, 1.2, 0.8, 1.1],
        "low": [0.9, 0.8, 1.05, 0.9, 0.9],
        "close": [1.1, 0.95, 1.1, 0.85, 1.2],
        "volume": [1.0, 1.0, 1.0, 1.0, 1.0],
        "tick_count": pa.array([None] * 5, pa.int64()),
        LINE: pa.array(np.arange(1, 6, dtype=np.int64)),
    })
    chunk = Chunk("bars", table, raw_lines=lambda ls: [""] * len(ls), lines_read=5)
    good, bad, _ = run_all(Validator("bars", "m1.csv"), [chunk])
    assert reasons(bad) == {2: "impossible bar: high below open/close",
                            3: "impossible bar: low above open/close",
                            4: "impossible bar: high below low",
                            5: "impossible bar: high below open/close"}
    assert good.num_rows == 1


def test_reader_rejects_are_quarantined_with_their_text() -> None:
    chunk = quote_chunk([1, 3], [1.1, 1.1], [1.2, 1.2],
                        rejects=[(2, "garbage,,", "unparseable timestamp")])
    chunk.table = chunk.table.set_column(5, LINE, pa.array([1, 3], pa.int64()))
    good, bad, _ = run_all(Validator("quotes", "a.csv"), [chunk])
    assert bad.to_pylist()[0]["raw"] == "garbage,,"
    assert reasons(bad) == {2: "unparseable timestamp"}
    assert good.num_rows == 2


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 30), st.sampled_from([1.0, 1.1, 0.0, -1.0, 1.3]),
                          st.sampled_from([1.1, 1.2, float("nan")])), min_size=1, max_size=60),
       st.integers(1, 59))
def test_accounting_always_adds_up(rows: list[tuple[int, float, float]], cut: int) -> None:
    ts, bid, ask = (list(x) for x in zip(*rows, strict=True))
    cut = min(cut, len(rows))
    chunks = [quote_chunk(ts[:cut], bid[:cut], ask[:cut]),
              quote_chunk(ts[cut:], bid[cut:], ask[cut:], line0=cut + 1)]
    good, bad, dups = run_all(Validator("quotes", "a.csv"), chunks)
    assert good.num_rows + bad.num_rows + dups == len(rows)
    kept_ts = good.column("ts").to_numpy().astype(np.int64)
    assert np.all(np.diff(kept_ts) >= 0)
    assert len(set(bad.column("line").to_pylist())) == bad.num_rows


def reference_spikes(prices: list[float], p: SpikeParams) -> list[bool]:
    """The spike rule written plainly over a whole file's candidate prices (last: kept)."""
    flags = [False] * len(prices)
    ref, scale, seen = math.nan, 0.0, 0
    for i in range(len(prices) - 1):
        x = prices[i]
        if math.isnan(ref):
            ref = x
            continue
        r1 = math.log(x / ref)
        thr = p.k * max(scale, p.floor)
        if seen >= p.warmup and abs(r1) > thr:
            r2 = math.log(prices[i + 1] / x)
            if abs(r2) > thr and r1 * r2 < 0 and abs(r1 + r2) < 0.5 * abs(r1):
                flags[i] = True
                continue
        scale += (p.alpha * (min(abs(r1), thr) - scale) if seen >= p.warmup
                  else (abs(r1) - scale) / (seen + 1))
        seen += 1
        ref = x
    return flags


def field_reason(bid: float | None, ask: float | None) -> str | None:
    for name, x in (("bid", bid), ("ask", ask)):
        if x is None:
            return f"missing {name}"
    for name, x in (("bid", bid), ("ask", ask)):
        assert x is not None
        if not math.isfinite(x):
            return f"{name} is NaN or infinite"
        if x <= 0:
            return f"{name} is not positive"
    return "crossed quote (bid > ask)" if bid > ask else None  # type: ignore[operator]


def reference(rows: list[tuple[int, float | None, float | None]], p: SpikeParams
              ) -> tuple[list[int], dict[int, str], int]:
    """Rules 1-8 row by row over the whole file: (good lines, {line: reason}, duplicates)."""
    bad: dict[int, str] = {}
    cands: list[tuple[int, float]] = []
    last: tuple[int, float | None, float | None] | None = None
    latest, dups = -1, 0
    for line, (ts, bid, ask) in enumerate(rows, start=1):
        reason = field_reason(bid, ask)
        if reason:
            bad[line] = reason
        elif last == (ts, bid, ask):
            dups += 1
        elif ts < latest:
            last = (ts, bid, ask)
            bad[line] = "timestamp out of order"
        else:
            last, latest = (ts, bid, ask), ts
            cands.append((line, (bid + ask) * 0.5))  # type: ignore[operator]
    flags = reference_spikes([mid for _, mid in cands], p)
    bad.update({line: "spike" for (line, _), f in zip(cands, flags, strict=True) if f})
    good = [line for (line, _), f in zip(cands, flags, strict=True) if not f]
    return good, bad, dups


KINDS = {"ok": lambda m: (m, m + 0.001), "missing": lambda m: (None, m),
         "nan": lambda m: (float("nan"), m), "zero": lambda m: (0.0, m),
         "crossed": lambda m: (m, m - 0.01), "inf": lambda m: (m, float("inf"))}
ROW = st.tuples(st.sampled_from([1, 1, 1, 1, 0, -3]),  # time step: mostly forward
                st.sampled_from([1.0] * 12 + [1.0002, 1.0004, 1.03, 1.06, 1.1]),
                st.sampled_from(["ok"] * 8 + list(KINDS)))


def file_rows(items: list[tuple[int, float, str] | None]) -> list[tuple[int, float | None, float]]:
    """Rows (ts, bid, ask) from (time step, mid, kind); ``None`` repeats the row before."""
    rows: list[tuple[int, float | None, float]] = []
    ts = 10
    for item in items:
        if item is None:
            if rows:
                rows.append(rows[-1])
            continue
        step, mid, kind = item
        ts += step
        rows.append((ts, *KINDS[kind](mid)))  # type: ignore[arg-type]
    return rows or [(0, 1.0, 1.0)]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.none(), ROW), min_size=20, max_size=100),
       st.lists(st.integers(1, 99), max_size=4))
def test_kernel_matches_plain_reference_for_any_chunking(
        items: list[tuple[int, float, str] | None], cuts: list[int]) -> None:
    rows = file_rows(items)
    params = SpikeParams(k=2.0, alpha=0.3, warmup=2, floor=1e-4)  # spikes are frequent
    bounds = sorted({0, len(rows), *(c for c in cuts if c < len(rows))})
    chunks = [quote_chunk([r[0] for r in rows[lo:hi]], [r[1] for r in rows[lo:hi]],
                          [r[2] for r in rows[lo:hi]], line0=lo + 1)
              for lo, hi in itertools.pairwise(bounds)]
    good, bad, dups = run_all(Validator("quotes", "a.csv", spikes=params), chunks)
    want_good, want_bad, want_dups = reference(rows, params)
    assert reasons(bad) == want_bad
    assert dups == want_dups
    ts = (good.column("ts").to_numpy().astype(np.int64) // MS).tolist()
    assert ts == [rows[line - 1][0] for line in want_good]
    assert good.column("bid").to_pylist() == [rows[line - 1][1] for line in want_good]


def trade_chunk(ts_ms: list[int], price: list[float], trade_id: list[str | None],
                line0: int = 1) -> Chunk:
    n = len(ts_ms)
    table = pa.table({
        "ts": pa.array(np.asarray(ts_ms, np.int64) * MS, TRADES.field("ts").type),
        "price": pa.array(price, pa.float64()), "size": pa.array([1.0] * n),
        "side": pa.array([1] * n, pa.int8()), "trade_id": pa.array(trade_id, pa.string()),
        LINE: pa.array(np.arange(line0, line0 + n, dtype=np.int64)),
    })
    return Chunk("trades", table, raw_lines=lambda ls: [f"raw {x}" for x in ls], lines_read=n)


def test_trade_duplicates_compare_every_column_across_chunks() -> None:
    v = Validator("trades", "t.csv")
    first = trade_chunk([1, 2], [10.0, 10.5], ["a", "b"])
    second = trade_chunk([2, 2, 2, 2, 3], [10.5, 10.5, 10.5, 10.5, 11.0],
                         ["b", "c", None, None, "d"], line0=3)
    good, bad, dups = run_all(v, [first, second])
    assert dups == 2  # line 3 repeats line 2 (other chunk); line 6 repeats line 5 (null id)
    assert bad.num_rows == 0
    assert good.column("trade_id").to_pylist() == ["a", "b", "c", None, "d"]
    assert v.check_accounting()
