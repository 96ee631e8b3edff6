"""Book tables: growth to the run's projected need."""

from __future__ import annotations

import numpy as np
import pytest

import tickforge as tf
from tickforge.engine import nb
from tickforge.engine.broker import Book, projected_rows
from tickforge.engine.data import Events
from tickforge.engine.run import make_config


def test_projected_rows_scale_the_rows_used_to_the_whole_run() -> None:
    assert projected_rows(1000, 0.5) == 2500  # 2000 needed by the end, a quarter to spare
    assert projected_rows(1000, 0.005) == 0  # too little of the run done to tell


def test_grow_sizes_short_tables_to_the_projection_and_keeps_their_rows() -> None:
    book = Book.create(make_config("sma_cross", {}, {}), "quotes", ["EURUSD"], capacity=64)
    orders = book.arrays[4]
    orders[:60] = np.arange(60 * nb.N_ORD).reshape(60, nb.N_ORD)
    book.acct[nb.A_NORD] = 60  # short of room (ROOM + 2 rows needed)
    book.grow(0.1)
    assert book.arrays[4].shape[0] == 750 and book.arrays[5].shape[0] == 750
    assert np.array_equal(book.arrays[4][:60], orders[:60])
    assert book.arrays[6].shape[0] == 64  # the trade table had room: untouched
    book.acct[nb.A_NORD] = 740
    book.grow(0.9)  # the projection (1028) is below double: double
    assert book.arrays[4].shape[0] == 1500


def quotes(n: int) -> Events:
    rng = np.random.default_rng(3)
    bid = 1.1 + np.cumsum(rng.normal(0, 2e-5, n))
    ts = np.int64(1_600_000_000 * 10**9) + np.arange(n, dtype=np.int64) * 100_000_000
    return Events("quotes", ["EURUSD"], ts, np.zeros(n, np.int64), bid, bid, bid, bid,
                  np.zeros(n), np.full(n, 1e-4))


def test_a_run_that_grows_its_tables_gives_the_presized_result(
        monkeypatch: pytest.MonkeyPatch) -> None:
    ev = quotes(200_000)
    grown = tf.backtest(ev, "sma_cross", {"fast": 5, "slow": 20})
    assert len(grown.orders) > 1024  # more than the default capacity: the tables grew
    create = Book.create.__func__  # type: ignore[attr-defined]
    monkeypatch.setattr(Book, "create", classmethod(
        lambda cls, *a, **k: create(cls, *a, **{**k, "capacity": 1 << 16})))
    presized = tf.backtest(ev, "sma_cross", {"fast": 5, "slow": 20})
    assert grown.orders.equals(presized.orders) and grown.trades.equals(presized.trades)
    assert grown.equity.equals(presized.equity) and grown.metrics == presized.metrics
