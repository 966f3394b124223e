"""The S3 backend (AWS S3, MinIO, or moto in tests) through boto3.

Credentials come from boto3's usual chain (``AWS_ACCESS_KEY_ID`` and friends, a
profile, or an instance role); the service never stores them in its settings.
"""

from __future__ import annotations

import io
import os
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import TYPE_CHECKING, BinaryIO

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from api.storage import s3_compose, s3_publish
from api.storage.base import ObjectInfo, ObjectStore, PendingWrite, StoredObject
from api.storage.errors import AccessDenied, ObjectNotFound, StorageError
from api.storage.s3_errors import (
    DENIED_REASON,
    error_code,
    map_boto_error,
    map_client_error,
    translated,
)
from api.storage.s3_head import LeanHead
from api.storage.s3_io import MIN_PART_BYTES, MultipartWriter, open_body
from api.storage.uri import parse_uri, validate_bucket

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

_MISSING_BUCKET = {"404", "NoSuchBucket", "NotFound"}
# Connections per endpoint: a submit burst makes several HEADs at once per API process.
POOL_SIZE = 48
_session_lock = threading.Lock()
_session: tuple[int, boto3.session.Session] | None = None


def _client(endpoint_url: str | None, region: str, *, quick: bool) -> S3Client:
    # MinIO and moto are addressed by host:port, where virtual-host style
    # (bucket.host) cannot resolve, so path style is used whenever an endpoint is set.
    config = Config(
        region_name=region,
        connect_timeout=2 if quick else 10,
        read_timeout=5 if quick else 120,
        retries={"mode": "standard", "max_attempts": 1 if quick else 5},
        s3={"addressing_style": "path"} if endpoint_url else {},
        max_pool_connections=POOL_SIZE,
    )
    # boto3 sessions are not thread-safe, but creating a session reloads the
    # service model from disk (hundreds of ms), so one per process is shared
    # under a lock. The clients it makes are thread-safe.
    with _session_lock:
        return _boto_session().client("s3", endpoint_url=endpoint_url, config=config)


def _boto_session() -> boto3.session.Session:
    global _session
    if _session is None or _session[0] != os.getpid():
        _session = (os.getpid(), boto3.session.Session())
    return _session[1]


class S3Store(ObjectStore):
    """Objects on S3 or an S3-compatible server.

    ``bucket`` is the service's own bucket, probed by :meth:`readiness_check`.
    ``chunk_bytes`` is the multipart part size (S3 requires at least 5 MiB).
    """

    def __init__(
        self,
        *,
        endpoint_url: str | None = None,
        region: str = "us-east-1",
        chunk_bytes: int = 8 * 1024 * 1024,
        bucket: str | None = None,
    ) -> None:
        if chunk_bytes < MIN_PART_BYTES:
            raise ValueError(f"chunk_bytes must be at least {MIN_PART_BYTES} for S3 multipart")
        self.endpoint_url = endpoint_url
        self.region = region
        self.chunk_bytes = chunk_bytes
        self.bucket = bucket
        self.client = _client(endpoint_url, region, quick=False)
        self._probe: S3Client | None = None  # built on first readiness check
        with _session_lock:
            self._credentials = _boto_session().get_credentials()  # refreshed as boto3 does
        self._lean = LeanHead(endpoint_url, region, pool_size=POOL_SIZE)

    def __repr__(self) -> str:
        return f"S3Store(endpoint_url={self.endpoint_url!r}, bucket={self.bucket!r})"

    def open_read(self, uri: str) -> AbstractContextManager[BinaryIO]:
        bucket, key = parse_uri(uri)  # refuse a bad URI at the call, not at "with"
        return self._reading(bucket, key, uri)

    @contextmanager
    def _reading(self, bucket: str, key: str, uri: str) -> Iterator[BinaryIO]:
        with translated(uri):
            response = self.client.get_object(Bucket=bucket, Key=key)
        stream = open_body(response["Body"], uri)
        try:
            yield stream
        finally:
            stream.close()

    def read_range(self, uri: str, start: int, end: int) -> Iterator[bytes]:
        if end <= start:
            return
        bucket, key = parse_uri(uri)
        with translated(uri):
            response = self.client.get_object(
                Bucket=bucket, Key=key, Range=f"bytes={start}-{end - 1}"
            )
        with open_body(response["Body"], uri) as stream:
            while data := stream.read(1 << 20):
                yield data

    def compose(self, sources: list[str], target: str) -> None:
        s3_compose.compose(self.client, sources, target, super().compose)

    def publish_parts(self, sources: list[str], staged: str, target: str) -> None:
        s3_compose.publish_parts(self.client, sources, staged, target, super().publish_parts)

    def open_write(self, uri: str) -> AbstractContextManager[BinaryIO]:
        bucket, key = parse_uri(uri)
        return self._writing(bucket, key, uri)

    @contextmanager
    def _writing(self, bucket: str, key: str, uri: str) -> Iterator[BinaryIO]:
        writer = MultipartWriter(self.client, bucket, key, uri, self.chunk_bytes)
        stream = io.BufferedWriter(writer, buffer_size=64 * 1024)
        try:
            yield stream
            if not stream.closed:
                stream.flush()
        except BaseException:
            writer.abort()
            # Closing the raw writer first makes the buffered stream's close a no-op,
            # instead of a flush into the upload just aborted.
            writer.close()
            raise
        else:
            writer.commit()
        finally:
            stream.close()

    def head(self, uri: str) -> ObjectInfo:
        bucket, key = parse_uri(uri)
        frozen = self._credentials.get_frozen_credentials() if self._credentials else None
        answer = self._lean.head(bucket, key, frozen)
        if answer is not None and answer.status == 200:
            return ObjectInfo(uri=uri, size=answer.size, etag=answer.etag)
        if answer is not None and answer.status == 403:
            raise AccessDenied.for_uri(uri, DENIED_REASON)
        if answer is not None:  # 404: the object, or its bucket, is missing
            self._require_bucket(bucket, uri)
            raise ObjectNotFound.for_uri(uri)
        return self._boto_head(bucket, key, uri)

    def _boto_head(self, bucket: str, key: str, uri: str) -> ObjectInfo:
        try:
            with translated(uri):
                answer = self.client.head_object(Bucket=bucket, Key=key)
        except ObjectNotFound:
            # HEAD answers carry no body, so a missing bucket also reads "404";
            # ask about the bucket to name the real problem.
            self._require_bucket(bucket, uri)
            raise
        return ObjectInfo(uri=uri, size=answer["ContentLength"], etag=answer["ETag"].strip('"'))

    def delete(self, uri: str) -> None:
        bucket, key = parse_uri(uri)
        with translated(uri):
            self.client.delete_object(Bucket=bucket, Key=key)

    def publish(self, source: str, target: str) -> None:
        s3_publish.publish(self.client, source, target)

    def is_copy_of(self, target: str, source: str) -> bool:
        return s3_publish.is_copy_of(self.client, target, source)

    def list_objects(self, bucket: str, prefix: str) -> Iterator[StoredObject]:
        pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        with translated(f"s3://{bucket}/{prefix}"):
            for page in pages:
                for item in page.get("Contents", []):
                    yield StoredObject(f"s3://{bucket}/{item['Key']}", item["LastModified"])

    def pending_writes(self, bucket: str) -> Iterator[PendingWrite]:
        pages = self.client.get_paginator("list_multipart_uploads").paginate(Bucket=bucket)
        with translated(f"s3://{bucket}"):
            for page in pages:
                for upload in page.get("Uploads", []):
                    uri = f"s3://{bucket}/{upload['Key']}"
                    yield PendingWrite(uri, upload["Initiated"], upload["UploadId"])

    def abandon(self, write: PendingWrite) -> None:
        bucket, key = parse_uri(write.uri)
        try:
            with translated(write.uri):
                self.client.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=write.token)
        except ObjectNotFound:
            pass  # already completed or aborted (S3 says NoSuchUpload, a 404)

    def ensure_bucket(self, bucket: str) -> None:
        validate_bucket(bucket)
        uri = f"s3://{bucket}"
        try:
            self.client.head_bucket(Bucket=bucket)
            return
        except ClientError as exc:
            if error_code(exc) not in _MISSING_BUCKET:
                raise map_client_error(exc, uri) from exc
        except BotoCoreError as exc:
            raise map_boto_error(exc, uri) from exc
        with translated(uri):
            try:
                if self.region == "us-east-1":
                    self.client.create_bucket(Bucket=bucket)
                else:
                    self.client.create_bucket(
                        Bucket=bucket,
                        CreateBucketConfiguration={"LocationConstraint": self.region},  # type: ignore[typeddict-item]
                    )
            except ClientError as exc:
                # Another process may have created it between our HEAD and PUT.
                if error_code(exc) != "BucketAlreadyOwnedByYou":
                    raise

    def readiness_check(self) -> str | None:
        target = f"s3://{self.bucket}" if self.bucket else "the object store"
        if self._probe is None:
            # One attempt and short timeouts: a probe must answer fast, not retry.
            self._probe = _client(self.endpoint_url, self.region, quick=True)
        try:
            with translated(target):
                if self.bucket:
                    self._probe.head_bucket(Bucket=self.bucket)
                else:
                    self._probe.list_buckets()
        except ObjectNotFound:
            return f"bucket {self.bucket!r} does not exist"
        except StorageError as exc:
            return str(exc)
        return None

    def _require_bucket(self, bucket: str, uri: str) -> None:
        try:
            self.client.head_bucket(Bucket=bucket)
        except ClientError as exc:
            if error_code(exc) in _MISSING_BUCKET:
                raise ObjectNotFound.for_uri(uri, bucket_missing=True) from None
        except BotoCoreError:
            pass  # cannot tell; the object-level "not found" stands
