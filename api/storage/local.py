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
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from api.storage.base import ObjectInfo, ObjectStore, PendingWrite, StoredObject, limited
from api.storage.errors import (
    AccessDenied,
    InvalidUri,
    ObjectExists,
    ObjectNotFound,
    StorageError,
    StorageFailure,
)
from api.storage.uri import ObjectAddress, parse_uri, validate_bucket

TEMP_PREFIX = ".tasador-tmp-"
# Where a hard link cannot join source and target, publish falls back to a copy.
_NO_LINK = {errno.EXDEV, errno.EPERM, errno.EMLINK, errno.ENOTSUP, errno.EOPNOTSUPP}


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

    def read_range(self, uri: str, start: int, end: int) -> Iterator[bytes]:
        with self.open_read(uri) as src:
            src.seek(start)
            yield from limited(src, end - start)

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
            self._prune(path.parent, address.bucket)

    def _prune(self, folder: Path, bucket: str) -> None:
        """Drop folders emptied by a delete, as S3 has no folders to leave behind."""
        bucket_dir = (self.root / bucket).resolve()
        while folder != bucket_dir and folder.is_relative_to(bucket_dir):
            try:
                folder.rmdir()
            except OSError:
                break
            folder = folder.parent

    def publish(self, source: str, target: str) -> None:
        # A hard link is atomic and refuses an existing target, which is exactly
        # "write unless it exists"; it also marks the target as a copy of source.
        src, dst = self.path_for(source), self.path_for(target)
        with _translated(source, reading=True):
            if not src.is_file():
                raise ObjectNotFound.for_uri(source)
        with _translated(target):
            dst.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.link(src, dst)
            except FileExistsError:
                raise ObjectExists.for_uri(target) from None
            except OSError as exc:
                if exc.errno not in _NO_LINK:
                    raise
                self._publish_copy(src, dst, target)

    def _publish_copy(self, src: Path, dst: Path, target: str) -> None:
        """Copy beside the target, then link the copy into place (still never replacing)."""
        fd, name = tempfile.mkstemp(dir=dst.parent, prefix=TEMP_PREFIX + dst.name + ".")
        temp = Path(name)
        try:
            with os.fdopen(fd, "wb") as out, src.open("rb") as data:
                shutil.copyfileobj(data, out, 1024 * 1024)
                out.flush()
                os.fsync(out.fileno())
            os.chmod(temp, src.stat().st_mode & 0o777)
            os.link(temp, dst)
        except FileExistsError:
            raise ObjectExists.for_uri(target) from None
        finally:
            temp.unlink(missing_ok=True)

    def is_copy_of(self, target: str, source: str) -> bool:
        try:
            return os.path.samefile(self.path_for(target), self.path_for(source))
        except (OSError, StorageError):
            return False

    def list_objects(self, bucket: str, prefix: str) -> Iterator[StoredObject]:
        folder = self.path_for(f"s3://{bucket}/{prefix.rstrip('/')}")
        for path, stat in self._walk(folder):
            if not path.name.startswith(TEMP_PREFIX):
                yield StoredObject(self._uri_of(path, bucket), _utc(stat.st_mtime))

    def pending_writes(self, bucket: str) -> Iterator[PendingWrite]:
        validate_bucket(bucket)
        for path, stat in self._walk((self.root / bucket).resolve()):
            if path.name.startswith(TEMP_PREFIX):
                # mkstemp named it TEMP_PREFIX + target name + "." + random part.
                target = path.with_name(path.name[len(TEMP_PREFIX) :].rpartition(".")[0])
                yield PendingWrite(self._uri_of(target, bucket), _utc(stat.st_mtime), str(path))

    def abandon(self, write: PendingWrite) -> None:
        path = Path(write.token)
        bucket = parse_uri(write.uri).bucket
        if not path.name.startswith(TEMP_PREFIX) or not path.is_relative_to(self.root / bucket):
            raise InvalidUri.for_uri(write.uri, f"{path} is not a pending write of this store")
        with _translated(write.uri):
            path.unlink(missing_ok=True)
            self._prune(path.parent, bucket)

    def _walk(self, folder: Path) -> Iterator[tuple[Path, os.stat_result]]:
        for directory, _, files in os.walk(folder):
            for name in files:
                path = Path(directory, name)
                try:
                    yield path, path.stat()
                except FileNotFoundError:
                    continue  # removed while we walked

    def _uri_of(self, path: Path, bucket: str) -> str:
        return f"s3://{bucket}/{path.relative_to((self.root / bucket).resolve()).as_posix()}"

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


def _utc(timestamp: float) -> datetime:
    return datetime.fromtimestamp(timestamp, UTC)
