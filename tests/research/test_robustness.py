"""Robustness statistics against published numbers and first principles."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from tickforge.errors import ConfigError
from tickforge.research.robustness import (
    deflated_sharpe_from_returns,
    deflated_sharpe_ratio,
    expected_max_sharpe,
    monte_carlo_trades,
    probabilistic_sharpe_ratio,
    probability_of_backtest_overfitting,
)


def test_deflated_sharpe_matches_paper_worked_example() -> None:
    # Bailey & López de Prado (2014), numerical example: N=100 trials, T=1250 daily returns,
    # annualised SR 2.5, variance of annualised trial SRs 0.5, skew -3, kurtosis 10,
    # 250 days a year. The paper finds SR0 = 0.1132 (per day) and DSR = 0.9004.
    days = 250
    sharpe = 2.5 / np.sqrt(days)
    variance = 0.5 / days
    assert expected_max_sharpe(100, variance) == pytest.approx(0.1132, abs=5e-5)
    dsr = deflated_sharpe_ratio(sharpe, 1250, 100, variance, skew=-3.0, kurtosis=10.0)
    assert dsr == pytest.approx(0.9004, abs=5e-4)


def test_psr_of_normal_returns_matches_textbook_formula() -> None:
    # normal returns: skew 0, kurtosis 3 -> se = sqrt((1 + SR^2/2)/(n-1))
    sr, n = 0.1, 500
    expected = stats.norm.cdf(sr / np.sqrt((1 + sr**2 / 2) / (n - 1)))
    assert probabilistic_sharpe_ratio(sr, n) == pytest.approx(expected, rel=1e-12)


def test_more_trials_deflate_more() -> None:
    values = [deflated_sharpe_ratio(0.1, 1000, n, 0.002) for n in (1, 10, 100, 1000)]
    assert values == sorted(values, reverse=True)
    assert values[0] == pytest.approx(probabilistic_sharpe_ratio(0.1, 1000))


def test_dsr_from_returns_uses_trials_actually_run() -> None:
    rng = np.random.default_rng(1)
    best = rng.normal(0.001, 0.01, 2000)
    few = deflated_sharpe_from_returns(best, rng.normal(0, 0.03, 5))
    many = deflated_sharpe_from_returns(best, rng.normal(0, 0.03, 500))
    assert many["n_trials"] == 500 and few["n_trials"] == 5
    assert many["dsr"] < few["dsr"] <= few["psr"]


def test_pbo_is_high_for_pure_noise_and_low_for_a_real_edge() -> None:
    rng = np.random.default_rng(7)
    noise = rng.normal(0, 0.01, (800, 40))
    assert probability_of_backtest_overfitting(noise, n_blocks=8).pbo > 0.25
    skilled = noise.copy()
    skilled[:, 3] += 0.004  # one trial truly better in every period
    result = probability_of_backtest_overfitting(skilled, n_blocks=8)
    assert result.n_splits == 70  # C(8, 4)
    assert result.pbo == 0.0
    assert np.all(result.logits > 0)


def test_pbo_rejects_odd_blocks() -> None:
    with pytest.raises(ConfigError, match="even"):
        probability_of_backtest_overfitting(np.zeros((100, 3)), n_blocks=5)


def test_monte_carlo_is_deterministic_and_bounded() -> None:
    pnl = np.array([100.0, -50.0, 30.0, -80.0, 200.0, -10.0])
    a = monte_carlo_trades(pnl, 1000.0, n_sims=500, seed=3)
    b = monte_carlo_trades(pnl, 1000.0, n_sims=500, seed=3)
    np.testing.assert_array_equal(a.final_equity, b.final_equity)
    assert np.all(a.max_drawdown <= 0) and np.all(a.max_drawdown > -1)
    c = monte_carlo_trades(pnl, 1000.0, n_sims=500, seed=4)
    assert not np.array_equal(a.final_equity, c.final_equity)
    assert a.summary()["final_equity_p50"] == pytest.approx(np.median(a.final_equity))


def test_monte_carlo_shuffle_keeps_final_equity_and_bounds_drawdown() -> None:
    pnl = np.array([100.0, -50.0, 30.0, -80.0, 200.0, -10.0])
    res = monte_carlo_trades(pnl, 1000.0, n_sims=200, seed=0, method="shuffle")
    np.testing.assert_allclose(res.final_equity, 1000.0 + pnl.sum())
    # worst case: all losses first -> drawdown (1000-140)/1000 - 1
    # worst order (all three losses first, p = 1/20 per draw) is reached with seed 0
    assert res.max_drawdown.min() == pytest.approx(-0.14)


def test_monte_carlo_without_trades_is_flat() -> None:
    res = monte_carlo_trades(np.array([]), 500.0, n_sims=10)
    assert np.all(res.final_equity == 500.0) and np.all(res.max_drawdown == 0.0)
