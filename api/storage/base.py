"""The object-store interface both backends implement.

Callers (upload handling, training and batch jobs, the model registry, the
offline CLI) program against :class:`ObjectStore` only; the backend is chosen by
settings in :mod:`api.storage.factory`. Large objects go through
:meth:`open_read`/:meth:`open_write`, which stream in chunks, so memory use does
not grow with the file size.
"""

from __future__ import annotations

import abc
from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import BinaryIO

from api.storage.errors import ObjectNotFound


@dataclass(frozen=True, slots=True)
class ObjectInfo:
    """What :meth:`ObjectStore.head` reports about an object.

    ``etag`` is a change detector, not a content hash: S3's ETag (an MD5 only for
    single-part uploads) or, on the local backend, size and modification time.
    Compare it for equality only.
    """

    uri: str
    size: int
    etag: str


@dataclass(frozen=True, slots=True)
class StoredObject:
    """An object found by :meth:`ObjectStore.list_objects`; ``modified`` is UTC."""

    uri: str
    modified: datetime


@dataclass(frozen=True, slots=True)
class PendingWrite:
    """A write that never finished: a local temporary file or an S3 multipart upload.

    ``uri`` is the object it would have become, ``started`` (UTC) when it began
    (the file's last change on the local backend), ``token`` what identifies it
    to :meth:`ObjectStore.abandon` (a file path or an upload id).
    """

    uri: str
    started: datetime
    token: str


class ObjectStore(abc.ABC):
    """Objects addressed by ``s3://bucket/key``, whatever the backend."""

    #: The service's own bucket, if the store was built for one; the bucket
    #: :meth:`readiness_check` probes.
    bucket: str | None = None

    @abc.abstractmethod
    def open_read(self, uri: str) -> AbstractContextManager[BinaryIO]:
        """A binary, read-only, forward-only stream of the object.

        The stream supports ``read``/``read1``/``readinto``/``readline`` so that
        ``io.TextIOWrapper`` and ``pandas.read_csv(..., chunksize=...)`` consume it
        incrementally. Raises :class:`ObjectNotFound` on entry when it is missing.
        """

    @abc.abstractmethod
    def open_write(self, uri: str) -> AbstractContextManager[BinaryIO]:
        """A binary writable that publishes the object only on a clean exit.

        If the ``with`` block raises, nothing becomes visible at ``uri`` (an
        existing object there is left untouched) and the exception propagates.
        Closing the stream early (e.g. through a ``TextIOWrapper``) does not
        publish; leaving the ``with`` block does.
        """

    @abc.abstractmethod
    def head(self, uri: str) -> ObjectInfo:
        """Size and etag of the object; :class:`ObjectNotFound` when missing."""

    @abc.abstractmethod
    def delete(self, uri: str) -> None:
        """Remove the object. Deleting a missing key is not an error (as on S3);
        a missing bucket is."""

    @abc.abstractmethod
    def publish(self, source: str, target: str) -> None:
        """Copy ``source`` to ``target`` unless ``target`` already exists.

        Never replaces an object: raises :class:`ObjectExists` instead, and
        ``target`` keeps what it held. The copy records where it came from, so
        :meth:`is_copy_of` can tell later whose copy a target is.
        """

    @abc.abstractmethod
    def is_copy_of(self, target: str, source: str) -> bool:
        """Whether ``target`` is what :meth:`publish` made from ``source``."""

    @abc.abstractmethod
    def list_objects(self, bucket: str, prefix: str) -> Iterator[StoredObject]:
        """Every finished object whose key starts with ``prefix`` (a folder, ending in ``/``)."""

    @abc.abstractmethod
    def pending_writes(self, bucket: str) -> Iterator[PendingWrite]:
        """Writes in ``bucket`` that were started and neither finished nor aborted."""

    @abc.abstractmethod
    def abandon(self, write: PendingWrite) -> None:
        """Drop a pending write for good (its writer is gone)."""

    @abc.abstractmethod
    def ensure_bucket(self, bucket: str) -> None:
        """Create the bucket when it does not exist yet (standalone mode, tests)."""

    @abc.abstractmethod
    def readiness_check(self) -> str | None:
        """``None`` when the store answers and its bucket exists, else a short reason."""

    def exists(self, uri: str) -> bool:
        """Whether the object exists. A missing bucket still raises, because it is
        a configuration problem rather than an absent object."""
        try:
            self.head(uri)
        except ObjectNotFound as exc:
            if isinstance(exc.details, dict) and exc.details.get("bucket_missing"):
                raise
            return False
        return True

    def put_bytes(self, uri: str, data: bytes) -> None:
        """Store a small object (artifacts, manifests) in one call."""
        with self.open_write(uri) as out:
            out.write(data)

    def get_bytes(self, uri: str) -> bytes:
        """Read a small object whole. Use :meth:`open_read` for datasets."""
        with self.open_read(uri) as src:
            return src.read()

    def read_range(self, uri: str, start: int, end: int) -> Iterator[bytes]:
        """Bytes ``[start, end)`` of the object, in chunks (a partition of a batch input).

        This default reads from the beginning and drops what comes before
        ``start``; the backends override it with a seek or a ranged GET.
        """
        with self.open_read(uri) as src:
            skipped = 0
            while skipped < start and (data := src.read(min(start - skipped, 1 << 20))):
                skipped += len(data)
            yield from limited(src, end - start)

    def compose(self, sources: list[str], target: str) -> None:
        """Write ``target`` as the concatenation of ``sources``, all or nothing.

        This default streams the bytes through; S3 assembles the parts
        server-side when it can.
        """
        with self.open_write(target) as out:
            for source in sources:
                for chunk in self.iter_chunks(source, 8 * 1024 * 1024):
                    out.write(chunk)

    def publish_parts(self, sources: list[str], staged: str, target: str) -> None:
        """Publish the concatenation of ``sources`` at ``target``, as :meth:`publish`
        would publish it from ``staged``: never replacing an object, and
        :meth:`is_copy_of` ``(target, staged)`` holds afterwards.

        This default composes into ``staged`` and publishes that; S3 joins the
        parts at ``target`` directly, saving a copy of the whole output.
        """
        self.compose(sources, staged)
        self.publish(staged, target)

    def iter_chunks(self, uri: str, chunk_bytes: int = 1024 * 1024) -> Iterator[bytes]:
        """The object as a sequence of byte chunks (e.g. to hash or copy it)."""
        with self.open_read(uri) as src:
            while chunk := src.read(chunk_bytes):
                yield chunk


def limited(src: BinaryIO, length: int, chunk_bytes: int = 1 << 20) -> Iterator[bytes]:
    """Up to ``length`` bytes of ``src``, in chunks."""
    left = length
    while left > 0 and (data := src.read(min(left, chunk_bytes))):
        left -= len(data)
        yield data
