"""S3 round trip against a local moto server: ingest, Lake reads, SQL, idempotency."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from tests.data.test_ingest import EPOCH_2020, ingest, write_histdata
from tests.data.test_lake import bars
from tickforge.data.lake import Lake
from tickforge.data.sql import run_sql

pytestmark = pytest.mark.s3


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture()
def s3_bucket(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    import boto3
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    env = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
           "AWS_DEFAULT_REGION": "us-east-1", "TICKFORGE_S3_ENDPOINT": endpoint}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1").create_bucket(
        Bucket="ticks")
    try:
        yield "s3://ticks/lake"
    finally:
        server.stop()


def test_s3_round_trip(tmp_path: Path, s3_bucket: str) -> None:
    src = write_histdata(tmp_path / "a.csv", 2000, step_ms=60_000)  # 2000 min: 2 UTC days
    got = ingest(src, s3_bucket)  # type: ignore[arg-type]
    assert got["rows_written"] == 2000 and got["partitions"] == 2
    lake = Lake(s3_bucket)
    assert lake.symbols("quotes") == ["EURUSD"]
    day2 = lake.quotes("EURUSD", start="2020-01-02").to_pandas()
    assert len(day2) == 2000 - 1440 and str(day2["ts"].iloc[0]) == "2020-01-02 00:00:00+00:00"
    assert [t.num_rows for t in lake.iter_quotes("EURUSD")] == [1440, 560]
    result = run_sql(s3_bucket, "select date, count(*) as n, min(bid) > 0 as ok from quotes "
                                "where symbol = 'EURUSD' group by date order by date")
    assert [r["n"] for r in result.to_pylist()] == [1440, 560]
    info = lake.info()["datasets"]["quotes"]["symbols"]["EURUSD"]
    assert info["rows"] == 2000 and info["bytes"] > 0
    assert ingest(src, s3_bucket)["files_skipped"] == 1  # type: ignore[arg-type]
    lake.write_bars("EURUSD", "1min", bars(0, 30, 1.5))
    assert len(lake.bars("EURUSD", "1min", start=pd.Timestamp(EPOCH_2020, unit="ms"))) == 30
