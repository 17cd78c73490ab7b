"""The store contract: what every store behind ``open_store`` does, checked against a real
Azurite and a real s3rver (npm) — big round trips, injected faults, a killed upload, bad
credentials, a missing container/bucket, tampering.

Each test runs once per server (the ``remote`` fixture, tests/support/store_fixtures.py);
sizes are in blocks, because S3 parts are at least 5 MiB where Azure blocks can be 512 KiB.
"""

from __future__ import annotations

import filecmp
import os
import time

import pytest

from tests.support.payloads import MiB, random_file, upload_killed_midway
from tests.support.servers import AZURITE_ACCOUNT
from wrappers.base import file_sha256
from wrappers.transfer import (
    ContainerNotFound,
    IntegrityError,
    MissingCredentials,
    StoreAccessDenied,
    TransferFailed,
    TransferSettings,
    open_store,
)

pytestmark = pytest.mark.azurite

QUIET = dict(progress=False, backoff_initial=0.05, backoff_max=1.0)


def test_200mib_round_trip_serial_and_parallel_is_byte_identical(remote, tmp_path, capsys):
    src = random_file(tmp_path / "weights.bin", 200 * MiB, seed=1)
    src_sha = file_sha256(src)
    timings = {}
    for concurrency in (1, 4):
        transfer = open_store(remote.uri(f"roundtrip/c{concurrency}"),
                              TransferSettings(max_concurrency=concurrency, **QUIET))
        t0 = time.perf_counter()
        report = transfer.upload_file(src, "weights.bin")
        t1 = time.perf_counter()
        dest = transfer.download_file("weights.bin", tmp_path / f"back-{concurrency}.bin")
        t2 = time.perf_counter()
        timings[concurrency] = (t1 - t0, t2 - t1)

        # 4 MiB blocks: 50 on Azure; 5 MiB parts: 40 on S3
        assert report.blocks_total == report.blocks_sent == remote.blocks_for(200 * MiB, 4 * MiB)
        assert report.entry.sha256 == src_sha
        assert transfer.stored_sha256("weights.bin") == src_sha
        assert filecmp.cmp(src, dest, shallow=False)
        dest.unlink()
    with capsys.disabled():  # the timings are for people reading the test log
        for c, (up, down) in timings.items():
            label = "serial     " if c == 1 else f"parallel x{c}"
            print(f"\n{remote.name} 200 MiB {label}: upload {up:5.2f} s ({200 / up:4.0f} MiB/s), "
                  f"download {down:5.2f} s ({200 / down:4.0f} MiB/s)", end="")


def test_transfer_completes_through_dropped_connections_503s_and_429s(
        remote, remote_proxy, tmp_path):
    src = random_file(tmp_path / "model.bin", 24 * MiB, seed=2)
    # Quarter-MiB blocks and ranges: ~100 uploads on Azure, ~100 ranged GETs on both — enough
    # requests that every kind of fault shows up, whatever names the test's bucket got.
    settings = TransferSettings(block_size=MiB // 4, max_concurrency=4, max_attempts=8, **QUIET)
    transfer = open_store(remote.uri("faults"), settings)
    remote_proxy.set_faults(drop_rate=0.12, error_rate=0.15)

    report = transfer.upload_file(src, "model.bin")
    dest = transfer.download_file("model.bin", tmp_path / "back.bin")

    assert report.blocks_total == remote.blocks_for(24 * MiB, MiB // 4)
    assert filecmp.cmp(src, dest, shallow=False)
    outcomes = remote_proxy.outcomes()
    print(f"\n{remote.name} injected faults: {dict(outcomes)}", end="")
    # The faults really happened (each kind is ~4-8% of 100-200 requests; the sums make
    # "none of a kind" vanishingly unlikely whatever order the threads ran in).
    assert outcomes["error-503"] > 0 and outcomes["error-429"] > 0, dict(outcomes)
    assert outcomes["drop_before"] + outcomes["drop_after"] + outcomes["truncate"] > 0


def test_exhausted_retries_name_the_object_and_cause_and_commit_nothing(
        remote, remote_proxy, tmp_path):
    src = random_file(tmp_path / "model.bin", 3 * MiB, seed=3)
    settings = TransferSettings(block_size=1 * MiB, max_concurrency=1, max_attempts=3, **QUIET)
    transfer = open_store(remote.uri("doomed"), settings)
    remote_proxy.set_faults(drop_rate=0.0, error_rate=1.0)
    remote_proxy.error_statuses = (503,)

    with pytest.raises(TransferFailed) as err:
        transfer.upload_file(src, "model.bin")

    message = str(err.value)
    assert f"{remote.uri('doomed')}/model.bin" in message
    assert "after 3 attempts" in message
    assert "ServerBusy" in message or "503" in message
    # Bounded: the first request (Azure: the block list; S3: the object's metadata) was
    # tried exactly 3 times, then the upload stopped.
    assert len(remote_proxy.requests(outcome="error-503")) == 3, remote_proxy.log
    assert not remote.exists("doomed/model.bin")


def test_killed_upload_leaves_nothing_visible_and_its_rerun_completes(
        remote, remote_proxy, tmp_path):
    block = max(MiB, remote.min_block_size)
    total = 40 if remote.resumes_uploads else 8  # 40 MiB on Azure, 40 MiB in 8 parts on S3
    src = random_file(tmp_path / "model.bin", total * block, seed=4)
    uri = remote.uri("resume")
    kill_after = 15 if total == 40 else 3
    upload_killed_midway(remote_proxy, uri, src, block, kill_after=kill_after,
                         sent=lambda: remote.block_uploads(remote_proxy))

    # A reader never sees a half-written object: nothing was committed.
    assert not remote.exists("resume/model.bin")
    held = remote.pending_blocks("resume/model.bin")

    remote_proxy.reset_log()
    transfer = open_store(uri, TransferSettings(block_size=block, max_concurrency=2, **QUIET))
    report = transfer.upload_file(src, "model.bin")

    resent = remote.block_uploads(remote_proxy)
    print(f"\n{remote.name}: killed with {held} of {total} blocks held; the rerun sent {resent}",
          end="")
    assert resent == report.blocks_sent
    if remote.resumes_uploads:
        assert kill_after <= held < total
        assert resent == total - held
    else:  # correct, just not resumable: every part again
        assert resent == report.blocks_total == total
    assert filecmp.cmp(src, transfer.download_file("model.bin", tmp_path / "back.bin"),
                       shallow=False)


def test_wrong_key_is_access_denied_naming_the_fix_and_commits_nothing(remote, tmp_path):
    remote.use_wrong_key()
    src = random_file(tmp_path / "model.bin", 2 * MiB)
    transfer = open_store(remote.uri("denied"), TransferSettings(**QUIET))

    with pytest.raises(StoreAccessDenied) as err:
        transfer.upload_file(src, "model.bin")

    assert remote.credentials_hint in str(err.value)
    assert not remote.exists("denied/model.bin")
    assert remote.pending_blocks("denied/model.bin") in (0, None)  # not even one block


def test_missing_container_names_it_and_creates_nothing(remote, tmp_path):
    src = random_file(tmp_path / "model.bin", 1 * MiB)
    transfer = open_store(f"{remote.scheme}://no-such-container/x", TransferSettings(**QUIET))

    with pytest.raises(ContainerNotFound) as err:
        transfer.upload_file(src, "model.bin")
    with pytest.raises(ContainerNotFound):
        transfer.check_access()

    assert "'no-such-container' does not exist" in str(err.value)
    assert "create it" in str(err.value)
    assert not remote.container_exists("no-such-container")


def test_tampered_object_fails_the_download_and_leaves_no_file(remote, tmp_path):
    src = random_file(tmp_path / "model.bin", 5 * MiB, seed=5)
    transfer = open_store(remote.uri("tamper"), TransferSettings(**QUIET))
    entry = transfer.upload_file(src, "model.bin").entry
    # Someone rewrites the object in place and keeps the old metadata.
    remote.overwrite("tamper/model.bin", os.urandom(5 * MiB), {"sha256": entry.sha256})

    dest_dir = tmp_path / "cache"
    with pytest.raises(IntegrityError) as err:
        transfer.download_entry(entry, dest_dir / "model.bin")

    assert entry.sha256 in str(err.value) and "tamper/model.bin" in str(err.value)
    assert list(dest_dir.iterdir()) == []  # neither the file nor a leftover .part


def test_unchanged_file_is_not_sent_again(remote, tmp_path):
    src = random_file(tmp_path / "model.bin", 9 * MiB, seed=6)
    transfer = open_store(remote.uri("again"), TransferSettings(**QUIET))
    first = transfer.upload_file(src, "model.bin")
    second = transfer.upload_file(src, "model.bin")
    assert (first.blocks_sent, first.committed) == (remote.blocks_for(9 * MiB, 4 * MiB), True)
    assert (second.blocks_sent, second.committed) == (0, False)


def test_upload_tree_manifest_lists_every_file_with_its_hash(remote, tmp_path):
    root = tmp_path / "model"
    (root / "tokenizer").mkdir(parents=True)
    random_file(root / "weights.bin", 6 * MiB, seed=7)
    (root / "tokenizer" / "vocab.txt").write_text("[PAD]\n[UNK]\nhello\n")
    (root / "empty.txt").write_text("")
    transfer = open_store(remote.uri("tree"), TransferSettings(**QUIET))

    manifest = transfer.upload_tree(root)

    assert [f.path for f in manifest.files] == ["empty.txt", "tokenizer/vocab.txt",
                                               "weights.bin"]
    back = tmp_path / "back"
    for entry in manifest.files:
        assert entry.sha256 == file_sha256(root / entry.path)
        assert entry.uri == f"{remote.uri('tree')}/{entry.path}"
        transfer.download_entry(entry, back / entry.path)
        assert filecmp.cmp(root / entry.path, back / entry.path, shallow=False)


# Azure alone has two URI forms: wasbs:// names the account, azure:// takes it from the
# connection string, and the two must agree.

def test_wasbs_uri_uses_the_connection_string_of_the_same_account(container, azure_env,
                                                                   tmp_path):
    src = random_file(tmp_path / "a.bin", 1 * MiB)
    uri = f"wasbs://{container}@{AZURITE_ACCOUNT}.blob.core.windows.net/w"
    entry = open_store(uri, TransferSettings(**QUIET)).upload_file(src, "a.bin").entry
    assert entry.uri == f"{uri}/a.bin"
    with pytest.raises(MissingCredentials, match="is for account 'devstoreaccount1'"):
        open_store(f"wasbs://{container}@otheraccount.blob.core.windows.net/w")
