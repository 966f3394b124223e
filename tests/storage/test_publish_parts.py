"""One object from parts written by different workers: ``compose``,
``publish_parts`` and ``read_range``.

On S3 the parts are copied server-side into one multipart upload when each but
the last holds at least 5 MiB; smaller parts are streamed through. Either way
the result is the parts' bytes in order, all or nothing.
"""

from __future__ import annotations

import os
from itertools import pairwise

import pytest

from api.storage import ObjectExists, ObjectNotFound, ObjectStore, S3Store
from api.storage.s3_compose import copyable
from api.storage.s3_io import MIN_PART_BYTES
from api.storage.s3_publish import copy_parts


def _uri(store: ObjectStore, key: str) -> str:
    return f"s3://{store.bucket}/{key}"


def test_large_parts_are_joined_in_order(store: ObjectStore) -> None:
    blobs = [os.urandom(MIN_PART_BYTES + 17), os.urandom(MIN_PART_BYTES), b"the last, short"]
    parts = [_uri(store, f"staging/j/1/parts/{i}-1/predictions.csv") for i in range(3)]
    for uri, blob in zip(parts, blobs, strict=True):
        store.put_bytes(uri, blob)
    target = _uri(store, "staging/j/1/predictions.csv")
    store.compose(parts, target)
    assert store.get_bytes(target) == b"".join(blobs)


def test_small_and_empty_parts_are_streamed_through(store: ObjectStore) -> None:
    blobs = [b"row,column,reason\n", b"", b"7,type,not a type\n", b""]
    parts = [_uri(store, f"staging/j/1/parts/{i}-1/errors.csv") for i in range(4)]
    for uri, blob in zip(parts, blobs, strict=True):
        store.put_bytes(uri, blob)
    target = _uri(store, "staging/j/1/errors.csv")
    store.compose(parts, target)
    assert store.get_bytes(target) == b"".join(blobs)


def test_read_range_gives_exactly_the_bytes_asked_for(store: ObjectStore) -> None:
    data = os.urandom(3 * 1024 * 1024 + 5)
    uri = _uri(store, "datasets/1/input.csv")
    store.put_bytes(uri, data)
    for start, end in [(0, 10), (5, 5), (1024 * 1024 - 1, 2 * 1024 * 1024 + 3), (100, len(data))]:
        assert b"".join(store.read_range(uri, start, end)) == data[start:end]


@pytest.mark.parametrize("joining", ["compose", "publish_parts"])
def test_joining_parts_never_replaces_an_object(store: ObjectStore, joining: str) -> None:
    if joining == "compose" and not isinstance(store, S3Store):
        pytest.skip("the local backend composes into a staging file only")
    parts = [_uri(store, f"staging/j/1/parts/{i}-1/p.csv") for i in range(2)]
    for uri in parts:
        store.put_bytes(uri, os.urandom(MIN_PART_BYTES))
    target = _uri(store, "outputs/taken.csv")
    store.put_bytes(target, b"someone else's")
    with pytest.raises(ObjectExists):
        if joining == "compose":
            store.compose(parts, target)
        else:
            store.publish_parts(parts, _uri(store, "staging/j/1/p.csv"), target)
    assert store.get_bytes(target) == b"someone else's"


def test_only_parts_of_at_least_5_mib_are_copied_server_side() -> None:
    assert copyable([MIN_PART_BYTES, MIN_PART_BYTES, 1])
    assert not copyable([MIN_PART_BYTES - 1, MIN_PART_BYTES])
    assert copyable([1])


@pytest.mark.parametrize("large", [True, False], ids=["copied", "streamed"])
def test_published_parts_are_recognised_as_the_attempts_output(
    store: ObjectStore, large: bool
) -> None:
    size = MIN_PART_BYTES if large else 10
    blobs = [os.urandom(size), os.urandom(size), b"tail"]
    parts = [_uri(store, f"staging/j/2/parts/{i}-1/predictions.csv") for i in range(3)]
    for uri, blob in zip(parts, blobs, strict=True):
        store.put_bytes(uri, blob)
    staged = _uri(store, "staging/j/2/predictions.csv")
    target = _uri(store, "outputs/1/j/predictions.csv")
    store.publish_parts(parts, staged, target)
    assert store.get_bytes(target) == b"".join(blobs)
    # A later attempt must know this output for an unrecorded earlier attempt's.
    assert store.is_copy_of(target, staged)
    assert not store.is_copy_of(target, _uri(store, "staging/j/1/predictions.csv"))


def test_parts_copied_side_by_side_keep_their_order(s3_store: S3Store) -> None:
    # Six ranges of one object are copied at once; joined, they must be the object.
    data = os.urandom(6 * MIN_PART_BYTES + 3)
    source = _uri(s3_store, "staging/j/1/whole.csv")
    s3_store.put_bytes(source, data)
    cuts = [*(k * MIN_PART_BYTES for k in range(6)), len(data)]  # the last range 3 bytes longer
    spans = [f"bytes={start}-{end - 1}" for start, end in pairwise(cuts)]
    target = _uri(s3_store, "outputs/rejoined.csv")
    copy_parts(s3_store.client, [(source, span) for span in spans], target)
    assert s3_store.get_bytes(target) == data


def test_a_part_that_cannot_be_copied_leaves_no_object_and_no_upload(s3_store: S3Store) -> None:
    present = _uri(s3_store, "staging/j/1/parts/0-1/predictions.csv")
    s3_store.put_bytes(present, os.urandom(MIN_PART_BYTES))
    missing = _uri(s3_store, "staging/j/1/parts/1-1/predictions.csv")
    target = _uri(s3_store, "outputs/never.csv")
    parts: list[tuple[str, str | None]] = [(present, None), (missing, None), (present, None)]
    with pytest.raises(ObjectNotFound):
        copy_parts(s3_store.client, parts, target)
    assert not s3_store.exists(target)
    uploads = s3_store.client.list_multipart_uploads(Bucket=str(s3_store.bucket))
    assert uploads.get("Uploads", []) == []
