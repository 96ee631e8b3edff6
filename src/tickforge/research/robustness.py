"""Robustness statistics: is the best of many backtests any good?

* :func:`probabilistic_sharpe_ratio` (PSR) and :func:`deflated_sharpe_ratio` (DSR) from
  Bailey & López de Prado, "The Deflated Sharpe Ratio" (JPM 2014). Sharpe ratios here are
  *per period* (not annualised); kurtosis is the plain (non-excess) kurtosis, 3 for a normal.
* :func:`probability_of_backtest_overfitting` (PBO) by combinatorially symmetric
  cross-validation (CSCV; Bailey, Borwein, López de Prado, Zhu 2015).
* :func:`monte_carlo_trades`: resample a run's trade P&L (bootstrap or shuffle) to get the
  distribution of final equity and maximum drawdown; deterministic by seed.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations
from typing import Literal

import numpy as np
from scipy import stats

from tickforge.errors import ConfigError

EULER_GAMMA = 0.5772156649015329


def _moments(returns: np.ndarray) -> tuple[float, float, float, int]:
    """Per-period Sharpe, skewness, (non-excess) kurtosis and length of a return series."""
    r = np.asarray(returns, dtype=np.float64)
    r = r[np.isfinite(r)]
    if len(r) < 3:
        raise ConfigError("need at least 3 returns for Sharpe statistics", field="returns")
    sd = r.std(ddof=1)
    sharpe = float(r.mean() / sd) if sd > 0 else 0.0
    skew = float(stats.skew(r)) if sd > 0 else 0.0
    kurt = float(stats.kurtosis(r, fisher=False)) if sd > 0 else 3.0
    return sharpe, skew, kurt, len(r)


def sharpe_std(sharpe: float, n_obs: int, skew: float = 0.0, kurtosis: float = 3.0) -> float:
    """Standard error of a per-period Sharpe estimate under non-normal returns (Mertens)."""
    var = (1.0 - skew * sharpe + (kurtosis - 1.0) / 4.0 * sharpe**2) / (n_obs - 1)
    return float(np.sqrt(max(var, 0.0)))


def probabilistic_sharpe_ratio(sharpe: float, n_obs: int, skew: float = 0.0,
                               kurtosis: float = 3.0, benchmark: float = 0.0) -> float:
    """P(true Sharpe > ``benchmark``) given an observed per-period Sharpe over ``n_obs`` returns."""
    if n_obs < 2:
        raise ConfigError("PSR needs at least 2 observations", field="n_obs")
    se = sharpe_std(sharpe, n_obs, skew, kurtosis)
    if se == 0.0:
        return 1.0 if sharpe > benchmark else 0.0
    return float(stats.norm.cdf((sharpe - benchmark) / se))


def expected_max_sharpe(n_trials: int, sharpe_variance: float) -> float:
    """Expected maximum per-period Sharpe of ``n_trials`` unskilled trials (the DSR threshold)."""
    if n_trials < 1:
        raise ConfigError("number of trials must be >= 1", field="n_trials")
    if n_trials == 1:
        return 0.0
    z1 = stats.norm.ppf(1.0 - 1.0 / n_trials)
    z2 = stats.norm.ppf(1.0 - 1.0 / (n_trials * np.e))
    return float(np.sqrt(sharpe_variance) * ((1.0 - EULER_GAMMA) * z1 + EULER_GAMMA * z2))


def deflated_sharpe_ratio(sharpe: float, n_obs: int, n_trials: int, sharpe_variance: float,
                          skew: float = 0.0, kurtosis: float = 3.0) -> float:
    """PSR against the expected maximum Sharpe of ``n_trials`` trials whose per-period Sharpe
    ratios have variance ``sharpe_variance``. Near 1: the edge survives the multiple testing."""
    threshold = expected_max_sharpe(n_trials, sharpe_variance)
    return probabilistic_sharpe_ratio(sharpe, n_obs, skew, kurtosis, benchmark=threshold)


def deflated_sharpe_from_returns(best_returns: np.ndarray,
                                 trial_sharpes: np.ndarray) -> dict[str, float]:
    """DSR of the chosen run's per-period returns given every trial's per-period Sharpe."""
    sharpe, skew, kurt, n = _moments(best_returns)
    trials = np.asarray(trial_sharpes, dtype=np.float64)
    trials = trials[np.isfinite(trials)]
    variance = float(trials.var(ddof=1)) if len(trials) > 1 else 0.0
    n_trials = max(len(trials), 1)
    return {
        "sharpe_per_period": sharpe, "skew": skew, "kurtosis": kurt, "n_obs": float(n),
        "n_trials": float(n_trials), "sharpe_variance": variance,
        "expected_max_sharpe": expected_max_sharpe(n_trials, variance),
        "psr": probabilistic_sharpe_ratio(sharpe, n, skew, kurt),
        "dsr": deflated_sharpe_ratio(sharpe, n, n_trials, variance, skew, kurt),
    }


# ---------------------------------------------------------------- PBO (CSCV)


@dataclass(frozen=True)
class PBOResult:
    pbo: float  # fraction of splits where the in-sample best ranks below the OOS median
    logits: np.ndarray  # one logit of the OOS relative rank per split
    n_splits: int

    def as_dict(self) -> dict[str, float]:
        return {"pbo": self.pbo, "n_splits": float(self.n_splits),
                "logit_median": float(np.median(self.logits))}


def _sharpe_columns(block: np.ndarray) -> np.ndarray:
    sd = block.std(axis=0, ddof=1)
    mean = block.mean(axis=0)
    return np.divide(mean, sd, out=np.zeros_like(mean), where=sd > 0)


def probability_of_backtest_overfitting(returns: np.ndarray, n_blocks: int = 16) -> PBOResult:
    """CSCV: ``returns`` is T x N (periods x trials). Split the rows into ``n_blocks`` (even)
    blocks; for every half/half combination choose the in-sample best trial by Sharpe and find
    its relative rank out-of-sample. PBO = share of combinations where it ranks at or below
    the median (logit <= 0)."""
    matrix = np.asarray(returns, dtype=np.float64)
    _check_cscv(matrix, n_blocks)
    blocks = np.array_split(np.arange(matrix.shape[0]), n_blocks)
    n_trials = matrix.shape[1]
    logits = []
    for train_ids in combinations(range(n_blocks), n_blocks // 2):
        train_rows = np.concatenate([blocks[i] for i in train_ids])
        test_mask = np.ones(matrix.shape[0], dtype=bool)
        test_mask[train_rows] = False
        best = int(np.argmax(_sharpe_columns(matrix[train_rows])))
        oos = _sharpe_columns(matrix[test_mask])
        rank = float(stats.rankdata(oos)[best])  # 1 = worst, N = best
        omega = rank / (n_trials + 1.0)
        logits.append(np.log(omega / (1.0 - omega)))
    arr = np.asarray(logits)
    return PBOResult(pbo=float(np.mean(arr <= 0.0)), logits=arr, n_splits=len(arr))


def _check_cscv(matrix: np.ndarray, n_blocks: int) -> None:
    if matrix.ndim != 2 or matrix.shape[1] < 2:
        raise ConfigError("PBO needs a 2-D returns matrix with at least 2 trials (columns)",
                          field="returns")
    if n_blocks < 2 or n_blocks % 2:
        raise ConfigError(f"n_blocks must be even and >= 2, got {n_blocks}", field="n_blocks")
    if matrix.shape[0] < 2 * n_blocks:
        raise ConfigError(f"PBO needs at least {2 * n_blocks} periods for {n_blocks} blocks",
                          field="returns", hint="use fewer blocks")


# ---------------------------------------------------------------- Monte Carlo of trades


@dataclass(frozen=True)
class MonteCarloResult:
    final_equity: np.ndarray  # one per simulation
    max_drawdown: np.ndarray  # fraction, <= 0, one per simulation

    def summary(self, quantiles: tuple[float, ...] = (0.05, 0.25, 0.5, 0.75, 0.95),
                ) -> dict[str, float]:
        out: dict[str, float] = {"n_sims": float(len(self.final_equity))}
        for q in quantiles:
            tag = f"p{round(q * 100):02d}"
            out[f"final_equity_{tag}"] = float(np.quantile(self.final_equity, q))
            out[f"max_drawdown_{tag}"] = float(np.quantile(self.max_drawdown, q))
        return out


def monte_carlo_trades(pnl: np.ndarray, cash: float, n_sims: int = 1000, seed: int = 0,
                       method: Literal["bootstrap", "shuffle"] = "bootstrap") -> MonteCarloResult:
    """Resample trade P&L (account currency) into ``n_sims`` alternative trade sequences.

    ``bootstrap`` draws with replacement (final equity varies); ``shuffle`` permutes the
    order (final equity fixed, drawdown varies). Same seed, same result.
    """
    trades = np.asarray(pnl, dtype=np.float64)
    if trades.ndim != 1 or not np.all(np.isfinite(trades)):
        raise ConfigError("trade P&L must be a 1-D array of finite numbers", field="pnl")
    if n_sims < 1 or cash <= 0:
        raise ConfigError("need n_sims >= 1 and cash > 0", field="n_sims")
    if len(trades) == 0:
        return MonteCarloResult(np.full(n_sims, float(cash)), np.zeros(n_sims))
    rng = np.random.default_rng(seed)
    if method == "bootstrap":
        samples = rng.choice(trades, size=(n_sims, len(trades)), replace=True)
    elif method == "shuffle":
        samples = rng.permuted(np.broadcast_to(trades, (n_sims, len(trades))), axis=1)
    else:
        raise ConfigError(f"unknown Monte Carlo method '{method}'", field="method",
                          hint="use 'bootstrap' or 'shuffle'")
    equity = cash + np.cumsum(samples, axis=1)
    peak = np.maximum(np.maximum.accumulate(equity, axis=1), cash)
    drawdown = np.min(equity / peak - 1.0, axis=1)
    return MonteCarloResult(final_equity=equity[:, -1].copy(),
                            max_drawdown=np.minimum(drawdown, 0.0))
