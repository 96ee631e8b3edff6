"""The artifact store: a local folder or ``s3://bucket/prefix`` (pyarrow filesystems).

Writes are atomic and idempotent: an object's key is derived from the job id and the
artifact name, a local write goes to a hidden temporary name and is renamed into place,
and an S3 PUT is atomic; a rerun of a job overwrites, never duplicates."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from tickforge.errors import ConfigError


def _filesystem(uri: str) -> tuple[pafs.FileSystem, str]:
    if uri.startswith("s3://"):
        endpoint = os.environ.get("TICKFORGE_S3_ENDPOINT") or os.environ.get("AWS_ENDPOINT_URL")
        bucket_path = uri.removeprefix("s3://").rstrip("/")
        fs = pafs.S3FileSystem(endpoint_override=endpoint,
                               region=os.environ.get("AWS_DEFAULT_REGION", "us-east-1"))
        return fs, bucket_path
    if "://" in uri and not uri.startswith("file://"):
        raise ConfigError(f"unsupported artifact store '{uri}'", field="TICKFORGE_ARTIFACTS",
                          hint="use a local folder or s3://bucket/prefix")
    root = Path(uri.removeprefix("file://")).resolve()
    root.mkdir(parents=True, exist_ok=True)
    return pafs.LocalFileSystem(), str(root)


class ArtifactStore:
    def __init__(self, uri: str) -> None:
        self.uri = uri
        self.fs, self.root = _filesystem(uri)
        self.local = isinstance(self.fs, pafs.LocalFileSystem)

    def key(self, job_id: int, name: str) -> str:
        return f"jobs/{job_id}/{name}"

    def path(self, key: str) -> str:
        return f"{self.root}/{key}"

    def put_bytes(self, key: str, data: bytes) -> str:
        target = self.path(key)
        parent = target.rsplit("/", 1)[0]
        if not self.local:  # S3 has no folders: create_dir would PUT empty marker objects
            with self.fs.open_output_stream(target) as out:
                out.write(data)
            return key
        self.fs.create_dir(parent, recursive=True)
        tmp = f"{parent}/.tmp-{uuid.uuid4().hex}"
        with self.fs.open_output_stream(tmp) as out:
            out.write(data)
        self.fs.move(tmp, target)
        return key

    def put_table(self, key: str, table: pa.Table) -> str:
        sink = pa.BufferOutputStream()
        pq.write_table(table, sink, compression="zstd")
        return self.put_bytes(key, sink.getvalue().to_pybytes())

    def put_file(self, key: str, path: Path) -> str:
        return self.put_bytes(key, path.read_bytes())

    def get_bytes(self, key: str) -> bytes:
        with self.fs.open_input_stream(self.path(key)) as src:
            return bytes(src.read())

    def get_table(self, key: str) -> pa.Table:
        with self.fs.open_input_file(self.path(key)) as src:
            return pq.read_table(src)

    def exists(self, key: str) -> bool:
        return self.fs.get_file_info(self.path(key)).type == pafs.FileType.File

    def list(self, prefix: str) -> list[str]:
        selector = pafs.FileSelector(self.path(prefix), recursive=True, allow_not_found=True)
        base = len(self.root) + 1
        return sorted(i.path[base:] for i in self.fs.get_file_info(selector)
                      if i.type == pafs.FileType.File)
