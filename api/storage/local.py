"""The local-directory backend: the embedded default and the offline CLI's store.

``s3://bucket/key`` lives at ``<root>/<bucket>/<key>``. A bucket is a folder that
must exist (``ensure_bucket`` creates it), mirroring S3 so that code tested on
one backend behaves the same on the other. Writes go to a hidden temporary file
beside the target and are renamed into place, so readers never see half a file.
"""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from api.storage.base import ObjectInfo, ObjectStore
from api.storage.errors import (
    AccessDenied,
    InvalidUri,
    ObjectNotFound,
    StorageError,
    StorageFailure,
)
from api.storage.uri import ObjectAddress, parse_uri, validate_bucket

TEMP_PREFIX = ".tasador-tmp-"


def map_os_error(exc: OSError, uri: str, *, reading: bool = False) -> StorageError:
    """The domain error for a filesystem failure while accessing ``uri``.

    When reading, a folder in the way means "no such object", as S3 would say.
    """
    if isinstance(exc, FileNotFoundError) or (
        reading and isinstance(exc, IsADirectoryError | NotADirectoryError)
    ):
        return ObjectNotFound.for_uri(uri)
    if isinstance(exc, PermissionError):
        return AccessDenied.for_uri(uri, "the file system refused access (check permissions)")
    if isinstance(exc, IsADirectoryError | NotADirectoryError):
        return InvalidUri.for_uri(uri, "the key collides with another key used as a folder")
    if exc.errno == errno.ENAMETOOLONG:
        return InvalidUri.for_uri(uri, "a key segment is too long for the local file system")
    return StorageFailure(f"file system error while accessing {uri}: {exc}", details={"uri": uri})


@contextmanager
def _translated(uri: str, *, reading: bool = False) -> Iterator[None]:
    try:
        yield
    except OSError as exc:
        raise map_os_error(exc, uri, reading=reading) from exc


def write_atomically(target: Path, label: str) -> contextlib.AbstractContextManager[BinaryIO]:
    """A writable for ``target`` that appears there only when the block succeeds."""
    return _atomic(target, label)


@contextmanager
def _atomic(target: Path, label: str) -> Iterator[BinaryIO]:
    with _translated(label):
        fd, temp_name = tempfile.mkstemp(dir=target.parent, prefix=TEMP_PREFIX + target.name + ".")
    temp = Path(temp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            yield out
            if not out.closed:
                out.flush()
                os.fsync(out.fileno())
        with _translated(label):
            # mkstemp creates 0600; give the object the permissions a normal file gets.
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(temp, 0o666 & ~umask)
            os.replace(temp, target)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


class LocalStore(ObjectStore):
    """Objects as files under ``root``; ``bucket`` is the one readiness_check probes."""

    def __init__(self, root: Path | str, *, bucket: str | None = None) -> None:
        self.root = Path(root).resolve()
        self.bucket = bucket

    def __repr__(self) -> str:
        return f"LocalStore(root={str(self.root)!r}, bucket={self.bucket!r})"

    def path_for(self, uri: str) -> Path:
        """The file behind ``uri``, refusing any path that would leave the root."""
        address = parse_uri(uri)
        return self._resolve(address, uri)

    def _resolve(self, address: ObjectAddress, uri: str) -> Path:
        bucket_dir = self.root / address.bucket
        if not bucket_dir.is_dir():
            raise ObjectNotFound.for_uri(uri, bucket_missing=True)
        # parse_uri already refuses "..", so only a symbolic link can lead out.
        # Confining each key to its own bucket keeps the rules of api.ownership meaningful.
        bucket_real = bucket_dir.resolve()
        resolved = (bucket_dir / address.key).resolve()
        if not bucket_real.is_relative_to(self.root) or not resolved.is_relative_to(bucket_real):
            raise AccessDenied.for_uri(uri, "the path leads outside the store's root")
        return resolved

    def open_read(self, uri: str) -> contextlib.AbstractContextManager[BinaryIO]:
        path = self.path_for(uri)
        with _translated(uri, reading=True):
            stream = path.open("rb")
        return stream

    def open_write(self, uri: str) -> contextlib.AbstractContextManager[BinaryIO]:
        path = self.path_for(uri)
        with _translated(uri):
            path.parent.mkdir(parents=True, exist_ok=True)
        return write_atomically(path, uri)

    def head(self, uri: str) -> ObjectInfo:
        path = self.path_for(uri)
        with _translated(uri, reading=True):
            stat = path.stat()
        if not path.is_file():
            raise ObjectNotFound.for_uri(uri)
        # Size and mtime change whenever a write replaces the file; hashing large
        # datasets on every HEAD would cost a full read.
        return ObjectInfo(uri=uri, size=stat.st_size, etag=f"{stat.st_size:x}-{stat.st_mtime_ns:x}")

    def delete(self, uri: str) -> None:
        address = parse_uri(uri)
        path = self._resolve(address, uri)
        with _translated(uri):
            try:
                path.unlink()
            except FileNotFoundError:
                return
            # Drop folders emptied by the delete, as S3 has no folders to leave behind.
            bucket_dir = (self.root / address.bucket).resolve()
            parent = path.parent
            while parent != bucket_dir and parent.is_relative_to(bucket_dir):
                try:
                    parent.rmdir()
                except OSError:
                    break
                parent = parent.parent

    def ensure_bucket(self, bucket: str) -> None:
        validate_bucket(bucket)
        with _translated(f"s3://{bucket}"):
            (self.root / bucket).mkdir(parents=True, exist_ok=True)

    def readiness_check(self) -> str | None:
        target = self.root / self.bucket if self.bucket else self.root
        if not target.is_dir():
            return f"{target} does not exist"
        if not os.access(target, os.W_OK | os.X_OK):
            return f"{target} is not writable"
        return None
