"""DuckDB SQL over the lake: one view per dataset (quotes, trades, bars, quarantine).

Local lakes: views over ``read_parquet('<root>/<dataset>/**/*.parquet', hive_partitioning,
union_by_name)``, so DuckDB prunes partitions itself (``WHERE symbol = 'EURUSD' AND date >=
'2020-01-02'``). S3 lakes: each dataset is a ``pyarrow.dataset`` over pyarrow's S3
filesystem registered with DuckDB, so no DuckDB extension (httpfs) is ever downloaded;
filters on ``symbol``/``date`` are pushed down into the Arrow scan.

Columns: the dataset's columns plus the partition columns (``symbol``, ``date`` for ticks;
``symbol``, ``timeframe``, ``year`` for bars; quarantine rows carry ``dataset`` and
``symbol`` themselves).
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.dataset as ds

from tickforge.data.lake import ALL_DATASETS, Lake
from tickforge.data.schemas import DATASETS, QUARANTINE
from tickforge.errors import LakeError

PARTITIONS: dict[str, list[tuple[str, pa.DataType]]] = {
    "quotes": [("symbol", pa.string()), ("date", pa.date32())],
    "trades": [("symbol", pa.string()), ("date", pa.date32())],
    "bars": [("symbol", pa.string()), ("timeframe", pa.string()), ("year", pa.int32())],
    "quarantine": [],  # dataset and symbol are columns of the quarantine rows themselves
}


def connect(lake: str | Lake) -> tuple[duckdb.DuckDBPyConnection, list[str]]:
    """A DuckDB connection with a view per dataset (empty when absent); the datasets present."""
    store = lake if isinstance(lake, Lake) else Lake(lake)
    present = store.datasets()
    if not present:
        raise LakeError(f"the lake {store.uri} holds no data yet",
                        hint="ingest files first: tickforge ingest --format ... --lake ...")
    con = duckdb.connect()
    for dataset in ALL_DATASETS:
        if dataset not in present:
            con.register(dataset, dataset_schema(store, dataset, []).empty_table())
        elif store.uri.startswith("s3://"):
            con.register(dataset, arrow_dataset(store, dataset))
        else:
            glob = f"{store.path(dataset)}/**/*.parquet".replace("'", "''")
            hive = "true" if PARTITIONS[dataset] else "false"
            con.execute(f"CREATE VIEW {dataset} AS SELECT * FROM read_parquet('{glob}', "
                        f"hive_partitioning = {hive}, union_by_name = true)")
    return con, present


def arrow_dataset(lake: Lake, dataset: str) -> ds.Dataset:
    """A pyarrow dataset of one lake dataset (canonical types, hive partition columns)."""
    parts = PARTITIONS[dataset]
    partitioning = ds.partitioning(pa.schema(parts), flavor="hive") if parts else None
    files = [i.path for i in lake.data_files(lake.path(dataset), recursive=True)]
    schema = dataset_schema(lake, dataset, files)
    return ds.dataset(files, schema=schema, filesystem=lake.fs, format="parquet",
                      partitioning=partitioning, partition_base_dir=lake.path(dataset))


def dataset_schema(lake: Lake, dataset: str, files: list[str]) -> pa.Schema:
    """The data columns (ts as ns UTC) of the first file, then the partition columns."""
    base = DATASETS.get(dataset, QUARANTINE)
    if dataset == "bars" and files:
        import pyarrow.parquet as pq

        stored = pq.read_schema(files[0], filesystem=lake.fs).remove_metadata()
        base = pa.schema([pa.field("ts", pa.timestamp("ns", tz="UTC")) if f.name == "ts" else f
                          for f in stored])
    return pa.schema(list(base) + [pa.field(n, t) for n, t in PARTITIONS[dataset]])


def run_sql(lake: str | Lake, query: str) -> pa.Table:
    """Run one DuckDB query over the lake's views; the result as an Arrow table."""
    con, present = connect(lake)
    try:
        relation = con.sql(query)
        return relation.to_arrow_table() if relation is not None else pa.table({})
    except duckdb.CatalogException as exc:
        missing = [d for d in ALL_DATASETS if d not in present]
        raise LakeError(f"query failed: {first_line(exc)}",
                        hint=f"views present: {', '.join(present)}; absent (no data): "
                             f"{', '.join(missing) or 'none'}") from exc
    except duckdb.Error as exc:
        raise LakeError(f"query failed: {first_line(exc)}",
                        hint="views: " + ", ".join(present)) from exc
    finally:
        con.close()


def first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def format_table(table: pa.Table, fmt: str = "table") -> str:
    """A query result as an aligned text table, CSV or JSON (one array of objects)."""
    rows = table.to_pylist()
    if fmt == "json":
        return json.dumps(rows, default=str) + "\n"
    if fmt == "csv":
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(table.column_names)
        writer.writerows([[cell(v) for v in r.values()] for r in rows])
        return buf.getvalue()
    if fmt == "table":
        return text_table(table.column_names, [[cell(v) for v in r.values()] for r in rows])
    raise LakeError(f"--format '{fmt}' is not one of table, csv, json", field="format")


def cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)
    return str(value)


def text_table(names: list[str], rows: list[list[str]]) -> str:
    widths = [max([len(n)] + [len(r[i]) for r in rows]) for i, n in enumerate(names)]
    lines = ["  ".join(n.ljust(w) for n, w in zip(names, widths, strict=True)),
             "  ".join("-" * w for w in widths)]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    lines.append(f"({len(rows)} row{'s' if len(rows) != 1 else ''})")
    return "\n".join(lines) + "\n"
