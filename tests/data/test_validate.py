"""Validation rules, state across chunks and the accounting invariant."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from tickforge.data.schemas import BARS, LINE, QUARANTINE, QUOTES
from tickforge.data.sources.base import REJECT_SCHEMA, Chunk
from tickforge.data.validate import Validator

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
