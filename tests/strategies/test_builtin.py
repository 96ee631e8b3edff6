"""Built-in strategies: schemas, validation errors, streaming = one pass, sensible signals."""

from __future__ import annotations

import json

import numpy as np
import pytest

import tickforge as tf
from tickforge.errors import ConfigError
from tickforge.strategies import get_strategy, list_strategies

NAMES = ["bollinger_reversion", "buy_and_hold", "donchian_breakout", "ema_cross", "momentum",
         "rsi_reversion", "sma_cross"]


def walk(n: int = 3000, seed: int = 3) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return 100 * np.exp(np.cumsum(rng.normal(0, 0.01, n)))


def test_all_strategies_listed_with_json_schemas() -> None:
    assert list_strategies() == NAMES
    for name in NAMES:
        schema = json.loads(json.dumps(get_strategy(name).schema()))
        assert schema["name"] == name
        for p in schema["params"]:
            assert {"name", "type", "default", "min", "max", "description"} <= set(p)
            assert p["type"] == "bool" or p["min"] <= p["default"] <= p["max"]


def test_unknown_strategy_and_bad_params_name_the_field() -> None:
    with pytest.raises(ConfigError, match="sma_cross") as err:
        get_strategy("nope")
    assert err.value.field == "strategy"
    strat = get_strategy("sma_cross")
    with pytest.raises(ConfigError) as err:
        strat.validate({"fast": 0})
    assert err.value.field == "params.fast" and "[1" in str(err.value)
    with pytest.raises(ConfigError) as err:
        strat.validate({"fats": 3})
    assert err.value.field == "params.fats" and "fast" in str(err.value)
    with pytest.raises(ConfigError, match="shorter"):
        strat.validate({"fast": 50, "slow": 20})
    with pytest.raises(ConfigError, match="whole number"):
        strat.validate({"fast": 2.5})
    assert strat.validate({"fast": "5", "allow_short": "false"})["allow_short"] is False


@pytest.mark.parametrize("name", NAMES)
def test_streaming_signals_equal_one_pass(name: str) -> None:
    strat = get_strategy(name)
    params = strat.validate({})
    x = walk()
    whole = strat.signals(x, params, strat.new_state(params))
    state = strat.new_state(params)
    parts = np.concatenate([strat.signals(x[a:a + 337], params, state)
                            for a in range(0, len(x), 337)])
    np.testing.assert_array_equal(whole, parts)
    decided = whole[~np.isnan(whole)]
    assert decided.size >= 1 and set(decided) <= {-1.0, 0.0, 1.0}


def test_sma_cross_signals_by_hand() -> None:
    x = np.array([5, 4, 3, 2, 3, 4, 5, 6, 5, 4, 3, 2], dtype=float)
    strat = get_strategy("sma_cross")
    p = strat.validate({"fast": 2, "slow": 4})
    sig = strat.signals(x, p, strat.new_state(p))
    # fast mean of 2 crosses above mean of 4 at index 5, below at index 9
    assert np.flatnonzero(~np.isnan(sig)).tolist() == [5, 9]
    assert sig[5] == 1.0 and sig[9] == -1.0


def test_long_only_goes_flat_instead_of_short() -> None:
    x = walk()
    strat = get_strategy("ema_cross")
    p = strat.validate({"allow_short": False})
    sig = strat.signals(x, p, strat.new_state(p))
    assert set(sig[~np.isnan(sig)]) == {0.0, 1.0}


def test_buy_and_hold_equals_price_return() -> None:
    x = walk(500)
    import pandas as pd

    data = pd.DataFrame({"ts": pd.date_range("2020", periods=500, freq="D", tz="UTC"),
                         "open": x, "high": x, "low": x, "close": x})
    res = tf.backtest(data, "buy_and_hold", size_mode="units", size=10, cash=1e6)
    assert res.final_equity == pytest.approx(1e6 + 10 * (x[-1] - x[1]))
