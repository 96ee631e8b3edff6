"""Walk-forward windows: specs, tiling, and no test data in training (property test)."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tickforge.errors import ConfigError
from tickforge.research.windows import make_windows, parse_span


def test_rolling_six_by_one_months_over_a_year() -> None:
    wins = make_windows("2020-01-01", "2021-01-01", "6M", "1M")
    assert len(wins) == 6
    assert wins[0].train_start == pd.Timestamp("2020-01-01", tz="UTC")
    assert wins[0].test_start == pd.Timestamp("2020-07-01", tz="UTC")
    assert wins[-1].test_end == pd.Timestamp("2021-01-01", tz="UTC")
    assert wins[1].train_start == pd.Timestamp("2020-02-01", tz="UTC")


def test_anchored_training_grows_from_the_start() -> None:
    wins = make_windows("2020-01-01", "2020-04-01", "30D", "15D", anchored=True)
    assert all(w.train_start == pd.Timestamp("2020-01-01", tz="UTC") for w in wins)
    spans = [w.train_end - w.train_start for w in wins[:2]]
    assert spans == [timedelta(days=30), timedelta(days=45)]
    assert wins[-1].test_end == pd.Timestamp("2020-04-01", tz="UTC")


def test_data_shorter_than_training_gives_no_window() -> None:
    assert make_windows("2020-01-01", "2020-03-01", "6M", "1M") == []


@pytest.mark.parametrize("bad", ["6", "M", "0M", "6 months", "-1D", "1.5M"])
def test_bad_spec_is_a_config_error(bad: str) -> None:
    with pytest.raises(ConfigError, match="window length"):
        parse_span(bad)


specs = st.sampled_from(["1D", "3D", "7D", "2W", "1M", "2M", "6M", "12h", "90min"])


@settings(max_examples=150, deadline=None)
@given(
    start=st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2030, 1, 1)),
    length_hours=st.integers(1, 24 * 800),
    train=specs, test=specs, anchored=st.booleans(),
)
def test_test_windows_never_touch_training_and_are_ordered(
    start: datetime, length_hours: int, train: str, test: str, anchored: bool
) -> None:
    begin = start.replace(tzinfo=UTC)
    end = begin + timedelta(hours=length_hours)
    wins = make_windows(begin, end, train, test, anchored=anchored)
    for w in wins:
        assert w.train_start < w.train_end <= w.test_start < w.test_end  # no test data in training
        assert pd.Timestamp(begin) <= w.train_start and w.test_end <= pd.Timestamp(end)
    for prev, nxt in itertools.pairwise(wins):
        assert prev.test_end == nxt.test_start  # ordered, contiguous, non-overlapping
        assert prev.train_start <= nxt.train_start
