"""wrappers.transfer against a real Azurite: big round trips, injected faults, resume, errors."""

from __future__ import annotations

import filecmp
import os
import time

import pytest

from tests.support.payloads import MiB, random_file, upload_killed_midway
from tests.support.servers import AZURITE_ACCOUNT, azurite_connection_string
from wrappers.base import file_sha256
from wrappers.transfer import (
    ContainerNotFound,
    IntegrityError,
    StoreAccessDenied,
    TransferFailed,
    TransferSettings,
    open_store,
)

pytestmark = pytest.mark.azurite

QUIET = dict(progress=False, backoff_initial=0.05, backoff_max=1.0)


def blob_exists(azurite, container: str, name: str) -> bool:
    return azurite.service().get_blob_client(container, name).exists()


def test_200mib_round_trip_serial_and_parallel_is_byte_identical(container, azure_env, tmp_path,
                                                                 capsys):
    src = random_file(tmp_path / "weights.bin", 200 * MiB, seed=1)
    src_sha = file_sha256(src)
    timings = {}
    for concurrency in (1, 4):
        store = open_store(f"azure://{container}/roundtrip/c{concurrency}",
                           TransferSettings(max_concurrency=concurrency, **QUIET))
        t0 = time.perf_counter()
        report = store.upload_file(src, "weights.bin")
        t1 = time.perf_counter()
        dest = store.download_file("weights.bin", tmp_path / f"back-{concurrency}.bin")
        t2 = time.perf_counter()
        timings[concurrency] = (t1 - t0, t2 - t1)

        assert report.blocks_total == report.blocks_sent == 50  # 200 MiB / 4 MiB blocks
        assert report.entry.sha256 == src_sha
        assert store.stored_sha256("weights.bin") == src_sha
        assert file_sha256(dest) == src_sha
        assert filecmp.cmp(src, dest, shallow=False)
        dest.unlink()
    with capsys.disabled():  # the timings are for people reading the test log
        for c, (up, down) in timings.items():
            label = "serial     " if c == 1 else f"parallel x{c}"
            print(f"\n200 MiB {label}: upload {up:5.2f} s ({200 / up:4.0f} MiB/s), "
                  f"download {down:5.2f} s ({200 / down:4.0f} MiB/s)", end="")


def test_transfer_completes_through_dropped_connections_503s_and_429s(
        container, fault_proxy, tmp_path):
    src = random_file(tmp_path / "model.bin", 24 * MiB, seed=2)
    settings = TransferSettings(block_size=MiB // 2, max_concurrency=4, max_attempts=8, **QUIET)
    store = open_store(f"azure://{container}/faults", settings)
    fault_proxy.set_faults(drop_rate=0.12, error_rate=0.15)

    report = store.upload_file(src, "model.bin")
    dest = store.download_file("model.bin", tmp_path / "back.bin")

    assert report.blocks_total == 48
    assert filecmp.cmp(src, dest, shallow=False)
    outcomes = fault_proxy.outcomes()
    print(f"\ninjected faults: {dict(outcomes)}", end="")
    # The faults really happened (each kind is ~4-10% of ~120 requests; the sums make
    # "none of a kind" vanishingly unlikely whatever order the threads ran in).
    assert outcomes["error-503"] > 0 and outcomes["error-429"] > 0, dict(outcomes)
    assert outcomes["drop_before"] + outcomes["drop_after"] + outcomes["truncate"] > 0


def test_exhausted_retries_name_the_blob_and_cause_and_commit_nothing(
        azurite, container, fault_proxy, tmp_path):
    src = random_file(tmp_path / "model.bin", 3 * MiB, seed=3)
    settings = TransferSettings(block_size=1 * MiB, max_concurrency=1, max_attempts=3, **QUIET)
    store = open_store(f"azure://{container}/doomed", settings)
    fault_proxy.set_faults(drop_rate=0.0, error_rate=1.0)
    fault_proxy.error_statuses = (503,)

    with pytest.raises(TransferFailed) as err:
        store.upload_file(src, "model.bin")

    message = str(err.value)
    assert f"azure://{container}/doomed/model.bin" in message
    assert "after 3 attempts" in message
    assert "ServerBusy" in message or "503" in message
    # Bounded: the first request (the block list) was tried exactly 3 times, then it stopped.
    assert len(fault_proxy.requests(outcome="error-503")) == 3
    assert not blob_exists(azurite, container, "doomed/model.bin")


def test_killed_upload_resumes_sending_only_missing_blocks(
        azurite, container, fault_proxy, tmp_path):
    src = random_file(tmp_path / "model.bin", 40 * MiB, seed=4)
    uri = f"azure://{container}/resume"
    kill_after = 15
    upload_killed_midway(fault_proxy, uri, src, 1 << 20, kill_after=kill_after,
                         sent=lambda: len(fault_proxy.requests(method="PUT", comp="block")))

    # A reader never sees a half-written blob: nothing was committed.
    assert not blob_exists(azurite, container, "resume/model.bin")
    blob = azurite.service().get_blob_client(container, "resume/model.bin")
    _, uncommitted = blob.get_block_list("uncommitted")
    held = len(uncommitted)
    assert kill_after <= held < 40

    fault_proxy.reset_log()
    store = open_store(uri, TransferSettings(block_size=1 * MiB, max_concurrency=2, **QUIET))
    report = store.upload_file(src, "model.bin")

    resent = len(fault_proxy.requests(method="PUT", comp="block"))
    print(f"\nkilled after {held} of 40 blocks were held; the rerun sent {resent}", end="")
    assert resent == report.blocks_sent == 40 - held
    assert filecmp.cmp(src, store.download_file("model.bin", tmp_path / "back.bin"),
                       shallow=False)


def test_wrong_key_is_access_denied_and_commits_nothing(azurite, container, monkeypatch,
                                                        tmp_path):
    wrong = "d3Jvbmcta2V5LXdyb25nLWtleS13cm9uZy1rZXktd3Jvbmcta2V5LXdyb25nLWtleQ=="
    monkeypatch.setenv("AZURE_STORAGE_CONNECTION_STRING",
                       azurite_connection_string(azurite.blob_endpoint, key=wrong))
    src = random_file(tmp_path / "model.bin", 2 * MiB)
    store = open_store(f"azure://{container}/denied", TransferSettings(**QUIET))

    with pytest.raises(StoreAccessDenied) as err:
        store.upload_file(src, "model.bin")

    assert "AccountKey" in str(err.value) and AZURITE_ACCOUNT in str(err.value)
    blob = azurite.service().get_blob_client(container, "denied/model.bin")
    assert not blob.exists()
    with pytest.raises(Exception, match="BlobNotFound"):
        blob.get_block_list("all")  # not even an uncommitted block


def test_missing_container_names_it_and_creates_nothing(azurite, azure_env, tmp_path):
    src = random_file(tmp_path / "model.bin", 1 * MiB)
    store = open_store("azure://no-such-container/x", TransferSettings(**QUIET))

    with pytest.raises(ContainerNotFound) as err:
        store.upload_file(src, "model.bin")
    with pytest.raises(ContainerNotFound):
        store.check_access()

    assert "'no-such-container' does not exist" in str(err.value)
    assert "create it" in str(err.value)
    assert not azurite.service().get_container_client("no-such-container").exists()


def test_tampered_blob_fails_the_download_and_leaves_no_file(azurite, container, azure_env,
                                                              tmp_path):
    src = random_file(tmp_path / "model.bin", 5 * MiB, seed=5)
    store = open_store(f"azure://{container}/tamper", TransferSettings(**QUIET))
    entry = store.upload_file(src, "model.bin").entry
    # Someone rewrites the blob in place and keeps the old metadata.
    azurite.service().get_blob_client(container, "tamper/model.bin").upload_blob(
        os.urandom(5 * MiB), overwrite=True, metadata={"sha256": entry.sha256})

    dest_dir = tmp_path / "cache"
    with pytest.raises(IntegrityError) as err:
        store.download_entry(entry, dest_dir / "model.bin")

    assert entry.sha256 in str(err.value) and "tamper/model.bin" in str(err.value)
    assert list(dest_dir.iterdir()) == []  # neither the file nor a leftover .part


def test_unchanged_file_is_not_sent_again(container, azure_env, tmp_path):
    src = random_file(tmp_path / "model.bin", 9 * MiB, seed=6)
    store = open_store(f"azure://{container}/again", TransferSettings(**QUIET))
    first = store.upload_file(src, "model.bin")
    second = store.upload_file(src, "model.bin")
    assert (first.blocks_sent, first.committed) == (3, True)
    assert (second.blocks_sent, second.committed) == (0, False)


def test_upload_tree_manifest_lists_every_file_with_its_hash(container, azure_env, tmp_path):
    root = tmp_path / "model"
    (root / "tokenizer").mkdir(parents=True)
    random_file(root / "weights.bin", 6 * MiB, seed=7)
    (root / "tokenizer" / "vocab.txt").write_text("[PAD]\n[UNK]\nhello\n")
    (root / "empty.txt").write_text("")
    store = open_store(f"azure://{container}/tree", TransferSettings(**QUIET))

    manifest = store.upload_tree(root)

    assert [f.path for f in manifest.files] == ["empty.txt", "tokenizer/vocab.txt",
                                               "weights.bin"]
    back = tmp_path / "back"
    for entry in manifest.files:
        assert entry.sha256 == file_sha256(root / entry.path)
        assert entry.uri == f"azure://{container}/tree/{entry.path}"
        store.download_entry(entry, back / entry.path)
        assert filecmp.cmp(root / entry.path, back / entry.path, shallow=False)


def test_wasbs_uri_uses_the_connection_string_of_the_same_account(container, azure_env,
                                                                   tmp_path):
    src = random_file(tmp_path / "a.bin", 1 * MiB)
    uri = f"wasbs://{container}@{AZURITE_ACCOUNT}.blob.core.windows.net/w"
    entry = open_store(uri, TransferSettings(**QUIET)).upload_file(src, "a.bin").entry
    assert entry.uri == f"{uri}/a.bin"
    with pytest.raises(Exception, match="is for account 'devstoreaccount1'"):
        open_store(f"wasbs://{container}@otheraccount.blob.core.windows.net/w")


def test_s3_round_trip_through_the_same_interface(s3rver, monkeypatch, tmp_path):
    for k, v in s3rver.items():
        monkeypatch.setenv(k, v)
    src = random_file(tmp_path / "model.bin", 23 * MiB, seed=8)
    store = open_store("s3://models/roundtrip",
                       TransferSettings(block_size=5 * MiB, max_concurrency=4, **QUIET))
    first = store.upload_file(src, "model.bin")
    dest = store.download_file("model.bin", tmp_path / "back.bin")
    again = store.upload_file(src, "model.bin")

    assert (first.blocks_total, first.blocks_sent) == (5, 5)  # 23 MiB in 5 MiB parts
    assert filecmp.cmp(src, dest, shallow=False)
    assert store.stored_sha256("model.bin") == file_sha256(src)
    assert (again.blocks_sent, again.committed) == (0, False)
    with pytest.raises(ContainerNotFound, match="bucket 'nope'"):
        open_store("s3://nope/x", TransferSettings(**QUIET)).check_access()


def test_unknown_scheme_lists_the_supported_ones():
    from wrappers.transfer import UnsupportedStoreURI

    with pytest.raises(UnsupportedStoreURI, match="wasbs://CONTAINER@ACCOUNT"):
        open_store("gs://bucket/x")
