"""The web UI in headless Chromium against a real ``tickforge serve`` (see conftest.py)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.web.conftest import SYMBOL, Browser, Server, login, open_page, shot

pytestmark = pytest.mark.browser

# The browser logs every 4xx response; the tests provoke some (bad key, risk rejection).
HTTP_4XX_LOG = re.compile(r"Failed to load resource: the server responded with a status of 4\d\d")


def app_errors(b: Browser) -> list[str]:
    """Console errors other than the browser's log of deliberately provoked 4xx responses."""
    return [e for e in b.console_errors if not HTTP_4XX_LOG.search(e)]


def test_login_rejects_a_bad_key_then_opens_a_chart(browser: Browser, server: Server) -> None:
    page = browser.page
    page.goto(f"{server.url}/backtests")
    page.wait_for_url(f"{server.url}/login")
    page.get_by_label("API key").fill("not-a-key")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_contain_text("That API key was not accepted")
    assert page.evaluate("sessionStorage.getItem('tickforge.apiKey')") is None
    page.get_by_label("API key").fill(server.key)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{server.url}/backtests")  # back to the deep link asked for
    page.get_by_role("link", name="Data").click()
    coverage = page.get_by_role("table", name="Datasets and symbols in the lake")
    expect(coverage).to_contain_text(SYMBOL)
    expect(coverage).to_contain_text("quotes")
    chart = page.get_by_role("img", name=f"{SYMBOL} 1h candlestick chart with volume")
    expect(chart.locator("canvas").first).to_be_visible()
    expect(page.get_by_text("72 bars from 2024-01-01 00:00:00")).to_be_visible()
    page.get_by_role("radio", name="5min").click()
    expect(page.get_by_text("864 bars from 2024-01-01 00:00:00")).to_be_visible()
    expect(page.get_by_role("link", name="TradingView Lightweight Charts™")).to_be_visible()
    shot(browser, "data-chart")
    assert app_errors(browser) == []


def test_backtest_shows_metrics_and_trades(browser: Browser, server: Server) -> None:
    page = browser.page
    login(browser, server)
    page.get_by_role("link", name="Backtests").click()
    page.get_by_role("link", name="New backtest").click()
    page.get_by_label("Strategy").select_option("sma_cross")
    fast = page.get_by_label(re.compile(r"^fast"))
    fast.fill("0")
    expect(page.get_by_role("alert").first).to_contain_text("fast: must be")
    fast.fill("5")
    page.get_by_label(re.compile(r"^slow")).fill("20")
    page.get_by_label("Symbol").select_option(SYMBOL)
    page.get_by_label("Timeframe").select_option("5min")
    page.get_by_role("button", name="Run backtest").click()
    page.wait_for_url(re.compile(r"/backtests/\d+$"))
    cards = page.get_by_label("metrics")
    expect(cards).to_be_visible(timeout=120_000)
    expect(cards.locator("[data-metric]").first).to_be_visible()
    trades = page.get_by_role("table", name=re.compile(r"^\d+ trades$"))
    expect(trades).to_be_visible()
    assert trades.locator("tbody tr").count() >= 1
    expect(page.get_by_role("img", name="equity curve").locator("canvas").first).to_be_visible()
    expect(page.get_by_role("img", name=f"{SYMBOL} 5min price with trade markers")).to_be_visible()
    shot(browser, "backtest-result")
    assert app_errors(browser) == []


def test_sweep_draws_a_heatmap(browser: Browser, server: Server) -> None:
    page = browser.page
    login(browser, server)
    page.get_by_role("link", name="Sweeps").click()
    page.get_by_label("Strategy").select_option("sma_cross")
    page.get_by_label("Timeframe").select_option("5min")
    page.get_by_label(re.compile(r"^fast")).fill("5,10")
    page.get_by_label(re.compile(r"^slow")).fill("20:40:20")
    expect(page.get_by_text("4 parameter sets")).to_be_visible()
    page.get_by_role("button", name="Run sweep").click()
    page.wait_for_url(re.compile(r"/sweeps/\d+$"))
    heatmap = page.get_by_test_id("heatmap")
    expect(heatmap).to_be_visible(timeout=180_000)
    assert heatmap.locator("rect").count() == 4
    top = page.get_by_role("table", name=re.compile(r"^Top \d+ of 4 sets by sharpe"))
    expect(top).to_be_visible()
    shot(browser, "sweep-heatmap")
    assert app_errors(browser) == []


def test_paper_order_shows_position_and_fill(browser: Browser, server: Server) -> None:
    page = browser.page
    login(browser, server)
    page.get_by_role("link", name="Paper trading").click()
    page.get_by_role("button", name="New account").click()
    page.get_by_label("Name").fill("e2e-paper")
    page.get_by_role("button", name="Create").click()
    ticket = page.get_by_role("form", name="order ticket")
    expect(ticket.get_by_label("Symbol")).to_have_value(SYMBOL)
    ticket.get_by_label("Quantity").fill("0")
    ticket.get_by_role("button", name="Place buy order").click()
    expect(ticket.get_by_role("alert")).to_contain_text("must be a number > 0")
    ticket.get_by_label("Quantity").fill("1000")
    ticket.get_by_role("button", name="Place buy order").click()
    expect(ticket.get_by_role("status")).to_contain_text("filled")
    positions = page.get_by_role("table", name="Positions")
    expect(positions).to_contain_text(SYMBOL)
    expect(positions).to_contain_text("1,000")
    fills = page.get_by_role("table", name="Fills blotter")
    expect(fills.locator("tbody tr")).to_have_count(1)
    expect(fills).to_contain_text("buy")
    ticket.get_by_label("Quantity").fill("1e12")
    ticket.get_by_role("button", name="Place buy order").click()
    expect(ticket.get_by_role("alert")).to_contain_text(re.compile("exceeds|insufficient"))
    expect(page.get_by_text("Live stream connected")).to_be_visible()
    shot(browser, "paper-trading")
    assert app_errors(browser) == []


def test_narrow_screen_keyboard_login(chromium: object, server: Server) -> None:
    b = open_page(chromium, server, width=390, height=844)
    page = b.page
    try:
        page.goto(f"{server.url}/login")
        # the key field takes focus once the app has rendered: wait for it, then type blind
        expect(page.get_by_label("API key")).to_be_focused()
        page.keyboard.type(server.key)
        page.keyboard.press("Enter")
        page.wait_for_url(f"{server.url}/data")
        expect(page.get_by_role("heading", name="Data", exact=True)).to_be_visible()
        expect(page.locator("#main")).to_be_focused()  # focus follows navigation
        nav = page.get_by_role("navigation", name="main")
        paper = nav.get_by_role("link", name="Paper trading")
        expect(paper).to_be_visible()
        for _ in range(8):  # walk back from the content to the menu with the keyboard
            page.keyboard.press("Shift+Tab")
            if page.evaluate("document.activeElement.textContent") == "Paper trading":
                break
        expect(paper).to_be_focused()
        page.keyboard.press("Enter")
        page.wait_for_url(f"{server.url}/paper")
        expect(page.get_by_role("heading", name="Paper trading")).to_be_visible()
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"page is {width}px wide on a 390px screen"
        shot(b, "narrow-paper")
        assert b.console_errors == []
    finally:
        page.context.close()
