"""A lean, SigV4-signed ``HEAD`` of one object, for the checks a submit makes.

A job submit asks the store whether its input exists (and its output does not)
before the job is created. Through boto3 one ``head_object`` costs about a
millisecond of CPU in its request pipeline (parameter validation, event hooks,
endpoint resolution, retries, response parsing), most of a submit's own cost.
This module signs the request itself (AWS Signature Version 4 over the method,
path and three headers) and sends it on a urllib3 pool sized for concurrent
requests.

It answers only what is plain: ``200`` (size and etag), ``404`` (missing) and
``403`` (refused). Everything else (no credentials, a redirect to another
region, a server error, a broken connection, an unusual bucket name) returns
``None`` and the caller asks boto3, which retries and names the problem.
"""

from __future__ import annotations

import hashlib
import hmac
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol
from urllib.parse import quote, urlsplit

import urllib3

EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
_ALGORITHM = "AWS4-HMAC-SHA256"


class Credentials(Protocol):
    """botocore's frozen credentials, or anything shaped like them."""

    @property
    def access_key(self) -> str | None: ...

    @property
    def secret_key(self) -> str | None: ...

    @property
    def token(self) -> str | None: ...


@dataclass(frozen=True, slots=True)
class HeadAnswer:
    status: int  # 200, 403 or 404
    size: int = 0
    etag: str = ""


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


def signing_key(secret: str, day: str, region: str, service: str = "s3") -> bytes:
    key = _hmac(f"AWS4{secret}".encode(), day)
    key = _hmac(key, region)
    key = _hmac(key, service)
    return _hmac(key, "aws4_request")


def signed_headers(
    method: str,
    host: str,
    path: str,
    credentials: Credentials,
    region: str,
    now: datetime,
    key_cache: dict[tuple[str, str, str], bytes] | None = None,
) -> dict[str, str]:
    """The headers of a SigV4-signed request with no query and an empty body.

    ``path`` is already URI-encoded (S3 encodes each key segment once).
    """
    stamp = now.strftime("%Y%m%dT%H%M%SZ")
    day = stamp[:8]
    headers = {"host": host, "x-amz-content-sha256": EMPTY_SHA256, "x-amz-date": stamp}
    if credentials.token:
        headers["x-amz-security-token"] = credentials.token
    names = sorted(headers)
    canonical = "\n".join(
        [
            method,
            path,
            "",
            *(f"{name}:{headers[name].strip()}" for name in names),
            "",
            ";".join(names),
            EMPTY_SHA256,
        ]
    )
    scope = f"{day}/{region}/s3/aws4_request"
    to_sign = "\n".join([_ALGORITHM, stamp, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    secret = credentials.secret_key or ""
    cache_key = (secret, day, region)
    key = key_cache.get(cache_key) if key_cache is not None else None
    if key is None:
        key = signing_key(secret, day, region)
        if key_cache is not None:
            key_cache.clear()  # one day, one key: keep only the current one
            key_cache[cache_key] = key
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    headers["authorization"] = (
        f"{_ALGORITHM} Credential={credentials.access_key}/{scope}, "
        f"SignedHeaders={';'.join(names)}, Signature={signature}"
    )
    del headers["host"]  # urllib3 sends it from the URL
    return headers


def _plain_bucket(bucket: str) -> bool:
    # Virtual-host addressing needs a bucket name that is a valid DNS label without dots.
    return bucket == bucket.lower() and "." not in bucket and 3 <= len(bucket) <= 63


class LeanHead:
    """``HEAD`` requests on one endpoint (or AWS S3 in ``region``), pooled."""

    def __init__(self, endpoint_url: str | None, region: str, pool_size: int = 48) -> None:
        self.region = region
        self._endpoint = urlsplit(endpoint_url) if endpoint_url else None
        self._pool = urllib3.PoolManager(
            num_pools=4,
            maxsize=pool_size,
            retries=False,
            timeout=urllib3.Timeout(connect=2, read=10),
        )
        self._keys: dict[tuple[str, str, str], bytes] = {}
        self._lock = threading.Lock()

    def _address(self, bucket: str, key: str) -> tuple[str, str, str] | None:
        """(base URL, host header, encoded path), or None when only boto3 should go."""
        encoded = quote(key, safe="/-_.~")
        if self._endpoint is not None:
            # MinIO and moto: path-style addressing, as the boto3 client uses.
            if self._endpoint.query or self._endpoint.path.strip("/"):
                return None
            base = f"{self._endpoint.scheme}://{self._endpoint.netloc}"
            return base, self._endpoint.netloc, f"/{quote(bucket, safe='')}/{encoded}"
        if not _plain_bucket(bucket):
            return None
        host = f"{bucket}.s3.{self.region}.amazonaws.com"
        return f"https://{host}", host, f"/{encoded}"

    def head(self, bucket: str, key: str, credentials: Credentials | None) -> HeadAnswer | None:
        """The answer to ``HEAD``, or ``None`` for anything the caller should ask boto3."""
        if credentials is None or not credentials.access_key or not credentials.secret_key:
            return None
        address = self._address(bucket, key)
        if address is None:
            return None
        base, host, path = address
        with self._lock:
            headers = signed_headers(
                "HEAD", host, path, credentials, self.region, datetime.now(UTC), self._keys
            )
        try:
            answer = self._pool.request("HEAD", base + path, headers=headers, redirect=False)
        except urllib3.exceptions.HTTPError:
            return None
        if answer.status == 200:
            try:
                size = int(answer.headers["Content-Length"])
                etag = answer.headers["ETag"].strip('"')
            except (KeyError, ValueError):
                return None
            return HeadAnswer(200, size, etag)
        if answer.status in (403, 404):
            return HeadAnswer(answer.status)
        return None

    def clear(self) -> None:
        self._pool.clear()
