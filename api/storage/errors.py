"""Storage errors, as domain errors with stable codes.

Both backends raise only these, so the HTTP layer and the job engine report a
missing input or a refused bucket the same way whether the data lives on S3,
MinIO or the local disk. The URI is always in the message and in ``details``.
"""

from __future__ import annotations

from typing import Any

from api.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
    ServiceUnavailable,
    TasadorError,
)


class StorageError(Exception):
    """Marker base: lets callers catch every storage failure in one clause."""


class ObjectNotFound(StorageError, NotFound):
    """The object, or the bucket it would live in, does not exist."""

    code = "object_not_found"

    @classmethod
    def for_uri(cls, uri: str, *, bucket_missing: bool = False) -> ObjectNotFound:
        if bucket_missing:
            bucket = uri.removeprefix("s3://").split("/", 1)[0]
            message = f"bucket {bucket!r} does not exist (reading or writing {uri})"
        else:
            message = f"object not found: {uri}"
        return cls(message, details={"uri": uri, "bucket_missing": bucket_missing})


class ObjectExists(StorageError, Conflict):
    """Publishing would replace an object that is already there; nothing was written."""

    code = "output_exists"

    @classmethod
    def for_uri(cls, uri: str) -> ObjectExists:
        return cls(
            f"{uri} already exists; outputs are never overwritten (choose another location)",
            details={"uri": uri},
        )


class AccessDenied(StorageError, Forbidden):
    """The store refused the operation (credentials, policy, permissions)."""

    code = "access_denied"

    @classmethod
    def for_uri(cls, uri: str, reason: str, **kw: Any) -> AccessDenied:
        return cls(f"access denied to {uri}: {reason}", details={"uri": uri}, **kw)


class InvalidUri(StorageError, InvalidInput):
    """The text is not a usable ``s3://bucket/key`` address."""

    code = "invalid_uri"

    @classmethod
    def for_uri(cls, uri: str, reason: str) -> InvalidUri:
        return cls(f"invalid object URI {uri!r}: {reason}", details={"uri": uri})


class StorageUnavailable(StorageError, ServiceUnavailable):
    """The store could not be reached or failed on its side; worth retrying."""

    code = "storage_unavailable"

    @classmethod
    def for_uri(cls, uri: str, reason: str) -> StorageUnavailable:
        return cls(
            f"object store unavailable while accessing {uri}: {reason}", details={"uri": uri}
        )


class StorageFailure(StorageError, TasadorError):
    """The store answered with an error that none of the above explains."""

    status_code = 502
    code = "storage_error"
