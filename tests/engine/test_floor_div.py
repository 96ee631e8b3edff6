"""``engine.nb.floor_div``: Python's float ``//`` without ``fmod``, bit for bit."""

from __future__ import annotations

import numpy as np
import pytest
from numba import njit

from tickforge.engine.nb import floor_div


@njit(cache=True)
def both(a: np.ndarray, b: np.ndarray, out: np.ndarray) -> None:
    for i in range(a.shape[0]):
        out[i, 0] = floor_div(a[i], b[i])
        out[i, 1] = a[i] // b[i]


def pairs() -> list[tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(7)
    b = rng.uniform(0.5, 2.0, 200_000)
    exact = rng.integers(0, 10**9, b.shape[0]).astype(float) * b  # near-exact multiples
    out = []
    for a in (exact, np.nextafter(exact, 0.0), np.nextafter(exact, np.inf),
              rng.uniform(-1e6, 1e6, b.shape[0])):
        out += [(a, b), (a, -b)]
    return out


@pytest.mark.parametrize("k", range(8))
def test_floor_div_is_python_floor_division(k: int) -> None:
    a, b = pairs()[k]
    out = np.empty((a.shape[0], 2))
    both(a, b, out)
    assert np.array_equal(out[:, 0], out[:, 1])


def test_the_cases_hold_quotients_rounded_up_to_an_integer() -> None:
    """Where ``floor(a / b)`` alone is one too high: the correction is exercised."""
    a, b = pairs()[2]
    assert np.count_nonzero(np.floor(a / b) != a // b) > 1000


def test_floor_div_special_values() -> None:
    a = np.array([0.0, -0.0, 5.0, -5.0, np.inf, -np.inf, np.nan, 1e308, 3.0, 7.0])
    b = np.array([3.0, 3.0, np.inf, np.inf, 2.0, 2.0, 1.0, 1e-308, -np.inf, 0.5])
    out = np.empty((a.shape[0], 2))
    both(a, b, out)
    assert np.array_equal(out[:, 0], out[:, 1], equal_nan=True)
    assert np.array_equal(np.signbit(out[:, 0]), np.signbit(out[:, 1]))
