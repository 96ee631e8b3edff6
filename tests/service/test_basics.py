"""App basics on both databases: health, metrics, OpenAPI, auth, users, problems, paging."""

from __future__ import annotations

import time

import httpx

from tests.service.conftest import Server, cli, problem


def test_health_and_openapi(server: Server) -> None:
    with server.client() as anon:
        health = anon.get("/health").json()
        assert health["status"] == "ok"
        assert health["database"] in ("sqlite", "postgresql")
        spec = anon.get("/openapi.json").json()
    paths = spec["paths"]
    for path in ("/v1/backtests", "/v1/sweeps", "/v1/walkforwards", "/v1/accounts",
                 "/v1/accounts/{account_id}/orders", "/v1/accounts/{account_id}/portfolio",
                 "/v1/bars", "/v1/symbols", "/v1/datasets", "/v1/strategies", "/metrics"):
        assert path in paths, path
    assert "HTTPBearer" in spec["components"]["securitySchemes"]


def test_metrics_exposes_latency_jobs_and_workers(server: Server, alice: httpx.Client) -> None:
    alice.get("/v1/accounts")
    deadline = time.monotonic() + 30
    with server.client() as anon:
        text = anon.get("/metrics").text
        while "heartbeat_age_seconds{worker=" not in text and time.monotonic() < deadline:
            time.sleep(0.2)  # the embedded worker process registers once it has started
            text = anon.get("/metrics").text
    assert 'method="GET",route="/v1/accounts",status="200"' in text
    assert "tickforge_http_request_seconds_bucket" in text
    assert 'tickforge_jobs{status="queued"}' in text
    assert "tickforge_worker_heartbeat_age_seconds{worker=" in text  # the embedded worker


def test_auth_required_and_bad_key(server: Server) -> None:
    with server.client() as anon:
        body = problem(anon.get("/v1/accounts"), 401)
        assert "Bearer" in str(body["detail"])
        bad = anon.get("/v1/accounts", headers={"Authorization": "Bearer tf_nope"})
        problem(bad, 401)


def test_me(alice: httpx.Client) -> None:
    me = alice.get("/v1/me").json()
    assert me["name"] == "alice" and me["admin"] is False


def test_user_management_is_admin_only(server: Server, admin: httpx.Client,
                                       alice: httpx.Client) -> None:
    problem(alice.get("/v1/users"), 403)
    problem(alice.post("/v1/users", json={"name": "mallory"}), 403)
    created = admin.post("/v1/users", json={"name": "carol"})
    assert created.status_code == 201, created.text
    carol = created.json()
    assert carol["api_key"].startswith("tf_")
    with httpx.Client(base_url=server.url,
                      headers={"Authorization": f"Bearer {carol['api_key']}"}) as c:
        assert c.get("/v1/me").json()["name"] == "carol"
        names = [u["name"] for u in admin.get("/v1/users").json()["items"]]
        assert {"admin", "alice", "bob", "carol"} <= set(names)
        problem(admin.post("/v1/users", json={"name": "carol"}), 422)
        assert admin.delete(f"/v1/users/{carol['id']}").json()["active"] is False
        problem(c.get("/v1/me"), 401)


def test_cli_user_create_prints_key_once_and_rejects_duplicates(server: Server) -> None:
    done = cli(["users", "create", "alice", "--json"], server.env)
    assert done.returncode == 2
    assert "already exists" in done.stderr


def test_problems_name_the_field(alice: httpx.Client) -> None:
    body = problem(alice.get("/v1/backtests", params={"limit": 10**6}), 422)
    assert body["field"] == "limit"
    body = problem(alice.post("/v1/accounts", json={"name": "x", "cash": "lots"}), 422)
    assert body["field"] == "cash"
    body = problem(alice.post("/v1/accounts", content=b"{not json",
                              headers={"content-type": "application/json"}), 422)
    assert body["detail"]
    problem(alice.get("/v1/nowhere"), 404)


def test_pagination(alice: httpx.Client) -> None:
    for i in range(5):
        assert alice.post("/v1/accounts", json={"name": f"p{i}", "cash": 1000}).status_code == 201
    first = alice.get("/v1/accounts", params={"limit": 2}).json()
    assert len(first["items"]) == 2 and first["next_offset"] == 2 and first["total"] >= 5
    second = alice.get("/v1/accounts", params={"limit": 2, "offset": 2}).json()
    assert {a["id"] for a in first["items"]}.isdisjoint(a["id"] for a in second["items"])


def test_write_rate_limit(tmp_path, service_lake, pg_databases) -> None:  # type: ignore[no-untyped-def]
    from tests.service.conftest import make_user, new_database, service_env, start_server

    env = service_env(new_database("sqlite", tmp_path, pg_databases), service_lake,
                      tmp_path / "art", TICKFORGE_WRITE_RATE="1", TICKFORGE_WRITE_BURST="3")
    key = make_user(env, "limited")
    srv = start_server(env, workers=0, log=tmp_path / "server.log")
    try:
        with httpx.Client(base_url=srv.url, headers={"Authorization": f"Bearer {key}"}) as c:
            codes = [c.post("/v1/accounts", json={"name": "a", "cash": 1}).status_code
                     for _ in range(6)]
            assert codes[:3] == [201, 201, 201]
            assert 429 in codes[3:]
            limited = c.post("/v1/accounts", json={"name": "a", "cash": 1})
            assert problem(limited, 429) and int(limited.headers["Retry-After"]) >= 1
            assert c.get("/v1/accounts").status_code == 200  # reads are not limited
    finally:
        srv.stop()


def test_serve_with_two_http_processes(tmp_path, service_lake, pg_databases) -> None:  # type: ignore[no-untyped-def]
    """TICKFORGE_HTTP_PROCESSES=2: two uvicorn processes on one socket share the database."""
    from tests.service.conftest import make_user, new_database, service_env, start_server

    env = service_env(new_database("sqlite", tmp_path, pg_databases), service_lake,
                      tmp_path / "art", TICKFORGE_HTTP_PROCESSES="2")
    key = make_user(env, "two")
    srv = start_server(env, workers=0, log=tmp_path / "server.log")
    try:
        with httpx.Client(base_url=srv.url, headers={"Authorization": f"Bearer {key}"}) as c:
            ids = [c.post("/v1/accounts", json={"name": f"a{i}", "cash": 10}).json()["id"]
                   for i in range(6)]
            assert all(c.get(f"/v1/accounts/{i}/portfolio").json()["cash"] == 10 for i in ids)
            assert c.get("/v1/accounts").json()["total"] == 6
    finally:
        srv.stop()
    tracebacks = [line for line in (tmp_path / "server.log").read_text().splitlines()
                if "Traceback" in line]
    assert not tracebacks
