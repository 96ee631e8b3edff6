"""Hand-computed cases for every order type, gaps, TIF, cancel/replace, partial fills."""

from __future__ import annotations

import pytest

import tickforge as tf
from tests.engine.helpers import Script, bars, quotes

FLAT = (10.0, 10.0, 10.0, 10.0)


def run(data, actions, **options):  # type: ignore[no-untyped-def]
    strat = Script(actions)
    res = tf.backtest(data, strat, cash=10_000.0, **options)
    return res, strat


def prices(strat: Script) -> list[tuple[float, float]]:
    return [(f.size, f.price) for f in strat.fills]


def test_market_order_fills_at_next_open() -> None:
    data = bars([FLAT, (11, 12, 10.5, 11.5), (12, 13, 11, 13)])
    res, strat = run(data, {0: lambda s: s.buy(10)})
    assert prices(strat) == [(10.0, 11.0)]
    assert res.final_equity == pytest.approx(10_000 + 10 * (13 - 11))


def test_fill_on_close_is_opt_in() -> None:
    data = bars([FLAT, (11, 12, 10.5, 11.5), (12, 13, 11, 13)])
    _, strat = run(data, {0: lambda s: s.buy(10)}, fill_on="close")
    assert prices(strat) == [(10.0, 10.0)]


def test_limit_buy_fills_at_limit_and_at_open_when_gapped_through() -> None:
    data = bars([FLAT, (11, 11.5, 10.2, 11), (11, 11, 9, 10)])
    _, strat = run(data, {0: lambda s: s.limit(5, 10.5)})
    assert prices(strat) == [(5.0, 10.5)]
    gap = bars([FLAT, (10.0, 10.1, 9.8, 10), FLAT])
    _, strat = run(gap, {0: lambda s: s.limit(5, 10.5)})
    assert prices(strat) == [(5.0, 10.0)]  # marketable when it arrived: the open


def test_limit_sell_needs_the_high_to_reach_it() -> None:
    data = bars([FLAT, (10, 10.4, 9.9, 10), (10, 10.6, 10, 10.5)])
    _, strat = run(data, {0: lambda s: s.limit(-3, 10.5)})
    assert prices(strat) == [(-3.0, 10.5)]
    assert strat.fills[0].ts == data["ts"][2].value


def test_stop_buy_fills_at_stop_or_worse_open_on_gap() -> None:
    data = bars([FLAT, (11, 12.5, 10.8, 12), FLAT])
    _, strat = run(data, {0: lambda s: s.stop(2, 12.0)})
    assert prices(strat) == [(2.0, 12.0)]
    gap = bars([FLAT, (12.8, 13, 12.6, 12.9), FLAT])
    _, strat = run(gap, {0: lambda s: s.stop(2, 12.0)})
    assert prices(strat) == [(2.0, 12.8)]


def test_stop_loss_gap_down_fills_at_open() -> None:
    data = bars([FLAT, FLAT, (8, 8.5, 7.5, 8), FLAT])
    _, strat = run(data, {0: lambda s: s.buy(1), 1: lambda s: s.stop(-1, 9.0)})
    assert prices(strat) == [(1.0, 10.0), (-1.0, 8.0)]


def test_stop_limit_fills_only_within_limit() -> None:
    data = bars([FLAT, (11, 12.5, 10.8, 12), FLAT])
    _, strat = run(data, {0: lambda s: s.stop_limit(1, 12.0, 12.2)})
    assert prices(strat) == [(1.0, 12.0)]
    gap = bars([FLAT, (12.5, 12.9, 12.4, 12.6), (12.5, 12.6, 12.1, 12.3)])
    _, strat = run(gap, {0: lambda s: s.stop_limit(1, 12.0, 12.2)})
    assert prices(strat) == [(1.0, 12.2)]  # gapped above the limit: rests, fills next bar


def test_trailing_stop_follows_the_high() -> None:
    rows = [FLAT, (10, 11, 10, 11), (11, 13, 11, 12.5), (12.5, 12.6, 11.5, 11.8), FLAT]
    _, strat = run(bars(rows), {0: lambda s: s.buy(1), 1: lambda s: s.trailing_stop(-1, 1.0)})
    # trail activates on bar 2 (ref = bar 1 close 11; high 13 -> stop 12); bar 3 low 11.5 hits 12
    assert prices(strat) == [(1.0, 10.0), (-1.0, 12.0)]


def test_bracket_take_profit_cancels_stop_loss() -> None:
    data = bars([FLAT, FLAT, (10, 13.5, 10, 13), FLAT])
    res, strat = run(data, {0: lambda s: s.bracket(10, take_profit=13.0, stop_loss=9.0)})
    assert prices(strat) == [(10.0, 10.0), (-10.0, 13.0)]
    assert list(res.orders["status"]) == ["filled", "filled", "cancelled"]
    assert res.trades["exit_reason"].tolist() == ["take_profit"]


@pytest.mark.parametrize(("intrabar", "exit_price"), [("stop_first", 9.0),
                                                      ("limit_first", 13.0)])
def test_bracket_both_hit_in_one_bar(intrabar: str, exit_price: float) -> None:
    data = bars([FLAT, FLAT, (10, 13.5, 8.5, 10), FLAT])
    _, strat = run(data, {0: lambda s: s.bracket(10, 13.0, 9.0)}, intrabar=intrabar)
    assert prices(strat) == [(10.0, 10.0), (-10.0, exit_price)]


def test_cancel_and_replace() -> None:
    data = bars([FLAT, (10, 10.1, 9.7, 10), (10, 10.1, 9.3, 10), FLAT])
    acts = {0: lambda s: s.limit(1, 9.5), 1: lambda s: s.replace(s.ids[0], limit=9.4)}
    res, strat = run(data, acts)
    assert prices(strat) == [(1.0, 9.4)]
    res, strat = run(data, {0: lambda s: s.limit(1, 9.5), 1: lambda s: s.cancel(s.ids[0])})
    assert strat.fills == [] and res.orders["status"].tolist() == ["cancelled"]


def test_day_order_expires_at_midnight_and_ioc_cancels_remainder() -> None:
    start = bars([FLAT] * 4, freq="8h")
    res, strat = run(start, {0: lambda s: s.limit(1, 5.0, tif="DAY")})
    assert strat.fills == [] and res.orders["status"].tolist() == ["expired"]
    assert res.orders["updated"][0].hour == 0
    res, _ = run(bars([FLAT, FLAT, (9, 9, 9, 9)]), {0: lambda s: s.limit(1, 9.5, tif="IOC")})
    assert res.orders["status"].tolist() == ["cancelled"]


def test_volume_cap_gives_partial_fills() -> None:
    data = bars([FLAT] * 5, volume=[50.0] * 5)
    res, strat = run(data, {0: lambda s: s.buy(12)}, volume_cap=0.1)
    assert [f.size for f in strat.fills] == [5.0, 5.0, 2.0]
    assert res.orders["status"].tolist() == ["filled"]
    assert res.orders["filled_size"].tolist() == [12.0]


def test_quotes_buy_at_ask_sell_at_bid_and_stop_fills_next_quote() -> None:
    data = quotes([(1.0, 1.1), (1.2, 1.3), (1.25, 1.35), (0.9, 1.0), (0.8, 0.9), (0.7, 0.8)])
    _, strat = run(data, {0: lambda s: s.buy(100), 1: lambda s: s.stop(-100, 1.0)})
    # bought at quote 1's ask; stop triggers on quote 3 (bid 0.9 <= 1.0), fills at quote 4's bid
    assert prices(strat) == [(100.0, 1.3), (-100.0, 0.8)]


def test_latency_delays_the_fill() -> None:
    data = quotes([(1.0, 1.1), (1.2, 1.3), (1.25, 1.35), (1.3, 1.4)], freq="100ms")
    _, strat = run(data, {0: lambda s: s.buy(1)}, latency_ms=150)
    assert prices(strat) == [(1.0, 1.35)]


def test_commissions_add_up() -> None:
    data = bars([FLAT, (20, 20, 20, 20), FLAT])
    com = {"per_order": 1.0, "per_unit": 0.01, "bps": 10.0, "per_million": 30.0}
    res, _ = run(data, {0: lambda s: s.buy(100)}, commission=com)
    fee = 1.0 + 0.01 * 100 + 2000 * 10e-4 + 2000 * 30e-6
    assert res.orders["fees"][0] == pytest.approx(fee)
    assert res.final_equity == pytest.approx(10_000 - fee + 100 * (10 - 20))


def test_fixed_and_spread_slippage() -> None:
    data = bars([FLAT, (20, 20, 20, 20), FLAT])
    _, strat = run(data, {0: lambda s: s.buy(1)}, slippage={"model": "fixed", "value": 0.05})
    assert prices(strat) == [(1.0, 20.05)]
    q = quotes([(1.0, 1.2), (1.0, 1.4), (1.0, 1.2)])
    _, strat = run(q, {0: lambda s: s.buy(1)}, slippage={"model": "spread", "value": 0.5})
    assert prices(strat) == [(1.0, pytest.approx(1.6))]


def test_volatility_slippage_scales_with_the_ewma_of_bid_moves() -> None:
    q = quotes([(1.0, 1.1), (1.1, 1.2), (1.3, 1.4), (1.3, 1.4)])
    _, strat = run(q, {2: lambda s: s.buy(1)}, slippage={"model": "volatility", "value": 2.0})
    vol = 0.95 * (0.05 * 0.1) + 0.05 * 0.2  # EWMA (alpha 0.05) of |bid change| before the fill
    assert prices(strat) == [(1.0, pytest.approx(1.4 + 2.0 * vol, rel=1e-12))]
