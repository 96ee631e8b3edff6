"""Service paths each with their own server: admin ingest into an empty lake (both
databases), the S3 artifact store on a local moto server, and sweeps fanned out to a real
Dask cluster."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from tests.research.conftest import Cluster, start_cluster
from tests.service.conftest import (
    REAL_DATA_SAMPLE,
    PgDatabases,
    Server,
    free_port,
    make_user,
    new_database,
    problem,
    service_env,
    start_server,
    wait_job,
)
from tests.service.test_jobs import BT, submit


def own_server(folder: Path, db_url: str, lake: str, artifacts: str,
               **extra: str) -> Server:
    env = service_env(db_url, lake, Path(artifacts), **extra)
    env["TICKFORGE_ARTIFACTS"] = artifacts  # may be s3://, not a local Path
    keys = {"admin": make_user(env, "admin", admin=True), "alice": make_user(env, "alice")}
    srv = start_server(env, workers=1, log=folder / "server.log")
    srv.keys = keys
    return srv


# --- 1. admin ingest --------------------------------------------------------------------

@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def empty_lake_server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
                      pg_databases: PgDatabases) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp(f"ingest-{request.param}")
    (folder / "lake").mkdir()
    db_url = new_database(request.param, folder, pg_databases)
    srv = own_server(folder, db_url, str(folder / "lake"), str(folder / "artifacts"))
    yield srv
    srv.stop()


def test_admin_ingest_makes_the_sample_visible(empty_lake_server: Server) -> None:
    sample = REAL_DATA_SAMPLE
    if not sample.exists():
        pytest.skip(f"real sample {sample} not available")
    with empty_lake_server.client("admin") as admin:
        assert "EURUSD" not in admin.get("/v1/symbols").json()["symbols"]
        body = {"paths": [str(sample)], "format": "histdata", "symbol": "EURUSD"}
        accepted = admin.post("/v1/ingest", json=body)
        assert accepted.status_code == 202, accepted.text
        location = accepted.headers["location"]
        assert location == f"/v1/ingest/{accepted.json()['id']}"
        job = wait_job(admin, location)
        assert job["status"] == "succeeded", job
        assert job["kind"] == "ingest" and job["progress"] == 1.0
        written = job["result"]["rows_written"]  # type: ignore[index]
        assert written > 1000 and job["result"]["files_ingested"] == 1  # type: ignore[index]
        assert admin.get("/v1/symbols").json()["symbols"] == ["EURUSD"]
        quotes = admin.get("/v1/datasets").json()["datasets"]["quotes"]["symbols"]["EURUSD"]
        assert quotes["rows"] == written
        assert str(quotes["start"]).startswith("2020-01-01T22:")  # the sample's first tick


def test_ingest_is_admin_only_and_checks_its_input(empty_lake_server: Server) -> None:
    good = {"paths": [str(REAL_DATA_SAMPLE)], "format": "histdata", "symbol": "EURUSD"}
    with empty_lake_server.client("alice") as alice:
        problem(alice.post("/v1/ingest", json=good), 403)
        problem(alice.get("/v1/ingest/1"), 403)
    with empty_lake_server.client() as anonymous:
        problem(anonymous.post("/v1/ingest", json=good), 401)
    with empty_lake_server.client("admin") as admin:
        for change, field in [({"format": "nope"}, "format"), ({"paths": []}, "paths"),
                              ({"paths": ["/no/such/file.csv"]}, "paths.0"),
                              ({"symbol": ""}, "symbol"), ({"on_overlap": "merge"}, "on_overlap"),
                              ({"point": -1}, "point")]:
            body = problem(admin.post("/v1/ingest", json={**good, **change}), 422)
            assert body["field"] == field, body
        problem(admin.get("/v1/ingest/999999"), 404)


# --- 2. S3 artifact store ---------------------------------------------------------------

@pytest.fixture()
def s3_endpoint() -> Iterator[str]:
    import boto3
    from moto.server import ThreadedMotoServer

    port = free_port()
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    moto.start()
    endpoint = f"http://127.0.0.1:{port}"
    boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                 aws_access_key_id="testing", aws_secret_access_key="testing",
                 ).create_bucket(Bucket="artifacts")
    try:
        yield endpoint
    finally:
        moto.stop()


@pytest.mark.s3
def test_backtest_artifacts_live_in_s3(tmp_path: Path, service_lake: str,
                                       s3_endpoint: str) -> None:
    import boto3

    creds = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
             "AWS_DEFAULT_REGION": "us-east-1", "TICKFORGE_S3_ENDPOINT": s3_endpoint}
    srv = own_server(tmp_path, f"sqlite:///{tmp_path / 's3.db'}", service_lake,
                     "s3://artifacts/svc", **creds)
    try:
        with srv.client("alice") as alice:
            job_id = submit(alice, BT)
            job = wait_job(alice, f"/v1/backtests/{job_id}")
            assert job["status"] == "succeeded", job
            trades = alice.get(f"/v1/backtests/{job_id}/trades").json()
            assert trades["total"] == job["result"]["trades"]  # type: ignore[index]
            raw = alice.get(f"/v1/backtests/{job_id}/equity", params={"format": "parquet"})
            assert raw.status_code == 200
            equity = pq.read_table(io.BytesIO(raw.content))
            report = alice.get(f"/v1/backtests/{job_id}/report")
            assert report.status_code == 200 and "<html" in report.text.lower()
    finally:
        srv.stop()
    s3 = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1",
                      aws_access_key_id="testing", aws_secret_access_key="testing")
    listed = s3.list_objects_v2(Bucket="artifacts", Prefix="svc/")  # no folder markers
    keys = {obj["Key"] for obj in listed.get("Contents", [])}
    assert keys == {f"svc/jobs/{job_id}/{name}" for name in
                    ("trades.parquet", "equity.parquet", "orders.parquet", "report.html")}
    body = s3.get_object(Bucket="artifacts", Key=f"svc/jobs/{job_id}/equity.parquet")
    assert pq.read_table(io.BytesIO(body["Body"].read())).equals(equity)


# --- 3. sweeps on Dask ------------------------------------------------------------------

SWEEP = {"base": BT, "grid": {"fast": [3, 5, 8], "slow": [20, 30]}, "objective": "sharpe"}


@pytest.fixture()
def dask_one_worker(tmp_path: Path) -> Iterator[Cluster]:
    cluster = start_cluster(1, tmp_path)
    try:
        yield cluster
    finally:
        cluster.stop()


def local_sweep_table(lake: str) -> pd.DataFrame:
    from tickforge.config import BacktestConfig, SweepConfig
    from tickforge.research.sweep import sweep_from_config

    base = BacktestConfig(lake=lake, **BT)  # type: ignore[arg-type]
    grid: dict[str, list[int]] = SWEEP["grid"]  # type: ignore[assignment]
    config = SweepConfig(base=base, grid={k: tuple(v) for k, v in grid.items()},
                         objective="sharpe")
    result = sweep_from_config(config)
    assert result.executor != "DaskExecutor"
    return result.table


@pytest.mark.dask
def test_sweep_job_fans_out_to_dask(tmp_path: Path, service_lake: str,
                                    dask_one_worker: Cluster) -> None:
    from distributed import Client

    srv = own_server(tmp_path, f"sqlite:///{tmp_path / 'dask.db'}", service_lake,
                     str(tmp_path / "artifacts"),
                     TICKFORGE_DASK_SCHEDULER=dask_one_worker.address)
    try:
        with Client(dask_one_worker.address, timeout=10) as dask:
            dask.get_task_stream()  # installs the scheduler's task-stream recorder
            with srv.client("alice") as alice:
                job_id = submit(alice, SWEEP, "/v1/sweeps")
                job = wait_job(alice, f"/v1/sweeps/{job_id}")
                raw = alice.get(f"/v1/sweeps/{job_id}/results", params={"format": "parquet"})
            tasks = dask.get_task_stream()
    finally:
        srv.stop()
    assert job["status"] == "succeeded", job
    assert job["result"]["executor"] == "DaskExecutor"  # type: ignore[index]
    assert any(str(t["key"]).startswith("run_batch") for t in tasks), tasks
    assert raw.status_code == 200
    remote = pq.read_table(io.BytesIO(raw.content)).to_pandas()
    pd.testing.assert_frame_equal(remote, local_sweep_table(service_lake))
