"""A real ``tickforge serve`` for benchmarks and tests: databases (SQLite, or a throwaway one
on the local PostgreSQL), the service's environment, users, the server subprocess on a free
port, and a lake holding the real HistData sample.

Plain Python, no pytest: ``benchmarks/bench_service.py`` imports it as ``support_service``
(its folder is on ``sys.path``), ``tests/service/conftest.py`` as
``benchmarks.support_service`` and builds its fixtures on it.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
TICKFORGE = str(BIN / "tickforge")
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
REAL_DATA = Path(os.environ.get("TICKFORGE_REAL_DATA", REPO.parent / "shared" / "data" / "real"))
REAL_DATA_SAMPLE = REAL_DATA / "histdata" / "DAT_ASCII_EURUSD_T_20200101.csv"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def pg_available() -> bool:
    try:
        import psycopg

        with psycopg.connect(PG_ADMIN, connect_timeout=3):
            return True
    except Exception:
        return False


class PgDatabases:
    """Creates throwaway databases on the local PostgreSQL and drops them at the end."""

    def __init__(self) -> None:
        self.names: list[str] = []

    def create(self) -> str:
        import psycopg

        name = f"tickforge_test_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        self.names.append(name)
        return f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"

    def drop_all(self) -> None:
        import psycopg

        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            for name in self.names:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def new_database(kind: str, folder: Path, pg: PgDatabases) -> str:
    """A fresh database URL: a SQLite file in ``folder``, or a new PostgreSQL database (the
    caller checks :func:`pg_available` first; the tests' version skips when it is not)."""
    if kind == "sqlite":
        return f"sqlite:///{folder / f'service-{uuid.uuid4().hex[:6]}.db'}"
    return pg.create()


def sample_lake(lake: Path) -> str:
    """A lake at ``lake`` holding the real HistData EURUSD sample (2020-01-01 22:00-04:00 UTC),
    ingested by the real ingest, plus its 1-minute bars."""
    from tickforge.data.bars import materialize_bars
    from tickforge.data.ingest import ingest_files
    from tickforge.data.sources.base import ReadOptions

    ingest_files([REAL_DATA_SAMPLE], "histdata", ReadOptions(symbol="EURUSD"), str(lake))
    materialize_bars(str(lake), "EURUSD", "1min", None, None)
    return str(lake)


def cli(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([TICKFORGE, *args], env=env, capture_output=True, text=True,
                          timeout=120, check=False)


def make_user(env: dict[str, str], name: str, admin: bool = False) -> str:
    done = cli(["users", "create", name, "--json", *(["--admin"] if admin else [])], env)
    assert done.returncode == 0, done.stderr
    return str(json.loads(done.stdout.strip().splitlines()[-1])["api_key"])


@dataclass
class Server:
    url: str
    env: dict[str, str]
    proc: subprocess.Popen[bytes]
    keys: dict[str, str] = field(default_factory=dict)
    log: Path | None = None

    def client(self, who: str | None = None, **kw: object) -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.keys[who]}"} if who else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30, **kw)  # type: ignore

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def service_env(db_url: str, lake: str, artifacts: Path, **extra: str) -> dict[str, str]:
    env = {**os.environ, "DATABASE_URL": db_url, "TICKFORGE_LAKE": lake,
           "TICKFORGE_ARTIFACTS": str(artifacts), "TICKFORGE_PAPER_SPEED": "0",
           "TICKFORGE_HEARTBEAT_SECONDS": "0.5", "TICKFORGE_LEASE_SECONDS": "3",
           "TICKFORGE_POLL_SECONDS": "0.05", "TICKFORGE_WRITE_RATE": "1000",
           "TICKFORGE_WRITE_BURST": "1000", "TICKFORGE_AUTH_CACHE_SECONDS": "0"}
    env.update(extra)
    return env


def start_server(env: dict[str, str], workers: int, log: Path) -> Server:
    port = free_port()
    out = log.open("wb")
    proc = subprocess.Popen([TICKFORGE, "serve", "--port", str(port), "--workers", str(workers)],
                            env=env, stdout=out, stderr=subprocess.STDOUT)
    server = Server(f"http://127.0.0.1:{port}", env, proc, log=log)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited: {log.read_text()[-3000:]}")
        try:
            if httpx.get(server.url + "/health", timeout=1).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    server.stop()
    raise RuntimeError(f"server did not start: {log.read_text()[-3000:]}")
