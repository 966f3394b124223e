"""The process-wide store chosen by settings.

The store is cached per process *and* per pid: a Celery prefork child inherits
its parent's memory, and sharing a boto3 connection pool across a fork would
mix two processes' traffic on one socket.
"""

from __future__ import annotations

import os
import threading

from api.config import Settings, get_settings
from api.storage.base import ObjectStore
from api.storage.local import LocalStore
from api.storage.s3 import S3Store

_lock = threading.Lock()
_cache: tuple[int, tuple[object, ...], ObjectStore] | None = None
# The settings object the cached store was last handed out for: the same object
# (get_settings is cached) skips building the key, which resolves a path on disk.
_last: tuple[int, Settings, ObjectStore] | None = None


def _cache_key(settings: Settings) -> tuple[object, ...]:
    return (
        settings.storage_backend,
        settings.s3_endpoint_url,
        settings.s3_region,
        settings.storage_chunk_bytes,
        settings.bucket,
        str(settings.data_dir.resolve()),
    )


def build_store(settings: Settings) -> ObjectStore:
    """A new store for ``settings`` (uncached; prefer :func:`get_store`)."""
    if settings.storage_backend == "s3":
        return S3Store(
            endpoint_url=settings.s3_endpoint_url,
            region=settings.s3_region,
            chunk_bytes=settings.storage_chunk_bytes,
            bucket=settings.bucket,
        )
    store = LocalStore(settings.data_dir / "objects", bucket=settings.bucket)
    # The embedded default must work on a fresh machine with no setup step.
    store.ensure_bucket(settings.bucket)
    return store


def get_store(settings: Settings | None = None) -> ObjectStore:
    """The store for the current settings, built once per process."""
    global _cache, _last
    settings = settings or get_settings()
    pid = os.getpid()
    last = _last
    if last is not None and last[0] == pid and last[1] is settings:
        return last[2]
    key = _cache_key(settings)
    with _lock:
        if _cache is None or _cache[0] != pid or _cache[1] != key:
            _cache = (pid, key, build_store(settings))
        _last = (pid, settings, _cache[2])
        return _cache[2]


def reset_store() -> None:
    """Forget the cached store (tests switching backends, after settings change)."""
    global _cache, _last
    with _lock:
        _cache = _last = None
