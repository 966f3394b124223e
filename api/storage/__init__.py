"""Object storage: one interface, an S3 backend and a local-directory backend.

Everything is addressed by ``s3://bucket/key``. Import from here::

    from api.storage import get_store, parse_uri, ObjectNotFound

Who may read or write which location is decided in ``api.ownership``.
"""

from api.storage.base import ObjectInfo, ObjectStore, PendingWrite, StoredObject
from api.storage.errors import (
    AccessDenied,
    InvalidUri,
    ObjectExists,
    ObjectNotFound,
    StorageError,
    StorageFailure,
    StorageUnavailable,
)
from api.storage.factory import build_store, get_store, reset_store
from api.storage.files import open_input, open_output
from api.storage.local import LocalStore
from api.storage.s3 import S3Store
from api.storage.uri import ObjectAddress, is_uri, parse_uri

__all__ = [
    "AccessDenied",
    "InvalidUri",
    "LocalStore",
    "ObjectAddress",
    "ObjectExists",
    "ObjectInfo",
    "ObjectNotFound",
    "ObjectStore",
    "PendingWrite",
    "S3Store",
    "StorageError",
    "StorageFailure",
    "StorageUnavailable",
    "StoredObject",
    "build_store",
    "get_store",
    "is_uri",
    "open_input",
    "open_output",
    "parse_uri",
    "reset_store",
]
