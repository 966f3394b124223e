"""Publishing on S3: a server-side copy that never replaces an existing object.

The copy is a multipart upload assembled with ``UploadPartCopy`` (no data
passes through the worker, and objects past CopyObject's 5 GiB limit work too),
completed with ``If-None-Match: *``, so the store itself refuses to complete it
when the target exists. S3 and MinIO enforce that header on
``CompleteMultipartUpload``; a HEAD first names the problem early and covers a
server that ignores it (then only the caller's own serialisation, the job row
lock, stands between two publishers). The copy carries its source in its
metadata, which is how :func:`is_copy_of` recognises it later.
"""

from __future__ import annotations

import contextlib
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import TYPE_CHECKING, Final
from urllib.parse import quote

from botocore.exceptions import ClientError

from api.storage.errors import ObjectExists
from api.storage.s3_errors import error_code, translated
from api.storage.uri import parse_uri

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_s3.type_defs import CompletedPartTypeDef

SOURCE_METADATA = "tasador-source"
MAX_COPY_PART = 5 * 1024**3  # UploadPartCopy's limit per part
COPY_THREADS: Final[int] = 4  # parts copied at once (boto3's default pool holds 10 connections)
_PART = 1024**3
_ABSENT = {"404", "NoSuchKey", "NotFound"}
_REFUSED = {"PreconditionFailed", "412"}


def source_label(source: str) -> str:
    # User metadata must be ASCII on the wire.
    return quote(source, safe="/:")


def exists(client: S3Client, bucket: str, key: str) -> bool:
    try:
        client.head_object(Bucket=bucket, Key=key)
    except ClientError as exc:
        if error_code(exc) in _ABSENT:
            return False
        raise
    return True


def publish(client: S3Client, source: str, target: str) -> None:
    src = parse_uri(source)
    with translated(source):
        size = client.head_object(Bucket=src.bucket, Key=src.key)["ContentLength"]
    ranges = [None] if size <= MAX_COPY_PART else _ranges(size)
    copy_parts(
        client, [(source, span) for span in ranges], target, {SOURCE_METADATA: source_label(source)}
    )


def copy_parts(
    client: S3Client,
    parts: list[tuple[str, str | None]],
    target: str,
    metadata: dict[str, str] | None = None,
) -> None:
    """``target`` = the (source, byte range or None for all of it) ``parts`` in
    order, copied server-side; :class:`ObjectExists` if ``target`` exists."""
    dst = parse_uri(target)
    with translated(target):
        if exists(client, dst.bucket, dst.key):
            raise ObjectExists.for_uri(target)
        upload_id = client.create_multipart_upload(
            Bucket=dst.bucket, Key=dst.key, Metadata=metadata or {}
        )["UploadId"]
    try:
        # Parts are copied side by side: each copy is a round trip the store spends
        # its own time on, and the store serves several at once.
        copy = partial(_copy_part, client, target, upload_id)
        with ThreadPoolExecutor(max(1, min(COPY_THREADS, len(parts))), "s3-copy") as pool:
            done = list(pool.map(copy, range(1, len(parts) + 1), parts))
        with translated(target):
            try:
                client.complete_multipart_upload(
                    Bucket=dst.bucket,
                    Key=dst.key,
                    UploadId=upload_id,
                    MultipartUpload={"Parts": done},
                    IfNoneMatch="*",
                )
            except ClientError as exc:
                if error_code(exc) in _REFUSED:
                    raise ObjectExists.for_uri(target) from None
                raise
    except BaseException:
        # Best effort: the sweeper aborts what is left, and the cause matters more.
        with contextlib.suppress(Exception):
            client.abort_multipart_upload(Bucket=dst.bucket, Key=dst.key, UploadId=upload_id)
        raise


def _copy_part(
    client: S3Client, target: str, upload_id: str, number: int, part: tuple[str, str | None]
) -> CompletedPartTypeDef:
    """Copy ``part`` (a source and a byte range, or None for all of it) as part ``number``."""
    dst, (source, span) = parse_uri(target), part
    src = parse_uri(source)
    extra = {"CopySourceRange": span} if span else {}
    with translated(target):
        answer = client.upload_part_copy(
            Bucket=dst.bucket,
            Key=dst.key,
            UploadId=upload_id,
            PartNumber=number,
            CopySource={"Bucket": src.bucket, "Key": src.key},
            **extra,  # type: ignore[arg-type]
        )
    return {"ETag": answer["CopyPartResult"]["ETag"], "PartNumber": number}


def _ranges(size: int) -> list[str | None]:
    return [f"bytes={start}-{min(start + _PART, size) - 1}" for start in range(0, size, _PART)]


def is_copy_of(client: S3Client, target: str, source: str) -> bool:
    dst = parse_uri(target)
    try:
        answer = client.head_object(Bucket=dst.bucket, Key=dst.key)
    except ClientError:
        return False
    return answer.get("Metadata", {}).get(SOURCE_METADATA) == source_label(source)
