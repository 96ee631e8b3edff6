"""Paper trading on both databases: fills by the engine's rules against the lake replay,
idempotent orders, risk checks, the double-entry ledger under 50 concurrent orders."""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import httpx
import numpy as np
import pytest

from tests.service.conftest import Server, problem

T0 = datetime(2020, 1, 1, 23, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def quotes(service_lake: str) -> dict[str, np.ndarray]:
    from tickforge.data.lake import Lake

    table = Lake(service_lake).quotes("EURUSD").to_arrow()
    ts = table.column("ts").cast("int64").to_numpy()
    return {"ts": ts, "bid": table.column("bid").to_numpy(), "ask": table.column("ask").to_numpy()}


def ns(when: datetime) -> int:
    return int(when.timestamp() * 1e9)


def at(quotes: dict[str, np.ndarray], when: datetime) -> int:
    """Index of the last quote at or before ``when``."""
    return int(np.searchsorted(quotes["ts"], ns(when), side="right")) - 1


def set_clock(admin: httpx.Client, when: datetime) -> None:
    response = admin.put("/v1/feed", json={"start": when.isoformat(), "speed": 0})
    assert response.status_code == 200, response.text


def new_account(client: httpx.Client, cash: float = 1_000_000, **extra: object) -> int:
    response = client.post("/v1/accounts", json={"name": "paper", "cash": cash, **extra})
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def order(client: httpx.Client, account: int, cid: str, side: str, qty: float,
          **extra: object) -> httpx.Response:
    return client.post(f"/v1/accounts/{account}/orders",
                       json={"client_order_id": cid, "symbol": "EURUSD", "side": side,
                             "quantity": qty, **extra})


def check_ledger(client: httpx.Client, account: int) -> dict[str, object]:
    pf = client.get(f"/v1/accounts/{account}/portfolio").json()
    ledger = client.get(f"/v1/accounts/{account}/ledger").json()
    balances = ledger["balances"]
    assert ledger["total"] == pytest.approx(0, abs=1e-6)
    assert balances["cash"] == pytest.approx(pf["cash"], abs=1e-6)
    marked = sum(p["quantity"] * p["mark"] for p in pf["positions"])
    assert pf["equity"] == pytest.approx(pf["cash"] + marked, abs=1e-6)
    assert pf["equity"] == pytest.approx(pf["initial_cash"] + pf["realized_pnl"] - pf["fees"]
                                         + pf["unrealized_pnl"], abs=1e-6)
    for p in pf["positions"]:
        assert balances[f"position:{p['symbol']}"] == pytest.approx(p["quantity"] * p["avg_price"])
    return pf  # type: ignore[no-any-return]


def test_market_orders_fill_at_ask_and_bid(alice: httpx.Client, admin: httpx.Client,
                                           quotes: dict[str, np.ndarray]) -> None:
    set_clock(admin, T0)
    acct = new_account(alice, commission_bps=0.5)
    i = at(quotes, T0)
    buy = order(alice, acct, "m1", "buy", 100_000)
    assert buy.status_code == 201, buy.text
    assert buy.json()["status"] == "filled"
    assert buy.json()["avg_fill_price"] == pytest.approx(quotes["ask"][i])
    later = T0 + timedelta(minutes=30)
    set_clock(admin, later)
    j = at(quotes, later)
    sell = order(alice, acct, "m2", "sell", 100_000).json()
    assert sell["avg_fill_price"] == pytest.approx(quotes["bid"][j])
    pf = check_ledger(alice, acct)
    gross = 100_000 * (quotes["bid"][j] - quotes["ask"][i])
    fees = 100_000 * (quotes["ask"][i] + quotes["bid"][j]) * 0.5e-4
    assert pf["realized_pnl"] == pytest.approx(gross)
    assert pf["fees"] == pytest.approx(fees)
    assert pf["cash"] == pytest.approx(1_000_000 + gross - fees)
    fills = alice.get(f"/v1/accounts/{acct}/fills").json()
    assert [f["side"] for f in fills["items"]] == ["buy", "sell"]


def test_resting_limit_fills_when_crossed(alice: httpx.Client, admin: httpx.Client,
                                          quotes: dict[str, np.ndarray]) -> None:
    set_clock(admin, T0)
    acct = new_account(alice)
    i = at(quotes, T0)
    window = slice(i + 1, at(quotes, T0 + timedelta(hours=1)) + 1)
    lowest = quotes["ask"][window].min()
    limit = float(np.round((lowest + quotes["ask"][i]) / 2, 5))
    assert lowest <= limit < quotes["ask"][i]  # not marketable now, crossed within the hour
    placed = order(alice, acct, "l1", "buy", 10_000, type="limit", limit_price=limit).json()
    assert placed["status"] == "open"
    first = i + 1 + int(np.argmax(quotes["ask"][window] <= limit))
    set_clock(admin, datetime.fromtimestamp(quotes["ts"][first] / 1e9, UTC)
              - timedelta(milliseconds=1))
    assert alice.get(f"/v1/accounts/{acct}/orders/{placed['id']}").json()["status"] == "open"
    set_clock(admin, T0 + timedelta(hours=1))
    filled = alice.get(f"/v1/accounts/{acct}/orders/{placed['id']}").json()
    assert filled["status"] == "filled" and filled["avg_fill_price"] == pytest.approx(limit)
    fill = alice.get(f"/v1/accounts/{acct}/fills").json()["items"][0]
    assert datetime.fromisoformat(fill["feed_ts"]).replace(tzinfo=UTC).timestamp() == \
        pytest.approx(quotes["ts"][first] / 1e9, abs=1e-3)
    check_ledger(alice, acct)


def test_stop_triggers_then_fills_at_next_quote(alice: httpx.Client, admin: httpx.Client,
                                                quotes: dict[str, np.ndarray]) -> None:
    set_clock(admin, T0)
    acct = new_account(alice)
    i = at(quotes, T0)
    window = slice(i + 1, at(quotes, T0 + timedelta(hours=2)) + 1)
    highest = quotes["ask"][window].max()
    stop = float(np.round((highest + quotes["ask"][i]) / 2, 5))
    assert quotes["ask"][i] < stop <= highest
    placed = order(alice, acct, "s1", "buy", 10_000, type="stop", stop_price=stop).json()
    assert placed["status"] == "open"
    trigger = i + 1 + int(np.argmax(quotes["ask"][window] >= stop))
    set_clock(admin, T0 + timedelta(hours=2))
    done = alice.get(f"/v1/accounts/{acct}/orders/{placed['id']}").json()
    assert done["status"] == "filled"
    assert done["avg_fill_price"] == pytest.approx(quotes["ask"][trigger + 1])
    check_ledger(alice, acct)


def test_idempotent_client_order_id(alice: httpx.Client, admin: httpx.Client) -> None:
    set_clock(admin, T0)
    acct = new_account(alice)
    first = order(alice, acct, "same", "buy", 1000)
    again = order(alice, acct, "same", "buy", 1000)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"]
    assert problem(order(alice, acct, "same", "sell", 1000), 409)["field"] == "client_order_id"
    assert alice.get(f"/v1/accounts/{acct}/orders").json()["total"] == 1


@pytest.mark.parametrize(("body", "status", "reason"), [
    ({"symbol": "GBPJPY"}, 422, "unknown_symbol"),
    ({"quantity": 5_000_000}, 422, "max_order_notional"),
    ({"quantity": 900_000, "side": "sell"}, 422, "max_position"),
    ({"quantity": 300_000}, 422, "insufficient_cash"),
    ({"quantity": 300_000, "side": "sell"}, 422, "insufficient_margin"),
])
def test_pre_trade_risk_checks(alice: httpx.Client, admin: httpx.Client, body: dict[str, object],
                               status: int, reason: str) -> None:
    set_clock(admin, T0)
    acct = new_account(alice, cash=200_000, max_position=500_000, max_order_notional=2_000_000)
    payload = {"client_order_id": "r1", "symbol": "EURUSD", "side": "buy", "quantity": 1,
               **body}
    answer = problem(alice.post(f"/v1/accounts/{acct}/orders", json=payload), status)
    assert answer["reason"] == reason, answer
    assert alice.get(f"/v1/accounts/{acct}/orders").json()["total"] == 0


def test_market_closed_and_bad_orders(alice: httpx.Client, admin: httpx.Client) -> None:
    acct = new_account(alice)
    set_clock(admin, datetime(2020, 1, 4, 12, tzinfo=UTC))  # Saturday: no quotes
    assert problem(order(alice, acct, "c1", "buy", 1), 409)["reason"] == "market_closed"
    set_clock(admin, T0)
    assert problem(order(alice, acct, "c2", "buy", 1, type="limit"), 422)["field"] == "body"
    assert problem(order(alice, acct, "c3", "buy", -1), 422)["field"] == "quantity"
    assert problem(order(alice, acct, "c4", "hold", 1), 422)["field"] == "side"


def test_cancel_resting_order(alice: httpx.Client, admin: httpx.Client) -> None:
    set_clock(admin, T0)
    acct = new_account(alice)
    placed = order(alice, acct, "x1", "buy", 1000, type="limit", limit_price=0.5).json()
    cancelled = alice.delete(f"/v1/accounts/{acct}/orders/{placed['id']}")
    assert cancelled.json()["status"] == "cancelled"
    problem(alice.delete(f"/v1/accounts/{acct}/orders/{placed['id']}"), 409)
    problem(alice.delete(f"/v1/accounts/{acct}/orders/999999"), 404)


def test_other_users_get_404_on_every_account_route(alice: httpx.Client, bob: httpx.Client,
                                                    admin: httpx.Client) -> None:
    set_clock(admin, T0)
    acct = new_account(alice)
    oid = order(alice, acct, "o1", "buy", 1000).json()["id"]
    for suffix in ("", "/orders", f"/orders/{oid}", "/positions", "/fills", "/portfolio",
                   "/ledger", "/stream"):
        problem(bob.get(f"/v1/accounts/{acct}{suffix}"), 404)
    problem(order(bob, acct, "o2", "buy", 1), 404)
    problem(bob.delete(f"/v1/accounts/{acct}/orders/{oid}"), 404)
    assert acct not in [a["id"] for a in bob.get("/v1/accounts").json()["items"]]


def test_feed_clock_is_admin_only(alice: httpx.Client) -> None:
    problem(alice.put("/v1/feed", json={"start": T0.isoformat()}), 403)
    assert "EURUSD" in alice.get("/v1/feed").json()["symbols"]


def test_50_concurrent_orders_keep_the_ledger(server: Server, alice: httpx.Client,
                                              admin: httpx.Client) -> None:
    set_clock(admin, T0)
    acct = new_account(alice, cash=500_000, leverage=2)
    rng = np.random.default_rng(7)
    jobs = [(f"c{k % 35}", "buy" if k % 35 % 3 else "sell", float(1000 * (1 + k % 35 % 5)))
            for k in range(50)]  # 15 repeated client ids, each with the same parameters
    rng.shuffle(jobs)

    def send(job: tuple[str, str, float]) -> httpx.Response:
        with server.client("alice") as c:
            return order(c, acct, *job)

    with ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(send, jobs))
    assert all(a.status_code in (200, 201) for a in answers), [a.text for a in answers]
    ids = {a.json()["client_order_id"]: a.json()["id"] for a in answers}
    assert all(ids[a.json()["client_order_id"]] == a.json()["id"] for a in answers)
    orders = alice.get(f"/v1/accounts/{acct}/orders", params={"limit": 500}).json()
    assert orders["total"] == 35 == len({o["client_order_id"] for o in orders["items"]})
    fills = alice.get(f"/v1/accounts/{acct}/fills", params={"limit": 500}).json()
    assert fills["total"] == 35
    pf = check_ledger(alice, acct)
    net = sum(f["quantity"] * (1 if f["side"] == "buy" else -1) for f in fills["items"])
    assert sum(p["quantity"] for p in pf["positions"]) == pytest.approx(net)
    spent = sum(f["quantity"] * f["price"] * (1 if f["side"] == "buy" else -1)
                for f in fills["items"])
    assert pf["cash"] == pytest.approx(500_000 - spent)


def test_event_stream(server: Server, alice: httpx.Client, admin: httpx.Client) -> None:
    set_clock(admin, T0)
    acct = new_account(alice)
    order(alice, acct, "e1", "buy", 1000)
    params = {"symbols": "EURUSD", "interval": 0.1, "max_events": 4}
    with server.client("alice") as c, c.stream("GET", f"/v1/accounts/{acct}/stream",
                                               params=params) as stream:
        assert stream.headers["content-type"].startswith("text/event-stream")
        text = "".join(stream.iter_text())
    events = [block for block in text.split("\n\n") if block.strip()]
    kinds = [line.removeprefix("event: ") for b in events for line in b.splitlines()
             if line.startswith("event: ")]
    assert kinds[:2] == ["order_accepted", "order_filled"]
    assert "quote" in kinds
    quote = next(json.loads(b.split("data: ", 1)[1]) for b in events if "event: quote" in b)
    assert quote["symbol"] == "EURUSD" and quote["bid"] <= quote["ask"]


def test_stop_hit_on_arrival_fills_at_the_next_quote(alice: httpx.Client, admin: httpx.Client,
                                                     quotes: dict[str, np.ndarray]) -> None:
    """As in the engine: a buy stop below the ask triggers on its arrival quote and fills at
    the ask of the next quote."""
    set_clock(admin, T0)
    acct = new_account(alice)
    i = at(quotes, T0)
    stop = float(quotes["ask"][i]) - 0.0002
    placed = order(alice, acct, "sa1", "buy", 10_000, type="stop", stop_price=stop).json()
    assert placed["status"] == "triggered"
    set_clock(admin, datetime.fromtimestamp(quotes["ts"][i + 1] / 1e9, UTC)
              + timedelta(milliseconds=1))
    done = alice.get(f"/v1/accounts/{acct}/orders/{placed['id']}").json()
    assert done["status"] == "filled"
    assert done["avg_fill_price"] == pytest.approx(quotes["ask"][i + 1])


def test_resting_orders_fill_as_the_feed_advances(server: Server, alice: httpx.Client,
                                                  admin: httpx.Client,
                                                  quotes: dict[str, np.ndarray]) -> None:
    """The background matcher fills a resting limit when the clock moves past its crossing:
    the SSE stream delivers order_filled although no request touches the account."""
    set_clock(admin, T0)
    acct = new_account(alice)
    i = at(quotes, T0)
    window = slice(i + 1, at(quotes, T0 + timedelta(hours=1)) + 1)
    limit = float(np.round((quotes["ask"][window].min() + quotes["ask"][i]) / 2, 5))
    placed = order(alice, acct, "bg1", "buy", 10_000, type="limit", limit_price=limit).json()
    assert placed["status"] == "open"
    accepted = _events(server, acct, 1)
    assert accepted[0][0] == "order_accepted"
    with ThreadPoolExecutor(1) as pool:  # the stream is open before the clock moves
        listening = pool.submit(_events, server, acct, 1, accepted[0][1])
        time.sleep(1.0)
        assert not listening.done()
        set_clock(admin, T0 + timedelta(hours=1))  # no account request from here on
        kinds = listening.result(timeout=30)
    assert kinds[0][0] == "order_filled", kinds
    assert json.loads(kinds[0][2])["price"] == pytest.approx(limit)


def _events(server: Server, acct: int, count: int, after: int = 0
            ) -> list[tuple[str, int, str]]:
    """(event, id, data) of the next ``count`` account events after event id ``after``."""
    params = {"interval": 0.05, "max_events": count}
    with server.client("alice") as c, c.stream(
            "GET", f"/v1/accounts/{acct}/stream", params=params,
            headers={"Last-Event-ID": str(after)}) as stream:
        text = "".join(stream.iter_text())
    out = []
    for block in (b for b in text.split("\n\n") if b.strip()):
        fields = dict(line.split(": ", 1) for line in block.splitlines())
        out.append((fields["event"], int(fields["id"]), fields["data"]))
    return out


def test_portfolio_fast_path_answers_like_the_route(alice: httpx.Client, bob: httpx.Client,
                                                    admin: httpx.Client) -> None:
    set_clock(admin, T0)
    acct = new_account(alice, commission_bps=1)
    order(alice, acct, "fp1", "buy", 20_000)
    fast = alice.get(f"/v1/accounts/{acct}/portfolio")  # served by service/hotpath.py
    routed = alice.get(f"/v1/accounts/{acct}/portfolio", params={"via": "route"})  # FastAPI
    assert fast.status_code == routed.status_code == 200
    assert fast.headers["content-type"] == "application/json"
    assert fast.json() == routed.json() and fast.json()["positions"][0]["quantity"] == 20_000
    problem(bob.get(f"/v1/accounts/{acct}/portfolio"), 404)  # falls through to the route
    problem(alice.get(f"/v1/accounts/{acct}/portfolio", headers={"Authorization": "Bearer x"}),
            401)


def test_rejections_in_a_concurrent_batch_leave_the_others(server: Server, alice: httpx.Client,
                                                           admin: httpx.Client) -> None:
    """Group commit: orders to one account arriving together share a transaction; an order
    rejected by a risk check answers 422 alone and the others fill."""
    set_clock(admin, T0)
    acct = new_account(alice, cash=1_000_000, max_order_notional=100_000)
    jobs = [(f"g{k}", 200_000.0 if k % 4 == 0 else 1000.0) for k in range(24)]

    def send(job: tuple[str, float]) -> httpx.Response:
        with server.client("alice") as c:
            return order(c, acct, job[0], "buy", job[1])

    with ThreadPoolExecutor(12) as pool:
        answers = list(pool.map(send, jobs))
    codes = [a.status_code for a in answers]
    assert codes == [422 if k % 4 == 0 else 201 for k in range(24)], codes
    assert all(a.json()["reason"] == "max_order_notional" for a in answers[::4])
    pf = check_ledger(alice, acct)
    assert pf["positions"][0]["quantity"] == pytest.approx(18 * 1000)


def test_replay_feed_starts_at_the_first_quote_of_its_first_symbol(service_lake: str) -> None:
    from tickforge import Lake
    from tickforge.service.paper.feed import ReplayFeed

    feed = ReplayFeed(service_lake)
    symbol = feed.symbols()[0]
    quotes = Lake(service_lake).quotes(symbol).to_pandas()
    first = quotes["ts"].min()
    assert feed.first_ts() == first.value
