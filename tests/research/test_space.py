"""Grids, random draws and safely parsed constraints."""

from __future__ import annotations

import pandas as pd
import pytest

from tickforge.config import BacktestConfig, SweepConfig
from tickforge.errors import ConfigError
from tickforge.research.space import (
    Constraint,
    apply_constraints,
    grid_frame,
    random_frame,
    satisfies,
)
from tickforge.research.sweep import candidate_sets


def test_grid_is_the_cartesian_product_in_order() -> None:
    frame = grid_frame({"fast": (5, 10), "slow": (20, 30, 40)})
    assert len(frame) == 6
    assert frame.iloc[0].tolist() == [5, 20] and frame.iloc[-1].tolist() == [10, 40]


def test_constraints_filter_rows_vectorised() -> None:
    frame = grid_frame({"fast": range(5, 55, 5), "slow": range(10, 110, 10)})
    kept = apply_constraints(frame, ["fast<slow", "slow - fast >= 20"])
    assert len(kept) > 0
    assert (kept["fast"] < kept["slow"]).all() and (kept["slow"] - kept["fast"] >= 20).all()
    expected = sum(1 for f in range(5, 55, 5) for s in range(10, 110, 10) if s - f >= 20)
    assert len(kept) == expected


def test_chained_and_boolean_constraints() -> None:
    assert satisfies({"a": 1, "b": 2, "c": 3}, ["a < b < c", "not a > 2 or c == 0"])
    assert not satisfies({"a": 1, "b": 5, "c": 3}, ["a < b < c"])
    frame = pd.DataFrame({"a": [1, 3], "b": [2, 2]})
    assert apply_constraints(frame, ["a < b and -a < 0"])["a"].tolist() == [1]


@pytest.mark.parametrize("text", [
    "__import__('os').system('echo hi')",
    "fast.__class__",
    "[x for x in ()]",
    "fast < 'x'",
    "lambda: 1",
])
def test_unsafe_or_foreign_constraints_are_rejected(text: str) -> None:
    with pytest.raises(ConfigError):
        Constraint(text, ["fast", "slow"])


def test_constraint_on_unknown_name_names_the_parameters() -> None:
    with pytest.raises(ConfigError, match="unknown parameter 'slwo'"):
        Constraint("fast < slwo", ["fast", "slow"])


def test_random_draws_are_seeded_and_typed() -> None:
    a = random_frame({"fast": (5, 50), "k": (0.5, 2.0)}, 50, 7, {"fast": True})
    b = random_frame({"fast": (5, 50), "k": (0.5, 2.0)}, 50, 7, {"fast": True})
    pd.testing.assert_frame_equal(a, b)
    assert a["fast"].between(5, 50).all() and a["fast"].dtype.kind == "i"
    assert a["k"].between(0.5, 2.0).all() and a["k"].dtype.kind == "f"


def test_random_method_samples_the_grid_without_repeats() -> None:
    base = BacktestConfig(strategy="sma_cross", seed=3)
    config = SweepConfig(base=base, grid={"fast": tuple(range(5, 50, 5)),
                                          "slow": tuple(range(20, 200, 10))},
                         constraints=("fast<slow",), method="random", n_trials=25)
    sets = candidate_sets(config)
    assert len(sets) == 25
    assert len({(s["fast"], s["slow"]) for s in sets}) == 25
    assert all(s["fast"] < s["slow"] for s in sets)
    assert sets == candidate_sets(config)
