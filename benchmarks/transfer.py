#!/usr/bin/env python
"""Benchmark wrappers.transfer: upload and download one large file to Azurite and to an S3
stand-in, serial vs parallel, next to a local-disk copy of the same file (the ceiling) and the
SDKs' own one-call uploads (azure ``upload_blob``, boto3 ``upload_file``) as a baseline.

Prints numbers; asserts nothing but byte-identical downloads. Starts Azurite / s3rver from npm
(installed under .cache/) unless --azurite-endpoint / --s3-endpoint point at running ones
(then the account is Azurite's well-known dev account, and the S3 keys come from
AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY as for every transfer).

Example: python benchmarks/transfer.py --size-mib 1024 --concurrency 4
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # tests.support.servers: the npm Azurite/s3rver launcher

from tests.support.payloads import MiB, random_file  # noqa: E402
from tests.support.servers import (  # noqa: E402
    AZURITE_ACCOUNT,
    LocalServerSettings,
    azurite_connection_string,
    s3rver_env,
    start_azurite,
    start_s3rver,
)
from wrappers.base import file_sha256  # noqa: E402
from wrappers.transfer import TransferSettings, open_store  # noqa: E402


@dataclass
class Row:
    target: str
    mode: str
    upload_s: float | None
    download_s: float | None
    size_mib: float

    def rate(self, seconds: float | None) -> str:
        return f"{self.size_mib / seconds:8.1f}" if seconds else "       -"

    def line(self) -> str:
        up = f"{self.upload_s:8.2f}" if self.upload_s else "       -"
        down = f"{self.download_s:8.2f}" if self.download_s else "       -"
        return (f"{self.target:<14} {self.mode:<26} {up} {self.rate(self.upload_s)} "
                f"{down} {self.rate(self.download_s)}")


def timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def bench_local_copy(src: Path, work: Path, size_mib: float) -> Row:
    dst = work / "copy.bin"

    def copy_and_sync():
        shutil.copyfile(src, dst)
        with open(dst, "rb") as fh:
            os.fsync(fh.fileno())  # to the disk, not just the page cache

    seconds = timed(copy_and_sync)
    dst.unlink()
    return Row("local disk", "copyfile + fsync", seconds, None, size_mib)


def bench_store(label: str, uri: str, src: Path, work: Path, sha: str, size_mib: float,
                block_size: int, concurrencies: list[int]) -> list[Row]:
    rows = []
    for c in concurrencies:
        settings = TransferSettings(block_size=block_size, max_concurrency=c,
                                    progress=False)
        store = open_store(f"{uri}/c{c}-{uuid.uuid4().hex[:8]}", settings)
        store.check_access()
        up = timed(lambda store=store: store.upload_file(src, "weights.bin"))
        dest = work / f"down-{c}.bin"
        down = timed(lambda store=store, dest=dest: store.download_file("weights.bin", dest))
        if file_sha256(dest) != sha:  # download_file verifies too; belt and braces
            raise SystemExit(f"{label}: downloaded bytes differ from the source")
        dest.unlink()
        mode = "serial (1 block at a time)" if c == 1 else f"parallel x{c}"
        rows.append(Row(label, mode, up, down, size_mib))
        print(rows[-1].line(), flush=True)
    return rows


def bench_azure_sdk_baseline(conn: str, container: str, src: Path, size_mib: float,
                             block_size: int, concurrency: int) -> Row:
    from azure.storage.blob import BlobServiceClient

    client = BlobServiceClient.from_connection_string(
        conn, max_block_size=block_size, max_single_put_size=block_size)
    blob = client.get_blob_client(container, f"sdk-{uuid.uuid4().hex[:8]}.bin")
    with open(src, "rb") as fh:
        up = timed(lambda: blob.upload_blob(fh, max_concurrency=concurrency))
    row = Row("azurite", f"SDK upload_blob x{concurrency}", up, None, size_mib)
    print(row.line(), flush=True)
    return row


def bench_s3_sdk_baseline(bucket: str, src: Path, size_mib: float, block_size: int,
                          concurrency: int) -> Row:
    from boto3.s3.transfer import TransferConfig

    from wrappers.transfer.s3 import part_size_for, s3_client

    client = s3_client(TransferSettings(max_concurrency=concurrency))
    part = part_size_for(src.stat().st_size, block_size)
    config = TransferConfig(multipart_threshold=part, multipart_chunksize=part,
                            max_concurrency=concurrency)
    up = timed(lambda: client.upload_file(str(src), bucket,
                                          f"bench/sdk-{uuid.uuid4().hex[:8]}.bin",
                                          Config=config))
    row = Row("s3", f"boto3 upload_file x{concurrency}", up, None, size_mib)
    print(row.line(), flush=True)
    return row


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--size-mib", type=float, default=1024, help="file size in MiB")
    p.add_argument("--block-size-mib", type=float, default=4, help="block/part size in MiB")
    p.add_argument("--concurrency", type=int, default=4, help="parallel blocks for 'parallel'")
    p.add_argument("--stores", default="azure,s3", help="comma list: azure, s3")
    p.add_argument("--azurite-endpoint", default=LocalServerSettings.load().azurite_blob_endpoint,
                   help="http://HOST:PORT/devstoreaccount1 of a running Azurite "
                        "(default: start one from npm)")
    p.add_argument("--s3-endpoint", default=None,
                   help="a running S3/MinIO endpoint (default: start s3rver from npm)")
    p.add_argument("--bucket", default="bench", help="S3 bucket (created if missing)")
    p.add_argument("--workdir", default=None, help="where the test file goes (default: tmp)")
    p.add_argument("--json", action="store_true", help="also print the rows as JSON")
    args = p.parse_args()

    stores = {s.strip() for s in args.stores.split(",") if s.strip()}
    size = int(args.size_mib * MiB)
    block = int(args.block_size_mib * MiB)
    concurrencies = [1, args.concurrency] if args.concurrency > 1 else [1]
    started = []
    work = Path(tempfile.mkdtemp(prefix="bench-transfer-", dir=args.workdir))
    try:
        print(f"writing {args.size_mib:.0f} MiB of random bytes to {work} ...", flush=True)
        src = random_file(work / "weights.bin", size)
        sha = file_sha256(src)
        print(f"\n{'target':<14} {'mode':<26} {'up s':>8} {'MiB/s':>8} {'down s':>8} "
              f"{'MiB/s':>8}")
        rows = [bench_local_copy(src, work, args.size_mib)]
        print(rows[-1].line(), flush=True)

        if "azure" in stores:
            endpoint = args.azurite_endpoint
            if not endpoint:
                server = start_azurite(work / "azurite")
                started.append(server)
                endpoint = f"{server.url}/{AZURITE_ACCOUNT}"
            conn = azurite_connection_string(endpoint)
            os.environ["AZURE_STORAGE_CONNECTION_STRING"] = conn
            container = f"bench{uuid.uuid4().hex[:12]}"
            from azure.storage.blob import BlobServiceClient

            service = BlobServiceClient.from_connection_string(conn)
            service.create_container(container)
            try:
                rows += bench_store("azurite", f"azure://{container}", src, work, sha,
                                    args.size_mib, block, concurrencies)
                rows.append(bench_azure_sdk_baseline(conn, container, src, args.size_mib,
                                                     block, args.concurrency))
            finally:
                service.delete_container(container)

        if "s3" in stores:
            if args.s3_endpoint:
                os.environ["MLFLOW_S3_ENDPOINT_URL"] = args.s3_endpoint
            else:
                server = start_s3rver(work / "s3rver", buckets=(args.bucket,))
                started.append(server)
                os.environ.update(s3rver_env(server.url))
            from wrappers.transfer.s3 import s3_client

            client = s3_client(TransferSettings())
            existing = {b["Name"] for b in client.list_buckets().get("Buckets", [])}
            if args.bucket not in existing:
                client.create_bucket(Bucket=args.bucket)
            label = "s3rver" if not args.s3_endpoint else "s3"
            rows += bench_store(label, f"s3://{args.bucket}/bench", src, work, sha,
                                args.size_mib, block, concurrencies)
            rows.append(bench_s3_sdk_baseline(args.bucket, src, args.size_mib, block,
                                              args.concurrency))
        if args.json:
            print(json.dumps([asdict(r) for r in rows], indent=2))
    finally:
        for server in started:
            server.stop()
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
