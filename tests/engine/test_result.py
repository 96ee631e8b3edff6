"""Result: frames built from the book on first access, equal to the book's frames, kept, and
materialised when pickled; given frames are used as they are."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import tickforge as tf
from tickforge.engine.result import FRAMES, Result
from tickforge.engine.run import BookFrames

from .helpers import bars


def walk(n: int = 400, seed: int = 3) -> pd.DataFrame:
    close = 100 + np.cumsum(np.random.default_rng(seed).normal(0, 1, n))
    return bars([(c, c + 0.5, c - 0.5, c) for c in close])


@pytest.fixture(scope="module")
def result() -> Result:
    return tf.backtest(walk(), "sma_cross", {"fast": 5, "slow": 20})


def test_frames_are_built_on_first_access_and_kept() -> None:
    res = tf.backtest(walk(), "sma_cross", {"fast": 5, "slow": 20})
    assert isinstance(res._source, BookFrames) and not res._frames
    trades = res.trades
    assert res.trades is trades and list(res._frames) == ["trades"]
    assert len(trades) > 3
    assert res.metrics["num_trades"] == (trades["exit_reason"] != "open").sum()


def test_lazy_frames_equal_the_books_frames() -> None:
    res = tf.backtest(walk(), "sma_cross", {"fast": 5, "slow": 20})
    book = res._source.book  # type: ignore[union-attr]
    pd.testing.assert_frame_equal(res.equity, book.equity_frame())
    pd.testing.assert_frame_equal(res.trades, book.trades_frame())
    pd.testing.assert_frame_equal(res.orders, book.orders_frame())
    assert list(res.prices.columns) == ["ts", "symbol", "price"]
    assert res.prices["ts"].equals(res.equity["ts"]) and res.prices["symbol"].nunique() == 1
    np.testing.assert_allclose(res.prices["price"].iloc[-1], walk()["close"].iloc[-1])
    assert res._source is None  # every frame built: the book is let go


def test_pickled_result_carries_every_frame_and_no_book(result: Result) -> None:
    res = tf.backtest(walk(), "sma_cross", {"fast": 5, "slow": 20})
    back = pickle.loads(pickle.dumps(res))
    assert back._source is None and set(back._frames) == set(FRAMES)
    pd.testing.assert_frame_equal(back.trades, result.trades)
    assert back.final_equity == result.final_equity and back.metrics == result.metrics


def test_given_frames_are_used_and_missing_ones_are_empty(result: Result) -> None:
    made = Result(config=result.config, metrics={}, equity=result.equity)
    assert made.equity is result.equity
    assert made.trades.empty and made.orders.empty and made.prices.empty


def test_saved_and_loaded_result_round_trips(result: Result, tmp_path: Path) -> None:
    back = Result.load(result.save(tmp_path / "r"))
    for name in FRAMES:
        pd.testing.assert_frame_equal(getattr(back, name), getattr(result, name))


def test_frames_read_after_later_runs_are_those_of_their_own_run() -> None:
    """Frames built late come from their own finished book, untouched by runs after it."""
    params = {"fast": 5, "slow": 20}
    late = tf.backtest(walk(seed=3), "sma_cross", params)
    at_once = tf.backtest(walk(seed=3), "sma_cross", params)
    frames = {name: getattr(at_once, name) for name in FRAMES}
    other = tf.backtest(walk(seed=4), "sma_cross", params)
    assert not other.trades.equals(frames["trades"])
    for name in FRAMES:
        pd.testing.assert_frame_equal(getattr(late, name), frames[name])
