"""Store URIs: what each form means, and what a user sees for one we cannot store at."""

from __future__ import annotations

import pytest

from wrappers.transfer import (
    ObjectStore,
    StoreLocation,
    UnsupportedStoreURI,
    open_store,
    parse_store_uri,
)


def test_wasbs_names_container_account_and_host():
    loc = parse_store_uri("wasbs://models@acct.blob.core.windows.net/universal/v1/")
    assert (loc.scheme, loc.container, loc.prefix, loc.account, loc.host) == \
        ("wasbs", "models", "universal/v1", "acct", "acct.blob.core.windows.net")
    assert loc.is_azure
    assert loc.uri("w.bin") == "wasbs://models@acct.blob.core.windows.net/universal/v1/w.bin"


@pytest.mark.parametrize("uri, scheme, is_azure", [
    ("azure://models/universal", "azure", True),
    ("s3://models/universal", "s3", False),
    ("S3://models/universal", "s3", False),
])
def test_azure_and_s3_uris_name_container_and_prefix(uri, scheme, is_azure):
    loc = parse_store_uri(uri)
    assert (loc.scheme, loc.container, loc.prefix, loc.account) == \
        (scheme, "models", "universal", None)
    assert loc.is_azure is is_azure
    assert str(loc) == f"{scheme}://models/universal"


def test_keys_join_the_prefix_with_forward_slashes():
    loc = parse_store_uri("s3://bucket/a/b")
    assert loc.key("tokenizer\\vocab.txt") == "a/b/tokenizer/vocab.txt"
    assert loc.key("/weights.bin") == "a/b/weights.bin"
    root = parse_store_uri("s3://bucket")
    assert (root.prefix, root.key("x.bin"), root.uri()) == ("", "x.bin", "s3://bucket")


@pytest.mark.parametrize("uri", [
    "gs://bucket/x",
    "wasbs://no-account-here/x",
    "wasbs://@acct.blob.core.windows.net/x",
    "s3:///no-bucket",
    "azure:///no-container",
    "/local/path",
])
def test_unsupported_uris_list_the_supported_forms(uri):
    with pytest.raises(UnsupportedStoreURI, match="wasbs://CONTAINER@ACCOUNT") as err:
        parse_store_uri(uri)
    assert repr(uri) in str(err.value)


def test_open_store_refuses_an_unknown_scheme_before_any_sdk_call():
    with pytest.raises(UnsupportedStoreURI, match="s3://BUCKET/PREFIX"):
        open_store("gs://bucket/x")


class UriOnlyStore(ObjectStore):
    """A store with no SDK behind it: relpath_of is pure URI arithmetic."""

    def check_access(self): ...
    def upload_file(self, local, relpath): ...
    def stored_sha256(self, relpath): ...
    def translate_error(self, exc, uri, what): ...
    def stat_for_download(self, relpath): ...


def test_relpath_of_accepts_uris_under_the_store_only():
    store = UriOnlyStore(StoreLocation("s3", "bucket", "models/v1"))
    assert store.relpath_of("s3://bucket/models/v1/tok/vocab.txt") == "tok/vocab.txt"
    with pytest.raises(ValueError, match="is not under s3://bucket/models/v1"):
        store.relpath_of("s3://bucket/models/v10/x.bin")
    with pytest.raises(ValueError, match="is not under"):
        store.relpath_of("s3://other/models/v1/x.bin")
