"""``s3://bucket/key`` addresses: the one way data is named in the service.

The rules are stricter than S3's own so that every valid address also maps to
exactly one file under the local backend's root: no ``.``/``..`` segments, no
empty segments, no leading or trailing slash, no control characters.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from api.storage.errors import InvalidUri

SCHEME = "s3://"

# S3's bucket naming rules (3-63 chars, lowercase, digits, dots, hyphens; starts
# and ends with a letter or digit). Also keeps bucket names safe as folder names.
_BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_MAX_KEY_BYTES = 1024  # S3's limit on key length


class ObjectAddress(NamedTuple):
    bucket: str
    key: str

    @property
    def uri(self) -> str:
        return f"{SCHEME}{self.bucket}/{self.key}"


def is_uri(text: str) -> bool:
    """True when ``text`` is meant as an object URI rather than a file path."""
    return text.startswith(SCHEME)


def validate_bucket(bucket: str, *, uri: str | None = None) -> str:
    if not _BUCKET_RE.match(bucket) or ".." in bucket:
        raise InvalidUri.for_uri(
            uri or f"{SCHEME}{bucket}",
            f"bucket name {bucket!r} must be 3-63 characters of lowercase letters, "
            "digits, dots and hyphens, starting and ending with a letter or digit",
        )
    return bucket


def parse_uri(uri: str) -> ObjectAddress:
    """Split ``s3://bucket/key`` into its parts, refusing anything ambiguous or unsafe."""
    if not isinstance(uri, str) or not uri.startswith(SCHEME):
        raise InvalidUri.for_uri(str(uri), "must start with s3://")
    rest = uri[len(SCHEME) :]
    bucket, sep, key = rest.partition("/")
    if not bucket:
        raise InvalidUri.for_uri(uri, "the bucket name is empty")
    validate_bucket(bucket, uri=uri)
    if not sep or not key:
        raise InvalidUri.for_uri(uri, "the key is empty (expected s3://bucket/key)")
    if key.startswith("/"):
        raise InvalidUri.for_uri(uri, "the key must not start with '/'")
    if key.endswith("/"):
        raise InvalidUri.for_uri(uri, "the key must not end with '/' (it names a folder)")
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in key) or "\\" in key:
        raise InvalidUri.for_uri(uri, "the key contains control characters or backslashes")
    if len(key.encode()) > _MAX_KEY_BYTES:
        raise InvalidUri.for_uri(uri, f"the key is longer than {_MAX_KEY_BYTES} bytes")
    for segment in key.split("/"):
        if segment == "":
            raise InvalidUri.for_uri(uri, "the key has an empty path segment ('//')")
        if segment in (".", ".."):
            raise InvalidUri.for_uri(uri, f"the key has a {segment!r} path segment")
    return ObjectAddress(bucket, key)
