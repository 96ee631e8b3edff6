"""The built bundle as the API serves it: ``/`` and deep links get index.html (client-side
routing), hashed assets are cached for good, index.html is revalidated, the API is not
shadowed, and the first load stays under the JavaScript budget."""

from __future__ import annotations

import gzip
import re

import httpx
import pytest

from tests.web.conftest import DIST, Server, serves_ui

BUDGET = 500 * 1024


def first_load_js() -> list[str]:
    html = (DIST / "index.html").read_text()
    return re.findall(r'(?:src|href)="/?(assets/[^"]+\.js)"', html)


def test_first_load_is_under_the_javascript_budget(server: Server) -> None:
    files = first_load_js()
    assert files, "index.html loads no script"
    size = sum(len(gzip.compress((DIST / f).read_bytes(), 9)) for f in files)
    assert size < BUDGET, f"first load is {size / 1024:.1f} KB of gzipped JavaScript"


@pytest.fixture()
def ui(server: Server) -> Server:
    assert serves_ui(server.url), "the service does not serve web/dist at /"
    return server


def test_root_and_deep_links_serve_the_app(ui: Server) -> None:
    index = (DIST / "index.html").read_text()
    for path in ("/", "/login", "/backtests/12", "/paper?account=1"):
        response = httpx.get(f"{ui.url}{path}")
        assert response.status_code == 200, path
        assert response.headers["content-type"].startswith("text/html"), path
        assert response.text == index, path
        cache = response.headers.get("cache-control", "")
        assert "immutable" not in cache and "max-age=31536000" not in cache, path


def test_hashed_assets_are_cached_for_good(ui: Server) -> None:
    for file in first_load_js():
        response = httpx.get(f"{ui.url}/{file}")
        assert response.status_code == 200
        assert "javascript" in response.headers["content-type"]
        cache = response.headers.get("cache-control", "")
        max_age = re.search(r"max-age=(\d+)", cache)
        assert "immutable" in cache or (max_age and int(max_age.group(1)) >= 86400 * 30), cache


def test_api_paths_are_not_shadowed(ui: Server) -> None:
    auth = {"Authorization": f"Bearer {ui.key}"}
    response = httpx.get(f"{ui.url}/v1/no-such-thing", headers=auth)
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")
    missing = httpx.get(f"{ui.url}/assets/no-such-file.js")
    assert missing.status_code == 404
