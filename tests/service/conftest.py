"""Service fixtures: every test runs on SQLite and on PostgreSQL (a fresh database per
session), against a real ``tickforge serve`` subprocess on a free port. The plain helpers
(server, databases, users, the sample lake) live in ``benchmarks/support_service.py``, shared
with the service benchmark; the names tests import from here are re-exported."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from benchmarks import support_service
from benchmarks.support_service import (
    REAL_DATA_SAMPLE,
    TICKFORGE,
    PgDatabases,
    Server,
    cli,
    free_port,
    make_user,
    pg_available,
    service_env,
    start_server,
)

__all__ = ["REAL_DATA_SAMPLE", "TICKFORGE", "PgDatabases", "Server", "cli", "free_port",
           "make_user", "new_database", "pg_available", "problem", "service_env",
           "start_server", "wait_job"]


@pytest.fixture(scope="session")
def pg_databases() -> Iterator[PgDatabases]:
    dbs = PgDatabases()
    yield dbs
    dbs.drop_all()


def new_database(kind: str, folder: Path, pg: PgDatabases) -> str:
    """:func:`support_service.new_database`, skipping the test when PostgreSQL is needed but
    not reachable."""
    if kind != "sqlite" and not pg_available():
        pytest.skip("PostgreSQL is not reachable at 127.0.0.1:5432")
    return support_service.new_database(kind, folder, pg)


@pytest.fixture(scope="session")
def service_lake(tmp_path_factory: pytest.TempPathFactory, real_data: Path) -> str:
    """A lake holding the real HistData EURUSD sample (2020-01-01 22:00-04:00 UTC), ingested
    by the real ingest, plus its 1-minute bars."""
    return support_service.sample_lake(tmp_path_factory.mktemp("service-lake"))


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
           service_lake: str, pg_databases: PgDatabases) -> Iterator[Server]:
    """A real server with one embedded worker; users admin, alice, bob."""
    folder = tmp_path_factory.mktemp(f"service-{request.param}")
    db_url = new_database(request.param, folder, pg_databases)
    env = service_env(db_url, service_lake, folder / "artifacts",
                      TICKFORGE_MAX_CONCURRENT_JOBS="20")
    keys = {"admin": make_user(env, "admin", admin=True), "alice": make_user(env, "alice"),
            "bob": make_user(env, "bob")}
    srv = start_server(env, workers=1, log=folder / "server.log")
    srv.keys = keys
    yield srv
    srv.stop()


@pytest.fixture()
def alice(server: Server) -> Iterator[httpx.Client]:
    with server.client("alice") as client:
        yield client


@pytest.fixture()
def bob(server: Server) -> Iterator[httpx.Client]:
    with server.client("bob") as client:
        yield client


@pytest.fixture()
def admin(server: Server) -> Iterator[httpx.Client]:
    with server.client("admin") as client:
        yield client


def wait_job(client: httpx.Client, path: str, timeout: float = 180) -> dict[str, object]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = client.get(path).json()
        if body["status"] in ("succeeded", "failed", "cancelled"):
            return body  # type: ignore[no-any-return]
        time.sleep(0.1)
    raise AssertionError(f"{path} did not finish: {body}")


def problem(response: httpx.Response, status: int) -> dict[str, object]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == status and body["detail"]
    return body  # type: ignore[no-any-return]
