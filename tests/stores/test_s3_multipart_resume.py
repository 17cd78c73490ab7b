"""S3 resume (ListMultipartUploads + ListParts) against moto's S3 server.

s3rver, the offline MinIO stand-in, does not implement those two calls and MinIO's binary is
not available here; moto's server speaks them over real HTTP, so the uploader's resume path is
exercised end to end, with the fault proxy counting UploadPart requests.
"""

from __future__ import annotations

import filecmp

import pytest

from tests.support.fault_proxy import FaultInjectingProxy
from tests.support.net import free_port
from tests.support.payloads import MiB, random_file, upload_killed_midway
from wrappers.transfer import TransferSettings, open_store

pytestmark = pytest.mark.azurite

moto_server = pytest.importorskip("moto.server", reason="needs moto[server] (dev extra)")

@pytest.fixture
def moto_s3(monkeypatch):
    """moto's S3 on a local port, a counting proxy in front; the env points at the proxy."""
    import boto3

    port = free_port()
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    proxy = FaultInjectingProxy(port, seed=7).start()
    creds = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
             "AWS_DEFAULT_REGION": "us-east-1"}
    for k, v in creds.items():
        monkeypatch.setenv(k, v)
    monkeypatch.setenv("MLFLOW_S3_ENDPOINT_URL", f"http://127.0.0.1:{proxy.port}")
    monkeypatch.setenv("TRANSFER_PROGRESS", "0")
    direct = boto3.client("s3", endpoint_url=f"http://127.0.0.1:{port}",
                          region_name="us-east-1")
    direct.create_bucket(Bucket="models")
    yield proxy, direct
    proxy.stop()
    server.stop()


def _part_puts(proxy: FaultInjectingProxy) -> list:
    return [r for r in proxy.requests(method="PUT") if "partNumber" in r.query]


def test_killed_s3_upload_resumes_sending_only_missing_parts(moto_s3, tmp_path):
    proxy, direct = moto_s3
    src = random_file(tmp_path / "model.bin", 42 * MiB, seed=9)  # 9 parts of 5 MiB
    uri = "s3://models/resume"
    kill_after = 3
    upload_killed_midway(proxy, uri, src, 5 << 20, kill_after=kill_after,
                         sent=lambda: len(_part_puts(proxy)))

    # Nothing visible yet: the object appears only when the multipart upload completes.
    assert direct.list_objects_v2(Bucket="models", Prefix="resume/").get("KeyCount", 0) == 0
    [pending] = direct.list_multipart_uploads(Bucket="models")["Uploads"]
    held = len(direct.list_parts(Bucket="models", Key="resume/model.bin",
                                 UploadId=pending["UploadId"]).get("Parts", []))
    assert kill_after <= held < 9

    proxy.reset_log()
    store = open_store(uri, TransferSettings(block_size=5 * MiB, max_concurrency=2,
                                             progress=False))
    report = store.upload_file(src, "model.bin")

    resent = len(_part_puts(proxy))
    print(f"\nS3: killed with {held} of 9 parts held; the rerun sent {resent}", end="")
    assert resent == report.blocks_sent == 9 - held
    assert direct.list_multipart_uploads(Bucket="models").get("Uploads", []) == []
    assert filecmp.cmp(src, store.download_file("model.bin", tmp_path / "back.bin"),
                       shallow=False)
