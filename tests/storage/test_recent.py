"""Inputs seen to exist are remembered briefly; missing ones never are."""

from __future__ import annotations

import pytest

from api.storage import ObjectNotFound, ObjectStore
from api.storage.recent import RecentObjects


def _uri(store: ObjectStore, key: str) -> str:
    return f"s3://{store.bucket}/{key}"


def test_an_object_seen_recently_answers_without_asking_again(store: ObjectStore) -> None:
    recent, uri = RecentObjects(), _uri(store, "inputs/recent.csv")
    store.put_bytes(uri, b"a,b\n1,2\n")
    first = recent.head(store, uri, ttl=60)
    store.delete(uri)  # outside the service: the window the setting accepts
    assert recent.head(store, uri, ttl=60) == first
    with pytest.raises(ObjectNotFound):
        recent.head(store, uri, ttl=0)  # 0 asks every time


def test_a_missing_object_is_never_remembered(store: ObjectStore) -> None:
    recent, uri = RecentObjects(), _uri(store, "inputs/later.csv")
    with pytest.raises(ObjectNotFound):
        recent.head(store, uri, ttl=60)
    store.put_bytes(uri, b"a\n")
    assert recent.head(store, uri, ttl=60).size == 2


def test_memory_is_bounded(store: ObjectStore) -> None:
    recent = RecentObjects(capacity=2)
    uris = [_uri(store, f"inputs/{i}.csv") for i in range(3)]
    for uri in uris:
        store.put_bytes(uri, b"x\n")
        recent.head(store, uri, ttl=60)
    store.delete(uris[0])
    with pytest.raises(ObjectNotFound):
        recent.head(store, uris[0], ttl=60)  # the oldest was forgotten
