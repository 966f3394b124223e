"""Files or objects: what the offline CLI reads and writes.

The CLI takes either a plain path or an ``s3://`` URI for each input and output;
these two functions hide the difference. Output to a plain path is atomic too,
so an interrupted run never leaves a truncated predictions file behind.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from api.storage.errors import InvalidUri, ObjectNotFound
from api.storage.factory import get_store
from api.storage.local import map_os_error, write_atomically
from api.storage.uri import is_uri


def _local_path(path_or_uri: str | Path) -> Path | None:
    """The filesystem path meant, or ``None`` for an ``s3://`` URI."""
    if isinstance(path_or_uri, Path):
        return path_or_uri
    if is_uri(path_or_uri):
        return None
    if "://" in path_or_uri:
        scheme = path_or_uri.split("://", 1)[0]
        raise InvalidUri.for_uri(path_or_uri, f"unsupported scheme {scheme!r}; use s3:// or a path")
    return Path(path_or_uri)


@contextmanager
def open_input(path_or_uri: str | Path) -> Iterator[BinaryIO]:
    """A binary stream of a local file or an object in the configured store."""
    path = _local_path(path_or_uri)
    if path is None:
        with get_store().open_read(str(path_or_uri)) as stream:
            yield stream
        return
    if path.is_dir():
        raise ObjectNotFound(f"{path} is a directory, not a file", details={"uri": str(path)})
    try:
        stream = path.open("rb")
    except FileNotFoundError:
        raise ObjectNotFound(f"file not found: {path}", details={"uri": str(path)}) from None
    except OSError as exc:
        raise map_os_error(exc, str(path), reading=True) from exc
    with stream:
        yield stream


def open_output(path_or_uri: str | Path) -> contextlib.AbstractContextManager[BinaryIO]:
    """A binary writable that publishes the file or object only on success."""
    path = _local_path(path_or_uri)
    if path is None:
        return get_store().open_write(str(path_or_uri))
    parent = path.parent.resolve()
    if not parent.is_dir():
        raise ObjectNotFound(
            f"cannot write {path}: the folder {parent} does not exist", details={"uri": str(path)}
        )
    return write_atomically(path.resolve(), str(path))
