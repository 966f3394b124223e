"""Publishing and finding leftovers, on both backends.

``publish`` is how a job attempt turns its staged output into the object users
see: it must never replace an object, and must let the next attempt recognise a
copy it made. ``list_objects``/``pending_writes``/``abandon`` are what the
sweeper uses to find and drop what dead attempts left behind.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

import pytest

from api.storage import ObjectExists, ObjectNotFound, ObjectStore, S3Store
from tests.fixtures.s3 import TEST_CHUNK_BYTES


def _uri(store: ObjectStore, key: str) -> str:
    return f"s3://{store.bucket}/{key}"


def test_publish_copies_the_object_and_remembers_its_source(store: ObjectStore) -> None:
    source, target = _uri(store, "staging/j/1/out.csv"), _uri(store, "outputs/out.csv")
    data = os.urandom(TEST_CHUNK_BYTES + 123)  # past one part: the copy is not a re-upload
    store.put_bytes(source, data)
    store.publish(source, target)
    assert store.get_bytes(target) == data
    assert store.is_copy_of(target, source)
    assert not store.is_copy_of(target, _uri(store, "staging/j/2/out.csv"))
    store.delete(source)  # the published copy outlives its staging object
    assert store.get_bytes(target) == data


def test_publish_never_replaces_an_existing_object(store: ObjectStore) -> None:
    source, target = _uri(store, "staging/j/1/model.tsm"), _uri(store, "models/j/model.tsm")
    store.put_bytes(source, b"new")
    store.put_bytes(target, b"winner")
    with pytest.raises(ObjectExists) as raised:
        store.publish(source, target)
    assert raised.value.code == "output_exists" and raised.value.status_code == 409
    assert store.get_bytes(target) == b"winner"
    assert not store.is_copy_of(target, source)
    if isinstance(store, S3Store):  # the refused copy left no upload behind
        assert list(store.pending_writes(str(store.bucket))) == []


def test_publish_of_a_missing_source_writes_nothing(store: ObjectStore) -> None:
    target = _uri(store, "outputs/none.csv")
    with pytest.raises(ObjectNotFound):
        store.publish(_uri(store, "staging/j/1/none.csv"), target)
    assert not store.exists(target)


def test_s3_refuses_to_complete_a_copy_onto_an_object_created_meanwhile(
    s3_store: S3Store,
) -> None:
    """The store itself enforces no-overwrite, not only our HEAD before the copy."""
    bucket = str(s3_store.bucket)
    s3_store.put_bytes(f"s3://{bucket}/staging/a", b"late")
    upload = s3_store.client.create_multipart_upload(Bucket=bucket, Key="out.csv")
    part = s3_store.client.upload_part_copy(
        Bucket=bucket,
        Key="out.csv",
        UploadId=upload["UploadId"],
        PartNumber=1,
        CopySource={"Bucket": bucket, "Key": "staging/a"},
    )
    s3_store.put_bytes(f"s3://{bucket}/out.csv", b"first")
    with pytest.raises(s3_store.client.exceptions.ClientError, match="PreconditionFailed"):
        s3_store.client.complete_multipart_upload(
            Bucket=bucket,
            Key="out.csv",
            UploadId=upload["UploadId"],
            MultipartUpload={"Parts": [{"ETag": part["CopyPartResult"]["ETag"], "PartNumber": 1}]},
            IfNoneMatch="*",
        )
    assert s3_store.get_bytes(f"s3://{bucket}/out.csv") == b"first"


def test_list_objects_finds_finished_objects_under_a_prefix_only(store: ObjectStore) -> None:
    bucket = str(store.bucket)
    store.put_bytes(_uri(store, "staging/a/1/x.csv"), b"1")
    store.put_bytes(_uri(store, "staging/b/2/y.csv"), b"2")
    store.put_bytes(_uri(store, "datasets/z.csv"), b"3")
    before = datetime.now(UTC) - timedelta(minutes=5)
    found = list(store.list_objects(bucket, "staging/"))
    assert sorted(o.uri for o in found) == [
        _uri(store, "staging/a/1/x.csv"),
        _uri(store, "staging/b/2/y.csv"),
    ]
    assert all(before < o.modified <= datetime.now(UTC) + timedelta(seconds=5) for o in found)
    assert list(store.list_objects(bucket, "nothing/")) == []


def test_an_interrupted_write_is_a_pending_write_until_abandoned(store: ObjectStore) -> None:
    bucket = str(store.bucket)
    uri = _uri(store, "staging/j/1/out.csv")
    writing = store.open_write(uri)
    out = writing.__enter__()
    out.write(os.urandom(TEST_CHUNK_BYTES + 1))  # on S3 a multipart upload has begun
    out.flush()
    # The writer is "killed": never finished, never aborted.
    pending = [w for w in store.pending_writes(bucket) if w.uri == uri]
    assert len(pending) == 1
    # (moto reports every upload as initiated in 2010; S3 gives the real time)
    assert pending[0].started <= datetime.now(UTC) + timedelta(seconds=5)
    assert list(store.list_objects(bucket, "staging/")) == []  # not a finished object
    store.abandon(pending[0])
    assert [w for w in store.pending_writes(bucket) if w.uri == uri] == []
    assert not store.exists(uri)
    writing.__exit__(RuntimeError, RuntimeError("gone"), None)  # let the writer clean up
