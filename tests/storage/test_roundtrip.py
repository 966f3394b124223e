"""Behaviour both backends share: streaming round trips, atomic writes, clear errors.

Every test here runs twice, on the local directory and on S3 (moto over HTTP).
"""

from __future__ import annotations

import hashlib
import io
import os

import numpy as np
import pandas as pd
import pytest

from api.storage import InvalidUri, ObjectNotFound, ObjectStore, S3Store
from api.storage.errors import StorageError
from tests.fixtures.s3 import TEST_CHUNK_BYTES

MiB = 1024 * 1024


def _uri(store: ObjectStore, key: str) -> str:
    return f"s3://{store.bucket}/{key}"


def test_large_object_round_trips_through_chunked_streams(store: ObjectStore) -> None:
    data = os.urandom(12 * MiB)  # more than two parts of TEST_CHUNK_BYTES
    uri = _uri(store, "datasets/big.bin")
    with store.open_write(uri) as out:
        # Odd write sizes, so parts never line up with the writes.
        for start in range(0, len(data), MiB + 7):
            out.write(data[start : start + MiB + 7])

    digest = hashlib.sha256()
    with store.open_read(uri) as src:
        first = src.read(64 * 1024)
        assert len(first) == 64 * 1024
        digest.update(first)
        while chunk := src.read(MiB):
            assert len(chunk) <= MiB
            digest.update(chunk)
    assert digest.hexdigest() == hashlib.sha256(data).hexdigest()
    assert store.head(uri).size == len(data)
    if isinstance(store, S3Store):
        # S3 ETags of multipart objects end in "-<number of parts>".
        parts = -(-len(data) // TEST_CHUNK_BYTES)
        assert store.head(uri).etag.endswith(f"-{parts}")


def test_failed_write_leaves_no_object(store: ObjectStore) -> None:
    uri = _uri(store, "half/written.bin")
    with pytest.raises(RuntimeError, match="boom"), store.open_write(uri) as out:
        out.write(os.urandom(6 * MiB))  # past the first part on S3
        raise RuntimeError("boom")
    assert not store.exists(uri)
    with pytest.raises(ObjectNotFound):
        store.get_bytes(uri)
    if isinstance(store, S3Store):
        uploads = store.client.list_multipart_uploads(Bucket=str(store.bucket))
        assert uploads.get("Uploads", []) == []


def test_a_part_that_fails_in_the_background_fails_the_write(s3_store: S3Store) -> None:
    """Parts upload while the writer goes on; a part's failure must still reach the
    writer at its next part and leave nothing behind, not be lost on the uploading
    thread."""
    uri = _uri(s3_store, "lost/upload.bin")
    client, bucket = s3_store.client, str(s3_store.bucket)
    wrote_everything = False
    with pytest.raises(StorageError), s3_store.open_write(uri) as out:
        out.write(os.urandom(TEST_CHUNK_BYTES + 1))  # the first part leaves
        out.flush()
        for upload in client.list_multipart_uploads(Bucket=bucket).get("Uploads", []):
            # The upload vanishes under the writer, as after a bucket lifecycle rule.
            client.abort_multipart_upload(
                Bucket=bucket, Key=upload["Key"], UploadId=upload["UploadId"]
            )
        out.write(os.urandom(3 * TEST_CHUNK_BYTES))  # later parts have nowhere to go
        wrote_everything = True
    assert not wrote_everything, "the failed part surfaced only at the end"
    assert not s3_store.exists(uri)
    assert client.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []


def test_failed_overwrite_keeps_the_previous_version(store: ObjectStore) -> None:
    uri = _uri(store, "model.json")
    store.put_bytes(uri, b'{"version": 1}')
    with pytest.raises(ValueError, match="bad"), store.open_write(uri) as out:
        out.write(b'{"version": 2')
        raise ValueError("bad")
    assert store.get_bytes(uri) == b'{"version": 1}'


def test_object_is_invisible_until_the_write_block_ends(store: ObjectStore) -> None:
    uri = _uri(store, "pending.bin")
    with store.open_write(uri) as out:
        out.write(b"x" * 1000)
        out.flush()
        assert not store.exists(uri)
    assert store.get_bytes(uri) == b"x" * 1000


def test_missing_key_is_reported_with_its_uri(store: ObjectStore) -> None:
    uri = _uri(store, "nowhere/missing.csv")
    for attempt in (store.head, store.get_bytes):
        with pytest.raises(ObjectNotFound) as caught:
            attempt(uri)
        assert caught.value.code == "object_not_found"
        assert caught.value.status_code == 404
        assert uri in caught.value.message
    assert store.exists(uri) is False


def test_missing_bucket_is_reported_as_such(store: ObjectStore) -> None:
    uri = "s3://no-such-bucket-here/data.csv"
    for attempt in (store.head, store.get_bytes, store.exists, store.delete):
        with pytest.raises(ObjectNotFound) as caught:
            attempt(uri)
        assert "bucket 'no-such-bucket-here' does not exist" in caught.value.message
        assert uri in caught.value.message
    with pytest.raises(ObjectNotFound, match="does not exist"), store.open_write(uri) as out:
        out.write(b"data")


def test_head_reports_size_and_an_etag_that_changes_with_the_content(store: ObjectStore) -> None:
    uri = _uri(store, "artifact.bin")
    store.put_bytes(uri, b"first")
    before = store.head(uri)
    store.put_bytes(uri, b"second!")
    after = store.head(uri)
    assert (before.uri, before.size) == (uri, 5)
    assert after.size == 7
    assert after.etag != before.etag


def test_delete_removes_the_object_and_tolerates_a_missing_one(store: ObjectStore) -> None:
    uri = _uri(store, "a/b/c.bin")
    store.put_bytes(uri, b"payload")
    assert store.exists(uri)
    store.delete(uri)
    assert not store.exists(uri)
    store.delete(uri)
    store.put_bytes(_uri(store, "a"), b"a key where a folder used to be")
    assert store.get_bytes(_uri(store, "a")).startswith(b"a key")


def test_pandas_reads_csv_in_chunks_from_the_store(store: ObjectStore) -> None:
    rng = np.random.default_rng(7)
    frame = pd.DataFrame(
        {
            "type": rng.choice(["casa", "departamento"], 30_000),
            "net_usable_area": rng.uniform(20, 400, 30_000).round(2),
            "price": rng.integers(1_000, 30_000, 30_000),
        }
    )
    uri = _uri(store, "datasets/frame.csv")
    with store.open_write(uri) as out, io.TextIOWrapper(out, encoding="utf-8", newline="") as text:
        frame.to_csv(text, index=False)

    with store.open_read(uri) as src:
        chunks = list(pd.read_csv(src, chunksize=7_000))
    assert [len(c) for c in chunks] == [7_000, 7_000, 7_000, 7_000, 2_000]
    pd.testing.assert_frame_equal(pd.concat(chunks, ignore_index=True), frame)


def test_text_wrapper_reads_lines_incrementally(store: ObjectStore) -> None:
    uri = _uri(store, "lines.txt")
    store.put_bytes(uri, "".join(f"línea {i}\n" for i in range(5_000)).encode())
    with store.open_read(uri) as src, io.TextIOWrapper(src, encoding="utf-8") as text:
        assert text.readline() == "línea 0\n"
        assert sum(1 for _ in text) == 4_999


def test_invalid_uri_is_refused_before_touching_the_store(store: ObjectStore) -> None:
    with pytest.raises(InvalidUri, match=r"'\.\.' path segment"):
        store.get_bytes(_uri(store, "../escape.csv"))
    with pytest.raises(InvalidUri, match="must start with s3://"):
        store.open_write("/etc/passwd")


def test_ready_store_reports_no_problem(store: ObjectStore) -> None:
    assert store.readiness_check() is None
